"""Classifier reweighting of generated events: the generator's residual errors corrected by a
density ratio learnt from the simulator's events.

A network that is close to the simulator in the bulk can still be wrong by tens of per cent in
a tail that holds a per cent of a process (the W transverse-mass edge, the Z mass peak's
high side), and that tail is where the fit's signal-like bins are. A classifier trained to
separate simulated (label 1) from generated (label 0) events of one process, in equal numbers,
estimates ``p(x) = q_sim(x) / (q_sim(x) + q_gen(x))``, so ``w(x) = p/(1 − p)`` is the density
ratio ``q_sim / q_gen``: generated events carrying ``w`` are distributed as the simulated ones
(the likelihood-ratio trick, Cranmer, Pavez & Louppe 2015, arXiv:1506.02169; applied to
generative models as DCTR-GAN, Diefenbacher et al. 2020, JINST 15 P11004, arXiv:2009.03796).

Here the classifier is a gradient-boosted tree ensemble (XGBoost, saved in its own JSON
format) per process, trained on the generator's training events against as many events it
generates at the same nuisance points; its inputs are the momenta and pseudorapidities, the
twelve closed-form ``DER_*`` features (the derived quantities the analysis classifier uses:
transverse and visible masses, p_T of the Higgs candidate, the azimuthal centralities…), the
``NEW_*`` features (the collinear-approximation mass among them: the missing mass itself is
too slow to compute for every generated event) and the nuisances, so that the weight is
conditional on the detector setting. The trees' log-odds are clipped to ±``log(clip)`` so that
no event weighs more than ``clip`` times another's typical weight, and the weights of a
process are normalised to its yield.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["REWEIGHT_FEATURES", "Reweighter", "fit_reweighter", "reweight_features"]


def _feature_names() -> tuple[str, ...]:
    from rediscovery.higgs.features.derived import DER_CLOSED_FORM
    from rediscovery.higgs.features.new import NEW_FEATURES
    from rediscovery.higgs.schema import PRI_COLUMNS

    # the absolute azimuths are uniform (the simulation is symmetric under a rotation): left out
    pri = tuple(c for c in PRI_COLUMNS if not c.endswith("_phi"))
    return (*pri, *DER_CLOSED_FORM, *NEW_FEATURES, "tes", "jes", "soft_met")


#: The classifier's inputs: primaries other than the absolute azimuths, the closed-form
#: ``DER_*`` features, the ``NEW_*`` features (among them the collinear-approximation mass and
#: momentum fractions, a fast stand-in for the missing mass), the nuisances.
REWEIGHT_FEATURES: tuple[str, ...] = _feature_names()


def reweight_features(events: pd.DataFrame, nuisances: np.ndarray | None = None) -> np.ndarray:
    """The (n, len(REWEIGHT_FEATURES)) input matrix of ``events`` (NaN where undefined);
    ``nuisances`` (3,) is the setting of all rows, else the events' ``tes``, ``jes``,
    ``soft_met`` columns are used."""
    from rediscovery.higgs.features.derived import DER_CLOSED_FORM, derived_features
    from rediscovery.higgs.features.new import NEW_FEATURES

    der = derived_features(events, mmc=False)
    keys = ("tes", "jes", "soft_met")
    cols = []
    for c in REWEIGHT_FEATURES:
        if c in DER_CLOSED_FORM:
            cols.append(np.asarray(der[c], dtype=float))
        elif c in NEW_FEATURES:
            cols.append(np.asarray(NEW_FEATURES[c].function(events), dtype=float))
        elif c in keys and nuisances is not None:
            cols.append(np.full(len(events), float(nuisances[keys.index(c)])))
        else:
            cols.append(events[c].to_numpy(dtype=float))
    return np.column_stack(cols)


@dataclass
class Reweighter:
    """Per process, the booster whose log-odds give each generated event's weight.

    Attributes
    ----------
    boosters
        ``{process: xgboost.Booster}``.
    clip
        Largest weight ratio: the log-odds are clipped to ±log(clip).
    info
        Per process: training sizes, boosting rounds, held-out AUC before and after weighting.
    """

    boosters: dict[str, Any]
    clip: float
    info: dict[str, Any]

    def weights(
        self, process: str, events: pd.DataFrame, nuisances: np.ndarray, *, n_threads: int = 1
    ) -> np.ndarray:
        """Weight of each generated event of ``process`` at the setting ``nuisances`` (mean
        not normalised; 1 for a process without a booster), the trees run on ``n_threads``
        threads."""
        if process not in self.boosters:
            return np.ones(len(events))
        return self._weights(process, reweight_features(events, nuisances), n_threads)

    def _weights(self, process: str, x: np.ndarray, n_threads: int = 1) -> np.ndarray:
        booster = self.boosters[process]
        booster.set_param({"nthread": n_threads})
        # in place: no DMatrix copy of the features (the same margins as predict(DMatrix(x)))
        margin = booster.inplace_predict(x, predict_type="margin", missing=np.nan)
        lim = np.log(self.clip)
        return np.exp(np.clip(margin.astype(float), -lim, lim))


def _weighted_auc(y: np.ndarray, score: np.ndarray, w: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score, sample_weight=w))


def fit_reweighter(
    flow: Any,
    events: pd.DataFrame,
    *,
    seed: int,
    rounds: int = 600,
    max_depth: int = 9,
    learning_rate: float = 0.1,
    clip: float = 10.0,
    n_threads: int = 1,
    min_events: int = 200,
) -> Reweighter:
    """Train one booster per process of ``flow`` (an :class:`~rediscovery.higgs.generate.flow.
    EventFlow` whose networks are trained) on ``events`` (its training events, with the
    nuisance columns) against as many generated events at each nuisance point.

    A process with fewer than ``min_events`` training events gets no booster (its events
    keep equal weights; ``info`` says so). A quarter of the events is held out: the boosting
    stops when its log-loss has not improved for 20 rounds, and ``info`` records there the
    classifier's AUC of simulated against generated events before and after the weighting (a
    second classifier would be the strict test; :mod:`rediscovery.higgs.generate.validation`
    does it on fresh events).

    """
    import xgboost as xgb

    rng = np.random.default_rng(seed)
    keys = ["tes", "jes", "soft_met"]
    proc = events["Process"].astype(str).to_numpy()
    boosters, info = {}, {}
    for p in flow.processes:
        sim = events[proc == p]
        if len(sim) < min_events:
            info[p] = {"n_simulated": len(sim), "skipped": f"fewer than {min_events} events"}
            continue
        gens = []
        for point, part in sim.groupby(keys, sort=True):
            g = flow.sample(
                len(part),
                seed=int(rng.integers(2**62)),
                nuisances=dict(zip(keys, point, strict=True)),
                shares={p: 1.0},
            )
            for k, v in zip(keys, point, strict=True):
                g[k] = v
            gens.append(g)
        gen = pd.concat(gens, ignore_index=True)
        x = np.vstack([reweight_features(sim), reweight_features(gen)])
        y = np.r_[np.ones(len(sim)), np.zeros(len(gen))]
        # the simulated events' weights within the process (one value each when simulated
        # with simulate_training_set), normalised to the generated class's total
        w_sim = sim["Weight"].to_numpy(dtype=float)
        w = np.r_[w_sim * len(gen) / w_sim.sum(), np.ones(len(gen))]
        held = rng.random(len(y)) < 0.25
        params = {
            "objective": "binary:logistic",
            "eval_metric": "logloss",
            "max_depth": max_depth,
            "eta": learning_rate,
            "subsample": 0.8,
            "min_child_weight": 20.0,
            "nthread": n_threads,
            "seed": int(rng.integers(2**31)),
        }
        dtrain = xgb.DMatrix(x[~held], label=y[~held], weight=w[~held])
        dheld = xgb.DMatrix(x[held], label=y[held], weight=w[held])
        booster = xgb.train(
            params,
            dtrain,
            num_boost_round=rounds,
            evals=[(dheld, "held")],
            early_stopping_rounds=20,
            verbose_eval=False,
        )
        best = booster.best_iteration + 1
        booster = booster[:best]
        boosters[p] = booster
        rw = Reweighter(boosters={p: booster}, clip=clip, info={})
        score = booster.predict(dheld)
        wg = np.where(y[held] == 0, rw._weights(p, x[held]), 1.0) * w[held]
        info[p] = {
            "n_simulated": len(sim),
            "n_generated": len(gen),
            "rounds": int(best),
            "held_out_auc": round(_weighted_auc(y[held], score, w[held]), 4),
            "held_out_auc_weighted": round(_weighted_auc(y[held], score, wg), 4),
        }
    return Reweighter(boosters=boosters, clip=clip, info=info)

r"""Approach 3 of the challenge: a parameterised supervised classifier of a family of resonances.

Where the weakly supervised methods (CWoLa, CATHODE) learn the signal from the data, this one is
told what to look for: X → ττ resonances (:func:`~rediscovery.higgs.events.simulate.
simulate_resonance`, produced like the hidden one of :mod:`rediscovery.anomaly.datasets`) at
several masses θ, against the labelled SM reference. One network takes the mass hypothesis as
an extra input (the parameterised network of P. Baldi, K. Cranmer, T. Faucett, P. Sadowski,
D. Whiteson, Eur. Phys. J. C 76 (2016) 235): the background events get a θ drawn from the
family's masses, every signal event its own, so that the classifier at θ approaches the
likelihood ratio of the signal of mass θ against the SM and interpolates between the masses it
saw. It is the upper reference of the weakly supervised methods: if the hidden signal is in
the family it cannot do much better, and it knows nothing outside it.

The network is trained on a part of the reference; the other part (``calibration_fraction``)
measures the selection's efficiency. The test, for each hypothesis θ of the family: the
signal region (SR) is the window of the
bump-hunt binning (:class:`~rediscovery.anomaly.bumphunt.BumpHuntConfig`) centred on the
median reconstructed mass (``DER_mass_MMC``) of the simulated signal at θ; the cut on the
classifier at θ keeps the fraction ``keep`` of the reference's (weighted) SR events; the
expected selected SR events are the data's SR events times that efficiency, the observed ones
are counted, and

.. math:: Z = \max\left(0, \frac{k - e}{\sqrt{e + e^2\,σ_ε^2/ε^2}}\right)

with σ_ε the efficiency's statistical error from the reference's effective number of events.
The global p is Bonferroni over the hypotheses. The events' scores are the classifier's at the
hypothesis with the largest Z.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from rediscovery.anomaly.bumphunt import BumpHuntConfig
from rediscovery.anomaly.datasets import MASS_COLUMN, RESONANCE_MASS_RANGE, RESONANCE_WIDTH_FRACTION
from rediscovery.anomaly.methods import (
    MethodResult,
    ReferenceFeatures,
    limited_threads,
    need_reference,
    require_mass,
)
from rediscovery.anomaly.windows import bin_index, weighted_efficiency, window_bump_result
from rediscovery.core.errors import ConfigError, InputError
from rediscovery.core.progress import progress_bar
from rediscovery.core.training import train_torch
from rediscovery.higgs.schema import WEIGHT

__all__ = [
    "HYPOTHESIS_COLUMN",
    "PARAMETERISED_MASSES",
    "ParameterisedMethod",
    "simulate_signal_family",
]

#: The mass hypotheses (GeV): the range of the challenge's hidden resonance
#: (:data:`~rediscovery.anomaly.datasets.RESONANCE_MASS_RANGE`) every 100 GeV.
PARAMETERISED_MASSES: tuple[float, ...] = tuple(
    float(v) for v in np.arange(RESONANCE_MASS_RANGE[0], RESONANCE_MASS_RANGE[1] + 1.0, 100.0)
)
#: Attributes left out of the summary's settings (objects, or not a setting).
_NOT_SETTINGS = ("bump", "signal_family", "progress")
#: Column of :func:`simulate_signal_family`'s table holding each event's mass θ (GeV).
HYPOTHESIS_COLUMN = "mass_hypothesis"


def simulate_signal_family(
    masses: Sequence[float], n_per_mass: int, *, seed: int, mmc_points: int = 256
) -> pd.DataFrame:
    """X → ττ events (gluon fusion, width :data:`~rediscovery.anomaly.datasets.
    RESONANCE_WIDTH_FRACTION` of the mass) at each mass, with their ``DER_*`` features and
    the mass in :data:`HYPOTHESIS_COLUMN`."""
    from rediscovery.higgs.events.simulate import simulate_resonance
    from rediscovery.higgs.features.derived import add_derived_features

    rngs = np.random.default_rng(seed).spawn(len(masses))
    parts = []
    for mass, rng in zip(masses, rngs, strict=True):
        sig = simulate_resonance(
            int(n_per_mass), mass=float(mass), width=RESONANCE_WIDTH_FRACTION * mass, seed=rng
        )
        parts.append(sig.assign(**{HYPOTHESIS_COLUMN: float(mass)}))
    family = pd.concat(parts, ignore_index=True)
    return add_derived_features(family, n_points=mmc_points)


@dataclass
class ParameterisedMethod:
    """Parameterised supervised classifier of a resonance family (``--method parameterised``).

    Attributes
    ----------
    masses
        The mass hypotheses θ (GeV) of the training family, each tested on the data.
    n_signal
        Simulated signal events per mass.
    hidden, epochs, batch_size, learning_rate, validation_fraction
        A network of two hidden layers (``hidden`` units, ELU); Adam on batches drawn with
        probability ∝ weight (the SM reference's ``Weight``; signal and background half each),
        the epoch with the lowest loss on ``validation_fraction`` of the events kept.
    keep
        Fraction of the reference's SR events the cut keeps at each θ.
    calibration_fraction
        Fraction of the reference (drawn, seeded) kept out of the training to measure the
        selection's efficiency: on its own training events the network's efficiency is lower
        than on new ones (on signal-free data the pulls had mean +1 when measured on them).
    mmc_points
        Integration points of the missing-mass calculator of the simulated signal.
    seed, threads
        Seed of the simulation, the network and its batches; torch/BLAS threads.
    bump
        Binning of the mass (the SR is a window of ``window_bins`` bins).
    signal_family
        Pre-simulated family (:func:`simulate_signal_family`); ``None``: simulated here.
    progress
        Show progress bars (simulation, training epochs, hypotheses).
    """

    masses: tuple[float, ...] = PARAMETERISED_MASSES
    n_signal: int = 5000
    hidden: int = 64
    epochs: int = 20
    batch_size: int = 512
    learning_rate: float = 2e-3
    validation_fraction: float = 0.2
    keep: float = 0.1
    calibration_fraction: float = 0.5
    mmc_points: int = 256
    seed: int = 2019
    threads: int = 1
    bump: BumpHuntConfig | None = None
    signal_family: pd.DataFrame | None = None
    progress: bool = False
    name: str = "parameterised"

    def __post_init__(self) -> None:
        if len(self.masses) < 1 or not all(np.isfinite(m) and m > 0 for m in self.masses):
            raise ConfigError(f"masses {self.masses!r}: expected positive masses in GeV")
        for attr in ("n_signal", "hidden", "epochs", "batch_size"):
            if getattr(self, attr) < 1:
                raise ConfigError(f"{attr} {getattr(self, attr)}: expected at least 1")
        if not 0 < self.keep < 1:
            raise ConfigError(f"keep {self.keep}: expected a fraction in (0, 1)")
        if not 0 < self.calibration_fraction < 1:
            raise ConfigError(
                f"calibration_fraction {self.calibration_fraction}: expected a value in (0, 1)"
            )
        if not 0 < self.validation_fraction < 0.5:
            raise ConfigError(
                f"validation_fraction {self.validation_fraction}: expected a value in (0, 0.5)"
            )

    def _theta(self, mass: np.ndarray) -> np.ndarray:
        """The network's mass input: ln θ standardised over the family."""
        lm = np.log(np.asarray(self.masses, float))
        sd = lm.std() if lm.size > 1 else 1.0
        return (np.log(mass) - lm.mean()) / sd

    def fit_score(self, data: pd.DataFrame, reference: pd.DataFrame | None) -> MethodResult:
        t0 = time.perf_counter()
        ref = need_reference(self.name, reference)
        cfg = self.bump or BumpHuntConfig()
        m_data, m_ref = require_mass(data), require_mass(ref)
        w_ref = ref[WEIGHT].to_numpy(float) if WEIGHT in ref.columns else np.ones(len(ref))
        if not (np.isfinite(w_ref).all() and (w_ref >= 0).all() and w_ref.sum() > 0):
            raise InputError("expected finite non-negative weights of the reference", column=WEIGHT)
        with progress_bar(enabled=self.progress) as bar, limited_threads(self.threads):
            family = self.signal_family
            if family is None:
                task = bar.add_task("simulate the signal family", total=None)
                family = simulate_signal_family(
                    self.masses, self.n_signal, seed=self.seed, mmc_points=self.mmc_points
                )
                bar.update(task, total=1, completed=1)
            if HYPOTHESIS_COLUMN not in family.columns:
                raise InputError(
                    "is missing from the signal family; expected simulate_signal_family's table",
                    column=HYPOTHESIS_COLUMN,
                )
            feats = ReferenceFeatures(ref)
            x_ref, x_sig, x_data = (feats.transform(d) for d in (ref, family, data))
            theta_sig = family[HYPOTHESIS_COLUMN].to_numpy(float)
            calib = np.random.default_rng(self.seed).random(len(ref)) < self.calibration_fraction
            if calib.sum() < 10 or (~calib).sum() < 10:
                raise InputError(
                    f"{len(ref)} reference events; expected at least 10 for the training and "
                    "10 for the efficiency (calibration_fraction)",
                    column=WEIGHT,
                )
            task = bar.add_task("train the parameterised network", total=self.epochs)
            net, hist = self._train(
                x_ref[~calib], w_ref[~calib], x_sig, theta_sig, lambda: bar.advance(task)
            )
            x_ref, m_ref, w_ref = x_ref[calib], m_ref[calib], w_ref[calib]
            rows, best = [], None
            edges = np.geomspace(cfg.m_min, cfg.m_max, cfg.n_bins + 1)
            b_data, b_ref = bin_index(m_data, edges), bin_index(m_ref, edges)
            m_sig = family[MASS_COLUMN].to_numpy(float)
            for theta in self.masses:
                s_data = _predict(net, x_data, self._theta(theta))
                s_ref = _predict(net, x_ref, self._theta(theta))
                med = np.nanmedian(m_sig[theta_sig == theta])
                test = _hypothesis_test(s_data, b_data, s_ref, b_ref, w_ref, med, self.keep, cfg)
                rows.append({"mass_hypothesis": float(theta), **test["row"]})
                if best is None or test["row"]["z_local"] > best[0]:
                    best = (test["row"]["z_local"], len(rows) - 1, s_data, test)
        _, j, scores, test = best
        n_bins = edges.size - 1
        counts = np.bincount(b_data[(b_data >= 0) & test["passed"]], minlength=n_bins)
        settings = {
            "test": "SR selection against the reference's efficiency, Bonferroni over masses"
        }
        bump = window_bump_result(
            edges, counts.astype(float), test["background"], rows, j, test["inside"], settings
        )
        summary = {
            "method": self.name,
            "features": feats.features,
            "hypotheses": rows,
            "train_loss": hist.train,
            "validation_loss": hist.validation,
            "n_signal_family": len(family),
            "settings": {
                k: v
                for k, v in asdict(self).items()
                if k not in ("bump", "signal_family", "progress")
            },
            "seconds": time.perf_counter() - t0,
        }
        return MethodResult(self.name, scores, bump, summary)

    def _train(self, x_ref, w_ref, x_sig, theta_sig, epoch_done=None):
        import torch
        from torch import nn

        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        n_ref, n_sig = len(x_ref), len(x_sig)
        # background: a mass hypothesis drawn from the family (Baldi et al. 2016)
        theta_ref = rng.choice(np.asarray(self.masses, float), n_ref)
        x = np.vstack([x_ref, x_sig])
        t = self._theta(np.r_[theta_ref, theta_sig])
        xt = torch.as_tensor(np.column_stack([x, t]), dtype=torch.float32)
        yt = torch.as_tensor(np.r_[np.zeros(n_ref), np.ones(n_sig)], dtype=torch.float32)
        p = np.r_[0.5 * w_ref / w_ref.sum(), np.full(n_sig, 0.5 / n_sig)]
        val = rng.random(len(x)) < self.validation_fraction
        train = np.flatnonzero(~val)
        pv = torch.as_tensor(p[val] / p[val].sum(), dtype=torch.float32)
        net = nn.Sequential(
            nn.Linear(xt.shape[1], self.hidden),
            nn.ELU(),
            nn.Linear(self.hidden, self.hidden),
            nn.ELU(),
            nn.Linear(self.hidden, 1),
        )
        bce = nn.functional.binary_cross_entropy_with_logits

        def val_loss() -> float:
            per = bce(net(xt[val])[:, 0], yt[val], reduction="none")
            return float((per * pv).sum())

        hist = train_torch(
            net,
            lambda idx: bce(net(xt[idx])[:, 0], yt[idx]),
            train,
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            rng=rng,
            probabilities=p[train] / p[train].sum(),
            validation_loss=val_loss,
            epoch_done=epoch_done,
        )
        return net, hist


def _predict(net: Any, x: np.ndarray, theta: float) -> np.ndarray:
    """Signal probability of each event (rows of ``x``) under the mass hypothesis ``theta``
    (the network's standardised mass input)."""
    import torch

    xt = torch.as_tensor(np.column_stack([x, np.full(len(x), theta)]), dtype=torch.float32)
    with torch.no_grad():
        return torch.sigmoid(net(xt)[:, 0]).numpy().astype(float)


def _hypothesis_test(s_data, b_data, s_ref, b_ref, w_ref, median_mass, keep, cfg) -> dict:
    """The SR window of one hypothesis, the cut, the observed and expected selected events."""
    n_bins, wb = cfg.n_bins, cfg.window_bins
    edges = np.geomspace(cfg.m_min, cfg.m_max, n_bins + 1)
    centre = int(np.clip(np.searchsorted(edges, median_mass) - 1, 0, n_bins - 1))
    start = int(np.clip(centre - wb // 2, 0, n_bins - wb))
    inside = np.zeros(n_bins, bool)
    inside[start : start + wb] = True
    in_ref = (b_ref >= 0) & inside[np.maximum(b_ref, 0)]
    in_data = (b_data >= 0) & inside[np.maximum(b_data, 0)]
    # the cut keeping the weighted fraction `keep` of the reference's SR events
    order = np.argsort(-s_ref[in_ref], kind="stable")
    cum = np.cumsum(w_ref[in_ref][order]) / w_ref[in_ref].sum()
    cut = float(s_ref[in_ref][order][min(np.searchsorted(cum, keep), order.size - 1)])
    pass_ref, passed = s_ref >= cut, s_data >= cut
    eff, var_rel = weighted_efficiency(pass_ref[in_ref], w_ref[in_ref])
    n_sr, k_sr = int(in_data.sum()), int((in_data & passed).sum())
    expected = n_sr * eff
    var = expected + expected**2 * var_rel
    pull = float((k_sr - expected) / np.sqrt(max(var, 1e-12)))
    z = max(pull, 0.0)
    # per-bin expectation (for the spectrum): the data's events times the reference's efficiency
    ok = b_ref >= 0
    sw = np.bincount(b_ref[ok], weights=w_ref[ok], minlength=n_bins)
    sp = np.bincount(b_ref[ok], weights=(w_ref * pass_ref)[ok], minlength=n_bins)
    totals = np.bincount(b_data[b_data >= 0], minlength=n_bins).astype(float)
    background = totals * np.divide(sp, sw, out=np.zeros(n_bins), where=sw > 0)
    row = {
        "m_lo": float(edges[start]),
        "m_hi": float(edges[start + wb]),
        "observed": float(k_sr),
        "expected": float(expected),
        "p_local": float(stats.norm.sf(z)),
        "z_local": z,
        "pull": pull,
    }
    return {"row": row, "passed": passed, "inside": inside, "background": background}

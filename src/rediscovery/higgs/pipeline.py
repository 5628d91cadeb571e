"""The whole Higgs analysis as a chain of stages in a run directory.

``rediscovery higgs run --out runs/NAME`` runs, in order:

========== ======================================= =========================================
stage      reads                                   writes (in ``<run>/<stage>/``)
========== ======================================= =========================================
simulate   (config only)                           ``mc.parquet`` (labelled, weighted MC for
                                                   training), ``templates.parquet`` (a larger
                                                   MC sample for the fit templates),
                                                   ``observed.parquet`` (pseudo-data),
                                                   ``truth.json`` (hidden μ; never read here)
features   ``simulate/{mc,templates,observed}``    the same three tables with the ``DER_*``
                                                   and ``NEW_*`` columns
train      ``features/mc.parquet``                 ``model/`` (library format + JSON),
                                                   ``metrics.json``, ``scores.parquet``
evaluate   ``train/model``,                        ``mc_scores.parquet`` (template half),
           ``features/templates.parquet``,         ``binning_scores.parquet`` (binning half;
           ``features/observed.parquet``           weights scaled to the data luminosity),
                                                   ``observed_scores.parquet``
fit        ``evaluate/*.parquet``                  ``fit.json``, ``workspace.json``, plots
========== ======================================= =========================================

The fit templates do not come from the classifier's training sample: that sample has 34 %
signal (good for training) and only ~80k W+jets events per 200k, each standing for ~13 data
events in a test split, while the pseudo-data at the HiggsML luminosity hold ~356k W+jets
events. Templates that coarse dominate the interval and, because the Barlow–Beeston-lite
Gaussian treatment of MC statistics is poor for bins of a few heavily weighted events, biased
μ̂ upwards (5 unblinded runs: pulls −0.5 … +3.1). The template sample instead has background
events in proportion to their expected yields (weights ≈ 0.9 data events per event in each half
at the default 1,000,000 events) and 4 % signal; one random half optimises the binning, the
other half gives the templates (optimising the edges on the templates themselves would pick
downward fluctuations of the background).

then ``results.json`` (the results contract) and ``report.html`` at the top of the run.

Every stage is a function ``stage(inputs: dict[str, Path], out: Path, config: HiggsRunConfig)
-> dict`` returning a small JSON-ready summary. A team replaces one with its own function of
the same signature: ``--stage train=mypackage.module:function``. A stage whose inputs and
configuration are unchanged is skipped on re-run; ``--force STAGE`` re-runs it and every stage
after it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from rediscovery.core.errors import ConvergenceError, InputError
from rediscovery.core.files import write_json, write_parquet
from rediscovery.core.pipeline import load_stage_function, run_analysis
from rediscovery.higgs.schema import WEIGHT

__all__ = [
    "STAGES",
    "HiggsRunConfig",
    "load_stage_function",
    "run_pipeline",
    "stage_evaluate",
    "stage_features",
    "stage_fit",
    "stage_simulate",
    "stage_train",
    "template_count_shares",
]

log = logging.getLogger(__name__)

StageFunction = Callable[[dict[str, Path], Path, "HiggsRunConfig"], dict[str, Any]]

# load_stage_function now lives in rediscovery.core.pipeline (shared with `cosmo run`);
# re-exported here for existing callers.


class HiggsRunConfig(BaseModel):
    """Configuration of ``rediscovery higgs run`` (written to ``config.yaml``).

    The hidden true signal strength of the pseudo-data is drawn from ``U(mu_range)`` with the
    run's seed unless ``mu_true`` is given; it is written to ``simulate/truth.json`` only.
    """

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(default=1, description="master seed of every random step")
    events: int = Field(default=200_000, ge=3_000,
                        description="simulated MC events for training (all processes)")
    template_events: int = Field(
        default=1_000_000, ge=10_000,
        description="events of the separate MC sample for the fit templates and binning")
    lumi_factor: float = Field(default=1.0, gt=0,
                               description="pseudo-data luminosity / HiggsML's")
    mu_true: float | None = Field(default=None, ge=0,
                                  description="true μ of the pseudo-data (hidden)")
    mu_range: tuple[float, float] = Field(default=(0.5, 1.5),
                                          description="range of the hidden μ draw")
    mmc: bool = Field(default=False,
                      description="compute DER_mass_MMC (slow: ~2k events/s per core)")
    new_features: bool = Field(default=True, description="add the NEW_ features")
    model: Literal["xgboost", "lightgbm", "hgb", "nn"] = "xgboost"
    features: str = Field(default="all", description="'pri', 'all' or a comma-separated list")
    model_params: dict[str, Any] = Field(default_factory=dict)
    balance_classes: bool = True
    n_threads: int = Field(default=2, ge=1)
    n_bootstrap: int = Field(default=50, ge=2)
    backend: Literal["minuit", "pyhf"] = "minuit"
    min_bkg_per_bin: float = Field(default=10.0, gt=0,
                                   description="min. expected background per bin")
    max_bins: int = Field(default=20, ge=1)
    max_rel_stat: float | None = Field(
        default=0.2, gt=0, description="max. relative MC-stat. uncertainty of bkg per bin")


#: Fraction of signal events in the template sample (the background processes share the rest
#: in proportion to their expected yields); VBF gets a quarter of it, above its 9 % of the
#: signal yield, because it populates the highest-score bins.
TEMPLATE_SIGNAL_FRACTION = 0.04


def template_count_shares(signal_fraction: float = TEMPLATE_SIGNAL_FRACTION) -> dict[str, float]:
    """Event shares per sub-process of the template sample (see :func:`simulate_events`).

    Background sub-processes get events in proportion to their expected yields, so every
    background event carries about the same weight and no process is represented by a few
    heavily weighted events (W+jets has 87 % of the background yield but only 40 % of the
    training sample's events).
    """
    from rediscovery.higgs.events.simulate import PROCESS_YIELDS

    signal = ("ggH", "VBFH")  # the simulator's signal sub-processes
    bkg = {k: v for k, v in PROCESS_YIELDS.items() if k not in signal}
    total = sum(bkg.values())
    shares = {k: (1 - signal_fraction) * v / total for k, v in bkg.items()}
    shares.update({"ggH": 0.75 * signal_fraction, "VBFH": 0.25 * signal_fraction})
    return shares


def _hidden_mu(cfg: HiggsRunConfig) -> float:
    if cfg.mu_true is not None:
        return float(cfg.mu_true)
    lo, hi = cfg.mu_range
    # a stream of its own, so that changing other settings never changes the hidden truth
    rng = np.random.default_rng([cfg.seed, 0x6D75])
    return float(rng.uniform(lo, hi))


# -- stages -----------------------------------------------------------------------------------
def stage_simulate(inputs: dict[str, Path], out: Path, cfg: HiggsRunConfig) -> dict[str, Any]:
    """Simulate the labelled MC sample and the blinded pseudo-data (with its ``truth.json``)."""
    from rediscovery.higgs.events.io import write_events
    from rediscovery.higgs.events.simulate import simulate_events, simulate_pseudo_data

    mc = simulate_events(cfg.events, seed=np.random.default_rng([cfg.seed, 1]))
    write_events(mc, out / "mc.parquet")
    del mc
    templates = simulate_events(cfg.template_events, seed=np.random.default_rng([cfg.seed, 3]),
                                count_shares=template_count_shares())
    write_events(templates, out / "templates.parquet")
    n_templates = len(templates)
    del templates
    data, truth = simulate_pseudo_data(
        lumi_factor=cfg.lumi_factor, mu=_hidden_mu(cfg), seed=np.random.default_rng([cfg.seed, 2])
    )
    write_events(data, out / "observed.parquet")
    write_json(out / "truth.json", truth)
    return {"mc_events": cfg.events, "template_events": n_templates,
            "observed_events": len(data)}


def stage_features(inputs: dict[str, Path], out: Path, cfg: HiggsRunConfig) -> dict[str, Any]:
    """Add the ``DER_*`` (and ``NEW_*``) features to the MC and to the pseudo-data."""
    from rediscovery.higgs.events.io import read_events, write_events
    from rediscovery.higgs.features.derived import add_derived_features
    from rediscovery.higgs.features.new import add_new_features

    counts = {}
    for name in ("mc", "templates", "observed"):
        df = add_derived_features(read_events(inputs[name]), mmc=cfg.mmc)
        if cfg.new_features:
            df = add_new_features(df)
        write_events(df, out / f"{name}.parquet")
        counts[f"{name}_columns"] = df.shape[1]
    return counts


def stage_train(inputs: dict[str, Path], out: Path, cfg: HiggsRunConfig) -> dict[str, Any]:
    """Split the MC 1:1:1, train the classifier on ``train``, evaluate on ``test``."""
    from rediscovery.higgs.classifiers.plots import plot_training_summary
    from rediscovery.higgs.classifiers.workflow import train_classifier
    from rediscovery.higgs.events.io import read_events

    mc = read_events(inputs["mc"])
    feats: str | list[str] = cfg.features
    if cfg.features not in ("pri", "all"):
        feats = [f.strip() for f in cfg.features.split(",") if f.strip()]
    res = train_classifier(
        mc, cfg.model, features=feats, params=cfg.model_params,
        balance_classes=cfg.balance_classes, seed=cfg.seed, n_bootstrap=cfg.n_bootstrap,
        n_threads=cfg.n_threads,
    )
    res.model.save(out / "model")
    write_json(out / "metrics.json", res.metrics)
    write_parquet(res.scores, out / "scores.parquet")
    plot_training_summary(res, out)
    return {k: res.metrics[k] for k in ("auc", "auc_err", "ams_best", "ams_best_err")}


def stage_evaluate(inputs: dict[str, Path], out: Path, cfg: HiggsRunConfig) -> dict[str, Any]:
    """Score the template sample and the pseudo-data; split the templates into two halves.

    One random half (weights doubled) optimises the binning, the other builds the templates;
    weights are scaled to the pseudo-data's luminosity (known to the analysis, unlike μ).
    """
    from rediscovery.higgs.classifiers.registry import load_model
    from rediscovery.higgs.classifiers.workflow import score_events
    from rediscovery.higgs.events.io import read_events

    model = load_model(inputs["model"])
    templates = read_events(inputs["templates"])
    if templates.empty:
        raise InputError("the template sample has no events", path=inputs["templates"])
    scored = score_events(model, templates)
    del templates
    scored[WEIGHT] = scored[WEIGHT].to_numpy(dtype=float) * (2.0 * cfg.lumi_factor)
    binning_half = np.random.default_rng([cfg.seed, 4]).random(len(scored)) < 0.5
    write_parquet(scored[~binning_half], out / "mc_scores.parquet")
    write_parquet(scored[binning_half], out / "binning_scores.parquet")
    observed = read_events(inputs["observed"])
    write_parquet(score_events(model, observed), out / "observed_scores.parquet")
    return {"template_events": int((~binning_half).sum()),
            "binning_events": int(binning_half.sum()), "observed_events": len(observed)}


def stage_fit(inputs: dict[str, Path], out: Path, cfg: HiggsRunConfig) -> dict[str, Any]:
    """Binned profile-likelihood fit of μ to the observed score histogram."""
    from rediscovery.higgs.stats.score_fit import fit_scores, write_fit

    sf = fit_scores(pd.read_parquet(inputs["mc_scores"]),
                    pd.read_parquet(inputs["observed_scores"]), backend=cfg.backend,
                    min_bkg=cfg.min_bkg_per_bin, max_bins=cfg.max_bins,
                    max_rel_stat=cfg.max_rel_stat, source=inputs["mc_scores"],
                    binning_scores=pd.read_parquet(inputs["binning_scores"]))
    write_fit(sf, out)
    p = sf.payload
    if p["converged"] and p["mu_stat_68"][1] > p["mu_stat_68"][0]:
        ratio = (p["mu_68"][1] - p["mu_68"][0]) / (p["mu_stat_68"][1] - p["mu_stat_68"][0])
        if ratio > 1.5:  # default sizes give ~1.3
            log.warning("the templates' MC statistics dominate the interval (%.1f× the "
                        "statistical width): raise template_events (now %d)", ratio,
                        cfg.template_events)
    if not sf.payload["converged"]:
        raise ConvergenceError(f"fit did not converge ({'; '.join(sf.result.messages)}); "
                               f"flagged in {out / 'fit.json'}", messages=sf.result.messages)
    return {k: sf.payload[k] for k in ("mu_hat", "mu_68", "z_discovery_observed", "converged")}


#: Stage name -> (built-in function, {input name: path relative to the run}).
STAGES: dict[str, tuple[StageFunction, dict[str, str]]] = {
    "simulate": (stage_simulate, {}),
    "features": (stage_features, {"mc": "simulate/mc.parquet",
                                  "templates": "simulate/templates.parquet",
                                  "observed": "simulate/observed.parquet"}),
    "train": (stage_train, {"mc": "features/mc.parquet"}),
    "evaluate": (stage_evaluate, {"model": "train/model",
                                  "templates": "features/templates.parquet",
                                  "observed": "features/observed.parquet"}),
    "fit": (stage_fit, {"mc_scores": "evaluate/mc_scores.parquet",
                        "binning_scores": "evaluate/binning_scores.parquet",
                        "observed_scores": "evaluate/observed_scores.parquet"}),
}

_OUTPUTS = {
    "simulate": ["mc.parquet", "templates.parquet", "observed.parquet", "truth.json"],
    "features": ["mc.parquet", "templates.parquet", "observed.parquet"],
    "train": ["metrics.json", "scores.parquet", "model"],
    "evaluate": ["mc_scores.parquet", "binning_scores.parquet", "observed_scores.parquet"],
    "fit": ["fit.json"],
}


def run_pipeline(out: str | Path, config: HiggsRunConfig | None = None, *,
                 replace: Mapping[str, str] | None = None, force: Sequence[str] = (),
                 until: str | None = None) -> dict[str, Any]:
    """Run (or resume) the Higgs analysis in the run directory ``out`` (created) with ``config``
    (defaults otherwise); ``replace``, ``force`` and ``until`` as in
    :func:`rediscovery.core.pipeline.run_analysis`. Returns the content of ``results.json``
    (empty if stopped before the fit)."""
    return run_analysis(out, STAGES, _OUTPUTS, config or HiggsRunConfig(), section="higgs",
                        final="fit", results=_results, title="rediscovery Higgs run",
                        replace=replace, force=force, until=until)


def _results(root: Path) -> dict[str, Any]:
    """The results contract: fit.json plus the classifier's AUC and best AMS."""
    fit = json.loads((root / "fit" / "fit.json").read_text())
    metrics_path = root / "train" / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    out = dict(fit)
    for key in ("auc", "auc_err", "ams_best", "ams_best_err"):
        if key in metrics:
            out.setdefault(key, metrics[key])
    return out


def summarise(results: Mapping[str, Any]) -> dict[str, Any]:
    """The headline numbers of a results dict (for printing)."""
    keys = ("mu_hat", "mu_68", "mu_stat_68", "z_discovery_observed", "z_discovery_expected",
            "auc", "ams_best", "converged")
    return {k: results[k] for k in keys if k in results}


"""The whole Higgs analysis as a chain of stages in a run directory.

``rediscovery higgs run --out runs/NAME`` runs, in order:

========== ======================================= =========================================
stage      reads                                   writes (in ``<run>/<stage>/``)
========== ======================================= =========================================
simulate   the config; the ``mc`` / ``observed``   ``mc.parquet`` (labelled, weighted MC for
           files if given                          training), ``templates.parquet`` (a larger
                                                   MC sample for the fit templates),
                                                   ``observed.parquet`` (pseudo-data or the
                                                   ``observed`` file's events), ``data.json``
                                                   (the data used: path, SHA-256, source),
                                                   ``truth.json`` (hidden μ of simulated
                                                   pseudo-data; never read here)
features   ``simulate/{mc,templates,observed}``    the same three names with ``EventId`` and
                                                   the ``DER_*``/``NEW_*`` columns only
train      ``simulate/mc.parquet`` +               ``model/`` (library format + JSON),
           ``features/mc.parquet``                 ``metrics.json``, ``scores.parquet``
evaluate   ``train/model``, ``simulate/`` +        ``mc_scores.parquet`` (template half),
           ``features/`` ``templates.parquet``     ``binning_scores.parquet`` (binning half;
           and ``observed.parquet``                weights scaled to the data luminosity),
                                                   ``observed_scores.parquet``
fit        ``evaluate/*.parquet``                  ``fit.json``, ``workspace.json``,
                                                   ``postfit.json`` (yields, correlations),
                                                   plots
========== ======================================= =========================================

Every table is written once, as compact Parquet (``write_events(..., compact=True)``:
lossless float32 where float32 is exact, zstd); ``train`` and ``evaluate`` join a simulate
table with its features table row by row. The ``DER_*``/``NEW_*`` columns are stored as float32
rounded to 13 significand bits (``feature_precision: compact``, relative error ≤ 6.1e-5, far
below any detector resolution); ``float32`` keeps xgboost's own precision, ``float64`` the
computed values. With ``mc``/``observed`` files (:func:`read_mc_file`,
:func:`read_observed_file`) they are inputs of the simulate stage: their SHA-256 enters its
fingerprint, and through its tables those of the later stages.

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

then ``results.json`` (the results contract) and ``report.html`` (:func:`build_higgs_report`)
at the top of the run.

By default (``systematics`` unset: on unless an ``mc`` file replaces the simulated samples) the
run carries systematic uncertainties: the pseudo-data carry hidden nuisance values drawn from
their priors (``truth.json``; ``nominal_data: true`` keeps them at the priors' centres), the
evaluate stage simulates, featurises (:func:`feature_table`) and scores in memory the template
sample's generated events through six shifted detectors (``tes_lo``, ``tes_hi``, ``jes_lo``,
``jes_hi``, ``soft_met_lo``, ``soft_met_hi``; common random numbers) and keeps only their scores
(``evaluate/templates_<name>_scores.parquet``, whole samples), and the fit adds HistoSys/NormSys
modifiers (:mod:`rediscovery.higgs.systematics.run_model`). ``systematics: false`` fits μ with
the templates' MC statistics only.

Every stage is a function ``stage(inputs: dict[str, Path], out: Path, config: HiggsRunConfig)
-> dict`` returning a small JSON-ready summary. A team replaces one with its own function of
the same signature: ``--stage train=mypackage.module:function``. A stage whose inputs and
configuration are unchanged is skipped on re-run; ``--force STAGE`` re-runs it and every stage
after it.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from rediscovery.core.errors import ConfigError, ConvergenceError, InputError
from rediscovery.core.files import round_significand, write_json
from rediscovery.core.lock import RunLock
from rediscovery.core.pipeline import check_stage_names, load_stage_function, run_analysis
from rediscovery.core.runs import Run
from rediscovery.higgs.schema import WEIGHT

__all__ = [
    "STAGES",
    "TEMPLATES_SIMULATOR",
    "HiggsRunConfig",
    "feature_table",
    "generated_template_sample",
    "load_stage_function",
    "read_mc_file",
    "read_observed_file",
    "read_with_features",
    "run_pipeline",
    "stage_evaluate",
    "stage_features",
    "stage_fit",
    "stage_simulate",
    "stage_train",
    "template_count_shares",
    "template_sample",
]

log = logging.getLogger(__name__)

#: Stored significand bits of the ``DER_*``/``NEW_*`` columns with ``feature_precision:
#: compact`` (float32 has 23): relative rounding error ≤ 2⁻¹⁴ = 6.1e-5, e.g. 8 MeV on a 125 GeV
#: mass, against detector resolutions of a few per cent; the run directory shrinks by ~35 MB.
FEATURE_SIGNIFICAND_BITS = 13

#: Stored significand bits of the classifier scores written by the evaluate stage: relative
#: error ≤ 2⁻¹⁶ = 1.5e-5 of a score in (0, 1], while the fit's bins hold ≥ 10 expected
#: background events (edges ≥ 10⁻³ apart in score even in the highest bins). Rounded the same
#: way in every sample, so an event that a shifted detector leaves unchanged keeps its score
#: bit for bit; the low byte of each value is zero, which zstd stores for free (~20 % smaller).
SCORE_SIGNIFICAND_BITS = 15

StageFunction = Callable[[dict[str, Path], Path, "HiggsRunConfig"], dict[str, Any]]

# load_stage_function now lives in rediscovery.core.pipeline (shared with `cosmo run`);
# re-exported here for existing callers.


class HiggsRunConfig(BaseModel):
    """Configuration of ``rediscovery higgs run`` (written to ``config.yaml``).

    The hidden true signal strength of the pseudo-data is drawn from ``U(mu_range)`` with the
    run's seed unless ``mu_true`` is given; it is written to ``simulate/truth.json`` only.
    ``observed`` replaces the pseudo-data by the events of a file (no truth then), ``mc`` the
    simulated training and template samples by a labelled, weighted MC file
    (docs/higgs-events.md, "Your own data in a run").
    """

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(default=1, description="master seed of every random step")
    events: int = Field(default=200_000, ge=3_000,
                        description="simulated MC events for training (all processes; "
                                    "unused with mc)")
    template_events: int = Field(
        default=1_000_000, ge=10_000,
        description="events of the separate MC sample for the fit templates and binning "
                    "(unused with mc)")
    templates: str = Field(
        default="simulator",
        description="source of the template samples: 'simulator', or a generator folder "
                    "(flow.json + flow.pt, from 'rediscovery higgs generate train') whose "
                    "events replace the simulated template samples, nominal and shifted "
                    "(the generator's training range must cover the run's nuisance values; "
                    "unused with mc)")
    lumi_factor: float = Field(
        default=1.0, gt=0,
        description="luminosity of the (pseudo-)data / HiggsML's (2012); the MC weights are "
                    "scaled by it")
    observed: str | None = Field(
        default=None,
        description="events file analysed instead of the simulated pseudo-data (any format "
                    "read_events reads; relative to the working directory; no truth.json "
                    "then); its Label, Weight, Process, Set, "
                    "KaggleSet, KaggleWeight columns are ignored, DER_/NEW_ recomputed")
    mc: str | None = Field(
        default=None,
        description="labelled, weighted MC file used instead of the simulated training and "
                    "template samples; split by its Set/KaggleSet column, else at random")
    mc_train_fraction: float = Field(
        default=0.5, gt=0, lt=1,
        description="share of the --mc events for training when the file has no usable "
                    "Set/KaggleSet column (seeded random split; the rest gives the templates)")
    mc_lumi_scale: float = Field(
        default=1.0, gt=0,
        description="factor on the --mc file's weights so that they describe the HiggsML "
                    "2012 luminosity (1 for the HiggsML files, whose Weight already does)")
    feature_precision: Literal["compact", "float32", "float64"] = Field(
        default="compact",
        description="storage of the DER_/NEW_ columns: 'compact' is float32 rounded to "
                    f"{FEATURE_SIGNIFICAND_BITS} significand bits (relative error <= "
                    f"{2.0 ** -(FEATURE_SIGNIFICAND_BITS + 1):.1e}, far below any detector "
                    "resolution; a third smaller on disk), 'float32' exact float32 "
                    "(xgboost computes in float32), 'float64' the computed values")
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
    systematics: bool | None = Field(
        default=None,
        description="fit with systematic uncertainties (τ/jet energy scales and soft MET from "
                    "shifted template samples, tt̄/diboson/background normalisations); the "
                    "pseudo-data then carry hidden nuisance values drawn from their priors "
                    "(docs/higgs-systematics.md). Unset: on, except with an mc file (which "
                    "has no shifted samples); the resolved value is written to config.yaml")
    nominal_data: bool = Field(
        default=False,
        description="with systematics: pseudo-data at the nominal nuisance values (the "
                    "priors' centres) instead of hidden values drawn from the priors")
    training: Literal["nominal", "augmented"] = Field(
        default="nominal",
        description="training of the classifier: 'nominal' (the simulated MC as it is) or "
                    "'augmented' (its training third replaced by augment_copies copies altered "
                    "with prior draws of the six nuisances, weights divided by the number of "
                    "copies; the 'augmented' method of higgs challenge, docs/higgs-systematics.md"
                    "). The templates and the fit are the same for both")
    augment_copies: int = Field(default=5, ge=1,
                                description="copies of the training events (training: augmented)")
    template_smoothing: bool = Field(
        default=True,
        description="with systematics: smooth the shifted templates' relative shift across "
                    "the bins (quadratic in the bin index, normalisation kept); off: the raw "
                    "bin-by-bin shifts, whose migration noise over-constrains jes and soft_met")


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


# -- input samples ----------------------------------------------------------------------------
#: Columns of an --observed file that the analysis ignores (data carry no truth and unit weights).
IGNORED_OBSERVED_COLUMNS = ("Label", "Weight", "Process", "Set", "KaggleSet", "KaggleWeight")

#: Values of a split column of an --mc file that select the training events (the rest gives
#: the templates): our own ``Set`` and the CERN Open Data ``KaggleSet`` (t = Kaggle training).
_MC_TRAIN_VALUES = {"Set": ("train",), "KaggleSet": ("t",)}


def _event_columns(df: pd.DataFrame, *, labelled: bool) -> pd.DataFrame:
    """The columns the stages read: ``EventId``, ``PRI_*`` (and ``Weight``, ``Label``,
    ``Process`` for MC). ``DER_*``/``NEW_*`` of a file are dropped: the features stage computes
    them in the same way for every sample."""
    from rediscovery.higgs.schema import EVENT_ID, LABEL, PRI_COLUMNS, PROCESS

    keep = [EVENT_ID, *PRI_COLUMNS]
    if labelled:
        keep += [c for c in (WEIGHT, LABEL, PROCESS) if c in df.columns]
    return df[keep]


def read_observed_file(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Read an observed events file: ``EventId`` and ``PRI_*`` with unit weights.

    Returns the events and the ignored truth/weight columns found in the file (a warning
    names them).

    Raises
    ------
    InputError
        As :func:`~rediscovery.higgs.events.io.read_events` (unreadable file, a missing
        ``PRI_*`` column, named in the message).
    """
    from rediscovery.higgs.events.io import read_events

    df = read_events(path)
    ignored = [c for c in IGNORED_OBSERVED_COLUMNS if c in df.columns]
    if ignored:
        log.warning("%s: columns %s are ignored: the observed events enter the fit unlabelled "
                    "with unit weights", path, ignored)
    out = _event_columns(df, labelled=False).copy()
    out[WEIGHT] = 1.0
    return out, ignored


def read_mc_file(path: Path, *, seed: int, train_fraction: float = 0.5,
                 lumi_scale: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Read a labelled, weighted MC file and split it into training and template samples.

    The split uses the file's ``Set`` column (``train`` for training, ``valid``/``test`` for the
    templates) or else its ``KaggleSet`` column (``t`` for training, ``b``/``v``/``u`` for the
    templates); without either, or when the column leaves one part empty, a random split with
    ``seed`` puts ``train_fraction`` of the events into training. In each part the weights of
    each class are renormalised to the class totals of the whole file (so that each part alone
    describes the file's luminosity, as ``KaggleWeight`` does per Kaggle set), then multiplied by
    ``lumi_scale``. ``KaggleWeight`` is not used.

    Returns
    -------
    training, templates, info
        The two samples (``EventId``, ``PRI_*``, ``Weight``, ``Label``, ``Process`` if present)
        and a JSON-ready description of the split.

    Raises
    ------
    InputError
        Unreadable file, a missing ``PRI_*``, ``Weight`` or ``Label`` column (named), too few
        events of a class to split.
    """
    from rediscovery.core.errors import InputError
    from rediscovery.higgs.events.io import read_events
    from rediscovery.higgs.schema import LABEL

    df = read_events(path)
    for col in (WEIGHT, LABEL):
        if col not in df.columns:
            raise InputError(f"the --mc file needs a {col!r} column (labelled, weighted MC); "
                             f"found {list(df.columns)[:8]}…", path=path, column=col)
    train = None
    method = "random"
    for col, values in _MC_TRAIN_VALUES.items():
        if col not in df.columns:
            continue
        sel = df[col].astype(str).str.strip().isin(values).to_numpy()
        if sel.all() or not sel.any():
            log.warning("%s: the %s column puts every event in one part; splitting at random "
                        "instead (%.0f %% for training, seed %d)", path, col,
                        100 * train_fraction, seed)
            break
        train, method = sel, col
        break
    if train is None:
        train = np.random.default_rng([seed, 5]).random(len(df)) < train_fraction
    w = df[WEIGHT].to_numpy(dtype=np.float64).copy()
    lab = df[LABEL].to_numpy()
    for cls in (0, 1):
        total = w[lab == cls].sum()
        for part in (train, ~train):
            sel = part & (lab == cls)
            if not sel.any():
                raise InputError(f"no {'signal' if cls else 'background'} events in the "
                                 f"{'training' if part is train else 'template'} part of the "
                                 "--mc file", path=path, column=LABEL)
            w[sel] *= total / w[sel].sum()
    df = df.copy()
    df[WEIGHT] = w * lumi_scale
    df = _event_columns(df, labelled=True)
    info = {"split": method, "training_events": int(train.sum()),
            "template_events": int((~train).sum()), "lumi_scale": lumi_scale}
    return df[train].reset_index(drop=True), df[~train].reset_index(drop=True), info


def read_with_features(raw: Path, features: Path) -> pd.DataFrame:
    """An events table of the simulate stage joined row by row with its features table (whose
    columns win: a replacement features stage may also rewrite ``PRI_*`` columns).

    Raises
    ------
    InputError
        The two tables do not hold the same events in the same order (``EventId``).
    """
    from rediscovery.core.errors import InputError
    from rediscovery.higgs.events.io import read_events
    from rediscovery.higgs.schema import EVENT_ID

    df = read_events(raw)
    feats = read_events(features, require_primaries=False)
    if len(feats) != len(df) or not np.array_equal(feats[EVENT_ID].to_numpy(),
                                                   df[EVENT_ID].to_numpy()):
        raise InputError(f"the features table does not match {raw} row by row (EventId)",
                         path=features, column=EVENT_ID)
    return _join_features(df, feats)


def _join_features(df: pd.DataFrame, feats: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the columns of its features table ``feats`` (same rows, same order), whose
    columns win."""
    from rediscovery.higgs.schema import EVENT_ID

    extra = [c for c in feats.columns if c != EVENT_ID]
    return pd.concat([df.drop(columns=[c for c in extra if c in df.columns]).reset_index(drop=True),
                      feats[extra].reset_index(drop=True)], axis=1)


def _file_entry(path: Path, source: str, **extra: Any) -> dict[str, Any]:
    """``path`` (relative to the run directory for a file the run simulated), its SHA-256,
    ``source`` (``"file"`` or ``"simulated"``) and ``extra``."""
    from rediscovery.core.files import file_sha256

    shown = f"{path.parent.name}/{path.name}" if source == "simulated" else str(path)
    return {"path": shown, "sha256": file_sha256(path), "source": source, **extra}


# -- stages -----------------------------------------------------------------------------------
def stage_simulate(inputs: dict[str, Path], out: Path, cfg: HiggsRunConfig) -> dict[str, Any]:
    """Simulate (or read from the ``mc``/``observed`` files) the labelled MC samples and the
    (pseudo-)data; ``truth.json`` only for simulated pseudo-data. Writes ``data.json``, the
    provenance of both (the ``data`` block of ``results.json``)."""
    from rediscovery.higgs.events.io import write_events
    from rediscovery.higgs.events.simulate import simulate_events, simulate_pseudo_data

    data: dict[str, Any] = {}
    # the users' files first: a file that cannot be used stops the stage before any simulation
    observed = ignored = None
    if "observed_file" in inputs:
        observed, ignored = read_observed_file(inputs["observed_file"])
    if "mc_file" in inputs:
        mc, templates, info = read_mc_file(inputs["mc_file"], seed=cfg.seed,
                                           train_fraction=cfg.mc_train_fraction,
                                           lumi_scale=cfg.mc_lumi_scale)
        write_events(mc, out / "mc.parquet", compact=True)
        write_events(templates, out / "templates.parquet", compact=True)
        data["mc"] = _file_entry(inputs["mc_file"], "file", **info)
        n_mc, n_templates = len(mc), len(templates)
        del mc, templates
    else:
        mc = simulate_events(cfg.events, seed=np.random.default_rng([cfg.seed, 1]))
        write_events(mc, out / "mc.parquet", compact=True)
        del mc
        n_mc = cfg.events
        n_templates = _simulate_templates(out, cfg)
        data["mc"] = {**_file_entry(out / "mc.parquet", "simulated"),
                      "templates": _file_entry(out / "templates.parquet", "simulated")}
        if cfg.templates != TEMPLATES_SIMULATOR:
            data["mc"]["templates"]["generator"] = cfg.templates
    if observed is not None:
        (out / "truth.json").unlink(missing_ok=True)  # real data: nothing to unblind
        write_events(observed, out / "observed.parquet", compact=True)
        data["observed"] = _file_entry(inputs["observed_file"], "file",
                                       ignored_columns=ignored)
    else:
        nuisances: dict[str, float] | str | None = None
        if cfg.systematics:
            from rediscovery.higgs.systematics.run_model import nominal_values, truth_alphas

            nuisances = nominal_values() if cfg.nominal_data else "draw"
        observed, truth = simulate_pseudo_data(
            lumi_factor=cfg.lumi_factor, mu=_hidden_mu(cfg),
            seed=np.random.default_rng([cfg.seed, 2]), nuisances=nuisances)
        if cfg.systematics:  # the fit's α of each hidden value, for `rediscovery unblind`
            truth["nuisance_alphas"] = truth_alphas(truth["nuisances"])
        write_events(observed, out / "observed.parquet", compact=True)
        write_json(out / "truth.json", truth)
        data["observed"] = _file_entry(out / "observed.parquet", "simulated")
    data["observed"]["events"] = len(observed)
    write_json(out / "data.json", data)
    return {"mc_events": n_mc, "template_events": n_templates,
            "observed_events": len(observed), "data": data}


def _variations(cfg: HiggsRunConfig) -> dict[str, dict[str, float]]:
    """The shifted template samples of a systematic run (none otherwise, or with ``mc``)."""
    if not cfg.systematics or cfg.mc is not None:
        return {}
    from rediscovery.higgs.systematics.run_model import variation_values

    return variation_values()


def template_sample(cfg: HiggsRunConfig, nuisances: dict[str, float] | None) -> pd.DataFrame:
    """The run's template sample at the detector settings ``nuisances`` (``None``: the
    simulator's defaults, for a run without systematics). A systematic run simulates every one
    of its template samples from the same generated events (common random numbers: the same
    seed and generator-level pre-cut ``CRN_TES``), so the shifted samples differ from the
    nominal one only by the detector response."""
    from rediscovery.higgs.events.simulate import simulate_events

    if cfg.templates != TEMPLATES_SIMULATOR:
        return generated_template_sample(cfg, nuisances)
    crn_tes = None
    if nuisances is not None:
        from rediscovery.higgs.systematics.run_model import CRN_TES

        crn_tes = CRN_TES
    return simulate_events(cfg.template_events, seed=np.random.default_rng([cfg.seed, 3]),
                           count_shares=template_count_shares(), nuisances=nuisances,
                           crn_tes=crn_tes)


#: ``HiggsRunConfig.templates`` of template samples from the simulator.
TEMPLATES_SIMULATOR = "simulator"


def generated_template_sample(cfg: HiggsRunConfig,
                              nuisances: Mapping[str, float] | None) -> pd.DataFrame:
    """The run's template sample drawn from the generator folder ``cfg.templates``
    (:mod:`rediscovery.higgs.generate`) at the detector settings ``nuisances`` (``None``: the
    simulator's defaults), with the simulated sample's event shares per process
    (:func:`template_count_shares`) and its yields. Every sample of a run uses the same seed,
    so the shifted samples differ from the nominal one by the generator's response alone.

    Raises
    ------
    ConfigError
        A weight-scale nuisance other than 1 (the generator only knows the detector ones).
    InputError
        Settings outside the generator's training range, or a process it was not trained on.
    """
    from rediscovery.higgs.generate import NUISANCES
    from rediscovery.higgs.generate.io import load_flow

    given = dict(nuisances or {})
    other = {k: v for k, v in given.items() if k not in NUISANCES and v != 1.0}
    if other:
        raise ConfigError(f"generated templates: weight scales {other} are not supported")
    flow = load_flow(cfg.templates)
    shares: dict[str, float] = {}
    for sub, share in template_count_shares().items():
        name = "htautau" if sub in ("ggH", "VBFH") else sub  # the simulator's signal processes
        shares[name] = shares.get(name, 0.0) + share
    seed = int(np.random.default_rng([cfg.seed, 3]).integers(2**62))
    return flow.sample(cfg.template_events, seed=seed, shares=shares,
                       nuisances={k: v for k, v in given.items() if k in NUISANCES})


def _simulate_templates(out: Path, cfg: HiggsRunConfig) -> int:
    """Write the nominal ``templates.parquet`` (in a systematic run at the nuisances' nominal
    values, with the common-random-number pre-cut of the shifted samples, which the evaluate
    stage simulates in memory). Returns its number of events."""
    from rediscovery.higgs.events.io import write_events

    nominal = None
    if _variations(cfg):
        from rediscovery.higgs.systematics.run_model import nominal_values

        nominal = nominal_values()
    templates = template_sample(cfg, nominal)
    write_events(templates, out / "templates.parquet", compact=True)
    return len(templates)


def feature_table(raw: pd.DataFrame, cfg: HiggsRunConfig) -> pd.DataFrame:
    """``EventId`` and the ``DER_*`` (and ``NEW_*``) features of the events ``raw``, stored as
    ``feature_precision`` says (by default float32 rounded to :data:`FEATURE_SIGNIFICAND_BITS`
    significand bits). The built-in features stage writes this table; the evaluate stage of a
    systematic run computes it the same way for the shifted template samples it keeps in
    memory."""
    from rediscovery.higgs.features.derived import add_derived_features
    from rediscovery.higgs.features.new import add_new_features
    from rediscovery.higgs.schema import EVENT_ID

    df = add_derived_features(raw, mmc=cfg.mmc)
    if cfg.new_features:
        df = add_new_features(df)
    new = [c for c in df.columns if c not in raw.columns]
    table = df[[EVENT_ID, *new]]
    floats = [c for c in new if pd.api.types.is_float_dtype(table[c])]
    if cfg.feature_precision == "float32":
        table = table.astype({c: np.float32 for c in floats})
    elif cfg.feature_precision == "compact":
        table = table.assign(**{c: round_significand(table[c].to_numpy(),
                                                     FEATURE_SIGNIFICAND_BITS)
                                for c in floats})
    return table


def stage_features(inputs: dict[str, Path], out: Path, cfg: HiggsRunConfig) -> dict[str, Any]:
    """Compute the ``DER_*`` (and ``NEW_*``) features of the MC samples and of the data.

    Writes only ``EventId`` and the new columns (:func:`feature_table`): later stages join them
    row by row with the simulate stage's tables.
    """
    from rediscovery.higgs.events.io import read_events, write_events

    counts = {}
    for name in inputs:  # mc, templates, observed
        raw = read_events(inputs[name])
        table = feature_table(raw, cfg)
        write_events(table, out / f"{name}.parquet", compact=True)
        counts[f"{name}_columns"] = raw.shape[1] + table.shape[1] - 1
    return counts


def stage_train(inputs: dict[str, Path], out: Path, cfg: HiggsRunConfig) -> dict[str, Any]:
    """Split the MC 1:1:1, train the classifier on ``train``, evaluate on ``test``."""
    from rediscovery.higgs.classifiers.plots import plot_training_summary
    from rediscovery.higgs.classifiers.workflow import train_classifier
    from rediscovery.higgs.events.io import write_events

    mc = read_with_features(inputs["mc"], inputs["mc_features"])
    n_train_events = None
    if cfg.training == "augmented":
        mc = augmented_training_set(mc, n_copies=cfg.augment_copies, seed=cfg.seed)
        n_train_events = int((mc["Set"] == "train").sum())
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
    write_events(res.scores, out / "scores.parquet", compact=True)
    plot_training_summary(res, out)
    summary = {k: res.metrics[k] for k in ("auc", "auc_err", "ams_best", "ams_best_err")}
    if n_train_events is not None:
        summary["augmented_training_events"] = n_train_events
    return summary


def augmented_training_set(mc: pd.DataFrame, *, n_copies: int, seed: int) -> pd.DataFrame:
    """``mc`` split as the classifier workflow splits it (``Set``), its training events
    replaced by ``n_copies`` copies altered with prior draws of the nuisances
    (:func:`rediscovery.higgs.systematics.training.augment`); validation and test events stay
    nominal, so the early stopping and the metrics see the analysis's nominal MC."""
    from rediscovery.higgs.classifiers.workflow import split_if_needed
    from rediscovery.higgs.systematics.training import augment

    mc = split_if_needed(mc, seed=seed)
    train = (mc["Set"] == "train").to_numpy()
    copies = augment(mc.loc[train], n_copies=n_copies, seed=seed)
    return pd.concat([copies.assign(Set="train"), mc.loc[~train]], ignore_index=True)


def stage_evaluate(inputs: dict[str, Path], out: Path, cfg: HiggsRunConfig, *,
                   features_stage: StageFunction | None = None) -> dict[str, Any]:
    """Score the template sample and the (pseudo-)data; split the templates into two halves.

    One random half (weights doubled) optimises the binning, the other builds the templates;
    weights are scaled to the data's luminosity (``lumi_factor``, known to the analysis,
    unlike μ).

    A systematic run also scores its six shifted template samples, simulated here in memory
    (only their scores are written); ``features_stage`` is the run's features stage (``None``:
    the built-in one), called once per shifted sample when a team replaced it.
    """
    from rediscovery.higgs.classifiers.registry import load_model
    from rediscovery.higgs.classifiers.workflow import score_events
    from rediscovery.higgs.events.io import write_events

    model = load_model(inputs["model"])
    templates = read_with_features(inputs["templates"], inputs["templates_features"])
    if templates.empty:
        raise InputError("the template sample has no events", path=inputs["templates"])
    scored = _stored_scores(score_events(model, templates))
    del templates
    scored[WEIGHT] = scored[WEIGHT].to_numpy(dtype=float) * (2.0 * cfg.lumi_factor)
    binning_half = np.random.default_rng([cfg.seed, 4]).random(len(scored)) < 0.5
    write_events(scored[~binning_half], out / "mc_scores.parquet", compact=True)
    write_events(scored[binning_half], out / "binning_scores.parquet", compact=True)
    observed = read_with_features(inputs["observed"], inputs["observed_features"])
    write_events(_stored_scores(score_events(model, observed)),
                 out / "observed_scores.parquet", compact=True)
    summary = {"template_events": int((~binning_half).sum()),
               "binning_events": int(binning_half.sum()), "observed_events": len(observed)}
    variations = _variations(cfg)
    if variations:
        from rediscovery.core.executor import map_tasks

        tasks = [(cfg, name, values, Path(inputs["model"]), out, features_stage)
                 for name, values in variations.items()]
        # spawned, not forked, workers: this process may have run OpenMP code already (the
        # classifier's training and scoring), after which a forked child hangs in its first
        # OpenMP region (GNU libgomp is not fork-safe)
        counts = map_tasks(_score_shifted_sample, tasks, n_workers=min(cfg.n_threads, len(tasks)),
                           desc="shifted template samples", start_method="spawn")
        summary.update({f"templates_{name}_events": n
                        for name, n in zip(variations, counts, strict=True)})
    return summary


def _score_shifted_sample(task: tuple[HiggsRunConfig, str, dict[str, float], Path, Path,
                                      StageFunction | None]) -> int:
    """Simulate, featurise and score one shifted template sample; write its scores (whole
    sample, weights at the data luminosity) to ``templates_<name>_scores.parquet`` in the
    evaluate stage's folder. Returns its number of events. One task of :func:`map_tasks`."""
    from rediscovery.higgs.classifiers.registry import load_model
    from rediscovery.higgs.classifiers.workflow import score_events
    from rediscovery.higgs.events.io import write_events

    cfg, name, values, model_dir, out, features_stage = task
    events = _shifted_sample(cfg, values, out, features_stage)
    shifted = _stored_scores(score_events(load_model(model_dir), events))
    del events
    shifted[WEIGHT] = shifted[WEIGHT].to_numpy(dtype=float) * cfg.lumi_factor
    write_events(shifted, out / f"templates_{name}_scores.parquet", compact=True)
    return len(shifted)


def _stored_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """``scores`` with its ``score`` column rounded to :data:`SCORE_SIGNIFICAND_BITS`."""
    scores["score"] = round_significand(scores["score"].to_numpy(), SCORE_SIGNIFICAND_BITS)
    return scores


def _shifted_sample(cfg: HiggsRunConfig, values: dict[str, float], out: Path,
                    features_stage: StageFunction | None) -> pd.DataFrame:
    """One shifted template sample of a systematic run with its features, in memory.

    Only its scores are kept (``evaluate/templates_<name>_scores.parquet``): the event tables
    of six samples as large as the nominal one would add ~600 MB to the run directory. The
    built-in features are :func:`feature_table`'s, as in the features stage; a replaced
    features stage is called with the single input ``templates`` (the sample, written to a
    temporary folder inside ``out`` and deleted afterwards).
    """
    import tempfile

    from rediscovery.higgs.events.io import write_events

    raw = template_sample(cfg, values)
    if features_stage is None or features_stage is stage_features:
        return _join_features(raw, feature_table(raw, cfg))
    with tempfile.TemporaryDirectory(dir=out, prefix=".shifted-") as tmp:
        raw_file = Path(tmp) / "templates.parquet"
        write_events(raw, raw_file, compact=True)
        del raw
        feature_dir = Path(tmp) / "features"
        feature_dir.mkdir()
        features_stage({"templates": raw_file}, feature_dir, cfg)
        return read_with_features(raw_file, feature_dir / "templates.parquet")


def stage_fit(inputs: dict[str, Path], out: Path, cfg: HiggsRunConfig) -> dict[str, Any]:
    """Binned profile-likelihood fit of μ to the observed score histogram."""
    from rediscovery.higgs.stats.score_fit import fit_scores, write_fit

    mc_scores = pd.read_parquet(inputs["mc_scores"])
    binning_scores = pd.read_parquet(inputs["binning_scores"])
    systematics = None
    extra = None
    if _variations(cfg):
        from rediscovery.higgs.systematics.run_model import describe, run_systematics

        # the whole nominal sample (both halves, weights back to the data luminosity): the same
        # generated events as the shifted samples
        reference = pd.concat([mc_scores, binning_scores], ignore_index=True)
        reference[WEIGHT] = reference[WEIGHT].to_numpy(dtype=float) / 2.0
        shifted = {name: pd.read_parquet(inputs[f"templates_{name}_scores"])
                   for name in _variations(cfg)}

        def systematics(model):
            return run_systematics(model, reference, shifted, smooth=cfg.template_smoothing)

        extra = {"systematics": {**describe(), "template_smoothing": cfg.template_smoothing}}
    sf = fit_scores(mc_scores, pd.read_parquet(inputs["observed_scores"]), backend=cfg.backend,
                    min_bkg=cfg.min_bkg_per_bin, max_bins=cfg.max_bins,
                    max_rel_stat=cfg.max_rel_stat, source=inputs["mc_scores"],
                    binning_scores=binning_scores, systematics=systematics)
    write_fit(sf, out, extra=extra)
    p = sf.payload
    # without systematics the width beyond statistics is the templates' MC statistics alone;
    # with them it is mostly the nuisances (1.5-1.7x at the defaults), which is no warning
    if systematics is None and p["converged"] and p["mu_stat_68"][1] > p["mu_stat_68"][0]:
        ratio = (p["mu_68"][1] - p["mu_68"][0]) / (p["mu_stat_68"][1] - p["mu_stat_68"][0])
        if ratio > 1.5:  # default sizes give ~1.3
            log.warning("the templates' MC statistics dominate the interval (%.1f× the "
                        "statistical width): raise template_events (now %d)", ratio,
                        cfg.template_events)
    if not sf.payload["converged"]:
        raise ConvergenceError(f"fit did not converge ({'; '.join(sf.result.messages)}); "
                               f"flagged in {out / 'fit.json'}", messages=sf.result.messages)
    return {k: sf.payload[k] for k in ("mu_hat", "mu_68", "z_discovery_observed", "converged")}


#: Stage name -> (built-in function, {input name: path relative to the run}). With ``--mc`` /
#: ``--observed`` the simulate stage also gets the input ``mc_file`` / ``observed_file`` (an
#: absolute path, so its SHA-256 enters the stage fingerprints).
STAGES: dict[str, tuple[StageFunction, dict[str, str]]] = {
    "simulate": (stage_simulate, {}),
    "features": (stage_features, {"mc": "simulate/mc.parquet",
                                  "templates": "simulate/templates.parquet",
                                  "observed": "simulate/observed.parquet"}),
    "train": (stage_train, {"mc": "simulate/mc.parquet", "mc_features": "features/mc.parquet"}),
    "evaluate": (stage_evaluate, {"model": "train/model",
                                  "templates": "simulate/templates.parquet",
                                  "templates_features": "features/templates.parquet",
                                  "observed": "simulate/observed.parquet",
                                  "observed_features": "features/observed.parquet"}),
    "fit": (stage_fit, {"mc_scores": "evaluate/mc_scores.parquet",
                        "binning_scores": "evaluate/binning_scores.parquet",
                        "observed_scores": "evaluate/observed_scores.parquet"}),
}

_OUTPUTS = {
    "simulate": ["mc.parquet", "templates.parquet", "observed.parquet", "data.json",
                 "truth.json"],
    "features": ["mc.parquet", "templates.parquet", "observed.parquet"],
    "train": ["metrics.json", "scores.parquet", "model"],
    "evaluate": ["mc_scores.parquet", "binning_scores.parquet", "observed_scores.parquet"],
    "fit": ["fit.json"],
}


def _with_input_files(cfg: HiggsRunConfig) -> tuple[HiggsRunConfig, dict, dict]:
    """The configuration with absolute input paths, and the stages and outputs for it."""
    stages = dict(STAGES)
    outputs = dict(_OUTPUTS)
    files = {}
    update = {}
    for key, name, flag in (("mc", "mc_file", "--mc"), ("observed", "observed_file",
                                                          "--observed")):
        value = getattr(cfg, key)
        if value is None:
            continue
        path = Path(value).expanduser().resolve()
        if not path.is_file():
            raise InputError(f"the {flag} events file does not exist", path=path)
        files[name] = str(path)
        update[key] = str(path)
    if cfg.templates != TEMPLATES_SIMULATOR:
        if cfg.mc is not None:
            raise InputError("templates: a generator cannot replace the template samples "
                             "of an --mc file; leave templates at 'simulator'")
        path = Path(cfg.templates).expanduser().resolve()
        if not (path / "flow.json").is_file():
            raise InputError("templates: expected 'simulator' or a generator folder holding "
                             "flow.json and flow.pt (rediscovery higgs generate train)",
                             path=path)
        update["templates"] = str(path)
        for stage in ("simulate", "evaluate"):  # its files enter both stages' fingerprints
            func, rel = stages[stage]
            stages[stage] = (func, {**rel, "template_generator": str(path)})
    if files:
        func, rel = stages["simulate"]
        stages["simulate"] = (func, {**rel, **files})
    if "observed_file" in files:  # real data: no hidden truth
        outputs["simulate"] = [o for o in outputs["simulate"] if o != "truth.json"]
    if cfg.systematics is None:  # the default: systematics wherever the samples exist
        update["systematics"] = cfg.mc is None
        if cfg.mc is not None:
            log.info("systematics off: the --mc file has no shifted template samples")
    if cfg.systematics and cfg.mc is not None:
        raise InputError("systematics: true needs the simulated template samples (shifted "
                         "detector settings); it cannot be combined with an --mc file")
    names = [f"templates_{v}" for v in _variations(cfg.model_copy(update=update))]
    if names:  # the shifted template samples of a systematic run
        func, old = stages["fit"]
        stages["fit"] = (func, {**old, **{f"{n}_scores": f"evaluate/{n}_scores.parquet"
                                          for n in names}})
        outputs["evaluate"] = [*outputs["evaluate"], *(f"{n}_scores.parquet" for n in names)]
    return cfg.model_copy(update=update), stages, outputs


def run_pipeline(out: str | Path, config: HiggsRunConfig | None = None, *,
                 replace: Mapping[str, str] | None = None, force: Sequence[str] = (),
                 until: str | None = None) -> dict[str, Any]:
    """Run (or resume) the Higgs analysis in the run directory ``out`` (created) with ``config``
    (defaults otherwise); ``replace``, ``force`` and ``until`` as in
    :func:`rediscovery.core.pipeline.run_analysis`. Returns the content of ``results.json``
    (empty if stopped before the fit).

    Raises
    ------
    InputError
        A ``mc``/``observed`` file that does not exist, or lacks a required column (named).
    """
    cfg, stages, outputs = _with_input_files(config or HiggsRunConfig())
    check_stage_names(list(stages), replace=replace, force=force, until=until)
    if replace and "features" in replace and _variations(cfg):
        # the shifted template samples, featurised inside the evaluate stage, get the
        # replaced features too
        func, rel = stages["evaluate"]
        stages["evaluate"] = (functools.partial(
            func, features_stage=load_stage_function(replace["features"])), rel)
    with RunLock(out):  # held by run_analysis too; here also over the manifest's "data"
        results = run_analysis(out, stages, outputs, cfg, section="higgs", final="fit",
                               results=_results, title="rediscovery Higgs run",
                               replace=replace, force=force, until=until)
        data_file = Path(out) / "simulate" / "data.json"
        if data_file.exists():  # the data used, also at the top of the manifest
            run = Run.open(out)
            run.manifest["data"] = json.loads(data_file.read_text())
            run.save()
    return results


def _results(root: Path) -> dict[str, Any]:
    """The results contract: fit.json plus the classifier's AUC and best AMS, and the data
    used (``simulate/data.json``)."""
    fit = json.loads((root / "fit" / "fit.json").read_text())
    metrics_path = root / "train" / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    out = dict(fit)
    for key in ("auc", "auc_err", "ams_best", "ams_best_err"):
        if key in metrics:
            out.setdefault(key, metrics[key])
    data_path = root / "simulate" / "data.json"
    if data_path.exists():
        out["data"] = json.loads(data_path.read_text())
    return out


def summarise(results: Mapping[str, Any]) -> dict[str, Any]:
    """The headline numbers of a results dict (for printing)."""
    keys = ("mu_hat", "mu_68", "mu_stat_68", "z_discovery_observed", "z_discovery_expected",
            "auc", "ams_best", "converged")
    return {k: results[k] for k in keys if k in results}


# -- the report ---------------------------------------------------------------------------------
#: Display names of the simulated processes (``Process`` column) in the report.
PROCESS_LABELS = {"signal": "H→ττ (signal)", "htautau": "H→ττ (signal)", "ztautau": "Z→ττ",
                  "wjets": "W+jets", "ttbar": "tt̄", "diboson": "diboson",
                  "background": "background"}


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def _mu_split(res: Mapping[str, Any]) -> dict[str, tuple[float, float]] | None:
    """``{total, stat, syst}: (up, down)`` from ``mu_68`` and ``mu_stat_68`` (syst: the
    quadrature difference per side, 0 when the statistical error is the larger)."""
    mu = _num(res.get("mu_hat"))
    tot, stat = res.get("mu_68"), res.get("mu_stat_68")
    if mu is None or not isinstance(tot, list) or len(tot) != 2 or None in tot:
        return None
    out = {"total": (tot[1] - mu, mu - tot[0])}
    if isinstance(stat, list) and len(stat) == 2 and None not in stat:
        out["stat"] = (stat[1] - mu, mu - stat[0])
        out["syst"] = tuple(float(np.sqrt(max(t * t - s * s, 0.0)))  # type: ignore[assignment]
                            for t, s in zip(out["total"], out["stat"], strict=True))
    return out


def _gamma_label(name: str, edges: Sequence[float] | None) -> str:
    """``gamma_stat_3`` → ``γ₃ (MC stat., score 0.51–0.62)``."""
    if not name.startswith("gamma_stat_"):
        return name
    i = int(name.removeprefix("gamma_stat_"))
    rng = ""
    if edges is not None and i + 1 < len(edges):
        rng = f", score {edges[i]:.3f}–{edges[i + 1]:.3f}"
    return f"γ{i} (MC stat. of bin {i}{rng})"


def build_higgs_report(root: Path) -> Any:
    """The report of a Higgs run: the result in one sentence, the results table, pre-/post-fit
    yields, the post-fit score distribution, nuisance pulls and impacts, the correlation matrix,
    the likelihood scan and the classifier's figures (missing pieces are left out)."""
    import html

    from scipy import stats as st

    from rediscovery.core.report import (
        Figure,
        Html,
        Paragraph,
        Report,
        Section,
        Table,
        fmt_asym,
        fmt_errors,
        fmt_number,
        fmt_pm,
        read_json_mapping,
        round_to_uncertainty,
    )

    res = read_json_mapping(root / "results.json")
    post = read_json_mapping(root / "fit" / "postfit.json")
    metrics = read_json_mapping(root / "train" / "metrics.json")
    stages = read_json_mapping(root / "manifest.json").get("stages", {})
    cfg = stages.get("simulate", {}).get("config", {}).get("config", {})
    rep = Report(title="")
    fit_json = root / "fit" / "fit.json"
    fit_time = fit_json.stat().st_mtime if fit_json.exists() else None
    fit_func = stages.get("fit", {}).get("config", {}).get("function", "builtin")
    if fit_func != "builtin":
        rep.warnings.append(f"The fit stage was replaced by {fit_func}; tables and figures "
                            "that it did not write are left out.")
    # yields from another fit (a replaced stage leaves the built-in fit's files behind)
    if post.get("bestfit") and (_num(res.get("mu_hat")) is None
                                or abs(post["bestfit"][0] - res["mu_hat"]) > 1e-9):
        post = {}

    if fit_time is not None:  # figures older than fit.json are from an earlier fit
        rep.excluded = [p for p in (root / "fit").glob("*.png")
                        if p.stat().st_mtime < fit_time - 1.0]

    def figure(rel: str, caption: str, wide: bool = False) -> list[Figure]:
        p = root / rel
        return [Figure(p, caption, wide)] if p.exists() and p not in rep.excluded else []

    # -- headline and subtitle
    split = _mu_split(res)
    mu = _num(res.get("mu_hat"))
    nuis = res.get("nuisances")
    only_gamma = isinstance(nuis, dict) and bool(nuis) and all(
        n.startswith("gamma_stat_") for n in nuis)
    # with only the γ's, the "systematic" part is the templates' MC statistics: say so
    syst_name = "template MC stat" if only_gamma else "syst"
    z_obs, z_exp = _num(res.get("z_discovery_observed")), _num(res.get("z_discovery_expected"))
    if mu is not None and split is not None:
        text = f"μ̂ = {fmt_asym(mu, *split['total'])}"
        if "stat" in split:
            s_up, s_dn = split["stat"]
            y_up, y_dn = split["syst"]
            _, su, sd, yu, yd = round_to_uncertainty(mu, s_up, s_dn, y_up, y_dn)
            stat = f"±{su}" if su == sd else f"+{su} −{sd}"
            syst = f"±{yu}" if yu == yd else f"+{yu} −{yd}"
            text += f" (stat {stat}, {syst_name} {syst})"
        if z_obs is not None:
            text += f", observed significance {z_obs:.1f}σ"
        if z_exp is not None:
            text += f" (expected {z_exp:.1f}σ)"
        rep.headline = Html(text + ".")
    elif res:
        rep.warnings.append("The fit did not give a signal strength: "
                            + "; ".join(map(str, res.get("messages") or ["no μ̂ in results"])))
    else:
        rep.warnings.append("No results.json: the run has not reached the fit yet.")
    if res and res.get("converged") is False:
        rep.warnings.append("The fit did NOT converge: " + "; ".join(map(str, res.get(
            "messages") or [])))
    lumi = cfg.get("lumi_factor")
    sub = ["H→ττ signal strength μ = σ·B / (σ·B)<sub>SM</sub> from a binned "
           f"profile-likelihood fit of the {html.escape(str(cfg.get('model', 'classifier')))} "
           "classifier score"]
    if lumi is not None:
        sub.append(f"pseudo-data at {fmt_number(float(lumi))}× the HiggsML luminosity")
    if "seed" in cfg:
        sub.append(f"seed {cfg['seed']}")
    sub.append("blinded: the true μ is only in simulate/truth.json (compare with "
               "rediscovery unblind RUN)")
    rep.subtitle = Html("; ".join(sub) + ".")

    # -- results table
    rows: list[list[Any]] = []
    if split is not None and mu is not None:
        rows.append(["signal strength μ̂ (68.27% CL)", fmt_asym(mu, *split["total"])])
        if "stat" in split:
            rows.append(["  statistical uncertainty", fmt_errors(*split["stat"])])
            rows.append(["  systematic uncertainty (nuisance parameters"
                         + (": only the templates' MC statistics)" if only_gamma else ")"),
                         fmt_errors(*split["syst"])])
    if z_obs is not None:
        p = float(st.norm.sf(z_obs))
        rows.append(["observed discovery significance Z₀ [σ]",
                     f"{z_obs:.2f}  (p₀ = {fmt_number(p, 2)})"])
    if z_exp is not None:
        rows.append(["expected discovery significance (median, μ = 1) [σ]", f"{z_exp:.2f}"])
    if _num(res.get("cls_upper_limit_95")) is not None:
        rows.append(["95% CL upper limit on μ (CLs, asymptotic)",
                     f"{res['cls_upper_limit_95']:.2f}"])
    if _num(res.get("auc")) is not None:
        rows.append(["classifier ROC AUC (test split)", fmt_pm(res["auc"], res.get("auc_err"))])
    # the AMS of results.json is the fit stage's (template MC, no error); its error comes from
    # the training stage's test split, whose own AMS is in metrics.json: never mix the two
    if _num(metrics.get("ams_best")) is not None:
        cut = _num(metrics.get("ams_threshold"))
        rows.append(["best AMS, classifier test split" + (f" (score > {cut:.3f})" if cut
                                                          is not None else ""),
                     fmt_pm(metrics["ams_best"], metrics.get("ams_best_err"))])
    if _num(res.get("ams_best")) is not None:
        cut = _num(res.get("ams_best_threshold"))
        rows.append(["best AMS, template MC at the data luminosity" + (
            f" (score > {cut:.3f})" if cut is not None else ""), f"{res['ams_best']:.2f}"])
    if res.get("n_bins") is not None:
        rows.append(["bins of the classifier score in the fit", res["n_bins"]])
    if res.get("n_observed") is not None:
        rows.append(["observed events (pseudo-data)", int(res["n_observed"])])
    if "converged" in res:
        rows.append(["fit converged", "yes" if res["converged"] else "NO"])
    cc = res.get("cross_check")
    if isinstance(cc, dict) and _num(cc.get("mu_hat")) is not None:
        rows.append([f"cross-check: μ̂ with the {cc.get('backend')} back-end",
                     f"{cc['mu_hat']:.4f} (relative difference "
                     f"{fmt_number(cc.get('rel_diff_mu_hat'), 2)})"])
    if rows:
        rep.sections.append(Section("Results", [Table(
            "Fit results", ["quantity", "value"], rows,
            notes="Intervals: profile likelihood, −2Δln L = 1 (68.27% CL). Statistical "
                  "uncertainty: all nuisance parameters fixed at their best-fit values; "
                  "systematic: √(total² − stat²) per side. Significances are asymptotic "
                  "(Cowan et al. 2011). Values are rounded to two significant digits of their "
                  "uncertainty.")], key="results"))

    # -- yields
    if post.get("prefit"):
        procs = list(post.get("processes", []))
        order = [p for p in procs if p != "signal"]
        postfit = post.get("postfit") or {}
        yrows, classes = [], []

        def yrow(label: str, key: str, cls: str = "") -> None:
            pre_e = post["prefit"].get(key)
            post_e = postfit.get(key)
            yrows.append([label,
                          fmt_pm(pre_e["total"], pre_e["error"]) if pre_e else "—",
                          fmt_pm(post_e["total"], post_e["error"]) if post_e else "—"])
            classes.append(cls)

        yrow(PROCESS_LABELS["signal"], "signal")
        for p in sorted(order, key=lambda n: -post["prefit"][n]["total"]):
            yrow(PROCESS_LABELS.get(p, p), p)
        yrow("total background", "background", "total")
        yrow("total prediction (signal + background)", "total", "total")
        n_obs = post.get("observed", {}).get("total")
        yrows.append(["observed (pseudo-data)", fmt_number(int(n_obs)) if n_obs is not None
                      else "—", fmt_number(int(n_obs)) if n_obs is not None else "—"])
        classes.append("data")
        blocks: list[Any] = [Table(
            "Event yields per process, all bins [events]",
            ["process", "pre-fit (μ = 1)", "post-fit"], yrows, row_classes=classes,
            notes="Pre-fit: signal at μ = 1 and nominal nuisance parameters; uncertainty: MC "
                  "statistics of the templates, √Σw². Post-fit: at μ̂ and the fitted nuisance "
                  "parameters; uncertainty: linear propagation of the full covariance of the "
                  "fit (correlations included, so the total's is not the quadrature sum of the "
                  "processes'). The MC-statistics factors γ act on the sum of all processes in "
                  "a bin (Barlow–Beeston lite), so a small process's post-fit uncertainty is its "
                  "share of that, not its own MC statistics. Source: fit/postfit.json.")]
        hs = post.get("high_score")
        if isinstance(hs, dict) and hs.get("prefit") and hs.get("score_min") is not None:
            hrows, hcls = [], []
            for key, label, cls in [("signal", PROCESS_LABELS["signal"], ""),
                                    *[(p, PROCESS_LABELS.get(p, p), "") for p in sorted(
                                        order, key=lambda n: -post["prefit"][n]["total"])],
                                    ("background", "total background", "total"),
                                    ("total", "total prediction", "total")]:
                a, b = hs["prefit"].get(key), (hs.get("postfit") or {}).get(key)
                hrows.append([label, fmt_pm(a["total"], a["error"]) if a else "—",
                              fmt_pm(b["total"], b["error"]) if b else "—"])
                hcls.append(cls)
            hrows.append(["observed (pseudo-data)", fmt_number(int(hs["observed"])),
                          fmt_number(int(hs["observed"]))])
            hcls.append("data")
            blocks.append(Table(
                f"Event yields in the {hs['n_bins']} highest-score bins (score > "
                f"{hs['score_min']:.3f}) [events]", ["process", "pre-fit (μ = 1)", "post-fit"],
                hrows, row_classes=hcls,
                notes="The most signal-like part of the fit; uncertainties as above."))
        rep.sections.append(Section("Event yields", blocks, key="yields"))

    # -- post-fit distribution (and per-bin table)
    blocks = [*figure("fit/postfit.png", "Post-fit classifier score distribution: stacked "
                      "backgrounds and signal at μ̂ with the fitted nuisance parameters, "
                      "pseudo-data with Poisson errors; the ratio panel shows data / prediction. "
                      "Hatched: MC-statistical uncertainty of the templates."),
              *figure("fit/prefit.png", "The same before the fit (signal at μ = 1, nominal "
                      "nuisance parameters).")]
    edges = res.get("edges")
    if post.get("prefit") and isinstance(edges, list) and len(edges) == res.get("n_bins", -1) + 1:
        pre_s = post["prefit"]["signal"]
        pre_b = post["prefit"]["background"]
        post_t = (post.get("postfit") or {}).get("total")
        obs_b = post["observed"]["bins"]
        brows = []
        for i in range(len(edges) - 1):
            brows.append([f"{i}: {edges[i]:.3f}–{edges[i + 1]:.3f}",
                          fmt_pm(pre_s["bins"][i], pre_s["bin_errors"][i]),
                          fmt_pm(pre_b["bins"][i], pre_b["bin_errors"][i]),
                          fmt_pm(post_t["bins"][i], post_t["bin_errors"][i]) if post_t else "—",
                          fmt_number(int(obs_b[i]))])
        blocks.append(Table("Yields per bin of the classifier score [events]",
                            ["bin: score range", "signal pre-fit (μ = 1)",
                             "background pre-fit", "total post-fit", "observed"], brows,
                            notes="Bin edges optimised on an independent half of the template "
                                  "sample; uncertainties as in the yield table."))
    if blocks:
        rep.sections.append(Section("Post-fit distribution", blocks, key="postfit"))

    # -- nuisance parameters
    if isinstance(nuis, dict) and nuis:

        def impact(n: str) -> float:
            imp = nuis[n].get("impact") or [0, 0]
            vals = [abs(v) for v in imp if _num(v) is not None]
            return max(vals) if vals else 0.0

        ranked = sorted(nuis, key=impact, reverse=True)
        top = ranked[:10]
        nrows = []
        for n in top:
            d = nuis[n]
            imp = d.get("impact") or [None, None]
            nrows.append([_gamma_label(n, edges if isinstance(edges, list) else None),
                          f"{d['pull']:+.2f}".replace("-", "−") if _num(d.get("pull"))
                          is not None else "—",
                          f"{d['constraint']:.2f}" if _num(d.get("constraint")) is not None
                          else "—",
                          *(f"{v:+.4f}".replace("-", "−") if _num(v) is not None else "—"
                            for v in imp[:2])])
        intro = (f"This fit has only MC-statistics nuisance parameters: one γ per bin "
                 f"(Barlow–Beeston lite, {len(nuis)} in total), no systematic-uncertainty "
                 "nuisance parameters. " if only_gamma else
                 f"{len(nuis)} nuisance parameters. ")
        intro += (f"The {len(top)} with the largest impact on μ̂ are listed; the impact is the "
                  "shift of μ̂ when the parameter is fixed at θ̂ ∓ σ(θ̂) and the fit repeated. "
                  "Pull: (θ̂ − θ₀)/σ_prior; constraint: σ_post/σ_prior.")
        blocks = [Paragraph(intro), Table(
            "Nuisance parameters ranked by their impact on μ̂",
            ["parameter", "pull", "constraint", "Δμ̂ (θ̂ − σ)", "Δμ̂ (θ̂ + σ)"], nrows),
            *figure("fit/impacts.png", "Post-fit impacts Δμ̂ of the nuisance parameters, "
                    "largest first."),
            *figure("fit/pulls.png", "Pulls (θ̂ − θ₀)/σ_prior with the constraints "
                    "σ_post/σ_prior as error bars; green ±1, yellow ±2.")]
        rep.sections.append(Section("Nuisance parameters: pulls and impacts", blocks,
                                    key="nuisances"))
    elif res.get("converged") and fit_func == "builtin":
        rep.sections.append(Section("Nuisance parameters: pulls and impacts", [Paragraph(
            "The fit has no nuisance parameters (μ only).")], key="nuisances"))

    # -- correlation
    corr_blocks: list[Any] = figure("fit/correlation.png", "Correlation matrix of the fit "
                                    "parameters (μ and the nuisance parameters) at the best "
                                    "fit, from the inverse Hessian of the likelihood.",
                                    wide=True)
    if post.get("correlation") and post.get("parameters"):
        names = post["parameters"]
        c = np.asarray(post["correlation"], dtype=float)
        if names and names[0] == "mu" and len(names) > 1:
            j = np.argsort(-np.abs(c[0, 1:]))[:5] + 1
            corr_blocks.append(Table(
                "Largest correlations with μ", ["parameter", "correlation with μ"],
                [[_gamma_label(names[i], edges if isinstance(edges, list) else None),
                  f"{c[0, i]:+.3f}".replace("-", "−")] for i in j]))
    if corr_blocks:
        rep.sections.append(Section("Correlations of the fit parameters", corr_blocks,
                                    key="correlation"))

    # -- likelihood scan
    scan = figure("fit/likelihood_scan.png", "Profile likelihood −2Δln L(μ) with the 68.27% "
                  "and 95.45% CL levels and their crossings.")
    if scan:
        rep.sections.append(Section("Likelihood scan", scan, key="scan"))

    # -- classifier
    cblocks: list[Any] = []
    ot = metrics.get("overtraining")
    if isinstance(ot, dict) and ot:
        cblocks.append(Table(
            "Overtraining check: Kolmogorov–Smirnov test, training vs test scores",
            ["class", "KS statistic", "p-value"],
            [[k, f"{v.get('ks_statistic', float('nan')):.4f}", fmt_number(v.get("pvalue"), 2)]
             for k, v in ot.items() if isinstance(v, dict)],
            notes="A small p-value means the training and test score distributions differ "
                  "(overtraining); with tens of thousands of events even a harmless difference "
                  "is significant, so read it with the score-distribution figure."))
    cblocks += [*figure("train/roc.png", "ROC curve of the classifier on the test split."),
                *figure("train/scores.png", "Score distributions of signal and background, "
                        "training (filled) vs test (points): the overtraining check."),
                *figure("train/ams.png", "Approximate median significance (AMS) against the "
                        "score threshold on the test split."),
                *figure("train/calibration.png", "Calibration: signal fraction against the "
                        "mean score in bins of the score (balanced class weights)."),
                *figure("train/history.png", "Training history.")]
    if cblocks:
        rep.sections.append(Section("Classifier", cblocks, key="classifier"))
    return rep


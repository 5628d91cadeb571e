"""Score templates of every sample at nominal and shifted nuisance values.

For every nuisance parameter of
:data:`~rediscovery.higgs.systematics.variations.FAIR_UNIVERSE_PRIORS`
the classifier-score histogram of each sample (signal and every background process) is built
from Monte Carlo events altered with
:func:`~rediscovery.higgs.systematics.variations.apply_systematics`:

* **shape nuisances** (``tes``, ``jes``, ``soft_met``) move events between score bins and across
  the selection thresholds. Their templates at α = ±1 (one prior standard deviation; for the
  log-normal soft MET, ``soft_met = e^{±1}`` GeV around the median 1 GeV) become pyhf
  ``histosys`` modifiers (:func:`shape_modifier`; absolute yields, so they carry the
  normalisation change too), interpolated as pyhf's default (code 4p: smooth polynomial for
  |α| < 1, linear beyond; Cranmer et al. 2012, CERN-OPEN-2012-016, and the pyhf documentation).
  Templates on a finer grid of α are kept to check that the interpolation is adequate
  (:func:`check_templates` warns, naming the bin, where it is not).
* **normalisation nuisances** (``ttbar_scale``, ``diboson_scale``, ``bkg_scale``) only scale
  weights, so they need no templates: :func:`rediscovery.higgs.systematics.fit.build_model`
  turns their priors into ``normsys`` modifiers.

The soft-MET templates reuse one seed (common random numbers): the Gaussian soft term is
``soft_met · z`` with the same ``z`` per event in every template, so template differences are
the effect of the width, not noise.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.schema import LABEL, PROCESS, WEIGHT
from rediscovery.higgs.stats.model import SIGNAL, BinnedModel, HistoSys
from rediscovery.higgs.systematics.variations import (
    FAIR_UNIVERSE_PRIORS,
    NuisancePrior,
    SelectionThresholds,
    apply_systematics,
)

__all__ = [
    "DEFAULT_GRID",
    "NORM_NUISANCES",
    "SHAPE_NUISANCES",
    "SIGNAL_SAMPLE",
    "Scorer",
    "TemplateWarning",
    "Templates",
    "build_template_family",
    "build_templates",
    "check_templates",
    "histogram_samples",
    "nuisance_kwargs",
    "shape_modifier",
]

log = logging.getLogger(__name__)

#: Nuisances that change the kinematics (templates needed).
SHAPE_NUISANCES: tuple[str, ...] = ("tes", "jes", "soft_met")
#: Nuisances that scale weights, and the background processes they scale (``None`` = all).
NORM_NUISANCES: Mapping[str, tuple[str, ...] | None] = {
    "ttbar_scale": ("ttbar",),
    "diboson_scale": ("diboson",),
    "bkg_scale": None,
}
#: Grid of α (prior standard deviations) at which templates are built, beside α = 0: ±1 make
#: the histosys, ±0.5 check its interpolation (:func:`check_templates`), and all of them are
#: the knots of the ``"spline"`` morphing (±1.5 and ±2 reach the soft-MET clip, α = ln 5).
DEFAULT_GRID: tuple[float, ...] = (-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0)
#: Name of the signal sample in templates: the one of
#: :class:`~rediscovery.higgs.stats.model.BinnedModel`.
SIGNAL_SAMPLE = SIGNAL

Scorer = Callable[[pd.DataFrame], np.ndarray]


class TemplateWarning(UserWarning):
    """A template is too irregular for the piece-wise linear interpolation of the fit."""


def nuisance_kwargs(alphas: Mapping[str, float] | None = None,
                    priors: Mapping[str, NuisancePrior] = FAIR_UNIVERSE_PRIORS,
                    *, clip: bool = False) -> dict[str, float]:
    """Physical values for :func:`apply_systematics` at standardised nuisances α.

    Parameters missing from ``alphas`` are at α = 0 (``tes = jes = 1``, ``soft_met`` = 1 GeV,
    scale factors 1). ``clip`` applies the prior's ``[lo, hi]`` range.
    """
    out: dict[str, float] = {}
    unknown = sorted(set(alphas or {}) - set(priors))
    if unknown:
        raise ConfigError(f"unknown nuisance parameters {unknown}; known: {sorted(priors)}")
    for name, p in priors.items():
        v = float(p.value(float((alphas or {}).get(name, 0.0))))
        out[name] = float(np.clip(v, p.lo, p.hi)) if clip else v
    return out


def histogram_samples(df: pd.DataFrame, scores: np.ndarray, edges: np.ndarray, *,
                      processes: Sequence[str] | None = None,
                      weight_scale: float = 1.0) -> tuple[dict[str, np.ndarray],
                                                          dict[str, np.ndarray]]:
    """Weighted score histograms per sample (``signal`` = ``Label == 1``, backgrounds by process).

    Parameters
    ----------
    df
        Events with ``Weight``, ``Label`` and ``Process``.
    scores
        Classifier score per event.
    edges
        Bin edges; scores outside are put in the first/last bin.
    processes
        Background processes to include (default: those present, in first-seen order).
    weight_scale
        Factor on all weights (e.g. luminosity ratio).

    Returns
    -------
    yields, sumw2
        Sample → per-bin sum of weights and of squared weights.
    """
    for c in (WEIGHT, LABEL, PROCESS):
        if c not in df.columns:
            raise InputError("templates need weighted, labelled MC events", column=c)
    s = np.asarray(scores, dtype=float)
    if s.shape != (len(df),):
        raise InputError(f"scores have shape {s.shape}, expected ({len(df)},)")
    edges = np.asarray(edges, dtype=float)
    idx = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, edges.size - 2)
    w = df[WEIGHT].to_numpy(dtype=float) * weight_scale
    lab = df[LABEL].to_numpy()
    proc = df[PROCESS].astype(str).to_numpy()
    nb = edges.size - 1
    if processes is None:
        bkg = proc[lab == 0]
        processes = list(dict.fromkeys(bkg.tolist()))
    yields: dict[str, np.ndarray] = {}
    sumw2: dict[str, np.ndarray] = {}
    masks = {SIGNAL_SAMPLE: lab == 1, **{p: (lab == 0) & (proc == p) for p in processes}}
    for name, m in masks.items():
        yields[name] = np.bincount(idx[m], weights=w[m], minlength=nb)
        sumw2[name] = np.bincount(idx[m], weights=w[m] ** 2, minlength=nb)
    return yields, sumw2


@dataclass
class Templates:
    """Score histograms of every sample at nominal and shifted nuisance values.

    Attributes
    ----------
    edges
        Score bin edges, ``(n_bins + 1,)``.
    nominal, sumw2
        Sample → yields (events) and sums of squared weights at α = 0.
    shifted
        Shape nuisance → α → sample → yields.
    priors
        The nuisance priors used (name → :class:`NuisancePrior`).
    nuisances
        Nuisances the model will carry (shape and normalisation).
    """

    edges: np.ndarray
    nominal: dict[str, np.ndarray]
    sumw2: dict[str, np.ndarray]
    shifted: dict[str, dict[float, dict[str, np.ndarray]]] = field(default_factory=dict)
    priors: dict[str, NuisancePrior] = field(default_factory=dict)
    nuisances: tuple[str, ...] = ()

    @property
    def samples(self) -> tuple[str, ...]:
        return tuple(self.nominal)

    @property
    def backgrounds(self) -> tuple[str, ...]:
        return tuple(s for s in self.nominal if s != SIGNAL_SAMPLE)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (``from_dict`` reads it back)."""
        return {
            "edges": self.edges.tolist(),
            "nominal": {k: v.tolist() for k, v in self.nominal.items()},
            "sumw2": {k: v.tolist() for k, v in self.sumw2.items()},
            "shifted": {n: [{"alpha": a, "yields": {k: v.tolist() for k, v in ys.items()}}
                            for a, ys in sorted(d.items())] for n, d in self.shifted.items()},
            "priors": {k: {"kind": p.kind, "nominal": p.nominal, "sigma": p.sigma, "lo": p.lo,
                           "hi": p.hi} for k, p in self.priors.items()},
            "nuisances": list(self.nuisances),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Templates:
        try:
            return cls(
                edges=np.asarray(d["edges"], dtype=float),
                nominal={k: np.asarray(v, float) for k, v in d["nominal"].items()},
                sumw2={k: np.asarray(v, float) for k, v in d["sumw2"].items()},
                shifted={n: {float(e["alpha"]): {k: np.asarray(v, float)
                                                  for k, v in e["yields"].items()}
                             for e in lst} for n, lst in d["shifted"].items()},
                priors={k: NuisancePrior(k, **p) for k, p in d["priors"].items()},
                nuisances=tuple(d["nuisances"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"not a templates file (missing or bad field: {exc})") from exc


def _score(scorer: Scorer, df: pd.DataFrame) -> np.ndarray:
    s = np.asarray(scorer(df), dtype=float).reshape(-1)
    if s.size != len(df) or not np.all(np.isfinite(s)):
        raise InputError(f"the scorer returned {s.size} values for {len(df)} events or "
                         "non-finite values; expected one finite score per event")
    return s


def build_templates(
    events: pd.DataFrame, scorer: Scorer, edges: np.ndarray, **options: Any
) -> Templates:
    """Score templates of every sample at nominal and shifted nuisance values.

    The one-scorer case of :func:`build_template_family`, whose keyword ``options`` it takes
    (``nuisances``, ``grid``, ``priors``, ``seed``, ``weight_scale``, ``thresholds``,
    ``check``); ``scorer`` is a function DataFrame → score per event (e.g. a fitted
    classifier's ``predict``).

    Returns
    -------
    Templates
    """
    return build_template_family(events, {None: scorer}, edges, **options)[None]


def build_template_family(
    events: pd.DataFrame,
    scorers: Mapping[Any, Scorer],
    edges: np.ndarray,
    *,
    nuisances: Sequence[str] | None = None,
    grid: Sequence[float] = DEFAULT_GRID,
    priors: Mapping[str, NuisancePrior] = FAIR_UNIVERSE_PRIORS,
    seed: int = 0,
    weight_scale: float = 1.0,
    thresholds: SelectionThresholds | None = None,
    check: bool = True,
) -> dict[Any, Templates]:
    """Score templates of several scorers at once (same binning, same shifted events).

    Each shifted copy of ``events`` is made once and scored by every scorer (e.g. a
    parameterised classifier evaluated at several values of its nuisance inputs), so the
    cost of the shifts is paid once.

    Parameters
    ----------
    events
        Nominal labelled MC events (``Weight`` in expected events, ``Label``, ``Process``)
        holding every column the scorer needs (``DER_*``/``NEW_*`` are recomputed after
        each shift).
    scorers
        Key → function DataFrame → score per event (e.g. a fitted classifier's ``predict``).
    edges
        Score bin edges.
    nuisances
        Subset of ``priors`` to carry (default all six of the challenge).
    grid
        α values (prior σ) of the shape templates; must contain −1 and +1.
    priors
        Nuisance priors (default :data:`FAIR_UNIVERSE_PRIORS`).
    seed
        Seed of the soft-MET draws (the same in every template: common random numbers).
    weight_scale
        Factor on the weights (luminosity ratio).
    thresholds
        Selection re-applied after each shift (default: the simulation's).
    check
        Run :func:`check_templates` (warnings, naming the bin).

    Returns
    -------
    dict
        Key of ``scorers`` → :class:`Templates`.
    """
    names = tuple(priors) if nuisances is None else tuple(nuisances)
    unknown = sorted(set(names) - set(priors))
    if unknown:
        raise ConfigError(f"unknown nuisances {unknown}; known: {sorted(priors)}")
    for n in names:
        if n not in SHAPE_NUISANCES and n not in NORM_NUISANCES:
            raise ConfigError(f"nuisance {n!r} has no template recipe; shape nuisances are "
                              f"{SHAPE_NUISANCES}, normalisation ones {tuple(NORM_NUISANCES)}")
    grid = tuple(sorted({float(a) for a in grid}))
    if -1.0 not in grid or 1.0 not in grid:
        raise ConfigError(f"the template grid must contain -1 and +1 (the histosys points), got "
                          f"{grid}")
    edges = np.asarray(edges, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise InputError("edges must be at least two increasing values")
    if not scorers:
        raise ConfigError("build_template_family needs at least one scorer")
    bkg = events.loc[events[LABEL] == 0, PROCESS].astype(str)
    processes = list(dict.fromkeys(bkg.tolist()))

    def hist_at(alphas: Mapping[str, float]) -> dict[Any, tuple[dict[str, np.ndarray],
                                                                dict[str, np.ndarray]]]:
        kw = nuisance_kwargs(alphas, priors)
        shifted = apply_systematics(events, tes=kw.get("tes", 1.0), jes=kw.get("jes", 1.0),
                                    soft_met=kw.get("soft_met", 0.0), seed=seed,
                                    thresholds=thresholds, mmc=False)
        return {key: histogram_samples(shifted, _score(sc, shifted), edges,
                                       processes=processes, weight_scale=weight_scale)
                for key, sc in scorers.items()}

    nominal = hist_at({})
    shifted: dict[Any, dict[str, dict[float, dict[str, np.ndarray]]]] = {k: {} for k in scorers}
    for n in names:
        if n in SHAPE_NUISANCES:
            by_alpha = {a: hist_at({n: a}) for a in grid}
            for key in scorers:
                shifted[key][n] = {a: by_alpha[a][key][0] for a in grid}
            log.info("templates of %s built at α = %s", n, grid)
    out = {}
    for key in scorers:
        t = Templates(edges=edges, nominal=nominal[key][0], sumw2=nominal[key][1],
                      shifted=shifted[key], priors=dict(priors), nuisances=names)
        if check:
            check_templates(t)
        out[key] = t
    return out


def check_templates(templates: Templates, *, tol: float = 0.5, min_rel_shift: float = 0.01,
                    n_sigma: float = 3.0) -> list[str]:
    """Warn where a shape template is too irregular for piece-wise linear interpolation.

    For each shape nuisance, sample and bin, the yields ``y(α)`` on the grid points inside
    ``[-1, 1]`` (e.g. α = ±0.5) are compared with the fit model's interpolation from the
    α = −1, 0, +1 templates (:func:`shape_modifier` in a
    :class:`~rediscovery.higgs.stats.model.BinnedModel`, i.e. whatever interpolation code the
    fit uses). A bin is flagged when the largest deviation exceeds ``tol`` times
    the larger ±1σ shift ``Δ``, provided that shift is relevant (more than ``min_rel_shift`` of
    the bin's nominal yield) and the deviation is significant: more than ``n_sigma`` times the
    MC noise of a migration, estimated as ``sqrt(Δ w + w²)`` with ``w = Σw²/Σw`` the bin's
    mean event weight (``Δ/w`` MC events migrate, with Poisson fluctuations). Typical causes:
    too few MC events per bin, or a non-monotone response (a bin gaining events from one side
    and losing them to the other).

    Returns
    -------
    list of str
        One message per flagged (nuisance, sample, bin); each is also issued as a
        :class:`TemplateWarning`.
    """
    msgs: list[str] = []
    for n, by_alpha in templates.shifted.items():
        inner = np.array([a for a in sorted(by_alpha) if abs(a) < 1.0 and a != 0.0])
        if inner.size == 0:
            continue
        model = BinnedModel(templates.nominal[SIGNAL_SAMPLE],
                            {b: templates.nominal[b] for b in templates.backgrounds},
                            systematics=[shape_modifier(templates, n)], edges=templates.edges)
        pred = [model.expected(1.0, {n: float(a)}, per_sample=True) for a in inner]
        for s, nom in templates.nominal.items():
            ys = np.array([by_alpha[a][s] for a in inner])  # (A, B)
            hi, lo = by_alpha[1.0][s], by_alpha[-1.0][s]
            interp = np.array([p[s] for p in pred])
            scale = np.maximum(np.abs(hi - nom), np.abs(nom - lo))
            relevant = scale > min_rel_shift * np.maximum(nom, 1e-300)
            dev = np.max(np.abs(ys - interp), axis=0)
            sw2 = templates.sumw2[s]
            wbar = np.where(nom > 0, sw2 / np.where(nom > 0, nom, 1.0), 0.0)
            noise = np.sqrt(scale * wbar + wbar**2)
            bad = relevant & (dev > tol * scale) & (dev > n_sigma * noise)
            for b in np.flatnonzero(bad):
                lo_e, hi_e = templates.edges[b], templates.edges[b + 1]
                msg = (f"template {n!r}, sample {s!r}, bin {b} (score [{lo_e:.4g}, {hi_e:.4g}]):"
                       f" the yields at α = {inner.tolist()} deviate from the interpolation "
                       f"between α = -1, 0, +1 by {dev[b]:.3g} events (> {tol} × the ±1σ shift"
                       f" {scale[b]:.3g}); consider fewer bins or more MC events")
                msgs.append(msg)
                warnings.warn(msg, TemplateWarning, stacklevel=2)
    return msgs


def shape_modifier(templates: Templates, name: str, *,
                   interpolation: str = "code4p") -> HistoSys:
    """The ``histosys`` of shape nuisance ``name``: every sample's yields at α = ±1.

    ``interpolation``: ``"code4p"`` (pyhf's default, linear beyond ±1σ), ``"code4"``
    (per-bin multiplicative, exponential beyond ±1σ) or ``"spline"`` (a cubic spline through
    every template of the grid, linear beyond its ends); see
    :class:`~rediscovery.higgs.stats.model.HistoSys`.
    """
    if name not in templates.shifted:
        raise ConfigError(f"no templates for shape nuisance {name!r}; rebuild the templates "
                          "with it")
    by_alpha = templates.shifted[name]
    lo, hi = by_alpha[-1.0], by_alpha[1.0]
    points = None
    if interpolation == "spline":
        extra = [a for a in sorted(by_alpha) if a not in (-1.0, 0.0, 1.0)]
        points = {s: {a: by_alpha[a][s].tolist() for a in extra} for s in templates.samples}
    return HistoSys(name, {s: (lo[s].tolist(), hi[s].tolist()) for s in templates.samples},
                    interpolation=interpolation, points=points)

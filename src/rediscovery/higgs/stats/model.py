"""Binned model definition and validation (shared by both fit back-ends)."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from rediscovery.core.errors import InputError
from rediscovery.higgs.stats.likelihood import ModelArrays, SplineShape, rates

__all__ = ["CODE4_MIN_RATIO", "HISTOSYS_CODES", "SIGNAL", "BinnedModel", "HistoSys", "NormSys"]

log = logging.getLogger(__name__)

#: Name of the signal sample (its yields scale with μ).
SIGNAL = "signal"

#: pyhf's default bounds of a constrained modifier parameter α (normsys/histosys).
ALPHA_BOUNDS = (-5.0, 5.0)
#: Interpolation codes of :class:`HistoSys`: ``code4p`` (additive, pyhf's histosys default),
#: ``code4`` (multiplicative per bin, exponential beyond ±1σ) and ``spline`` (additive cubic
#: spline through templates at more α points than ±1).
HISTOSYS_CODES: tuple[str, ...] = ("code4p", "code4", "spline")
#: Smallest per-bin ratio template/nominal of a ``code4`` HistoSys: a bin emptied at α = ±1
#: is extrapolated as this factor per σ instead of log(0).
CODE4_MIN_RATIO = 1e-6


@dataclass(frozen=True)
class NormSys:
    """A normalisation uncertainty (pyhf ``normsys``, HistFactory ``OverallSys``).

    Parameters
    ----------
    name
        Parameter name α (shared with a :class:`HistoSys` of the same name).
    factors
        Sample name → ``(lo, hi)``: the multiplicative yield factors at α = −1 and α = +1
        (e.g. ``{"ttbar": (0.98, 1.02)}`` for a 2% normalisation uncertainty). Interpolated
        as pyhf's default (HistFactory code 4): ``hi**α`` for α ≥ 1, ``lo**(−α)`` for
        α ≤ −1, a smooth 6th-order polynomial for |α| < 1.
    """

    name: str
    factors: Mapping[str, tuple[float, float]]


@dataclass(frozen=True)
class HistoSys:
    """A shape uncertainty (pyhf ``histosys``): yields per bin at α = ±1.

    Parameters
    ----------
    name
        Parameter name α (shared with a :class:`NormSys` of the same name).
    templates
        Sample name → ``(lo, hi)``: per-bin yields (events) at α = −1 and α = +1.
    interpolation
        ``"code4p"`` (default, pyhf's ``histosys``): the difference to the nominal is
        interpolated with a smooth polynomial for |α| < 1 and **linearly** beyond, and added
        to the nominal. ``"code4"``: every bin is *multiplied* by HistFactory code 4 of its
        own ratios ``hi_b/nom_b``, ``lo_b/nom_b`` (pyhf ``code4`` applied per bin: a 6th-order
        polynomial for |α| < 1, ``(hi_b/nom_b)^α`` and ``(lo_b/nom_b)^{−α}`` beyond, so the
        extrapolation is **exponential** and never negative; Cranmer et al. 2012,
        CERN-OPEN-2012-016). Bins with a zero nominal stay zero; ratios are floored at
        :data:`CODE4_MIN_RATIO`. The package's own likelihood only: the pyhf back-end refuses
        it (pyhf's ``histosys`` is additive).
        ``"spline"``: the difference to the nominal is a cubic spline per bin (not-a-knot,
        :class:`scipy.interpolate.CubicSpline`) through α = −1, 0, +1 and the extra ``points``,
        continued **linearly** with the end slopes beyond the outermost points. With templates
        at, e.g., α = ±2 it follows a response that is not linear beyond ±1σ (the soft-MET
        width, whose effect grows like e^{2α}). With no ``points`` it is the parabola through
        α = −1, 0, +1. The package's own likelihood only (the pyhf back-end refuses it).
    points
        ``"spline"`` only: sample → {α → per-bin yields} at extra α values (not 0 or ±1; the
        same α values for every sample).
    """

    name: str
    templates: Mapping[str, tuple[Sequence[float], Sequence[float]]]
    interpolation: str = "code4p"
    points: Mapping[str, Mapping[float, Sequence[float]]] | None = None

    def __post_init__(self) -> None:
        if self.interpolation not in HISTOSYS_CODES:
            raise InputError(f"histosys {self.name!r}: interpolation {self.interpolation!r} "
                             f"unknown; expected one of {HISTOSYS_CODES}")
        if self.points and self.interpolation != "spline":
            raise InputError(f"histosys {self.name!r}: extra template points need "
                             f"interpolation='spline', not {self.interpolation!r}")
        sets = {tuple(sorted(float(a) for a in d)) for d in (self.points or {}).values()}
        if len(sets) > 1:
            raise InputError(f"histosys {self.name!r}: every sample needs templates at the same "
                             f"extra α points, got {sorted(sets)}")
        bad = [a for a in (sets.pop() if sets else ()) if a in (-1.0, 0.0, 1.0)
               or not math.isfinite(a)]
        if bad:
            raise InputError(f"histosys {self.name!r}: extra points at α = {bad}; expected "
                             "finite values other than 0 (the nominal) and ±1 (lo, hi)")
        unknown = sorted(set(self.points or {}) - set(self.templates))
        if unknown:
            raise InputError(f"histosys {self.name!r}: extra points for samples {unknown} that "
                             "have no (lo, hi) templates")


def _spline_shape(k: int, name: str, knots: Mapping[float, np.ndarray]) -> SplineShape:
    """The :class:`SplineShape` of modifier ``k`` from its per-sample deltas at each α."""
    x = np.array(sorted({0.0, *knots}))
    if x.size < 3 or not ({-1.0, 1.0} <= set(knots)):
        raise InputError(f"histosys {name!r}: a spline needs the α = -1 and +1 templates of "
                         "every one of its modifiers")
    shape = next(iter(knots.values())).shape
    y = np.stack([np.zeros(shape) if a == 0.0 else knots[a] for a in x])  # (J, S, B)
    return SplineShape.from_knots(k, x, y)


def _as_bins(values: object, what: str, n_bins: int | None) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise InputError(f"{what} must be a 1-d array of per-bin values, got shape {arr.shape}")
    if n_bins is not None and arr.size != n_bins:
        raise InputError(
            f"{what} has {arr.size} bins but the signal has {n_bins}: all samples, sumw2 and "
            "templates must share one binning"
        )
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise InputError(f"{what}: bin {int(bad[0])} is {arr[bad[0]]} (expected a finite number)")
    neg = np.flatnonzero(arr < 0)
    if neg.size:
        raise InputError(f"{what}: bin {int(neg[0])} is negative ({arr[neg[0]]:.6g}); "
                         "expected yields and sums of squared weights >= 0")
    return arr


@dataclass(frozen=True)
class BinnedModel:
    """Expected yields of a binned shape analysis, ready to fit.

    Parameters
    ----------
    signal
        Expected signal yield per bin at μ = 1 (events), shape ``(n_bins,)``.
    backgrounds
        Process name → expected yield per bin (events).
    signal_sumw2, background_sumw2
        Sums of squared MC weights per bin (an array, and a dict keyed like ``backgrounds``,
        possibly covering only some processes). When any is given, one Barlow–Beeston-lite
        factor γ_b per bin is added (pyhf ``staterror``) with relative width
        ``sqrt(Σ sumw2_b) / Σ yields_b`` over all samples.
    systematics
        :class:`NormSys` and :class:`HistoSys` modifiers; modifiers sharing a name share α.
    edges
        Optional bin edges in the score (``n_bins + 1`` values), for plots and bookkeeping.
    mu_bounds
        Fit range of μ. The default ``None`` allows negative μ down to where a bin's
        expectation would vanish (×0.9) and up to 20 (or 20 × the one-bin s/b scale).

    Raises
    ------
    InputError
        Negative or NaN contents (names the sample and bin), samples of different lengths,
        a bin with zero total expected background, unknown sample names in modifiers.
    """

    signal: np.ndarray
    backgrounds: Mapping[str, np.ndarray]
    signal_sumw2: np.ndarray | None = None
    background_sumw2: Mapping[str, np.ndarray] | None = None
    systematics: Sequence[NormSys | HistoSys] = ()
    edges: np.ndarray | None = None
    mu_bounds: tuple[float, float] | None = None
    arrays: ModelArrays = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sig = _as_bins(self.signal, "signal", None)
        n = sig.size
        if n == 0:
            raise InputError("signal has no bins")
        if not self.backgrounds:
            raise InputError("backgrounds is empty: give at least one background process")
        bkgs = {}
        for name, vals in self.backgrounds.items():
            if name == SIGNAL:
                raise InputError(f"background name {SIGNAL!r} is reserved for the signal sample")
            bkgs[str(name)] = _as_bins(vals, f"background {name!r}", n)
        total_b = np.sum(list(bkgs.values()), axis=0)
        zero = np.flatnonzero(total_b <= 0)
        if zero.size:
            raise InputError(
                f"bin {int(zero[0])} has zero expected background (bins {zero.tolist()}): the "
                "likelihood needs b > 0 in every bin; merge bins (choose_binning(min_bkg=...))"
            )
        sumw2_sig = None if self.signal_sumw2 is None else _as_bins(self.signal_sumw2,
                                                                   "signal_sumw2", n)
        sumw2_bkg = {}
        for name, vals in (self.background_sumw2 or {}).items():
            if name not in bkgs:
                raise InputError(f"background_sumw2 has process {name!r} that is not in "
                                 f"backgrounds {sorted(bkgs)}")
            sumw2_bkg[str(name)] = _as_bins(vals, f"background_sumw2 {name!r}", n)
        edges = None
        if self.edges is not None:
            edges = np.asarray(self.edges, dtype=float)
            if edges.shape != (n + 1,) or np.any(np.diff(edges) <= 0):
                raise InputError(f"edges must be {n + 1} increasing values, got {edges.shape}")
        object.__setattr__(self, "signal", sig)
        object.__setattr__(self, "backgrounds", bkgs)
        object.__setattr__(self, "signal_sumw2", sumw2_sig)
        object.__setattr__(self, "background_sumw2", sumw2_bkg or None)
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "systematics", tuple(self.systematics))
        if self.mu_bounds is None:
            with np.errstate(divide="ignore"):
                neg = np.where(sig > 0, -total_b / np.where(sig > 0, sig, 1.0), -np.inf)
            lo = max(-20.0, 0.9 * float(np.max(neg)))
            object.__setattr__(self, "mu_bounds", (lo, 20.0))
        else:
            lo, hi = map(float, self.mu_bounds)
            if not lo < hi:
                raise InputError(f"mu_bounds must be (lo, hi) with lo < hi, got {self.mu_bounds}")
            object.__setattr__(self, "mu_bounds", (lo, hi))
        object.__setattr__(self, "arrays", self._build_arrays())

    # -- derived ----------------------------------------------------------------------
    @property
    def mu_range(self) -> tuple[float, float]:
        """The resolved fit range of μ (``mu_bounds`` after defaults)."""
        assert self.mu_bounds is not None
        return (float(self.mu_bounds[0]), float(self.mu_bounds[1]))

    @property
    def n_bins(self) -> int:
        return int(self.signal.size)

    @property
    def sample_names(self) -> tuple[str, ...]:
        """Signal first, then the backgrounds in insertion order."""
        return (SIGNAL, *self.backgrounds)

    @property
    def has_staterror(self) -> bool:
        return self.signal_sumw2 is not None or bool(self.background_sumw2)

    @property
    def background_total(self) -> np.ndarray:
        return np.sum(list(self.backgrounds.values()), axis=0)

    @property
    def alpha_names(self) -> tuple[str, ...]:
        return self.arrays.alpha_names

    @property
    def staterror_sigma(self) -> np.ndarray:
        """Relative MC-statistics uncertainty per bin (0 where there is none)."""
        return self.arrays.sigma.copy()

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Full parameter list: ``mu``, the α's, then ``gamma_stat_<bin>`` for every bin."""
        gam = tuple(f"gamma_stat_{i}" for i in range(self.n_bins)) if self.has_staterror else ()
        return ("mu", *self.alpha_names, *gam)

    def sample_yields(self, name: str) -> np.ndarray:
        return self.signal if name == SIGNAL else self.backgrounds[name]

    def sample_sumw2(self, name: str) -> np.ndarray:
        if name == SIGNAL:
            return np.zeros(self.n_bins) if self.signal_sumw2 is None else self.signal_sumw2
        return (self.background_sumw2 or {}).get(name, np.zeros(self.n_bins))

    def expected(self, mu: float = 1.0, alphas: Mapping[str, float] | None = None,
                 gammas: np.ndarray | None = None, *, per_sample: bool = False):
        """Expected yields per bin (events) at the given parameters.

        Returns the total (n_bins,) or, with ``per_sample=True``, a dict sample → yields.
        """
        alpha = np.zeros(len(self.alpha_names))
        for k, nm in enumerate(self.alpha_names):
            alpha[k] = float((alphas or {}).get(nm, 0.0))
        r = rates(self.arrays, float(mu), alpha)
        if gammas is not None:
            r = r * np.asarray(gammas, dtype=float)[None, :]
        if per_sample:
            return {nm: r[i] for i, nm in enumerate(self.sample_names)}
        return r.sum(axis=0)

    def with_edges(self, edges: np.ndarray) -> BinnedModel:
        return BinnedModel(self.signal, self.backgrounds, signal_sumw2=self.signal_sumw2,
                           background_sumw2=self.background_sumw2, systematics=self.systematics,
                           edges=edges, mu_bounds=self.mu_bounds)

    # -- arrays for the likelihood --------------------------------------------------------
    def _build_arrays(self) -> ModelArrays:
        names = self.sample_names
        nominal = np.stack([self.sample_yields(s) for s in names])
        n_s, n_b = nominal.shape
        if self.has_staterror:
            sumw2 = np.stack([self.sample_sumw2(s) for s in names]).sum(axis=0)
            tot = nominal.sum(axis=0)
            sigma = np.where(tot > 0, np.sqrt(sumw2) / np.where(tot > 0, tot, 1.0), 0.0)
        else:
            sigma = np.zeros(n_b)
        alpha_names: list[str] = []
        for sy in self.systematics:
            if not isinstance(sy, NormSys | HistoSys):
                raise InputError(f"systematics must be NormSys or HistoSys, got {type(sy)!r}")
            if sy.name in ("mu", "staterror") or sy.name.startswith("gamma_stat_"):
                raise InputError(f"systematic name {sy.name!r} is reserved")
            if sy.name not in alpha_names:
                alpha_names.append(sy.name)
        k_n = len(alpha_names)
        dhi = np.zeros((k_n, n_s, n_b))
        dlo = np.zeros((k_n, n_s, n_b))
        loghi = np.zeros((k_n, n_s))
        loglo = np.zeros((k_n, n_s))
        bloghi = np.zeros((k_n, n_s, n_b))  # code-4 shape: per-bin log ratios
        bloglo = np.zeros((k_n, n_s, n_b))
        spline_knots: dict[int, dict[float, np.ndarray]] = {}  # k -> α -> (S, B) deltas
        seen: set[tuple[str, str, str]] = set()
        for sy in self.systematics:
            k = alpha_names.index(sy.name)
            kind = "normsys" if isinstance(sy, NormSys) else "histosys"
            items = sy.factors.items() if isinstance(sy, NormSys) else sy.templates.items()
            for sample, val in items:
                if sample not in names:
                    raise InputError(f"systematic {sy.name!r} refers to sample {sample!r}; "
                                     f"known samples: {list(names)}")
                if (sy.name, sample, kind) in seen:
                    raise InputError(f"systematic {sy.name!r} given twice as {kind} for "
                                     f"sample {sample!r}")
                seen.add((sy.name, sample, kind))
                i = names.index(sample)
                if isinstance(sy, NormSys):
                    lo, hi = (float(v) for v in val)  # type: ignore[arg-type]
                    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
                        raise InputError(f"systematic {sy.name!r}, sample {sample!r}: "
                                         f"normsys factors must be finite and > 0, got {val}")
                    loghi[k, i] = math.log(hi)
                    loglo[k, i] = math.log(lo)
                else:
                    lo_a = _as_bins(val[0], f"histosys {sy.name!r} {sample!r} lo", n_b)
                    hi_a = _as_bins(val[1], f"histosys {sy.name!r} {sample!r} hi", n_b)
                    if sy.interpolation == "spline":
                        knots = spline_knots.setdefault(k, {})
                        extra = (sy.points or {}).get(sample, {})
                        pts = {-1.0: lo_a, 1.0: hi_a, **{
                            float(a): _as_bins(v, f"histosys {sy.name!r} {sample!r} at α = {a}",
                                               n_b) for a, v in extra.items()}}
                        for a, v in pts.items():
                            knots.setdefault(a, np.zeros((n_s, n_b)))[i] = v - nominal[i]
                    elif sy.interpolation == "code4":
                        nom = nominal[i]
                        pos = nom > 0
                        den = np.where(pos, nom, 1.0)
                        bloghi[k, i] = np.where(
                            pos, np.log(np.maximum(hi_a / den, CODE4_MIN_RATIO)), 0.0)
                        bloglo[k, i] = np.where(
                            pos, np.log(np.maximum(lo_a / den, CODE4_MIN_RATIO)), 0.0)
                    else:
                        dhi[k, i] = hi_a - nominal[i]
                        dlo[k, i] = nominal[i] - lo_a
        return ModelArrays(nominal=nominal, is_signal=np.array([s == SIGNAL for s in names]),
                       sigma=sigma, dhi=dhi, dlo=dlo, loghi=loghi, loglo=loglo,
                       alpha_names=tuple(alpha_names), has_staterror=self.has_staterror,
                       bloghi=bloghi, bloglo=bloglo,
                       splines=tuple(_spline_shape(k, alpha_names[k], kn)
                                     for k, kn in spline_knots.items()))

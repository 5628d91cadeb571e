"""Binned likelihood fit of the classifier score: μ̂, intervals, significance, CLs limits.

The model is HistFactory (Cranmer, Lewis, Moneta, Shibata, Verkerke 2012, CERN-OPEN-2012-016):
per bin of the classifier score, Poisson counts with expectation ``μ s_b + Σ b_pb`` modified by
Barlow–Beeston-lite MC-statistics factors γ_b (Barlow & Beeston 1993; Conway 2011,
arXiv:1103.0354) and, when the systematics stage provides them, normalisation (``normsys``)
and shape (``histosys``) modifiers. Two independent back-ends evaluate it:

``backend="pyhf"``
    the HEP reference implementation (pyhf, doi:10.21105/joss.02823): its likelihood,
    minimised with pyhf's Minuit optimiser;
``backend="minuit"``
    this package's own likelihood (:mod:`rediscovery.higgs.stats.likelihood`) with iminuit and the
    γ_b profiled analytically: ~1 ms per fit, what the pseudo-experiments use.

Test statistics and their asymptotic distributions follow Cowan, Cranmer, Gross, Vitells,
"Asymptotic formulae for likelihood-based tests of new physics", Eur. Phys. J. C 71 (2011) 1554,
arXiv:1007.1727 (CCGV below):

* interval of μ: ``{μ : −2 ln λ(μ) ≤ F⁻¹_{χ²₁}(CL)}`` (CCGV eq. 8 and Wilks), with
  CL = Φ(1) − Φ(−1) = 68.27% (MINOS-like, asymmetric);
* discovery: ``q0 = −2 ln λ(0)`` for μ̂ ≥ 0, else 0, and ``Z = sqrt(q0)`` (CCGV eqs. 12, 53);
* expected discovery significance: the same on the Asimov data set at μ = 1 and nominal
  nuisance parameters (CCGV sec. 3.2, eq. 24 for ``Z = sqrt(q0,A)``); for one bin without
  uncertainties it is ``sqrt(2((s+b) ln(1+s/b) − s))`` (CCGV eq. 97);
* upper limits: CLs (Read 2002, J. Phys. G 28 2693) with q̃_μ (CCGV eq. 16) and its asymptotic
  distribution (CCGV eqs. 65–66), the Asimov set built at μ = 0 with the nuisance parameters
  profiled on the data — the conventions of pyhf's ``AsymptoticCalculator``.

The binning of the score is chosen by :func:`choose_binning` (exact dynamic programme).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import optimize, stats

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.stats.binning import BinningResult, choose_binning
from rediscovery.higgs.stats.histograms import ams_best, histogram_observed, model_from_scores
from rediscovery.higgs.stats.model import ALPHA_BOUNDS, SIGNAL, BinnedModel, HistoSys, NormSys
from rediscovery.higgs.stats.toys import ToyResult, run_toys

__all__ = [
    "BACKENDS",
    "CL_68",
    "CL_95_45",
    "SIGNAL",
    "BinnedModel",
    "BinningResult",
    "FitResult",
    "HistoSys",
    "LikelihoodScan",
    "NormSys",
    "ToyResult",
    "ams_best",
    "asimov_data",
    "asimov_significance",
    "choose_binning",
    "cls",
    "fit",
    "histogram_observed",
    "likelihood_scan",
    "model_from_scores",
    "profile_interval",
    "run_toys",
    "upper_limit",
    "workspace",
]

log = logging.getLogger(__name__)

#: Probability content of ±1σ of a Gaussian, Φ(1) − Φ(−1) ≈ 0.6827 (computed, not typed).
CL_68: float = float(stats.norm.cdf(1.0) - stats.norm.cdf(-1.0))
#: Probability content of ±2σ, Φ(2) − Φ(−2) ≈ 0.9545.
CL_95_45: float = float(stats.norm.cdf(2.0) - stats.norm.cdf(-2.0))
#: CLs level of a 95% confidence-level upper limit.
CLS_ALPHA = 0.05

Backend = Literal["pyhf", "minuit"]
BACKENDS = ("pyhf", "minuit")


def asimov_significance(s: float, b: float) -> float:
    """Median discovery significance of a counting experiment (CCGV eq. 97).

    .. math:: Z_A = \\sqrt{2\\left((s+b)\\ln(1+s/b) - s\\right)}

    Parameters
    ----------
    s, b
        Expected signal and background (events), ``b > 0``.
    """
    if not (b > 0 and s >= 0):
        raise InputError(f"asimov_significance needs s >= 0 and b > 0, got s={s}, b={b}")
    return math.sqrt(2.0 * ((s + b) * math.log1p(s / b) - s))


def asimov_data(model: BinnedModel, mu: float = 1.0,
                alphas: Mapping[str, float] | None = None) -> np.ndarray:
    """Asimov data set: the expected counts per bin at μ and α (γ = 1), CCGV sec. 3.2."""
    return np.asarray(model.expected(mu, alphas), dtype=float)


def workspace(model: BinnedModel, observed: np.ndarray | None = None) -> dict[str, Any]:
    """The pyhf HistFactory workspace of ``model`` as a JSON-serialisable dict.

    ``observed`` defaults to the Asimov data at μ = 1. Load it with ``pyhf.Workspace(spec)``.
    """
    from rediscovery.higgs.stats.backends.pyhf import workspace_spec

    obs = None if observed is None else _check_observed(model, observed)
    return workspace_spec(model, obs)


# -- results ------------------------------------------------------------------------------
@dataclass
class FitResult:
    """Result of :func:`fit`. Values are ``nan`` where not computed.

    Attributes
    ----------
    mu_hat, mu_lo, mu_hi
        Best-fit signal strength and its 68.27% profile-likelihood interval.
    mu_stat_lo, mu_stat_hi
        The interval with all nuisance parameters fixed at their best-fit values (statistics
        only); minuit back-end.
    q0, z_discovery
        Discovery test statistic on the data and ``sqrt(q0)`` (σ).
    z_expected
        Median expected discovery significance (Asimov, μ = 1, nominal nuisances).
    cls_upper_limit
        Observed 95% CL upper limit on μ (asymptotic CLs, q̃_μ).
    parameters, errors
        Post-fit value and parabolic error of every parameter (``mu``, α's, ``gamma_stat_i``);
        the errors come from the Hessian of our likelihood (same model for both back-ends).
    pulls, constraints
        Per nuisance parameter ``(θ̂ − θ0)/σ_prior`` and ``σ_post/σ_prior``.
    impacts
        Per nuisance parameter ``(Δμ_down, Δμ_up)`` when it is fixed at θ̂ ∓/± σ_post and the
        fit repeated (minuit back-end).
    converged
        ``False`` when any fit failed; then ``messages`` says which, and no number should be
        reported as a result.
    """

    backend: str
    mu_hat: float
    mu_lo: float = math.nan
    mu_hi: float = math.nan
    mu_stat_lo: float = math.nan
    mu_stat_hi: float = math.nan
    q0: float = math.nan
    z_discovery: float = math.nan
    z_expected: float = math.nan
    cls_upper_limit: float = math.nan
    nll_min: float = math.nan
    parameters: dict[str, float] = field(default_factory=dict)
    errors: dict[str, float] = field(default_factory=dict)
    pulls: dict[str, float] = field(default_factory=dict)
    constraints: dict[str, float] = field(default_factory=dict)
    impacts: dict[str, tuple[float, float]] = field(default_factory=dict)
    converged: bool = True
    messages: list[str] = field(default_factory=list)

    @property
    def mu_err(self) -> tuple[float, float]:
        """Asymmetric errors ``(σ_down, σ_up)`` (positive numbers)."""
        return self.mu_hat - self.mu_lo, self.mu_hi - self.mu_hat

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["impacts"] = {k: list(v) for k, v in self.impacts.items()}
        return d


# -- engines --------------------------------------------------------------------------------
def _check_observed(model: BinnedModel, observed: object) -> np.ndarray:
    obs = np.asarray(observed, dtype=float)
    if obs.ndim != 1 or obs.size != model.n_bins:
        raise InputError(f"observed has shape {obs.shape} but the model has {model.n_bins} bins; "
                         "histogram the data with the model's bin edges")
    bad = np.flatnonzero(~np.isfinite(obs) | (obs < 0))
    if bad.size:
        raise InputError(f"observed: bin {int(bad[0])} is {obs[bad[0]]} "
                         "(expected a finite count >= 0)")
    return obs


def _engine(model: BinnedModel, observed: np.ndarray, backend: str,
            aux_gamma: np.ndarray | None = None, aux_alpha: np.ndarray | None = None,
            mu_bounds: tuple[float, float] | None = None):
    if backend == "minuit":
        from rediscovery.higgs.stats.backends.minuit import MinuitEngine

        return MinuitEngine(model, observed, aux_gamma, aux_alpha, mu_bounds)
    if backend == "pyhf":
        from rediscovery.higgs.stats.backends.pyhf import PyhfEngine

        return PyhfEngine(model, observed, aux_gamma, aux_alpha, mu_bounds)
    raise ConfigError(f"backend must be one of {BACKENDS}, got {backend!r}")


def _q0(engine, mu_hat: float, nll_hat: float) -> tuple[float, bool]:
    """Discovery statistic q0 (CCGV eq. 12) given the free fit."""
    if mu_hat <= 0:
        return 0.0, True
    _, nll0, ok = engine.minimize(fixed_mu=0.0)
    return max(0.0, 2.0 * (nll0 - nll_hat)), ok


def _root_interval(engine, mu_hat: float, nll_hat: float, level: float,
                   bounds: tuple[float, float], pars: np.ndarray) -> tuple[float, float, bool]:
    """Solve 2(NLL(μ) − NLL_min) = level on each side of μ̂ (brentq on profiled fits)."""
    ok_all = True

    def f(mu: float) -> float:
        nonlocal ok_all
        _, val, ok = engine.minimize(fixed_mu=mu, init=pars)
        ok_all &= ok
        return 2.0 * (val - nll_hat) - level

    h = 0.05 * max(1.0, abs(mu_hat))
    out = []
    for sign in (-1.0, 1.0):
        edge = bounds[0] if sign < 0 else bounds[1]
        step = h
        inner = mu_hat
        outer = mu_hat + sign * step
        while True:
            if (outer - edge) * sign >= 0:
                outer = edge
                if f(outer) < 0:
                    out.append(edge)
                    ok_all = False
                    break
            fo = f(outer)
            if fo > 0:
                out.append(optimize.brentq(f, min(inner, outer), max(inner, outer),
                                           xtol=1e-10, rtol=1e-10))
                break
            inner = outer
            # use the local curvature to jump near the crossing
            q = fo + level
            step = abs(outer - mu_hat) * (math.sqrt(level / q) if q > 0 else 2.0) * 1.2
            outer = mu_hat + sign * max(step, 1.5 * abs(inner - mu_hat))
    return float(out[0]), float(out[1]), ok_all


def profile_interval(model: BinnedModel, observed: np.ndarray, cl: float = CL_68,
                     backend: Backend = "minuit") -> tuple[float, float]:
    """Profile-likelihood interval of μ at confidence level ``cl`` (Wilks, CCGV eq. 8).

    The crossings of ``−2Δln L(μ) = F⁻¹_{χ²₁}(cl)``; ``cl = CL_68`` gives the 1σ interval.
    """
    obs = _check_observed(model, observed)
    level = float(stats.chi2.ppf(cl, 1))
    eng = _engine(model, obs, backend)
    pars, nll_hat, _ = eng.minimize()
    if backend == "minuit":
        m = eng.minuit
        nsig = math.sqrt(level)
        m.minos("mu", cl=nsig)
        me = m.merrors["mu"]
        return float(m.values["mu"] + me.lower), float(m.values["mu"] + me.upper)
    lo, hi, _ = _root_interval(eng, float(pars[0]), nll_hat, level, model.mu_range, pars)
    return lo, hi


# -- CLs ----------------------------------------------------------------------------------------
class _MinuitCLs:
    """Asymptotic CLs with q̃_μ on the minuit back-end, as pyhf's AsymptoticCalculator."""

    def __init__(self, model: BinnedModel, observed: np.ndarray,
                 aux_gamma: np.ndarray | None, aux_alpha: np.ndarray | None) -> None:
        from rediscovery.higgs.stats.backends.minuit import MinuitEngine

        bounds = (0.0, model.mu_range[1])
        self.data = MinuitEngine(model, observed, aux_gamma, aux_alpha, bounds)
        pars_hat, self.nll_hat, ok1 = self.data.minimize()
        self.mu_hat = float(pars_hat[0])
        # Asimov set at μ = 0 with nuisances profiled on the data (CCGV sec. 3.2)
        p0, _, ok2 = self.data.minimize(fixed_mu=0.0)
        k = len(model.alpha_names)
        alphas = dict(zip(model.alpha_names, p0[1:1 + k], strict=True))
        gam = p0[1 + k:] if model.has_staterror else None
        a_main = model.expected(0.0, alphas, gam)
        self.asimov = MinuitEngine(model, a_main, gam, p0[1:1 + k], bounds)
        pa, self.nll_hat_a, ok3 = self.asimov.minimize()
        self.mu_hat_a = float(pa[0])
        self.ok = ok1 and ok2 and ok3

    @staticmethod
    def _qtilde(engine, mu: float, mu_hat: float, nll_hat: float) -> tuple[float, bool]:
        if mu_hat > mu:
            return 0.0, True
        _, val, ok = engine.minimize(fixed_mu=mu)
        return max(0.0, 2.0 * (val - nll_hat)), ok

    def __call__(self, mu: float) -> float:
        q, ok1 = self._qtilde(self.data, mu, self.mu_hat, self.nll_hat)
        qa, ok2 = self._qtilde(self.asimov, mu, self.mu_hat_a, self.nll_hat_a)
        self.ok &= ok1 and ok2
        sq, sqa = math.sqrt(q), math.sqrt(qa)
        # CCGV eq. 66 written in "sqrt space" as pyhf does: t = sqrt(q) - sqrt(qA) if
        # q <= qA else (q - qA) / (2 sqrt(qA)); CLs+b = Φ(-(t + sqrt qA)), CLb = Φ(-t)
        t = sq - sqa if sq <= sqa else (q - qa) / (2.0 * sqa)
        clsb = stats.norm.cdf(-(t + sqa))
        clb = stats.norm.cdf(-t)
        return float(clsb / clb)


def cls(model: BinnedModel, observed: np.ndarray, mu: float, backend: Backend = "minuit") -> float:
    """Asymptotic CLs of the hypothesis μ (q̃_μ, CCGV eqs. 16, 65–66; Read 2002)."""
    obs = _check_observed(model, observed)
    if backend == "minuit":
        return _MinuitCLs(model, obs, None, None)(mu)
    return float(_engine(model, obs, backend).cls(mu))


def upper_limit(model: BinnedModel, observed: np.ndarray, backend: Backend = "minuit",
                alpha: float = CLS_ALPHA, *, aux_gamma: np.ndarray | None = None,
                aux_alpha: np.ndarray | None = None) -> tuple[float, bool]:
    """Observed CLs upper limit on μ at confidence level ``1 − alpha`` (default 95%).

    Returns ``(limit, ok)``; root of ``CLs(μ) = alpha`` by Brent's method.
    """
    obs = _check_observed(model, observed)
    if backend == "minuit":
        fn = _MinuitCLs(model, obs, aux_gamma, aux_alpha)
    else:
        eng = _engine(model, obs, backend, aux_gamma, aux_alpha)
        fn = eng.cls
    hi_bound = float(model.mu_range[1])
    lo = 0.0
    # find a bracket by doubling from a scale set by the expected background
    step = max(1e-3, 2.0 * math.sqrt(float(model.background_total.sum())) /
               max(float(model.signal.sum()), 1e-12))
    hi = step
    while fn(hi) > alpha:
        lo = hi
        hi *= 2.0
        if hi >= hi_bound:
            if fn(hi_bound) > alpha:
                return hi_bound, False
            hi = hi_bound
            break
    root = optimize.brentq(lambda m: fn(m) - alpha, lo, hi, xtol=1e-8, rtol=1e-8)
    ok = bool(getattr(fn, "ok", True))
    return float(root), ok


# -- the fit ------------------------------------------------------------------------------------
def fit(model: BinnedModel, observed: np.ndarray, backend: Backend = "minuit", *,
        aux_gamma: np.ndarray | None = None, aux_alpha: np.ndarray | None = None,
        interval: bool = True, significance: bool = True, expected: bool = True,
        limit: bool = True, nuisances: bool = True, impacts: bool = True,
        stat_only: bool = True, init: np.ndarray | None = None) -> FitResult:
    """Fit the signal strength μ to observed counts and compute intervals and significances.

    Parameters
    ----------
    model
        The :class:`BinnedModel`.
    observed
        Observed counts per bin, shape ``(n_bins,)``.
    backend
        ``"minuit"`` (own likelihood, fast) or ``"pyhf"`` (HistFactory reference).
    aux_gamma, aux_alpha
        Auxiliary data of the constraints (pseudo-experiments); default: nominal (1 and 0).
    interval, significance, expected, limit, nuisances, impacts, stat_only
        Which parts to compute (toys switch the slow ones off). ``impacts`` and ``stat_only``
        are computed with the minuit engine whatever the back-end (pyhf returns no MINOS).
    init
        Starting values ``(μ, α...)`` of the global fit (default μ = 1, α = 0), e.g. the best
        of several starts when the likelihood has more than one minimum.

    Returns
    -------
    FitResult
        ``converged`` is ``False`` (and ``messages`` names the failing step) when a
        minimisation did not converge.
    """
    obs = _check_observed(model, observed)
    eng = _engine(model, obs, backend, aux_gamma, aux_alpha)
    pars, nll_hat, ok = eng.minimize(init=init)
    names = model.parameter_names
    res = FitResult(backend=backend, mu_hat=float(pars[0]), nll_min=float(nll_hat))
    if not ok:
        res.converged = False
        res.messages.append("global fit did not converge (Minuit reported an invalid minimum)")
    lo_b, hi_b = model.mu_range
    span = hi_b - lo_b
    if min(pars[0] - lo_b, hi_b - pars[0]) < 1e-6 * span:
        res.converged = False
        res.messages.append(f"parameter 'mu' is at its bound ({pars[0]:.6g} in "
                            f"[{lo_b}, {hi_b}]); widen BinnedModel(mu_bounds=...)")
    res.parameters = {n: float(v) for n, v in zip(names, pars, strict=True)}
    for nm in model.alpha_names:
        if abs(res.parameters[nm]) >= ALPHA_BOUNDS[1] - 1e-6:
            res.converged = False
            res.messages.append(f"parameter {nm!r} is at its bound ({res.parameters[nm]:.4g}); "
                                "the template or its prior is inconsistent with the data")
    if interval:
        if backend == "minuit":
            lo, hi, ok_i = eng.minos()
        else:
            lo, hi, ok_i = _root_interval(eng, res.mu_hat, nll_hat, 1.0, model.mu_range, pars)
        res.mu_lo, res.mu_hi = lo, hi
        if not ok_i:
            res.converged = False
            res.messages.append("profile-likelihood interval of 'mu' did not converge or hit a "
                                "bound of mu")
    if significance:
        res.q0, ok_q = _q0(eng, res.mu_hat, nll_hat)
        res.z_discovery = math.sqrt(res.q0)
        if not ok_q:
            res.converged = False
            res.messages.append("background-only fit (mu = 0) did not converge")
    if expected:
        res.z_expected = _expected_z(model, backend)
    if limit:
        res.cls_upper_limit, ok_l = upper_limit(model, obs, backend,
                                                aux_gamma=aux_gamma, aux_alpha=aux_alpha)
        if not ok_l:
            res.converged = False
            res.messages.append("CLs upper limit: a fit did not converge or the limit is at the "
                                "upper bound of mu")
    nuis = names[1:]
    if nuisances and nuis:
        _post_fit_nuisances(model, obs, eng, pars, res, backend, aux_gamma, aux_alpha,
                            impacts=impacts, stat_only=stat_only)
    elif stat_only and interval:
        res.mu_stat_lo, res.mu_stat_hi = res.mu_lo, res.mu_hi
    for m in res.messages:
        log.warning("fit (%s): %s", backend, m)
    return res


def _expected_z(model: BinnedModel, backend: str, mu: float = 1.0) -> float:
    """Median discovery significance: sqrt(q0) on the Asimov data at μ (CCGV eq. 24)."""
    eng = _engine(model, asimov_data(model, mu), backend)
    pars, nll_hat, _ = eng.minimize()
    q0, _ = _q0(eng, float(pars[0]), nll_hat)
    return math.sqrt(q0)


def _post_fit_nuisances(model: BinnedModel, obs: np.ndarray, eng, pars: np.ndarray,
                        res: FitResult, backend: str, aux_gamma, aux_alpha, *,
                        impacts: bool, stat_only: bool) -> None:
    from rediscovery.higgs.stats.backends.minuit import MinuitEngine

    names = model.parameter_names
    mi = eng if backend == "minuit" else MinuitEngine(model, obs, aux_gamma, aux_alpha)
    err = mi.uncertainties(pars)
    res.errors = {n: float(e) for n, e in zip(names, err, strict=True)}
    k = len(model.alpha_names)
    sig = model.staterror_sigma
    prior_c = np.concatenate([np.zeros(k), np.ones(len(names) - 1 - k)])
    prior_w = np.concatenate([np.ones(k), sig]) if model.has_staterror else np.ones(k)
    for i, n in enumerate(names[1:], start=1):
        if prior_w[i - 1] <= 0:
            continue  # a gamma fixed at 1 (no MC-stat uncertainty in that bin)
        res.pulls[n] = float((pars[i] - prior_c[i - 1]) / prior_w[i - 1])
        res.constraints[n] = float(err[i] / prior_w[i - 1])
        if impacts:
            lo_b, hi_b = (-5.0, 5.0) if i <= k else (1e-10, 10.0)
            d = mi.fit_with_fixed(pars, i, max(lo_b, pars[i] - err[i])) - pars[0]
            u = mi.fit_with_fixed(pars, i, min(hi_b, pars[i] + err[i])) - pars[0]
            res.impacts[n] = (float(d), float(u))
    if stat_only:
        res.mu_stat_lo, res.mu_stat_hi = mi.stat_only_interval(pars)


# -- likelihood scan -----------------------------------------------------------------------
@dataclass
class LikelihoodScan:
    """``−2Δln L`` profiled over the nuisances, on a grid of μ."""

    mu: np.ndarray
    q: np.ndarray
    mu_hat: float
    nll_min: float
    backend: str

    def crossings(self, level: float = 1.0) -> tuple[float, float]:
        """μ where the scan crosses ``level`` left and right of μ̂ (linear interpolation)."""
        i0 = int(np.argmin(self.q))
        left = _cross(self.mu[:i0 + 1][::-1], self.q[:i0 + 1][::-1], level)
        right = _cross(self.mu[i0:], self.q[i0:], level)
        return left, right


def _cross(x: np.ndarray, y: np.ndarray, level: float) -> float:
    above = np.flatnonzero(y >= level)
    if above.size == 0 or above[0] == 0:
        return math.nan
    j = above[0]
    return float(np.interp(level, [y[j - 1], y[j]], [x[j - 1], x[j]]))


def likelihood_scan(model: BinnedModel, observed: np.ndarray, mu_values: np.ndarray | None = None,
                    backend: Backend = "minuit") -> LikelihoodScan:
    """Profile-likelihood scan ``q(μ) = 2(NLL(μ, θ̂̂(μ)) − NLL(μ̂, θ̂))``.

    ``mu_values`` default: 81 points over μ̂ ± 3 × the 1σ interval half-widths.
    """
    obs = _check_observed(model, observed)
    eng = _engine(model, obs, backend)
    pars, nll_hat, _ = eng.minimize()
    mu_hat = float(pars[0])
    if mu_values is None:
        if backend == "minuit":
            lo, hi, _ = eng.minos()
        else:
            lo, hi, _ = _root_interval(eng, mu_hat, nll_hat, 1.0, model.mu_range, pars)
        a, b = model.mu_range
        mu_values = np.linspace(max(a, mu_hat - 3 * (mu_hat - lo)),
                                min(b, mu_hat + 3 * (hi - mu_hat)), 81)
    mu_values = np.asarray(mu_values, dtype=float)
    q = np.array([2.0 * (eng.minimize(fixed_mu=float(m), init=pars)[1] - nll_hat)
                  for m in mu_values])
    return LikelihoodScan(mu=mu_values, q=np.maximum(q, 0.0), mu_hat=mu_hat,
                          nll_min=float(nll_hat), backend=backend)

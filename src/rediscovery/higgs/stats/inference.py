"""Binned likelihood fit of the classifier score: μ̂, intervals, significance, CLs limits.

The model is HistFactory (Cranmer, Lewis, Moneta, Shibata, Verkerke 2012, CERN-OPEN-2012-016):
per bin of the classifier score, Poisson counts with expectation ``μ s_b + Σ b_pb`` modified by
Barlow–Beeston-lite MC-statistics factors γ_b (Barlow & Beeston 1993; Conway 2011,
arXiv:1103.0354) and, when the systematics stage provides them, normalisation (``normsys``)
and shape (``histosys``) modifiers. Two independent back-ends evaluate it, behind one engine
interface (:mod:`rediscovery.higgs.stats.backends`):

``backend="pyhf"``
    the HEP reference implementation (pyhf, doi:10.21105/joss.02823): its likelihood,
    minimised with pyhf's Minuit optimiser;
``backend="minuit"``
    this package's own likelihood (:mod:`rediscovery.higgs.stats.likelihood`) with iminuit and the
    γ_b profiled analytically: ~1 ms per fit, what the pseudo-experiments use.

One function per question, each with its own result (:mod:`rediscovery.higgs.stats.results`):
:func:`mle` (best fit), :func:`interval`, :func:`significance`, :func:`upper_limit`,
:func:`likelihood_scan`, :func:`nuisance_summary` (pulls, constraints, impacts); :func:`fit`
calls them all and returns the one-call summary. Pass an :class:`MLEResult` as ``mle_result``
to continue from a fit already made instead of repeating it.

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
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import optimize, stats

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.stats.backends.base import Engine
from rediscovery.higgs.stats.backends.pyhf import workspace_spec
from rediscovery.higgs.stats.backends.registry import make_engine
from rediscovery.higgs.stats.model import ALPHA_BOUNDS, BinnedModel
from rediscovery.higgs.stats.results import (
    FitResult,
    IntervalResult,
    LikelihoodScan,
    MLEResult,
    NuisanceSummary,
    SignificanceResult,
    UpperLimitResult,
)

__all__ = [
    "CLS_ALPHA",
    "CL_68",
    "CL_95_45",
    "asimov_data",
    "asimov_significance",
    "cls",
    "expected_significance",
    "fit",
    "interval",
    "likelihood_scan",
    "lowest_minimum",
    "mle",
    "nuisance_summary",
    "significance",
    "start_points",
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
#: Bounds of the MC-statistics factors γ used for impacts (pyhf's staterror default).
_GAMMA_IMPACT_BOUNDS = (1e-10, 10.0)


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
    obs = None if observed is None else _check_observed(model, observed)
    return workspace_spec(model, obs)


# -- helpers ------------------------------------------------------------------------------------
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


def _log_messages(backend: str, messages: list[str]) -> None:
    for m in messages:
        log.warning("fit (%s): %s", backend, m)


def _resolve(model: BinnedModel, observed: object, backend: str, aux_gamma: np.ndarray | None,
             aux_alpha: np.ndarray | None, init: np.ndarray | None,
             mle_result: MLEResult | None) -> tuple[MLEResult, bool]:
    """The free fit to continue from: ``mle_result`` (checked) or a new one.

    Returns the result and whether it was made here (its messages then belong to the caller).
    """
    obs = _check_observed(model, observed)
    if mle_result is None:
        return _mle(model, obs, backend, aux_gamma, aux_alpha, init, errors=False), True
    eng = mle_result.engine
    if eng is None or eng.model is not model or not np.array_equal(eng.observed, obs):
        raise InputError("mle_result must come from mle() on the same model and observed "
                         "counts (its engine is reused)")
    return mle_result, False


# -- maximum likelihood -----------------------------------------------------------------------
def start_points(model: BinnedModel, *, points: Sequence[float] = (-1.0, 1.0),
                 nuisances: Sequence[str] | None = None) -> list[np.ndarray]:
    """Starting values ``(μ, α...)`` of a multi-start fit.

    The default start (μ = 1, every α = 0) first, then for each α of ``nuisances`` (default:
    all of the model's normsys/histosys parameters) one start per value in ``points`` with the
    other α at 0. With non-linear shape responses the likelihood in (μ, α) can have more than
    one minimum; MIGRAD from one start finds the one whose basin holds the start.
    """
    names = list(model.alpha_names)
    wanted = names if nuisances is None else [n for n in names if n in nuisances]
    x0 = np.zeros(1 + len(names))
    x0[0] = 1.0
    starts = [x0]
    for n in wanted:
        for a in points:
            x = x0.copy()
            x[1 + names.index(n)] = float(a)
            starts.append(x)
    return starts


def lowest_minimum(engine: Engine, starts: Sequence[np.ndarray]) -> tuple[np.ndarray, float, bool]:
    """Minimise from every start and keep the lowest valid minimum.

    Returns ``(parameters, NLL, valid)`` as :meth:`Engine.minimize`. A later start replaces an
    earlier one only when its NLL is lower by more than 10⁻⁶ (the tolerance of the fits), so
    a likelihood with one minimum gives exactly the result of the first start.
    """
    if not starts:
        raise ConfigError("lowest_minimum needs at least one start")
    best_i, best_nll, best_ok = 0, math.inf, False
    for i, x in enumerate(starts):
        _, nll, ok = engine.minimize(init=x)
        if i == 0 or (ok and (not best_ok or nll < best_nll - 1e-6)):
            best_i, best_nll, best_ok = i, nll, ok
    # the engine keeps its last free fit (MINOS continues it): fit the winning start again;
    # the fit is deterministic, so this is exactly the winning start's result
    return engine.minimize(init=starts[best_i])


def _mle(model: BinnedModel, obs: np.ndarray, backend: str, aux_gamma: np.ndarray | None,
         aux_alpha: np.ndarray | None, init: np.ndarray | None, *, errors: bool,
         multistart: bool = False) -> MLEResult:
    eng = make_engine(backend, model, obs, aux_gamma, aux_alpha)
    if multistart and model.alpha_names:
        starts = start_points(model)
        if init is not None:
            starts = [np.asarray(init, dtype=float), *starts]
        pars, nll_hat, ok = lowest_minimum(eng, starts)
    else:
        pars, nll_hat, ok = eng.minimize(init=init)
    names = model.parameter_names
    res = MLEResult(backend=backend, mu_hat=float(pars[0]), bestfit=np.asarray(pars, float),
                    parameters={n: float(v) for n, v in zip(names, pars, strict=True)},
                    nll_min=float(nll_hat), engine=eng)
    if not ok:
        res.converged = False
        res.messages.append("global fit did not converge (Minuit reported an invalid minimum)")
    lo_b, hi_b = model.mu_range
    if pars[0] - lo_b < 1e-6 * (hi_b - lo_b):
        res.converged = False
        res.messages.append(f"parameter 'mu' is at its bound (the lower one, {pars[0]:.4g} in "
                            f"[{lo_b:.4g}, {hi_b:.4g}]): the data lie below the background "
                            "prediction in some bin; with few events use fewer, wider bins "
                            "(larger min_bkg, --min-bkg) or check the MC normalisation")
    elif hi_b - pars[0] < 1e-6 * (hi_b - lo_b):
        res.converged = False
        res.messages.append(f"parameter 'mu' is at its bound (the upper one, {pars[0]:.4g} in "
                            f"[{lo_b:.4g}, {hi_b:.4g}]); widen BinnedModel(mu_bounds=...) or "
                            "check the MC normalisation")
    for nm in model.alpha_names:
        if abs(res.parameters[nm]) >= ALPHA_BOUNDS[1] - 1e-6:
            res.converged = False
            res.messages.append(f"parameter {nm!r} is at its bound ({res.parameters[nm]:.4g}); "
                                "the template or its prior is inconsistent with the data")
    if errors:
        err = eng.uncertainties(pars)
        res.errors = {n: float(e) for n, e in zip(names, err, strict=True)}
        if not np.all(np.isfinite(err)):
            res.converged = False
            res.messages.append("the covariance of the parameters is undefined at the minimum "
                                "(a parameter on a bound where a bin's expectation vanishes)")
    return res


def mle(model: BinnedModel, observed: np.ndarray, backend: str = "minuit", *,
        aux_gamma: np.ndarray | None = None, aux_alpha: np.ndarray | None = None,
        init: np.ndarray | None = None, errors: bool = True,
        multistart: bool = False) -> MLEResult:
    """Maximum-likelihood fit of all parameters.

    Parameters
    ----------
    model
        The :class:`~rediscovery.higgs.stats.model.BinnedModel`.
    observed
        Observed counts per bin, shape ``(n_bins,)``.
    backend
        ``"minuit"`` (own likelihood, fast) or ``"pyhf"`` (HistFactory reference).
    aux_gamma, aux_alpha
        Auxiliary data of the constraints (pseudo-experiments); default: nominal (1 and 0).
    init
        Starting values ``(μ, α...)`` (default μ = 1, α = 0), e.g. the best of several starts
        when the likelihood has more than one minimum.
    errors
        Compute the parabolic errors of all parameters (inverse Hessian of the full NLL; the
        minuit engine's analytic Hessian for both back-ends).
    multistart
        Start from :func:`start_points` (and ``init`` first, if given) and keep the lowest
        minimum (:func:`lowest_minimum`); only models with normsys/histosys parameters have
        more than one start.

    Returns
    -------
    MLEResult
        ``converged`` is ``False`` when MIGRAD failed or a parameter ended at its bound.

    Raises
    ------
    InputError
        If ``observed`` does not match the model's bins or has negative or NaN counts.
    ConfigError
        If ``backend`` is not one of the registered back-ends.
    """
    obs = _check_observed(model, observed)
    res = _mle(model, obs, backend, aux_gamma, aux_alpha, init, errors=errors,
               multistart=multistart)
    _log_messages(backend, res.messages)
    return res


# -- interval -----------------------------------------------------------------------------------
def _chi2_level(cl: float) -> float:
    """``F⁻¹_{χ²₁}(cl)`` as the square of the two-sided Gaussian quantile (the same number).

    Written this way the 1σ level is exactly 1 (``chi2.ppf(CL_68, 1)`` is 1 − 7e-16), so the
    68.27% interval is MINOS's own ``cl=1`` interval.
    """
    z = float(stats.norm.isf(0.5 * (1.0 - cl)))
    return z * z


def _interval(m: MLEResult, cl: float, stat_only: bool) -> IntervalResult:
    eng: Engine = m.engine
    lo, hi, ok = eng.mu_interval(m.bestfit, m.nll_min, _chi2_level(cl))
    res = IntervalResult(backend=m.backend, mu_hat=m.mu_hat, mu_lo=lo, mu_hi=hi, cl=cl)
    if not ok:
        res.converged = False
        res.messages.append("profile-likelihood interval of 'mu' did not converge or hit a "
                            "bound of mu")
    if stat_only:
        if len(eng.model.parameter_names) == 1 and cl == CL_68:
            res.mu_stat_lo, res.mu_stat_hi = lo, hi
        else:
            res.mu_stat_lo, res.mu_stat_hi = eng.stat_only_interval(m.bestfit)
    return res


def interval(model: BinnedModel, observed: np.ndarray, backend: str = "minuit", *,
             cl: float = CL_68, stat_only: bool = True, aux_gamma: np.ndarray | None = None,
             aux_alpha: np.ndarray | None = None, init: np.ndarray | None = None,
             mle_result: MLEResult | None = None) -> IntervalResult:
    """Profile-likelihood interval of μ at confidence level ``cl`` (Wilks, CCGV eq. 8).

    The crossings of ``−2Δln L(μ) = F⁻¹_{χ²₁}(cl)``: MINOS on the minuit back-end, root finding
    on pyhf's profiled fits on the pyhf back-end. ``cl = CL_68`` gives the 1σ interval.

    Parameters
    ----------
    model, observed, backend, aux_gamma, aux_alpha, init
        As for :func:`mle`.
    cl
        Confidence level.
    stat_only
        Also compute the 68.27% interval with every nuisance parameter fixed at its best-fit
        value (statistics only).
    mle_result
        Continue from this :func:`mle` result (same model and data) instead of a new fit; its
        engine is reused, so ``backend``, the auxiliary data and ``init`` are then ignored.
    """
    m, own = _resolve(model, observed, backend, aux_gamma, aux_alpha, init, mle_result)
    res = _interval(m, cl, stat_only)
    if own and not m.converged:
        res.converged = False
        res.messages[:0] = m.messages
    _log_messages(m.backend, res.messages)
    return res


# -- significance -------------------------------------------------------------------------------
def _q0(eng: Engine, mu_hat: float, nll_hat: float) -> tuple[float, bool]:
    """Discovery statistic q0 (CCGV eq. 12) given the free fit."""
    if mu_hat <= 0:
        return 0.0, True
    _, nll0, ok = eng.minimize(fixed_mu=0.0)
    return max(0.0, 2.0 * (nll0 - nll_hat)), ok


def expected_significance(model: BinnedModel, backend: str = "minuit", mu: float = 1.0) -> float:
    """Median discovery significance: ``sqrt(q0)`` on the Asimov data at μ (CCGV eq. 24).

    The nuisance parameters are at their nominal values (α = 0, γ = 1); for one bin without
    uncertainties this is :func:`asimov_significance` (CCGV eq. 97).
    """
    eng = make_engine(backend, model, asimov_data(model, mu))
    pars, nll_hat, _ = eng.minimize()
    q0, _ = _q0(eng, float(pars[0]), nll_hat)
    return math.sqrt(q0)


def _significance(m: MLEResult, expected: bool) -> SignificanceResult:
    q0, ok = _q0(m.engine, m.mu_hat, m.nll_min)
    z = math.sqrt(q0)
    res = SignificanceResult(backend=m.backend, q0=q0, z_observed=z,
                             p_observed=float(stats.norm.sf(z)))
    if not ok:
        res.converged = False
        res.messages.append("background-only fit (mu = 0) did not converge")
    if expected:
        res.z_expected = expected_significance(m.engine.model, m.backend)
    return res


def significance(model: BinnedModel, observed: np.ndarray, backend: str = "minuit", *,
                 expected: bool = True, aux_gamma: np.ndarray | None = None,
                 aux_alpha: np.ndarray | None = None, init: np.ndarray | None = None,
                 mle_result: MLEResult | None = None) -> SignificanceResult:
    """Observed discovery significance (q0, Z, p) and, with ``expected``, the median expected one.

    Parameters as for :func:`interval`; ``expected`` adds :func:`expected_significance` at μ = 1.
    """
    m, own = _resolve(model, observed, backend, aux_gamma, aux_alpha, init, mle_result)
    res = _significance(m, expected)
    if own and not m.converged:
        res.converged = False
        res.messages[:0] = m.messages
    _log_messages(m.backend, res.messages)
    return res


# -- CLs ----------------------------------------------------------------------------------------
def cls(model: BinnedModel, observed: np.ndarray, mu: float, backend: str = "minuit") -> float:
    """Asymptotic CLs of the hypothesis μ (q̃_μ, CCGV eqs. 16, 65–66; Read 2002)."""
    obs = _check_observed(model, observed)
    return make_engine(backend, model, obs).cls(mu)[0]


def _upper_limit(eng: Engine, alpha: float) -> UpperLimitResult:
    model = eng.model
    ok_all = True

    def fn(mu: float) -> float:
        nonlocal ok_all
        val, ok = eng.cls(mu)
        ok_all &= ok
        return val

    hi_bound = float(model.mu_range[1])
    lo = 0.0
    # find a bracket by doubling from a scale set by the expected background
    step = max(1e-3, 2.0 * math.sqrt(float(model.background_total.sum())) /
               max(float(model.signal.sum()), 1e-12))
    hi = min(step, hi_bound)  # never evaluate CLs beyond the fit range of mu
    res = UpperLimitResult(backend=eng.name, limit=math.nan, alpha=alpha, cl=1.0 - alpha)
    while fn(hi) > alpha:
        if hi >= hi_bound:
            res.limit, ok_all = hi_bound, False
            break
        lo = hi
        hi = min(2.0 * hi, hi_bound)
    if math.isnan(res.limit):
        res.limit = float(optimize.brentq(lambda m: fn(m) - alpha, lo, hi, xtol=1e-8,
                                          rtol=1e-8))
    if not ok_all:
        res.converged = False
        res.messages.append("CLs upper limit: a fit did not converge or the limit is at the "
                            "upper bound of mu")
    return res


def upper_limit(model: BinnedModel, observed: np.ndarray, backend: str = "minuit",
                alpha: float = CLS_ALPHA, *, aux_gamma: np.ndarray | None = None,
                aux_alpha: np.ndarray | None = None) -> UpperLimitResult:
    """Observed CLs upper limit on μ at confidence level ``1 − alpha`` (default 95%).

    The root of ``CLs(μ) = alpha`` (asymptotic CLs with q̃_μ, μ ≥ 0) by Brent's method, after
    bracketing by doubling from ``2 sqrt(B)/S``.
    """
    obs = _check_observed(model, observed)
    res = _upper_limit(make_engine(backend, model, obs, aux_gamma, aux_alpha), alpha)
    _log_messages(backend, res.messages)
    return res


# -- nuisance parameters ------------------------------------------------------------------------
def _nuisance_summary(m: MLEResult, impacts: bool) -> NuisanceSummary:
    eng: Engine = m.engine
    model = eng.model
    names = model.parameter_names
    pars = m.bestfit
    err = (np.array([m.errors[n] for n in names]) if m.errors
           else eng.uncertainties(pars))
    out = NuisanceSummary(backend=m.backend)
    k = len(model.alpha_names)
    prior_c = np.concatenate([np.zeros(k), np.ones(len(names) - 1 - k)])
    prior_w = (np.concatenate([np.ones(k), model.staterror_sigma]) if model.has_staterror
               else np.ones(k))
    for i, n in enumerate(names[1:], start=1):
        if prior_w[i - 1] <= 0:
            continue  # a gamma fixed at 1 (no MC-stat uncertainty in that bin)
        out.pulls[n] = float((pars[i] - prior_c[i - 1]) / prior_w[i - 1])
        out.constraints[n] = float(err[i] / prior_w[i - 1])
        if impacts:
            lo_b, hi_b = ALPHA_BOUNDS if i <= k else _GAMMA_IMPACT_BOUNDS
            d = eng.fit_with_fixed(pars, i, max(lo_b, pars[i] - err[i])) - pars[0]
            u = eng.fit_with_fixed(pars, i, min(hi_b, pars[i] + err[i])) - pars[0]
            out.impacts[n] = (float(d), float(u))
    return out


def nuisance_summary(model: BinnedModel, observed: np.ndarray, backend: str = "minuit", *,
                     impacts: bool = True, aux_gamma: np.ndarray | None = None,
                     aux_alpha: np.ndarray | None = None, init: np.ndarray | None = None,
                     mle_result: MLEResult | None = None) -> NuisanceSummary:
    """Pulls, constraints and (with ``impacts``) post-fit impacts of every nuisance parameter.

    Impacts: Δμ̂ when the parameter is fixed at θ̂ − σ_post and θ̂ + σ_post and the other
    parameters refitted; :meth:`NuisanceSummary.ranking` orders them. Parameters as for
    :func:`interval`.
    """
    m, _ = _resolve(model, observed, backend, aux_gamma, aux_alpha, init, mle_result)
    return _nuisance_summary(m, impacts)


# -- likelihood scan ----------------------------------------------------------------------------
def likelihood_scan(model: BinnedModel, observed: np.ndarray, mu_values: np.ndarray | None = None,
                    backend: str = "minuit", *, mle_result: MLEResult | None = None,
                    interval_68: tuple[float, float] | None = None) -> LikelihoodScan:
    """Profile-likelihood scan ``q(μ) = 2(NLL(μ, θ̂̂(μ)) − NLL(μ̂, θ̂))``.

    ``mu_values`` default: 81 points over μ̂ ± 3 × the 1σ interval half-widths, from
    ``interval_68 = (mu_lo, mu_hi)`` when given (e.g. an :class:`IntervalResult`'s), else
    computed. ``mle_result``: continue from that fit instead of a new one.
    """
    m, _ = _resolve(model, observed, backend, None, None, None, mle_result)
    eng: Engine = m.engine
    if mu_values is None:
        if interval_68 is None:
            lo, hi, _ = eng.mu_interval(m.bestfit, m.nll_min, 1.0)
        else:
            lo, hi = interval_68
        a, b = model.mu_range
        mu_values = np.linspace(max(a, m.mu_hat - 3 * (m.mu_hat - lo)),
                                min(b, m.mu_hat + 3 * (hi - m.mu_hat)), 81)
    mu_values = np.asarray(mu_values, dtype=float)
    q = np.array([2.0 * (eng.minimize(fixed_mu=float(v), init=m.bestfit)[1] - m.nll_min)
                  for v in mu_values])
    return LikelihoodScan(mu=mu_values, q=np.maximum(q, 0.0), mu_hat=m.mu_hat,
                          nll_min=m.nll_min, backend=m.backend)


# -- the one-call summary -----------------------------------------------------------------------
def fit(model: BinnedModel, observed: np.ndarray, backend: str = "minuit", *,
        aux_gamma: np.ndarray | None = None, aux_alpha: np.ndarray | None = None,
        init: np.ndarray | None = None, significance: bool = True, limit: bool = True,
        impacts: bool = True, multistart: bool = True) -> FitResult:
    """Fit μ and compute everything a measurement reports, from the focused functions.

    :func:`mle` (with errors), :func:`interval` (68.27%, with the statistics-only interval),
    :func:`significance` (observed and expected), :func:`upper_limit` (95% CLs) and
    :func:`nuisance_summary`, all continuing the same free fit.

    Parameters
    ----------
    model, observed, backend, aux_gamma, aux_alpha, init
        As for :func:`mle`.
    significance, limit, impacts
        Switch off the discovery significances, the CLs limit or the impacts (the slower
        parts); their fields then stay ``nan`` / empty.
    multistart
        Find the global minimum from several starts (:func:`mle` with ``multistart``): a
        model with normsys/histosys parameters can have more than one minimum. Models with
        only MC-statistics parameters have one start, so this costs nothing there.

    Returns
    -------
    FitResult
        ``converged`` is ``False`` (and ``messages`` names the failing step) when a
        minimisation did not converge.
    """
    obs = _check_observed(model, observed)
    m = _mle(model, obs, backend, aux_gamma, aux_alpha, init, errors=True,
             multistart=multistart)
    iv = _interval(m, CL_68, stat_only=True)
    res = FitResult(backend=backend, mu_hat=m.mu_hat, mu_lo=iv.mu_lo, mu_hi=iv.mu_hi,
                    mu_stat_lo=iv.mu_stat_lo, mu_stat_hi=iv.mu_stat_hi, nll_min=m.nll_min,
                    parameters=dict(m.parameters), errors=dict(m.errors),
                    converged=m.converged and iv.converged,
                    messages=[*m.messages, *iv.messages])
    if significance:
        sig = _significance(m, expected=True)
        res.q0, res.z_discovery, res.z_expected = sig.q0, sig.z_observed, sig.z_expected
        res.converged &= sig.converged
        res.messages += sig.messages
    if limit:
        lim = _upper_limit(make_engine(backend, model, obs, aux_gamma, aux_alpha), CLS_ALPHA)
        res.cls_upper_limit = lim.limit
        res.converged &= lim.converged
        res.messages += lim.messages
    if len(model.parameter_names) > 1:
        nuis = _nuisance_summary(m, impacts)
        res.pulls, res.constraints, res.impacts = nuis.pulls, nuis.constraints, nuis.impacts
    _log_messages(backend, res.messages)
    return res

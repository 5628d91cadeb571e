"""Tests of rediscovery.higgs.stats.inference: the binned likelihood, its two back-ends, the
focused inference functions (mle, interval, significance, upper_limit, nuisance_summary,
likelihood_scan), the one-call fit, binning and the AMS.

References used as independent truths:
* pyhf (HistFactory reference implementation) for the likelihood value, μ̂, intervals, CLs;
* Cowan, Cranmer, Gross, Vitells 2011 (arXiv:1007.1727) eq. 97 for the Asimov significance;
* closed-form one-bin Poisson likelihood for μ̂ and the profile-likelihood interval;
* brute-force enumeration for the binning optimum.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import optimize, stats

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.classifiers.metrics import best_ams
from rediscovery.higgs.stats import binning
from rediscovery.higgs.stats import inference as stat
from rediscovery.higgs.stats.likelihood import Likelihood, code4_coefficients
from rediscovery.higgs.stats.model import BinnedModel, HistoSys, NormSys
from rediscovery.higgs.stats.results import (
    FitResult,
    IntervalResult,
    MLEResult,
    NuisanceSummary,
    SignificanceResult,
    UpperLimitResult,
)


def small_model(n_bins: int = 6, seed: int = 0, syst: bool = True, mc_stat: bool = True,
                scale: float = 1.0) -> BinnedModel:
    """A few bins of falling background and rising signal, with all modifier types."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.1, 0.9, n_bins)
    sig = scale * 40.0 * x**3 + 1.0
    b1 = scale * 400.0 * (1 - x) ** 2 + 20.0
    b2 = scale * 100.0 * (1 - x) + 10.0
    kw: dict = {}
    if mc_stat:
        kw["signal_sumw2"] = sig * 0.05
        kw["background_sumw2"] = {"ztt": b1 * rng.uniform(0.2, 0.6, n_bins), "top": b2 * 0.3}
    if syst:
        t = np.linspace(-1, 1, n_bins)
        kw["systematics"] = [
            NormSys("top_norm", {"top": (0.9, 1.15)}),
            NormSys("lumi", {"signal": (0.97, 1.03), "ztt": (0.97, 1.03)}),
            HistoSys("tes", {"ztt": (b1 * (1 - 0.05 * t), b1 * (1 + 0.04 * t)),
                             "signal": (sig * (1 + 0.03 * t), sig * (1 - 0.03 * t))}),
        ]
    return BinnedModel(sig, {"ztt": b1, "top": b2}, **kw)


def observed_of(model: BinnedModel, mu: float = 1.0, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).poisson(model.expected(mu)).astype(float)


# -- the likelihood is pyhf's ---------------------------------------------------------------
@pytest.mark.parametrize("syst,mc_stat", [(False, False), (False, True), (True, False),
                                          (True, True)])
def test_nll_equals_pyhf_logpdf(syst: bool, mc_stat: bool) -> None:
    """Our NLL equals −pdf.logpdf of the pyhf workspace we write, at random parameters
    (including |α| > 1 and |α| < 1, i.e. both branches of pyhf's code4/code4p)."""
    from rediscovery.higgs.stats.backends.pyhf import PyhfEngine, to_pyhf_pars

    model = small_model(syst=syst, mc_stat=mc_stat)
    obs = observed_of(model)
    rng = np.random.default_rng(3)
    k = len(model.alpha_names)
    aux_g = 1 + 0.05 * rng.normal(size=model.n_bins) if mc_stat else None
    aux_a = rng.normal(size=k)
    eng = PyhfEngine(model, obs, aux_g, aux_a)
    lik = Likelihood(model.arrays, obs, aux_g, aux_a)
    for alpha in ([0.3, -0.7, 0.5], [1.6, -1.3, -2.2])[: 2 if syst else 1]:
        gam = 1 + 0.02 * rng.normal(size=model.n_bins) if mc_stat else None
        pars = np.concatenate([[0.8], alpha[:k], gam if gam is not None else []])
        x = to_pyhf_pars(model, eng.pdf, 0.8, np.asarray(alpha[:k]), gam)
        ref = -float(eng.pdf.logpdf(x, eng.data)[0])
        assert lik.nll_full(pars) == pytest.approx(ref, rel=1e-12, abs=1e-8)


def test_profiled_gamma_is_the_conditional_minimum() -> None:
    """The analytic γ̂ (Conway 2011, eq. 14) equals a numerical minimisation over γ."""
    model = small_model()
    obs = observed_of(model)
    lik = Likelihood(model.arrays, obs, 1 + 0.03 * np.arange(model.n_bins) / 6, [0.2, 0, -0.1])
    theta = np.array([1.2, 0.3, -0.2, 0.4])
    g_hat = lik.gamma_hat(theta)

    def f(g: np.ndarray) -> float:
        return lik.nll_full(np.concatenate([theta, g]))

    num = optimize.minimize(f, np.ones(model.n_bins), method="L-BFGS-B",
                            options={"ftol": 1e-15, "gtol": 1e-12}).x
    np.testing.assert_allclose(g_hat, num, rtol=2e-6)
    assert lik.nll_profiled(theta) == pytest.approx(f(g_hat), rel=1e-13)


def test_gradients_match_finite_differences() -> None:
    model = small_model()
    lik = Likelihood(model.arrays, observed_of(model))
    for theta in (np.array([0.9, 0.3, -0.6, 0.2]), np.array([1.1, 1.4, -1.7, 2.5])):
        num = optimize.approx_fprime(theta, lik.nll_profiled, 1e-6)
        np.testing.assert_allclose(lik.grad_profiled(theta), num, rtol=1e-4, atol=1e-4)
        full = np.concatenate([theta, 1 + 0.01 * np.arange(model.n_bins)])
        num = optimize.approx_fprime(full, lik.nll_full, 1e-7)
        np.testing.assert_allclose(lik.grad_full(full), num, rtol=1e-3, atol=2e-3)


def test_code4_polynomial_matches_exponential_at_unit_alpha() -> None:
    """Code 4 joins hi**α / lo**(−α) at α = ±1 with equal value, slope and curvature."""
    lo, hi = np.array([0.8]), np.array([1.3])
    c = code4_coefficients(lo, hi)[0]
    poly = np.polynomial.Polynomial(np.r_[1.0, c])
    for a, f in ((1.0, lambda x: hi[0] ** x), (-1.0, lambda x: lo[0] ** (-x))):
        h = 1e-4
        assert poly(a) == pytest.approx(f(a), rel=1e-12)
        assert poly.deriv()(a) == pytest.approx((f(a + h) - f(a - h)) / (2 * h), rel=1e-6)
        assert poly.deriv(2)(a) == pytest.approx((f(a + h) - 2 * f(a) + f(a - h)) / h**2,
                                                 rel=1e-4)


# -- closed forms -------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["minuit", "pyhf"])
def test_asimov_significance_one_bin(backend: str) -> None:
    """Z_A of one bin = sqrt(2((s+b) ln(1+s/b) − s)) (Cowan et al. 2011, eq. 97), to 1e-6."""
    s, b = 50.0, 1000.0
    model = BinnedModel([s], {"bkg": [b]})
    z_ref = math.sqrt(2 * ((s + b) * math.log(1 + s / b) - s))
    res = stat.significance(model, [b], backend)
    assert isinstance(res, SignificanceResult) and res.converged
    assert res.z_expected == pytest.approx(z_ref, rel=1e-6)
    assert stat.expected_significance(model, backend) == pytest.approx(z_ref, rel=1e-6)
    assert stat.asimov_significance(s, b) == pytest.approx(z_ref, rel=1e-15)
    # on the background-only data μ̂ = 0: no excess, q0 = 0, p = 1/2
    assert res.q0 == pytest.approx(0.0, abs=1e-8) and res.p_observed == pytest.approx(0.5)


@pytest.mark.parametrize("backend", ["minuit", "pyhf"])
def test_one_bin_significance_closed_form(backend: str) -> None:
    """One bin, n > b: q0 = 2(n ln(n/b) − (n − b)) (Cowan et al. 2011, eq. 12 for a Poisson
    count), Z = sqrt(q0), p = 1 − Φ(Z)."""
    s, b, n = 30.0, 200.0, 245.0
    res = stat.significance(BinnedModel([s], {"bkg": [b]}), [n], backend, expected=False)
    q0 = 2 * (n * math.log(n / b) - (n - b))
    assert res.q0 == pytest.approx(q0, rel=1e-6)
    assert res.z_observed == pytest.approx(math.sqrt(q0), rel=1e-6)
    assert res.p_observed == pytest.approx(stats.norm.sf(math.sqrt(q0)), rel=1e-5)
    assert math.isnan(res.z_expected)


@pytest.mark.parametrize("backend", ["minuit", "pyhf"])
def test_mle_recovers_asimov_mu(backend: str) -> None:
    """On the Asimov data set at μ = 0.7 (nominal nuisances) the fit returns μ̂ = 0.7, every
    α̂ = 0 and γ̂ = 1 (CCGV sec. 3.2): to 1e-6 with our minimiser, 1e-4 with pyhf's."""
    model = small_model()
    res = stat.mle(model, stat.asimov_data(model, 0.7), backend)
    tol = 1e-6 if backend == "minuit" else 1e-4
    assert isinstance(res, MLEResult) and res.converged and res.backend == backend
    assert res.mu_hat == pytest.approx(0.7, abs=tol)
    for name in model.alpha_names:
        assert res.parameters[name] == pytest.approx(0.0, abs=10 * tol)
    assert set(res.errors) == set(model.parameter_names)
    assert list(res.parameters) == list(model.parameter_names)


def test_one_bin_interval_closed_form() -> None:
    """One Poisson bin: μ̂ = (n − b)/s and −2Δln L = 1 crossings solved independently."""
    s, b, n = 30.0, 200.0, 245.0
    model = BinnedModel([s], {"bkg": [b]})
    res = stat.interval(model, [n], "minuit")
    assert isinstance(res, IntervalResult) and res.cl == stat.CL_68
    mu_hat = (n - b) / s

    def q(mu: float) -> float:
        lam = mu * s + b
        return 2 * ((lam - n * math.log(lam)) - (n - n * math.log(n))) - 1.0

    lo = optimize.brentq(q, mu_hat - 5, mu_hat)
    hi = optimize.brentq(q, mu_hat, mu_hat + 5)
    assert res.mu_hat == pytest.approx(mu_hat, rel=1e-6)
    assert res.mu_lo == pytest.approx(lo, rel=1e-5)
    assert res.mu_hi == pytest.approx(hi, rel=1e-5)
    # no nuisance parameters: the statistics-only interval is the interval
    assert (res.mu_stat_lo, res.mu_stat_hi) == (res.mu_lo, res.mu_hi)
    assert stat.CL_68 == pytest.approx(stats.norm.cdf(1) - stats.norm.cdf(-1), rel=1e-15)


# -- the two back-ends agree -----------------------------------------------------------------
def test_backends_agree_on_mle_interval_and_significance() -> None:
    """μ̂, the 68.27% interval and Z agree between pyhf's likelihood (reference) and ours."""
    model = small_model()
    obs = observed_of(model)
    m_m, m_p = stat.mle(model, obs, "minuit"), stat.mle(model, obs, "pyhf")
    assert m_m.converged and m_p.converged
    assert m_m.mu_hat == pytest.approx(m_p.mu_hat, rel=1e-4)
    assert m_m.nll_min == pytest.approx(m_p.nll_min, abs=1e-5)
    for name in model.alpha_names:
        assert m_m.parameters[name] == pytest.approx(m_p.parameters[name], abs=1e-3)
    i_m = stat.interval(model, obs, stat_only=False, mle_result=m_m)
    i_p = stat.interval(model, obs, stat_only=False, mle_result=m_p)
    # the crossings inherit the precision of pyhf's profiled NLL (its Minuit stops at
    # PYHF_TOLERANCE): ~1e-4 of μ here, so they are compared at 3e-4, the rest at 1e-4
    assert (i_m.mu_lo, i_m.mu_hi) == pytest.approx((i_p.mu_lo, i_p.mu_hi), rel=3e-4)
    s_m = stat.significance(model, obs, mle_result=m_m)
    s_p = stat.significance(model, obs, mle_result=m_p)
    assert s_m.z_observed == pytest.approx(s_p.z_observed, rel=1e-4)
    assert s_m.z_expected == pytest.approx(s_p.z_expected, rel=1e-4)


def test_backends_agree_on_cls_limit() -> None:
    model = small_model(n_bins=3, syst=False, mc_stat=True)
    obs = observed_of(model, mu=0.0, seed=4)
    lim_m = stat.upper_limit(model, obs, "minuit")
    lim_p = stat.upper_limit(model, obs, "pyhf")
    assert isinstance(lim_m, UpperLimitResult) and lim_m.converged and lim_p.converged
    assert lim_m.cl == pytest.approx(0.95) and lim_m.alpha == 0.05
    assert lim_m.limit == pytest.approx(lim_p.limit, rel=1e-3)
    assert stat.cls(model, obs, lim_m.limit, "minuit") == pytest.approx(0.05, rel=1e-5)
    assert stat.cls(model, obs, lim_m.limit, "pyhf") == pytest.approx(0.05, rel=1e-3)


def test_cls_limit_when_the_data_have_a_deficit() -> None:
    """Data below the background (μ̂ < 0; large counts): the CLs fits bound μ ≥ 0, so their
    free fit stops at μ = 0, which Migrad alone calls invalid for these seeds. The limit must
    still converge and agree with pyhf's, and the whole fit be reported."""
    model = small_model(n_bins=3, syst=False, mc_stat=True, scale=100.0)
    obs = np.random.default_rng(17).poisson(model.expected(-0.3)).astype(float)
    assert stat.mle(model, obs, "minuit").mu_hat < 0
    lim_m = stat.upper_limit(model, obs, "minuit")
    lim_p = stat.upper_limit(model, obs, "pyhf")
    assert lim_m.converged and lim_p.converged, lim_m.messages
    assert lim_m.limit == pytest.approx(lim_p.limit, rel=2e-3)
    assert stat.significance(model, obs, "minuit").z_observed == 0.0


def test_nuisance_summary_on_asimov_data() -> None:
    """On Asimov data every pull is 0; constraints are in (0, 1]; impacts bracket 0 and the
    ranking orders them by size."""
    model = small_model()
    obs = stat.asimov_data(model, 1.0)
    nuis = stat.nuisance_summary(model, obs, "minuit")
    assert isinstance(nuis, NuisanceSummary)
    assert set(nuis.pulls) == set(model.parameter_names[1:])
    assert all(abs(p) < 1e-4 for p in nuis.pulls.values())
    assert all(0 < c <= 1.0 + 1e-6 for c in nuis.constraints.values())
    assert all(d * u <= 0 for d, u in nuis.impacts.values())
    size = [max(abs(d), abs(u)) for d, u in (nuis.impacts[n] for n in nuis.ranking())]
    assert size == sorted(size, reverse=True)
    assert stat.nuisance_summary(model, obs, impacts=False).impacts == {}


def test_fit_is_built_from_the_focused_functions() -> None:
    """The one-call summary carries exactly the focused functions' numbers."""
    model = small_model(n_bins=4)
    obs = observed_of(model)
    res = stat.fit(model, obs, "minuit", limit=False)
    assert isinstance(res, FitResult) and res.converged
    best = stat.mle(model, obs)
    iv = stat.interval(model, obs, mle_result=best)
    sig = stat.significance(model, obs, mle_result=best)
    nuis = stat.nuisance_summary(model, obs, mle_result=best)
    assert res.mu_hat == best.mu_hat and res.parameters == best.parameters
    assert res.errors == best.errors
    assert (res.mu_lo, res.mu_hi, res.mu_stat_lo, res.mu_stat_hi) == (
        iv.mu_lo, iv.mu_hi, iv.mu_stat_lo, iv.mu_stat_hi)
    assert (res.q0, res.z_discovery, res.z_expected) == (sig.q0, sig.z_observed, sig.z_expected)
    assert (res.pulls, res.constraints, res.impacts) == (nuis.pulls, nuis.constraints,
                                                         nuis.impacts)
    assert math.isnan(res.cls_upper_limit)


def test_results_are_json_ready() -> None:
    import json

    model = small_model(n_bins=3)
    obs = observed_of(model)
    best = stat.mle(model, obs)
    for r in (best, stat.interval(model, obs, mle_result=best),
              stat.significance(model, obs, expected=False, mle_result=best),
              stat.nuisance_summary(model, obs, impacts=False, mle_result=best),
              stat.likelihood_scan(model, obs, np.linspace(0.5, 1.5, 3), mle_result=best),
              stat.fit(model, obs, limit=False, impacts=False)):
        d = json.loads(json.dumps(r.to_dict()))
        assert "engine" not in d and d


def test_mle_result_from_other_data_is_rejected() -> None:
    model = small_model(n_bins=3, syst=False)
    best = stat.mle(model, observed_of(model, seed=1))
    with pytest.raises(InputError, match="same model and observed"):
        stat.interval(model, observed_of(model, seed=2), mle_result=best)


def test_fit_reports_nuisances_and_stat_only_interval() -> None:
    model = small_model()
    obs = observed_of(model)
    res = stat.fit(model, obs, "minuit", limit=False)
    assert set(res.pulls) == set(model.parameter_names[1:])
    assert all(0 < c <= 1.0 + 1e-6 for c in res.constraints.values())
    assert res.mu_stat_lo > res.mu_lo and res.mu_stat_hi < res.mu_hi
    # the parabolic error of μ is close to the MINOS half-widths for this near-Gaussian case
    half = 0.5 * (res.mu_hi - res.mu_lo)
    assert res.errors["mu"] == pytest.approx(half, rel=0.05)
    d = res.to_dict()
    assert d["impacts"]["tes"][0] * d["impacts"]["tes"][1] <= 0  # opposite signs


def test_likelihood_scan_crossings_match_interval() -> None:
    model = small_model(syst=False)
    obs = observed_of(model)
    res = stat.interval(model, obs, "minuit")
    scan = stat.likelihood_scan(model, obs, np.linspace(res.mu_lo - 0.5, res.mu_hi + 0.5, 401))
    lo, hi = scan.crossings(1.0)
    assert lo == pytest.approx(res.mu_lo, abs=2e-3)
    assert hi == pytest.approx(res.mu_hi, abs=2e-3)
    for backend in ("minuit", "pyhf"):
        r95 = stat.interval(model, obs, backend, cl=stat.CL_95_45, stat_only=False)
        assert scan.crossings(4.0) == pytest.approx((r95.mu_lo, r95.mu_hi), abs=2e-3)
    # the default grid: 81 points over μ̂ ± 3 half-widths
    auto = stat.likelihood_scan(model, obs, interval_68=(res.mu_lo, res.mu_hi))
    assert auto.mu.size == 81 and auto.mu[0] == pytest.approx(3 * res.mu_lo - 2 * res.mu_hat)


def test_workspace_is_valid_pyhf_json() -> None:
    import json

    import pyhf

    model = small_model()
    spec = json.loads(json.dumps(stat.workspace(model, observed_of(model))))
    ws = pyhf.Workspace(spec)
    assert ws.model().config.poi_name == "mu"
    assert len(ws.model().config.parameters) == 1 + 3 + 1  # mu, 3 alphas, staterror


# -- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    ({"signal": [1.0, -2.0, 3.0]}, "signal: bin 1 is negative"),
    ({"signal": [1.0, np.nan, 3.0]}, "signal: bin 1 is nan"),
    ({"backgrounds": {"b": [1.0, 2.0]}}, "has 2 bins but the signal has 3"),
    ({"backgrounds": {"b": [1.0, 0.0, 2.0]}}, "bin 1 has zero expected background"),
    ({"background_sumw2": {"nope": [1.0, 1.0, 1.0]}}, "process 'nope'"),
    ({"systematics": [NormSys("x", {"ghost": (0.9, 1.1)})]}, "sample 'ghost'"),
    ({"systematics": [NormSys("x", {"b": (0.0, 1.1)})]}, "factors must be finite and > 0"),
    ({"systematics": [HistoSys("x", {"b": ([1.0, 2.0], [1.0, 2.0, 3.0])})]}, "has 2 bins"),
])
def test_bad_model_input(kwargs: dict, match: str) -> None:
    base = {"signal": [1.0, 2.0, 3.0], "backgrounds": {"b": [10.0, 10.0, 10.0]}}
    base.update(kwargs)
    sig = base.pop("signal")
    bkg = base.pop("backgrounds")
    with pytest.raises(InputError, match=match):
        BinnedModel(sig, bkg, **base)


def test_bad_observed_and_backend() -> None:
    model = small_model(syst=False)
    with pytest.raises(InputError, match="model has 6 bins"):
        stat.fit(model, [1.0, 2.0])
    with pytest.raises(InputError, match="bin 2 is -1"):
        stat.fit(model, [5, 5, -1, 5, 5, 5])
    with pytest.raises(ConfigError, match=r"backend must be one of .*'pyhf'.*'minuit'.*'root'"):
        stat.fit(model, observed_of(model), "root")


def test_non_convergence_is_flagged_with_parameter() -> None:
    """μ stuck at its bound: the result is flagged, naming the parameter."""
    model = BinnedModel([10.0, 20.0], {"b": [100.0, 50.0]}, mu_bounds=(0.0, 0.5))
    res = stat.fit(model, [130.0, 110.0], "minuit", limit=False)
    assert not res.converged
    assert any("'mu'" in m for m in res.messages)
    best = stat.mle(model, [130.0, 110.0])
    assert not best.converged and any("'mu'" in m for m in best.messages)


# -- binning -----------------------------------------------------------------------------------
def _brute_force_best(cand_s, cand_b, min_bkg, max_bins):  # type: ignore[no-untyped-def]
    m = cand_s.size
    best = -1.0
    for k in range(1, max_bins + 1):
        for cuts in itertools.combinations(range(1, m), k - 1):
            idx = [0, *cuts, m]
            s = np.add.reduceat(cand_s, idx[:-1])
            b = np.add.reduceat(cand_b, idx[:-1])
            if np.all(b >= min_bkg):
                z2 = np.sum(2 * ((s + b) * np.log1p(s / b) - s))
                best = max(best, z2)
    return math.sqrt(best)


def test_choose_binning_is_the_exact_optimum() -> None:
    rng = np.random.default_rng(2)
    ss, bs = rng.beta(5, 2, 3000), rng.beta(2, 5, 20000)
    sw, bw = np.full(3000, 0.1), np.full(20000, 1.0)
    res = binning.choose_binning(ss, sw, bs, bw, min_bkg=300.0, max_bins=4, n_candidates=9)
    # recover the fine candidate histogram and enumerate all partitions
    inner = np.quantile(np.r_[ss, bs], np.linspace(0, 1, 11)[1:-1])
    cand = np.unique(np.r_[min(ss.min(), bs.min()), inner, max(ss.max(), bs.max())])
    cs = np.histogram(ss, cand, weights=sw)[0]
    cb = np.histogram(bs, cand, weights=bw)[0]
    assert res.z_asimov == pytest.approx(_brute_force_best(cs, cb, 300.0, 4), rel=1e-10)
    assert np.all(res.background >= 300.0)
    assert res.edges[0] == pytest.approx(cand[0]) and res.edges[-1] == pytest.approx(cand[-1])


def test_choose_binning_monotone_in_max_bins_and_errors() -> None:
    rng = np.random.default_rng(3)
    ss, bs = rng.beta(5, 2, 2000), rng.beta(2, 5, 20000)
    sw, bw = np.full(2000, 0.05), np.full(20000, 2.0)
    zs = [binning.choose_binning(ss, sw, bs, bw, min_bkg=50, max_bins=k).z_asimov
          for k in (1, 3, 10)]
    assert zs[0] <= zs[1] <= zs[2]
    one = binning.choose_binning(ss, sw, bs, bw, min_bkg=50, max_bins=1)
    assert one.z_asimov == pytest.approx(stat.asimov_significance(sw.sum(), bw.sum()), rel=1e-9)
    with pytest.raises(InputError, match=r"no binning has >= 1e\+09"):
        binning.choose_binning(ss, sw, bs, bw, min_bkg=1e9)
    with pytest.raises(InputError, match="signal_scores: entry 0 is nan"):
        binning.choose_binning(np.r_[np.nan, ss], np.r_[1, sw], bs, bw)


def test_best_ams_matches_brute_force() -> None:
    """AMS of HiggsML doc v1.8 eq. 7 (b_reg = 10) at the best cut, against a plain loop: the
    ``ams_best`` of fit.json (classifiers.metrics.best_ams, the one implementation)."""
    rng = np.random.default_rng(4)
    x = rng.uniform(size=300)
    lab = (rng.uniform(size=300) < x).astype(int)
    w = np.where(lab == 1, 0.5, 3.0)
    thr, ams = best_ams(x, w, lab)
    assert 0.0 <= thr <= 1.0
    best = 0.0
    for t in x:
        s = w[(x >= t) & (lab == 1)].sum()
        b = w[(x >= t) & (lab == 0)].sum()
        best = max(best, math.sqrt(2 * ((s + b + 10) * math.log(1 + s / (b + 10)) - s)))
    assert ams == pytest.approx(best, rel=1e-12)


def test_nuisance_at_bound_is_flagged_by_name() -> None:
    """A normalisation far outside its prior (data 3× the background) ends at α = 5."""
    model = BinnedModel([1.0, 1.0], {"b": [100.0, 100.0]}, mu_bounds=(-1.0, 1.0),
                        systematics=[NormSys("bnorm", {"b": (0.8, 1.2)})])
    res = stat.mle(model, [300.0, 300.0], "minuit", errors=False)
    assert not res.converged
    assert any("'bnorm'" in m for m in res.messages)


# -- multi-start: a likelihood with two minima --------------------------------------------------
def _two_minima_model():
    """Three bins; a shape systematic whose ±1σ templates both raise the background, in
    different bins (a U-shaped response in α): with data above the background in bins 1 and
    3 the likelihood has one minimum at α < 0 (bin 1 explained by the systematic, smaller μ)
    and one at α > 0 (bin 1 explained by signal). From the default start (μ = 1, α = 0)
    MIGRAD converges, valid, to the higher one."""
    b = np.array([100.0, 100.0, 100.0])
    s = np.array([20.0, 5.0, 0.0])
    hs = HistoSys("shape", {"bkg": ([130.0, 100.0, 100.0], [100.0, 100.0, 125.0])})
    return BinnedModel(s, {"bkg": b}, systematics=[hs]), np.array([160.0, 104.0, 105.0])


def test_multistart_finds_the_global_minimum_of_a_two_minima_likelihood():
    from rediscovery.higgs.stats.backends.minuit import MinuitEngine

    model, n = _two_minima_model()
    # the two minima, located independently by a dense grid of profiled fits in α
    eng = MinuitEngine(model, n)
    grid = [(eng.minimize(init=np.array([mu0, a0]))) for a0 in np.linspace(-3, 3, 13)
            for mu0 in (0.0, 1.0, 2.0, 4.0)]
    nll = np.array([g[1] for g in grid])
    glob = grid[int(np.argmin(nll))][0]
    assert glob[1] < 0  # the global minimum is the α < 0 one
    single = stat.mle(model, n)
    assert single.converged and single.parameters["shape"] > 0  # the local one
    assert single.nll_min > nll.min() + 0.01
    multi = stat.mle(model, n, multistart=True)
    assert multi.nll_min == pytest.approx(nll.min(), abs=1e-6)
    assert multi.mu_hat == pytest.approx(glob[0], abs=1e-3)
    assert stat.fit(model, n, significance=False, limit=False).mu_hat == \
        pytest.approx(glob[0], abs=1e-3)


def test_multistart_changes_nothing_for_a_single_minimum():
    model, n = _two_minima_model()
    plain = BinnedModel(model.signal, dict(model.backgrounds))
    a = stat.mle(plain, n)
    b = stat.mle(plain, n, multistart=True)
    assert a.mu_hat == b.mu_hat and a.nll_min == b.nll_min
    assert len(stat.start_points(plain)) == 1
    assert len(stat.start_points(model)) == 3


def test_covariance_where_a_bin_expectation_vanishes_is_nan_not_an_error() -> None:
    """μ on the value where a bin's expectation is 0 (few observed events): the Hessian is not
    finite there; the covariance is NaN (and the fit flagged) instead of numpy's
    'SVD did not converge'."""
    from rediscovery.higgs.stats.backends.registry import make_engine

    model = BinnedModel([10.0, 1.0], {"b": [5.0, 100.0]}, signal_sumw2=[1.0, 0.1],
                        background_sumw2={"b": [1.0, 10.0]})
    eng = make_engine("minuit", model, np.array([0.0, 100.0]), None, None)
    pars = np.r_[-0.5, np.ones(len(model.parameter_names) - 1)]
    assert np.all(np.isnan(eng.covariance(pars)))


def test_data_far_below_the_mc_prediction_are_refused() -> None:
    """Observed events far below anything the model predicts: the MC luminosity is wrong."""
    from rediscovery.core.errors import InputError
    from rediscovery.higgs.stats.score_fit import check_normalisation

    model = BinnedModel([10.0, 20.0], {"b": [1000.0, 500.0]})
    check_normalisation(model, np.array([980.0, 520.0]))  # compatible: no error
    with pytest.raises(InputError, match=r"--lumi-factor \(about 0.01"):
        check_normalisation(model, np.array([10.0, 5.0]))

"""Template morphing of the systematics model against pyhf's interpolators, beyond ±1σ."""

from __future__ import annotations

import numpy as np
import pytest

from rediscovery.higgs.systematics.fit import build_model
from rediscovery.higgs.systematics.templates import SHAPE_NUISANCES, Templates
from rediscovery.higgs.systematics.variations import FAIR_UNIVERSE_PRIORS

pyhf = pytest.importorskip("pyhf")

#: α values inside, at and beyond the ±1σ templates (the fit's α bounds are ±5).
ALPHAS = np.array([-3.0, -2.5, -1.5, -1.0, -0.4, 0.0, 0.6, 1.0, 1.7, 2.5, 3.0])


def _templates() -> Templates:
    nominal = {
        "signal": np.array([10.0, 50.0, 30.0]),
        "ttbar": np.array([400.0, 90.0, 20.0]),
        "ztautau": np.array([1000.0, 300.0, 40.0]),
    }
    lo = {
        "signal": np.array([8.0, 48.0, 33.0]),
        "ttbar": np.array([380.0, 95.0, 19.0]),
        "ztautau": np.array([1100.0, 280.0, 35.0]),
    }
    hi = {
        "signal": np.array([13.0, 51.0, 26.0]),
        "ttbar": np.array([430.0, 84.0, 22.0]),
        "ztautau": np.array([950.0, 330.0, 46.0]),
    }
    return Templates(
        edges=np.array([0.0, 0.3, 0.7, 1.0]),
        nominal=nominal,
        sumw2={k: np.zeros(3) for k in nominal},
        shifted={"soft_met": {-1.0: lo, 1.0: hi}},
        priors=dict(FAIR_UNIVERSE_PRIORS),
        nuisances=("soft_met", "ttbar_scale", "diboson_scale"),
    )


def test_shape_morphing_is_pyhf_code4p_beyond_one_sigma():
    # HistoSys (shape nuisances): pyhf's code4p, polynomial for |α| < 1 and *linear*
    # extrapolation beyond (pyhf.interpolators.code4p; Cranmer et al. 2012, CERN-OPEN-2012-016)
    t = _templates()
    model = build_model(t, nuisances=("soft_met",), mc_stat=False)
    samples = list(t.nominal)
    hset = [
        [
            [t.shifted["soft_met"][-1.0][s], t.nominal[s], t.shifted["soft_met"][1.0][s]]
            for s in samples
        ]
    ]
    delta = np.asarray(pyhf.interpolators.code4p(hset)(ALPHAS[None, :]))[0]  # (S, A, B)
    for j, a in enumerate(ALPHAS):
        ours = model.expected(1.0, {"soft_met": float(a)}, per_sample=True)
        for i, s in enumerate(samples):
            np.testing.assert_allclose(
                ours[s], t.nominal[s] + delta[i, j], rtol=1e-12, err_msg=f"sample {s}, α = {a}"
            )
    # beyond +1 it is linear in α: the same step per unit α
    y = [model.expected(1.0, {"soft_met": a}) for a in (1.5, 2.5, 3.5)]
    np.testing.assert_allclose(y[2] - y[1], y[1] - y[0], rtol=1e-12)
    assert "soft_met" in SHAPE_NUISANCES


def test_normalisation_morphing_is_pyhf_code4_beyond_one_sigma():
    # NormSys (normalisation nuisances): pyhf's code4, polynomial for |α| < 1 and exponential
    # extrapolation (factor hi^α, lo^−α) beyond
    t = _templates()
    model = build_model(t, nuisances=("ttbar_scale", "diboson_scale"), mc_stat=False)
    p = FAIR_UNIVERSE_PRIORS["ttbar_scale"]
    lo, hi = float(p.value(-1.0)), float(p.value(1.0))
    hset = [[[[lo], [1.0], [hi]]]]
    factor = np.asarray(pyhf.interpolators.code4(hset)(ALPHAS[None, :]))[0, 0, :, 0]
    for a, f in zip(ALPHAS, factor, strict=True):
        ours = model.expected(1.0, {"ttbar_scale": float(a)}, per_sample=True)
        np.testing.assert_allclose(ours["ttbar"], t.nominal["ttbar"] * f, rtol=1e-12)
        np.testing.assert_allclose(ours["ztautau"], t.nominal["ztautau"], rtol=1e-12)
    np.testing.assert_allclose(factor[ALPHAS == 2.5], hi**2.5, rtol=1e-12)


def test_exponential_shape_morphing_is_pyhf_code4_per_bin():
    # shape_interpolation="code4": each bin is multiplied by pyhf's code4 of its own ratios
    # hi_b/nom_b, lo_b/nom_b (pyhf.interpolators.code4 on per-bin histograms), so beyond ±1σ
    # the yields follow (hi_b/nom_b)^α, (lo_b/nom_b)^−α and never turn negative
    t = _templates()
    model = build_model(t, nuisances=("soft_met",), mc_stat=False, shape_interpolation="code4")
    samples = list(t.nominal)
    hset = [
        [
            [t.shifted["soft_met"][-1.0][s], t.nominal[s], t.shifted["soft_met"][1.0][s]]
            for s in samples
        ]
    ]
    factor = np.asarray(pyhf.interpolators.code4(hset)(ALPHAS[None, :]))[0]  # (S, A, B)
    for j, a in enumerate(ALPHAS):
        ours = model.expected(1.0, {"soft_met": float(a)}, per_sample=True)
        for i, s in enumerate(samples):
            np.testing.assert_allclose(
                ours[s], t.nominal[s] * factor[i, j], rtol=1e-12, err_msg=f"sample {s}, α = {a}"
            )
    # exponential beyond +1: the same *ratio* per unit α, equal to hi/nom
    y = [model.expected(1.0, {"soft_met": a}, per_sample=True)["ztautau"] for a in (1.5, 2.5)]
    hi_ratio = t.shifted["soft_met"][1.0]["ztautau"] / t.nominal["ztautau"]
    np.testing.assert_allclose(y[1] / y[0], hi_ratio, rtol=1e-12)
    # at ±1 both morphings reproduce the templates
    lin = build_model(t, nuisances=("soft_met",), mc_stat=False)
    for a in (-1.0, 1.0):
        np.testing.assert_allclose(
            model.expected(1.0, {"soft_met": a}), lin.expected(1.0, {"soft_met": a}), rtol=1e-12
        )


def test_exponential_shape_morphing_gradient_and_fit():
    # the analytic gradient of the fit (mixed code-4 shape, code-4p shape and normsys) against
    # finite differences, on both sides of ±1
    from rediscovery.higgs.stats.likelihood import Likelihood
    from rediscovery.higgs.stats.model import BinnedModel, HistoSys

    t = _templates()
    exp_mod = build_model(
        t, nuisances=("soft_met", "ttbar_scale"), mc_stat=True, shape_interpolation="code4"
    )
    lo, hi = t.shifted["soft_met"][-1.0], t.shifted["soft_met"][1.0]
    other = HistoSys("tes", {s: (0.97 * hi[s], 1.02 * lo[s]) for s in t.nominal})
    model = BinnedModel(
        exp_mod.signal,
        exp_mod.backgrounds,
        signal_sumw2=t.nominal["signal"] * 0.01,
        background_sumw2={b: t.nominal[b] * 0.01 for b in exp_mod.backgrounds},
        systematics=(*exp_mod.systematics, other),
    )
    obs = model.expected(1.3, {"soft_met": 0.4}) + 3.0
    lik = Likelihood(model.arrays, obs)
    for theta in ([1.2, 0.3, -0.5, 0.2], [0.8, 2.2, 1.4, -1.7], [1.0, -1.6, 0.0, 3.0]):
        th = np.array(theta)
        g = lik.grad_profiled(th)
        h = 1e-6
        num = [
            (lik.nll_profiled(th + h * e) - lik.nll_profiled(th - h * e)) / (2 * h)
            for e in np.eye(th.size)
        ]
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-6)


def test_exponential_shape_morphing_is_refused_by_pyhf_backend():
    from rediscovery.core.errors import ConfigError
    from rediscovery.higgs.stats.backends.pyhf import workspace_spec

    model = build_model(_templates(), nuisances=("soft_met",), shape_interpolation="code4")
    with pytest.raises(ConfigError, match="backend='minuit'"):
        workspace_spec(model)
    with pytest.raises(ConfigError, match="shape_interpolation"):
        build_model(_templates(), shape_interpolation="code9")


def _soft_met_like(a: np.ndarray) -> np.ndarray:
    """A response growing like the soft-MET variance e^{2α} (per unit of a bin's yield)."""
    return np.expm1(2.0 * np.asarray(a, dtype=float)) / np.expm1(2.0)


def _spline_templates(knots=(-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0)) -> Templates:
    # templates of a soft-MET-like response: bin b moves by c_b (e^{2α} − 1)/(e² − 1)
    t = _templates()
    c = {
        "signal": np.array([1.5, -0.8, 2.0]),
        "ttbar": np.array([-9.0, 5.0, 1.0]),
        "ztautau": np.array([40.0, -25.0, 4.0]),
    }
    shifted = {a: {s: t.nominal[s] + c[s] * _soft_met_like(a) for s in t.nominal} for a in knots}
    return Templates(
        edges=t.edges,
        nominal=t.nominal,
        sumw2=t.sumw2,
        shifted={"soft_met": shifted},
        priors=t.priors,
        nuisances=("soft_met",),
    )


def test_spline_morphing_goes_through_every_template_and_follows_the_response():
    # shape_interpolation="spline": an additive not-a-knot cubic spline per bin through every
    # template of the grid (scipy.interpolate.CubicSpline, the independent reference), linear
    # with the end slopes beyond; code 4p only knows α = ±1 and extrapolates linearly.
    from scipy.interpolate import CubicSpline

    t = _spline_templates()
    model = build_model(t, nuisances=("soft_met",), mc_stat=False, shape_interpolation="spline")
    lin = build_model(t, nuisances=("soft_met",), mc_stat=False)
    knots = np.array(sorted({0.0, *t.shifted["soft_met"]}))
    for s in t.nominal:
        ys = np.array([t.nominal[s] if a == 0 else t.shifted["soft_met"][a][s] for a in knots])
        ref = CubicSpline(knots, ys, axis=0)
        for a in (-1.8, -1.0, -0.3, 0.0, 0.7, 1.0, 1.25, np.log(5.0), 2.0):
            ours = model.expected(1.0, {"soft_met": float(a)}, per_sample=True)[s]
            np.testing.assert_allclose(ours, ref(a), rtol=1e-12, atol=1e-9)
        # beyond the last knot: linear with the end slope
        ours = model.expected(1.0, {"soft_met": 3.0}, per_sample=True)[s]
        np.testing.assert_allclose(ours, ref(2.0) + ref(2.0, 1), rtol=1e-12)
    # at the soft-MET clip (α = ln 5) the spline is within 2% of the true response, code 4p
    # (linear from the ±1 templates) is less than half of it
    a = float(np.log(5.0))
    true = t.nominal["ztautau"] + np.array([40.0, -25.0, 4.0]) * _soft_met_like(a)
    d_true = true - t.nominal["ztautau"]
    d_spl = model.expected(1.0, {"soft_met": a}, per_sample=True)["ztautau"] - t.nominal["ztautau"]
    d_lin = lin.expected(1.0, {"soft_met": a}, per_sample=True)["ztautau"] - t.nominal["ztautau"]
    np.testing.assert_allclose(d_spl, d_true, rtol=0.02)
    assert np.all(np.abs(d_lin) < 0.5 * np.abs(d_true))


def test_spline_morphing_gradient_and_refusals():
    from rediscovery.core.errors import ConfigError, InputError
    from rediscovery.higgs.stats.backends.pyhf import workspace_spec
    from rediscovery.higgs.stats.likelihood import Likelihood
    from rediscovery.higgs.stats.model import HistoSys

    t = _spline_templates()
    model = build_model(t, nuisances=("soft_met",), mc_stat=True, shape_interpolation="spline")
    model = type(model)(
        model.signal,
        model.backgrounds,
        signal_sumw2=model.signal * 0.01,
        background_sumw2={b: v * 0.01 for b, v in model.backgrounds.items()},
        systematics=model.systematics,
    )
    obs = model.expected(1.3, {"soft_met": 0.4}) + 3.0
    lik = Likelihood(model.arrays, obs)
    for theta in ([1.2, 0.3], [0.8, 1.2], [1.0, -1.7], [0.9, 2.6], [1.1, -2.4]):
        th = np.array(theta)
        h = 1e-6
        num = [
            (lik.nll_profiled(th + h * e) - lik.nll_profiled(th - h * e)) / (2 * h)
            for e in np.eye(th.size)
        ]
        np.testing.assert_allclose(lik.grad_profiled(th), num, rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="backend='minuit'"):
        workspace_spec(model)
    lo, hi = [1.0, 2.0], [3.0, 4.0]
    with pytest.raises(InputError, match="need interpolation='spline'"):
        HistoSys("x", {"b": (lo, hi)}, points={"b": {2.0: [1.0, 1.0]}})
    with pytest.raises(InputError, match="other than 0"):
        HistoSys("x", {"b": (lo, hi)}, interpolation="spline", points={"b": {1.0: [1.0, 1.0]}})
    with pytest.raises(InputError, match="same extra"):
        HistoSys(
            "x",
            {"b": (lo, hi), "c": (lo, hi)},
            interpolation="spline",
            points={"b": {2.0: [1.0, 1.0]}, "c": {-2.0: [1.0, 1.0]}},
        )

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

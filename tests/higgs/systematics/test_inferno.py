"""Tests of INFERNO (rediscovery.higgs.systematics.inferno)."""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pytest

from rediscovery.core.errors import ConfigError
from rediscovery.higgs.stats.inference import asimov_data, mle
from rediscovery.higgs.stats.model import BinnedModel, HistoSys, NormSys
from rediscovery.higgs.systematics.inferno import asimov_mu_variance, merge_ranked_bins

torch = pytest.importorskip("torch")


def test_asimov_variance_is_the_fits_hesse_error():
    # Independent reference: MIGRAD/HESSE of the package's binned likelihood (HistoSys code
    # 4p + NormSys code 4, unit Gaussian constraints) on Asimov data at μ = 1, α = 0; the
    # inverse Fisher information at the same point must give the same σ(μ̂).
    sig = np.array([2.0, 10.0, 30.0, 15.0])
    b1 = np.array([500.0, 200.0, 60.0, 10.0])
    b2 = np.array([300.0, 100.0, 40.0, 5.0])
    lo1, hi1 = b1 * np.array([1.03, 1.0, 0.97, 0.9]), b1 * np.array([0.98, 1.0, 1.04, 1.12])
    los, his = sig * 0.97, sig * 1.02
    model = BinnedModel(
        sig,
        {"b1": b1, "b2": b2},
        systematics=[
            HistoSys("tes", {"b1": (lo1, hi1), "signal": (los, his)}),
            NormSys("norm", {"b2": (0.9, 1.1)}),
        ],
    )
    fit = mle(model, asimov_data(model, 1.0), "minuit", errors=True)
    # ∂ν/∂α at 0: (hi − lo)/2 for code 4p; for code 4 the slope of its polynomial, a_1
    from rediscovery.higgs.stats.likelihood import code4_coefficients

    a1 = float(code4_coefficients(np.array(0.9), np.array(1.1))[0])
    grads = np.stack([0.5 * (hi1 - lo1) + 0.5 * (his - los), a1 * b2])
    var = asimov_mu_variance(
        torch.tensor(sig), torch.tensor(b1 + b2), torch.tensor(grads), mu=1.0, floor=0.0
    )
    assert math.sqrt(float(var)) == pytest.approx(fit.errors["mu"], rel=2e-3)
    # without nuisances: the closed form 1 / sqrt(Σ s²/(s + b))
    v0 = asimov_mu_variance(
        torch.tensor(sig),
        torch.tensor(b1 + b2),
        torch.zeros((0, 4), dtype=torch.float64),
        floor=0.0,
    )
    assert float(v0) == pytest.approx(1.0 / np.sum(sig**2 / (sig + b1 + b2)), rel=1e-9)


def test_asimov_variance_with_mc_statistics_is_the_fits_hesse_error():
    # Independent reference: MIGRAD/HESSE of the binned likelihood with one Barlow–Beeston-lite
    # γ per bin (Gaussian, relative width sqrt(Σw²)/ν, pyhf staterror) and a NormSys, on Asimov
    # data at μ = 1: profiling γ_b turns the bin's Fisher term ∂ν∂νᵀ/ν into ∂ν∂νᵀ/(ν + Σw²).
    from rediscovery.higgs.stats.likelihood import code4_coefficients

    sig = np.array([5.0, 20.0, 40.0])
    b1 = np.array([400.0, 150.0, 30.0])
    b2 = np.array([100.0, 60.0, 20.0])
    sw2_s, sw2_b1 = sig * 0.05, b1 * 0.8  # background MC events weigh 0.8 data events
    model = BinnedModel(
        sig,
        {"b1": b1, "b2": b2},
        signal_sumw2=sw2_s,
        background_sumw2={"b1": sw2_b1},
        systematics=[NormSys("norm", {"b2": (0.8, 1.2)})],
    )
    fit = mle(model, asimov_data(model, 1.0), "minuit", errors=True)
    a1 = float(code4_coefficients(np.array(0.8), np.array(1.2))[0])
    var = asimov_mu_variance(
        torch.tensor(sig),
        torch.tensor(b1 + b2),
        torch.tensor((a1 * b2)[None, :]),
        floor=0.0,
        mc_var=torch.tensor(sw2_s + sw2_b1),
    )
    assert math.sqrt(float(var)) == pytest.approx(fit.errors["mu"], rel=2e-3)
    # and the MC term costs information: without it σ(μ) is smaller
    v_inf = asimov_mu_variance(
        torch.tensor(sig), torch.tensor(b1 + b2), torch.tensor((a1 * b2)[None, :]), floor=0.0
    )
    assert float(v_inf) < 0.9 * float(var)


def test_merge_ranked_bins():
    np.testing.assert_allclose(
        merge_ranked_bins(np.array([50.0, 60, 200, 5]), 100.0), [0.0, 0.5, 1.0]
    )
    np.testing.assert_allclose(
        merge_ranked_bins(np.array([150.0, 0, 300]), 100.0), [0.0, 1 / 3, 1.0]
    )
    np.testing.assert_allclose(merge_ranked_bins(np.array([1.0, 1.0]), 100.0), [0.0, 1.0])


@pytest.fixture(scope="module")
def sim_sets():
    from rediscovery.higgs.systematics.challenge import simulated_sets

    return simulated_sets(4000, 15000, 15000, seed=3)


def test_inferno_covers_toy_truth_and_is_not_wider_than_nominal(sim_sets):
    # The toy of test_methods.test_method_intervals_cover_on_toys (pseudo-data drawn from the
    # template events at luminosity × 0.1, no MC-statistics terms). INFERNO is trained on the
    # third independent sample (1.5 × 10⁴ events; 4000 over-fit), the nominal XGBoost on the
    # same events for the width comparison (measured with the symmetric-slope loss: Asimov
    # widths 1.74 for INFERNO, 2.4 for the nominal BDT of 20 trees); the challenge N = 40:
    # coverage within 3 binomial σ of 0.6827.
    from rediscovery.higgs.systematics.catalogue import calibrate
    from rediscovery.higgs.systematics.challenge import ChallengeSetup, run_challenge
    from rediscovery.higgs.systematics.methods import fit_interval
    from rediscovery.higgs.systematics.templates import TemplateWarning

    _, tmpl, train = sim_sets
    lumi = 0.1
    widths = {}
    infs = {}
    for method, opts in (("inferno", {}), ("nominal", {"n_estimators": 20, "max_depth": 3})):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TemplateWarning)
            inf = calibrate(
                method, train, tmpl, seed=2, max_bins=4, min_bkg=5.0, weight_scale=lumi, **opts
            )
        infs[method] = inf = replace(inf, mc_stat=False)
        m = inf.model()
        iv = fit_interval(m, asimov_data(m, 1.0))
        widths[method] = iv.hi - iv.lo
    assert widths["inferno"] < 1.15 * widths["nominal"]
    sc = infs["inferno"].scorer
    assert sc.history[-1]["sigma_mu_valid"] > 0 and len(sc.history) == 100
    setup = ChallengeSetup(pool=tmpl, inference=infs["inferno"], lumi_factor=lumi, pool_seed=2)
    res = run_challenge(setup, 40, seed=5, n_workers=1, progress=False)
    s = res.summary["syst"]
    assert s["n_failed"] <= 2
    assert abs(s["coverage"] - 0.6827) < 3 * math.sqrt(0.6827 * 0.3173 / 40)
    assert abs(s["pull_mean"]) < 0.6
    assert 0.6 < s["pull_std"] < 1.4


def test_inferno_rejects_bad_settings(sim_sets):
    from rediscovery.higgs.systematics.inferno import train_inferno

    train = sim_sets[0]
    with pytest.raises(ConfigError, match="n_bins"):
        train_inferno(train, ["PRI_tau_pt"], n_bins=1)
    with pytest.raises(ConfigError, match="temperature"):
        train_inferno(train, ["PRI_tau_pt"], temperature=0.0)
    with pytest.raises(ConfigError, match="valid_fraction"):
        train_inferno(train, ["PRI_tau_pt"], valid_fraction=1.0)
    with pytest.raises(ConfigError, match="slopes"):
        train_inferno(train, ["PRI_tau_pt"], slopes="central")
    with pytest.raises(ConfigError, match="mc_events"):
        train_inferno(train, ["PRI_tau_pt"], mc_events=0)


def test_inferno_trains_with_the_mc_statistics_term(sim_sets):
    # The loss with the templates' MC variance is finite and larger than without it (the same
    # initial network, seed and batches: the MC term only removes information).
    from rediscovery.higgs.systematics.inferno import train_inferno
    from rediscovery.higgs.systematics.methods import event_features

    train = sim_sets[0]
    kw = dict(seed=4, n_bins=3, epochs=1, valid_fraction=0.2, weight_scale=0.1)
    with_mc = train_inferno(train, event_features(train), mc_events=len(train), **kw)
    without = train_inferno(train, event_features(train), **kw)
    a, b = with_mc.history[0]["sigma_mu_valid"], without.history[0]["sigma_mu_valid"]
    assert np.isfinite(a) and a > b

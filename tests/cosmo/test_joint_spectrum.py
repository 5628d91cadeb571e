"""Tests of the joint SN + CMB power-spectrum fit (rediscovery.cosmo.joint_spectrum).

The data are noise-free ("Asimov"): band powers of the curved emulator at a hidden universe with
Knox errors, and a Hubble table at the exact distance moduli. The likelihood's maximum is then
the truth, and for a likelihood close to Gaussian the profile-likelihood interval of a
parameter is ± the square root of the diagonal of the inverse Fisher matrix (the closed form the
profile intervals are checked against; the Fisher matrix by finite differences).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.cmb.curved import load_curved_emulator
from rediscovery.cosmo.cmb.io import BinnedSpectrum
from rediscovery.cosmo.cosmology import omega_radiation
from rediscovery.cosmo.joint_spectrum import (
    JOINT_PROFILED,
    SpectrumSNLikelihood,
    fit_joint_spectrum,
    profile_joint,
)
from rediscovery.cosmo.sn.io import HubbleTable

TRUTH = {"h": 0.70, "Om": 0.30, "OL": 0.75}  # closed: Ωk ≈ -0.05
FIXED = {"ns": 0.965, "ln10As": 3.05, "tau": 0.06}


def _asimov() -> tuple[HubbleTable, BinnedSpectrum]:
    from rediscovery.cosmo.cosmology import distance_modulus

    emu = load_curved_emulator()
    dl = emu(TRUTH | FIXED)
    edges = np.arange(2, 258, 20)
    lo, hi = edges[:-1], edges[1:] - 1
    band = np.array(
        [dl[(emu.ell >= a) & (emu.ell <= b)].mean() for a, b in zip(lo, hi, strict=True)]
    )
    # Knox with f_sky 0.1 and a white noise of 5 μK² in D_ℓ at every ℓ (about the run's maps)
    nmodes = 0.1 * np.array(
        [np.sum(2 * np.arange(a, b + 1) + 1) for a, b in zip(lo, hi, strict=True)]
    )
    err = (band + 5.0) * np.sqrt(2.0 / nmodes)
    spec = BinnedSpectrum(lo, hi, 0.5 * (lo + hi), band, err, err, kind="TT")
    z = np.linspace(0.02, 1.2, 150)
    mu = distance_modulus(z, 100 * TRUTH["h"], TRUTH["Om"], TRUTH["OL"])
    df = pd.DataFrame(
        {"sn_id": np.arange(z.size).astype(str), "z": z, "mu": mu, "mu_err": np.full(z.size, 0.15)}
    )
    return HubbleTable.from_frame(df, source="asimov"), spec


@pytest.fixture(scope="module")
def asimov_fit():
    table, spec = _asimov()
    # 2,500 steps (τ ≈ 37: ~2,000 independent samples) are enough for the widths compared here
    fit = fit_joint_spectrum(table, spec, fixed=FIXED, seed=3, n_steps=2500, progress=False)
    return fit, profile_joint(fit)


def _fisher_errors(lk: SpectrumSNLikelihood) -> dict[str, float]:
    """σ of H0, Om, OL, Ok from the inverse Hessian of −2 ln L at the truth (central
    differences); Ωk's by linear propagation through Ωk = 1 − Ωm − ΩΛ − Ω_r/h²."""
    x0 = np.array([TRUTH["h"], TRUTH["Om"], TRUTH["OL"]])
    eps = np.array([2e-3, 2e-3, 4e-3])

    def f(x):
        return -2.0 * lk.log_like(x)

    hess = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            ei, ej = np.eye(3)[i] * eps[i], np.eye(3)[j] * eps[j]
            hess[i, j] = (f(x0 + ei + ej) - f(x0 + ei - ej) - f(x0 - ei + ej) + f(x0 - ei - ej)) / (
                4 * eps[i] * eps[j]
            )
    cov = np.linalg.inv(0.5 * hess)
    grad_ok = np.array([2 * omega_radiation(100.0) / x0[0] ** 3, -1.0, -1.0])
    return {
        "H0": 100 * np.sqrt(cov[0, 0]),
        "Om": np.sqrt(cov[1, 1]),
        "OL": np.sqrt(cov[2, 2]),
        "Ok": float(np.sqrt(grad_ok @ cov @ grad_ok)),
    }


def test_profile_intervals_of_an_asimov_universe_match_the_fisher_errors(asimov_fit):
    fit, prof = asimov_fit
    truth = {
        "H0": 100 * TRUTH["h"],
        "Om": TRUTH["Om"],
        "OL": TRUTH["OL"],
        "Ok": 1 - TRUTH["Om"] - TRUTH["OL"] - omega_radiation(100.0) / TRUTH["h"] ** 2,
    }
    sig = _fisher_errors(fit.likelihood)
    assert set(prof) == set(JOINT_PROFILED)
    for k in JOINT_PROFILED:
        p = prof[k]
        assert not (p.lo_at_edge or p.hi_at_edge), k
        # noise-free data: the interval is centred on the truth (to 0.15 σ: the emulator
        # binned top-hat is the data, so only the likelihood's skewness moves the centre)
        centre, half = 0.5 * (p.lo + p.hi), 0.5 * (p.hi - p.lo)
        assert abs(centre - truth[k]) < 0.15 * sig[k], (k, centre, truth[k], sig[k])
        # a near-Gaussian likelihood: the half width is the Fisher σ (measured: within 0.5 %)
        assert half == pytest.approx(sig[k], rel=0.03), (k, half, sig[k])
        # by construction the profile rises by 1 at the interval's ends
        d = np.interp([p.lo, p.hi], p.t, p.delta)
        np.testing.assert_allclose(d, 1.0, atol=0.15)


def test_profile_and_credible_intervals_agree_where_the_posterior_is_gaussian(asimov_fit):
    fit, prof = asimov_fit
    s = fit.result.summary()
    d = fit.derived_density()
    cred = {
        "H0": np.percentile(d["H0"], [15.87, 84.13]),
        "Om": (s["Om"]["lo68"], s["Om"]["hi68"]),
        "OL": (s["OL"]["lo68"], s["OL"]["hi68"]),
        "Ok": np.percentile(d["Ok"], [15.87, 84.13]),
    }
    for k in JOINT_PROFILED:
        w_prof = prof[k].hi - prof[k].lo
        w_cred = cred[k][1] - cred[k][0]
        # ~2,000 independent samples: the credible width is known to ~3 %
        assert w_prof == pytest.approx(w_cred, rel=0.10), (k, w_prof, w_cred)


def test_profile_joint_needs_h_om_ol(asimov_fit):
    fit, _ = asimov_fit
    import dataclasses

    lk = fit.likelihood
    other = SpectrumSNLikelihood(
        lk.sn.table, lk.spectrum, lk.theory, free=("Om", "OL"), fixed=lk.fixed | {"h": 0.7}
    )
    with pytest.raises(ConfigError, match="h, Om, OL"):
        profile_joint(dataclasses.replace(fit, likelihood=other))

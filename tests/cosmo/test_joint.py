"""Joint SN + CMB distance-prior fit: CAMB validation, likelihood, closure and real data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rediscovery.cli import main
from rediscovery.constants import C_KM_S
from rediscovery.core.errors import ConfigError, InputError
from rediscovery.cosmo.cosmology import omega_radiation
from rediscovery.cosmo.joint import (
    PLANCK2018_DISTANCE_PRIORS,
    CMBDistancePriorLikelihood,
    JointLikelihood,
    cmb_distances,
    distance_priors,
    fit_joint,
    joint_params,
    sound_horizon,
    z_star,
)
from rediscovery.cosmo.sn.hubble import fit_hubble
from rediscovery.cosmo.sn.io import HubbleTable, read_hubble_table
from rediscovery.cosmo.sn.simulate import Truth, simulate_hubble_table

# (H0, ombh2, omch2, omk): Planck 2018 TT,TE,EE+lowE+lensing best fit (Planck 2018 VI, Table 2,
# with massless neutrinos here), an open and a closed variant, and a different h/ω_b/ω_c.
CAMB_POINTS = [(67.36, 0.02237, 0.1200, 0.0), (67.36, 0.02237, 0.1200, 0.05),
               (67.36, 0.02237, 0.1200, -0.05), (73.0, 0.0210, 0.1100, 0.02)]


@pytest.fixture(scope="module")
def camb_results():
    import camb

    out = []
    for h0, ob, oc, ok in CAMB_POINTS:
        pars = camb.set_params(H0=h0, ombh2=ob, omch2=oc, omk=ok, mnu=0.0,
                               num_massive_neutrinos=0, nnu=3.046, TCMB=2.7255)
        res = camb.get_background(pars)
        out.append((h0, ob, (ob + oc) / (h0 / 100) ** 2, res.omega_de,
                    res.get_derived_params()))
    return out


def test_against_camb(camb_results):
    """z* (Hu & Sugiyama 1996 fit) within 0.2 %, r_s(z*) and ℓ_A = π/θ* within 0.3 % of CAMB."""
    for h0, ob, om, ol, d in camb_results:
        m = cmb_distances(h0, om, ol, ob)
        assert float(m["z_star"]) == pytest.approx(d["zstar"], rel=2e-3)
        assert float(m["r_s"]) == pytest.approx(d["rstar"], rel=3e-3)
        # same integral at CAMB's own z*: the remaining difference is the physics (~1e-3)
        assert float(sound_horizon(d["zstar"], h0, om, ob, ol)) == pytest.approx(d["rstar"],
                                                                                rel=2e-3)
        la = float(np.pi * m["D_M"] / m["r_s"])
        assert la == pytest.approx(np.pi / (d["thetastar"] / 100), rel=3e-3)


def test_sound_horizon_and_distance_vs_quad():
    """The vectorised Gauss-Legendre quadratures agree with scipy.quad to 1e-6."""
    from scipy.integrate import quad

    h0, om, ol, ob = 70.0, 0.3, 0.72, 0.0222
    orad = omega_radiation(h0)
    ok = 1 - om - ol - orad
    og = omega_radiation(100.0, 2.7255, 0.0)

    def e(z):
        return np.sqrt(orad * (1 + z) ** 4 + om * (1 + z) ** 3 + ok * (1 + z) ** 2 + ol)

    zs = float(z_star(ob, om * 0.49))
    rs = quad(lambda z: 1 / np.sqrt(3 * (1 + 0.75 * ob / og / (1 + z))) / e(z), zs, np.inf,
              epsrel=1e-11, limit=400)[0] * C_KM_S / h0
    dc = quad(lambda z: 1 / e(z), 0, zs, epsrel=1e-11, limit=400)[0]
    dm = np.sin(np.sqrt(-ok) * dc) / np.sqrt(-ok) * C_KM_S / h0
    m = cmb_distances(h0, om, ol, ob)
    assert float(m["r_s"]) == pytest.approx(rs, rel=1e-6)
    assert float(m["D_M"]) == pytest.approx(dm, rel=1e-6)


def test_distance_priors_vectorised_and_errors():
    rng = np.random.default_rng(3)
    p = rng.uniform([60, 0.2, 0.5, 0.020], [80, 0.4, 0.9, 0.024], (7, 4))
    many = distance_priors(p[:, 0], p[:, 1], p[:, 2], p[:, 3])
    assert many.shape == (7, 3)
    one = distance_priors(*p[4])
    np.testing.assert_allclose(many[4], one, rtol=1e-12)
    with pytest.raises(InputError, match="H0"):
        distance_priors(-1.0, 0.3, 0.7, 0.022)
    # no Big Bang (Ω_Λ too large): NaN, and an infinite χ²
    assert np.isnan(distance_priors(70, 0.05, 2.0, 0.022)[0])
    assert np.isinf(CMBDistancePriorLikelihood.planck2018().chi2(70, 0.05, 2.0, 0.022))


def test_planck_likelihood_definition():
    """χ² = 0 at the published mean; covariance symmetric positive definite; its inverse matches
    the inverse covariance of Chen, Huang & Wang's CosmoMC module: σ within 1 %, correlations
    within 0.005 (the 2-digit rounding of the published table)."""
    cmb = CMBDistancePriorLikelihood.planck2018()
    assert cmb.chi2_vector(cmb.mean) == 0.0
    np.testing.assert_array_equal(cmb.cov, cmb.cov.T)
    assert np.all(np.linalg.eigvalsh(cmb.cov) > 0)
    np.testing.assert_allclose(cmb.sigma, PLANCK2018_DISTANCE_PRIORS["sigma"])
    icov_published = np.array([[94392.3971, -1360.4913, 1664517.2916],
                               [-1360.4913, 161.4349, 3671.6180],
                               [1664517.2916, 3671.6180, 79719182.5162]])
    cov_pub = np.linalg.inv(icov_published)
    sd_pub = np.sqrt(np.diag(cov_pub))
    np.testing.assert_allclose(cmb.sigma, sd_pub, rtol=0.01)
    np.testing.assert_allclose(cmb.cov / np.outer(cmb.sigma, cmb.sigma),
                               cov_pub / np.outer(sd_pub, sd_pub), atol=0.005)
    one_sigma = cmb.mean + np.array([cmb.sigma[0], 0, 0])
    assert cmb.chi2_vector(one_sigma) >= 1.0  # 1/(1 - multiple correlation²)
    with pytest.raises(InputError, match="positive definite"):
        CMBDistancePriorLikelihood(np.zeros(3), np.diag([1.0, -1.0, 1.0]))
    with pytest.raises(ConfigError, match="unknown CMB data"):
        CMBDistancePriorLikelihood.from_name("wmap9")


def test_simulate_draws_from_the_covariance():
    """Mock data vectors scatter around the truth with the published covariance: the mean χ² of
    400 draws is 3 (χ²₃) within 4 standard errors (σ = √(6/400) ≈ 0.12), and seeds reproduce."""
    cmb = CMBDistancePriorLikelihood.planck2018()
    truth = {"H0": 68.0, "Om": 0.31, "OL": 0.69, "ombh2": 0.0224}
    x = distance_priors(truth["H0"], truth["Om"], truth["OL"], truth["ombh2"])
    chi2 = np.array([cmb.simulate(truth, seed=s).chi2_vector(x) for s in range(400)])
    assert chi2.mean() == pytest.approx(3.0, abs=4 * np.sqrt(6 / 400))
    np.testing.assert_array_equal(cmb.simulate(truth, seed=5).mean, cmb.simulate(truth, 5).mean)
    with pytest.raises(InputError, match="ombh2"):
        cmb.simulate({"H0": 68.0, "Om": 0.31, "OL": 0.69}, seed=1)


def test_planck_best_fit_near_published_priors():
    """At the Planck 2018 best fit (Planck 2018 VI, Table 2, TT,TE,EE+lowE+lensing) R matches the
    published prior within 1σ; ℓ_A is 0.3 % (≈9σ_ℓA) high. Known convention difference: the
    priors were computed with CosmoMC's approximate sound speed (R_b = 3e4 ω_b a) and a massive
    0.06 eV neutrino; here R_b = 3ω_b a/(4ω_γ) and 3.046 massless neutrinos (docs/cosmo-joint.md).
    """
    x = distance_priors(67.36, 0.3153, 0.6847, 0.02237)
    cmb = CMBDistancePriorLikelihood.planck2018()
    assert abs(x[0] - cmb.mean[0]) < cmb.sigma[0]
    assert x[1] == pytest.approx(cmb.mean[1], rel=3.5e-3)


def test_joint_params_and_errors():
    p = joint_params("lcdm", np.array([[0.1430, 0.3153, 0.0, 0.02237]]))
    assert p["H0"][0] == pytest.approx(67.35, abs=0.01)
    assert p["OL"][0] == pytest.approx(1 - 0.3153, abs=2e-4)  # minus Ω_r ≈ 9e-5
    with pytest.raises(ConfigError, match="unknown joint model"):
        joint_params("ocdm", np.zeros((1, 4)))
    with pytest.raises(ConfigError):
        JointLikelihood(None, None)


def _table(df: pd.DataFrame) -> HubbleTable:
    return HubbleTable(df["z"].to_numpy(), df["mu"].to_numpy(), np.diag(df["mu_err"] ** 2),
                       df["sn_id"].to_numpy(), source="simulated")


def test_closure_curved_truth():
    """Simulated SNe + simulated distance priors at a closed truth (Ω_k = −0.04): the joint fit
    recovers Ω_m and Ω_Λ within 3σ, and its Ω_Λ error is ≥ 3x smaller than SN-only's."""
    truth = {"H0": 69.0, "Om": 0.33, "OL": 0.71, "ombh2": 0.0224}
    df = simulate_hubble_table(300, Truth(H0=69.0, Om=0.33, OL=0.71), seed=11, mu_err=0.15)
    tab = _table(df)
    cmb = CMBDistancePriorLikelihood.planck2018().simulate(truth, seed=12)
    res = fit_joint(tab, cmb, seed=1, n_walkers=24, n_steps=1200, progress=False)
    p = joint_params("lcdm", res.samples)
    sn = fit_hubble(tab, "lcdm", seed=2, n_walkers=16, n_steps=1200, progress=False)
    sn_ol = sn.mcmc.get("OL")
    for k in ("Om", "OL"):
        pull = (p[k].mean() - truth[k]) / p[k].std()
        assert abs(pull) < 3, (k, p[k].mean(), p[k].std())
    assert p["Ok"].mean() == pytest.approx(-0.04, abs=3 * p["Ok"].std())
    assert sn_ol.std() > 3 * p["OL"].std()


def test_real_data_union21_planck(reference_data):
    """Union2.1 (Suzuki et al. 2012) + Planck 2018 distance priors, curved ΛCDM.

    Reference: Planck 2018 VI (arXiv:1807.06209) finds Ω_k = 0.0007 ± 0.0019 and
    Ω_Λ = 0.6889 ± 0.0056 (TT,TE,EE+lowE+lensing+BAO). SNe constrain curvature less than BAO
    do, so we require Ω_k within 0.02 of 0 and of that value within 3σ of our own error, and
    Ω_Λ in [0.68, 0.74] with an error < 0.025 (a short chain; the full run is in the docs).
    """
    tab = read_hubble_table(reference_data / "union2.1" / "SCPUnion2.1_mu_vs_z.txt", "union2.1")
    res = fit_joint(tab, "planck2018-distance-priors", seed=0, n_walkers=24, n_steps=1500,
                    progress=False)
    p = joint_params("lcdm", res.samples)
    ok, ol = p["Ok"], p["OL"]
    assert abs(ok.mean()) < 0.02
    assert abs(ok.mean() - 0.0007) < 3 * np.hypot(ok.std(), 0.0019)
    assert 0.68 < ol.mean() < 0.74 and ol.std() < 0.025


def test_cli_joint_fit(tmp_path, capsys, check_png):
    df = simulate_hubble_table(60, Truth(H0=70.0, Om=0.3, OL=0.7), seed=4, mu_err=0.15)
    csv = tmp_path / "hub.csv"
    df.to_csv(csv, index=False)
    out = tmp_path / "o"
    assert main(["cosmo", "joint-fit", str(csv), "--out", str(out), "--n-steps", "120",
                 "--n-walkers", "16", "--no-progress", "--allow-unconverged"]) == 0
    assert "Ok =" in capsys.readouterr().out
    post = json.loads((out / "joint_posterior.json").read_text())
    for k in ("ommh2", "Om", "Ok", "ombh2"):
        assert {"mean", "std", "median", "lo68", "hi68"} <= set(post[k])
    assert {"H0", "OL"} <= set(post["derived"])
    assert {"n_samples", "rhat", "autocorr_tau"} <= set(post)
    assert pd.read_parquet(out / post["chain"]).shape[0] == post["n_samples"]
    check_png(out / "om_ol_joint.png")
    assert main(["cosmo", "joint-fit", str(csv), "--out", str(out), "--cmb", "wmap"]) == 2
    assert "--cmb 'wmap' unknown" in capsys.readouterr().err

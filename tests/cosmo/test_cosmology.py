"""Distances against astropy.cosmology (the independent reference), for open, flat, closed."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import cosmology as ac

from rediscovery.constants import C_KM_S
from rediscovery.core.errors import InputError
from rediscovery.cosmo.cosmology import (
    DistanceGrid,
    comoving_distance,
    distance_modulus,
    luminosity_distance,
    omega_radiation,
)

Z = np.concatenate([np.geomspace(1e-3, 0.1, 50), np.linspace(0.1, 2.0, 400)])

MODELS = [
    ("flat", 0.3, 0.7, -1.0),
    ("open", 0.3, 0.3, -1.0),
    ("closed", 0.4, 0.9, -1.0),
    ("empty", 0.0, 0.0, -1.0),
    ("flat-w", 0.3, 0.7, -0.8),
    ("open-w", 0.25, 0.5, -1.2),
    ("closed-w", 0.5, 0.8, -0.9),
]


def _astropy(om, ol, w, h0=70.0, **kw):
    if w == -1.0:
        return ac.LambdaCDM(H0=h0, Om0=om, Ode0=ol, Tcmb0=kw.get("Tcmb0", 0.0),
                            m_nu=kw.get("m_nu", 0.0))
    return ac.wCDM(H0=h0, Om0=om, Ode0=ol, w0=w, Tcmb0=0.0)


@pytest.mark.parametrize(("name", "om", "ol", "w"), MODELS)
def test_luminosity_distance_matches_astropy(name, om, ol, w):
    ref = _astropy(om, ol, w).luminosity_distance(Z).to_value("Mpc")
    got = luminosity_distance(Z, 70.0, om, ol, w)
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    ref_dc = _astropy(om, ol, w).comoving_distance(Z).to_value("Mpc")
    np.testing.assert_allclose(comoving_distance(Z, 70.0, om, ol, w), ref_dc, rtol=1e-6)
    ref_mu = _astropy(om, ol, w).distmod(Z).value
    np.testing.assert_allclose(distance_modulus(Z, 70.0, om, ol, w), ref_mu, atol=5e-6)


def test_radiation_option_matches_astropy_with_cmb():
    # astropy with Tcmb0 and massless neutrinos: Ω_r = Ω_γ (1 + 0.2271 N_eff), constant ratio
    ref_c = _astropy(0.3, 0.6, -1.0, h0=67.0, Tcmb0=2.7255)
    orad = omega_radiation(67.0, 2.7255, 3.046)
    np.testing.assert_allclose(orad, ref_c.Ogamma0 + ref_c.Onu0, rtol=1e-3)
    got = luminosity_distance(Z, 67.0, 0.3, 0.6, omega_r=ref_c.Ogamma0 + ref_c.Onu0)
    np.testing.assert_allclose(got, ref_c.luminosity_distance(Z).to_value("Mpc"), rtol=1e-6)


def test_broadcast_over_parameters_and_shape():
    om = np.array([0.2, 0.3, 0.4])
    ol = np.array([0.8, 0.5, 0.9])
    got = luminosity_distance(Z[:10], 70.0, om[:, None], ol[:, None])
    assert got.shape == (3, 1, 10)
    for i in range(3):
        # one scalar model takes the single-ΛCDM path: agreement to its 1e-6 accuracy
        np.testing.assert_allclose(got[i, 0], luminosity_distance(Z[:10], 70.0, om[i], ol[i]),
                                   rtol=1e-6)
    g = DistanceGrid(Z.reshape(10, 45))
    assert g.hubble_free_dl(0.3, 0.7).shape == (10, 45)
    assert g.hubble_free_dl(om, ol).shape == (3, 10, 45)


def test_unphysical_models_are_nan():
    # Ω_Λ large, Ω_m small: no Big Bang (a bounce) -> E² < 0 -> NaN, not a wrong number
    assert np.all(np.isnan(luminosity_distance(np.array([1.5, 2.0]), 70.0, 0.1, 2.5)))


def test_bad_redshifts():
    with pytest.raises(InputError, match="> 0"):
        DistanceGrid(np.array([0.1, 0.0, 0.5]))
    with pytest.raises(InputError, match="> 0"):
        DistanceGrid(np.array([0.1, np.nan]))


def test_ensemble_of_random_models_matches_astropy():
    """One vectorised call for 24 models (open, closed and 4 exactly flat, as an MCMC ensemble
    evaluates them) against astropy model by model, to 1e-6 relative over 0 < z < 2."""
    rng = np.random.default_rng(6)
    om = rng.uniform(0.05, 0.6, 24)
    ol = rng.uniform(0.0, 1.0, 24)
    ol[:4] = 1.0 - om[:4]
    g = DistanceGrid(Z)
    got = g.hubble_free_dl(om, ol) * (C_KM_S / 70.0)
    for i in range(om.size):
        ref = _astropy(om[i], ol[i], -1.0).luminosity_distance(Z).to_value("Mpc")
        np.testing.assert_allclose(got[i], ref, rtol=1e-6, err_msg=f"Om={om[i]}, OL={ol[i]}")
    np.testing.assert_allclose(g.comoving_dimensionless(om, ol)[5],
                               g.comoving_dimensionless(om[5], ol[5]), rtol=1e-14)


# One ΛCDM model at z <= 2.5 takes the single-model path (cumulative Simpson + interpolation
# of D_L/z); its accuracy domain is checked here against astropy's numerical integration
# (wCDM with w0 = -1 integrates 1/E with scipy quad, independent of both paths) and against
# the general path over the whole prior box of the SN fits (Ωm in [0, 1.5], ΩΛ in [-1, 2.5]).
Z_FAST = np.concatenate([np.geomspace(1e-4, 0.01, 30), np.linspace(0.01, 2.5, 300)])


@pytest.mark.parametrize(("om", "ol"), [(0.3, 0.7), (0.3, 0.3), (0.4, 0.9), (0.0, 0.0),
                                        (1.0, 0.0), (1.5, -1.0), (0.0, -1.0), (1.5, 0.0),
                                        (0.05, 1.1), (0.1, 1.2), (1.5, 2.5), (0.5, 1.6)])
def test_single_lcdm_matches_astropy_quad(om, ol):
    ref_model = ac.wCDM(H0=70.0, Om0=om, Ode0=ol, w0=-1.0, Tcmb0=0.0)
    with np.errstate(invalid="ignore"):
        ref = ref_model.luminosity_distance(Z_FAST).to_value("Mpc")
    got = luminosity_distance(Z_FAST, 70.0, om, ol)
    if not np.all(np.isfinite(ref)):  # no Big Bang or beyond the antipode: NaN, as before
        assert not np.all(np.isfinite(got))
        return
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    np.testing.assert_allclose(distance_modulus(Z_FAST, 70.0, om, ol),
                               ref_model.distmod(Z_FAST).value, atol=5e-6)


def test_single_lcdm_over_the_prior_box_matches_the_general_path():
    g = DistanceGrid(Z_FAST)
    for om in np.linspace(0.0, 1.5, 13):
        for ol in np.linspace(-1.0, 2.5, 15):
            with np.errstate(invalid="ignore"):
                general = g.transverse_dimensionless(np.array([om]), np.array([ol]))[0]
            general = general * (1 + Z_FAST) * (C_KM_S / 70.0)
            single = luminosity_distance(Z_FAST, 70.0, float(om), float(ol))
            if np.all(np.isfinite(general)) and general.min() > 0:
                np.testing.assert_allclose(single, general, rtol=1e-6,
                                           err_msg=f"Om={om}, OL={ol}")
            else:
                assert not np.all(single > 0), f"Om={om}, OL={ol}"


def test_single_lcdm_any_shape_and_order():
    z = np.random.default_rng(3).uniform(0.001, 2.4, (7, 11))
    got = luminosity_distance(z, 70.0, 0.3, 0.7)
    assert got.shape == (7, 11)
    ref = ac.FlatLambdaCDM(H0=70.0, Om0=0.3, Tcmb0=0.0).luminosity_distance(z).to_value("Mpc")
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    with pytest.raises(InputError, match="> 0"):
        luminosity_distance(np.array([0.5, -0.1]), 70.0, 0.3, 0.7)

"""The compiled ΛCDM distance kernel against astropy (independent: closed forms) and the
general numpy path, over the SN fits' prior box, and its domain and bad-input handling."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy import cosmology as ac
from scipy.integrate import IntegrationWarning, quad

from rediscovery.constants import C_KM_S
from rediscovery.core.errors import InputError
from rediscovery.cosmo import distance_kernel as dk
from rediscovery.cosmo.cosmology import DistanceGrid, luminosity_distance

# low z (relative accuracy of the Taylor start) and the SN range up to the kernel's z_max
Z = np.concatenate([np.geomspace(1e-5, 0.01, 40), np.linspace(0.01, dk.Z_MAX, 400)[1:]])
BOX = [(om, ol) for om in np.linspace(0.0, 1.5, 7) for ol in np.linspace(-1.0, 2.5, 8)]
#: |Ω_k| below which the kernel takes the flat branch (the value cosmology passes)
FLAT_TOL = 1e-8


def _kernel(z, om, ol, out):
    return dk.lcdm_hubble_free_dl(z, om, ol, out, flat_tol=FLAT_TOL)


def _kernel_many(z, om, ol, out, inside):
    return dk.lcdm_hubble_free_dl_many(z, om, ol, out, inside, flat_tol=FLAT_TOL)


def _astropy_dl(om: float, ol: float, z: np.ndarray) -> np.ndarray:
    """D_L H0/c by astropy's LambdaCDM (closed forms: Carlson's elliptic integral for curved
    models, a hypergeometric function for flat ones); for Ω_Λ < 0, where those closed forms do
    not hold, its wCDM with w0 = −1 (scipy quad per redshift)."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)  # quad's notes near a bounce
        if ol >= 0:
            model = ac.LambdaCDM(H0=C_KM_S, Om0=om, Ode0=ol, Tcmb0=0.0)
        else:
            model = ac.wCDM(H0=C_KM_S, Om0=om, Ode0=ol, w0=-1.0, Tcmb0=0.0)
        return model.luminosity_distance(z).to_value("Mpc")


def test_single_model_matches_astropy_over_the_prior_box():
    n_inside = 0
    for om, ol in BOX:
        out = np.empty(Z.size)
        status = _kernel(Z, om, ol, out)
        if status == dk.OUTSIDE:
            continue
        assert status == dk.OK
        n_inside += 1
        # 1e-7: ten times tighter than the 1e-6 the SN fits need; a 1 % error in one knot's
        # derivative or a shifted knot index fails it
        np.testing.assert_allclose(out, _astropy_dl(om, ol, Z), rtol=1e-7,
                                   err_msg=f"Om={om}, OL={ol}")
    assert n_inside >= 30  # most of the box is inside the domain


def _quad_dl(z: np.ndarray, om: float, ol: float) -> np.ndarray:
    """D_L H0/c by a tight scipy quad of 1/E per redshift (independent of both paths)."""
    ok = 1.0 - om - ol

    def inv_e(x):
        return 1.0 / np.sqrt(om * (1 + x) ** 3 + ok * (1 + x) ** 2 + ol)

    dc = np.array([quad(inv_e, 0.0, v, epsabs=1e-14, epsrel=1e-13, limit=500)[0] for v in z])
    sq = np.sqrt(abs(ok))
    dm = np.sin(sq * dc) / sq if ok < 0 else np.sinh(sq * dc) / sq if ok > 0 else dc
    return (1.0 + z) * dm


@pytest.mark.parametrize(("om", "ol", "zmax"), [
    (0.0949, 1.5448, 0.8), (0.1086, 1.5576, 0.8), (0.2, 1.65, 0.8), (0.375, 1.8, 0.8),
    (0.05, 1.4, 0.8), (0.0, 1.075, 2.5), (0.0019, 1.0905, 2.5)])
def test_near_a_bounce_the_intervals_are_refined(om, ol, zmax):
    """Models whose E² dips to 0.02-0.3 before z_max (1/E peaks there; closed models with a
    large Ω_Λ): 2e-7 against a tight quad. Without the refinement the error reaches 1e-4 at
    E²_min ≈ 0.026 (the first model)."""
    z = np.linspace(0.02, zmax, 25)
    x = 1.0 + np.linspace(0.0, zmax, 4001)
    assert 0.02 <= np.min((om * x + 1.0 - om - ol) * x * x + ol) < 0.3
    out = np.empty(z.size)
    assert _kernel(z, om, ol, out) == dk.OK
    np.testing.assert_allclose(out, _quad_dl(z, om, ol), rtol=2e-7)


def test_domain_edges():
    out = np.empty(Z.size)
    # E² = 0.01 at z = 0 region: no Big Bang nearby (bounce), outside
    assert _kernel(Z, 0.0, 2.5, out) == dk.OUTSIDE
    # z beyond the kernel's range
    assert _kernel(np.array([0.5, dk.Z_MAX * 1.01]), 0.3, 0.7,
                                  np.empty(2)) == dk.OUTSIDE
    # a strongly closed model whose sine argument passes π/2 before z_max
    assert _kernel(Z, 1.5, 2.5, out) == dk.OUTSIDE
    for bad in (0.0, -0.1, np.nan, np.inf):
        assert _kernel(np.array([0.5, bad]), 0.3, 0.7, np.empty(2)) == dk.BAD_Z


def test_ensemble_equals_single_models_and_fills_the_rest_by_the_general_path():
    om = np.array([om for om, _ in BOX])
    ol = np.array([ol for _, ol in BOX])
    g = DistanceGrid(Z)
    got = g.hubble_free_dl(om, ol)  # kernel rows + general-path rows
    assert got.shape == (len(BOX), Z.size)
    out = np.empty((om.size, Z.size))
    inside = np.empty(om.size, dtype=bool)
    assert _kernel_many(Z, om, ol, out, inside) == dk.OK
    assert 0 < inside.sum() < om.size  # both kinds of rows are exercised
    for r, (o, lam) in enumerate(BOX):
        if inside[r]:
            single = np.empty(Z.size)
            _kernel(Z, o, lam, single)
            np.testing.assert_array_equal(got[r], single)
        # the general path near a bounce is tested against quad in test_cosmology.py
        if inside[r] or _kernel(Z[:1], o, lam, np.empty(1)) == dk.OUTSIDE:
            general = g.transverse_dimensionless(np.array([o]), np.array([lam]))[0] * (1 + Z)
            ok = np.isfinite(general) & (general > 0)
            np.testing.assert_allclose(got[r][ok], general[ok], rtol=1e-6)
            assert np.all(np.isnan(got[r][~ok]))
        if inside[r]:
            np.testing.assert_allclose(got[r], _astropy_dl(o, lam, Z), rtol=1e-7,
                                       err_msg=f"Om={o}, OL={lam}")


def test_w_given_as_an_array_of_minus_one_takes_the_kernel():
    """The fits pass w as one −1 per walker (``model_params``); that is ΛCDM too, and must
    give the kernel's distances (and shapes) exactly, not the general path's."""
    om = np.array([o for o, _ in BOX])
    ol = np.array([lam for _, lam in BOX])
    g = DistanceGrid(Z)
    scalar_w = g.hubble_free_dl(om, ol)
    np.testing.assert_array_equal(g.hubble_free_dl(om, ol, np.full_like(om, -1.0)), scalar_w)
    one = g.hubble_free_dl(om[:1], ol[:1], np.array([-1.0]))  # the profile's (1,) vectors
    np.testing.assert_array_equal(one, scalar_w[:1])
    # a w of larger shape broadcasts as before
    assert g.hubble_free_dl(0.3, 0.7, np.full(4, -1.0)).shape == (4, Z.size)
    # any other w still goes the general way, and agrees with ΛCDM's limit
    near = g.hubble_free_dl(om[:3], ol[:3], np.full(3, -1.0 + 1e-9))
    np.testing.assert_allclose(near, scalar_w[:3], rtol=1e-6)


def test_public_functions_reject_bad_redshifts_by_index():
    with pytest.raises(InputError, match=r"index \[1\]"):
        luminosity_distance(np.array([0.1, np.nan, 0.3]), 70.0, 0.3, 0.7)
    with pytest.raises(InputError, match="no redshifts"):
        luminosity_distance(np.array([]), 70.0, 0.3, 0.7)


def test_any_shape_strided_and_unsorted_redshifts():
    rng = np.random.default_rng(5)
    z = rng.uniform(0.001, 2.4, (6, 20))[:, ::2]  # not contiguous, unsorted
    got = luminosity_distance(z, 70.0, 0.3, 0.6)
    assert got.shape == z.shape
    ref = ac.LambdaCDM(H0=70.0, Om0=0.3, Ode0=0.6, Tcmb0=0.0).luminosity_distance(z)
    np.testing.assert_allclose(got, ref.to_value("Mpc"), rtol=1e-7)

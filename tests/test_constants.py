"""Tests of rediscovery.constants against independent references, and that the modules that use
a constant share its one definition."""

from __future__ import annotations

import pytest

from rediscovery import constants


def test_against_astropy_planck18():
    """astropy.cosmology.Planck18 (Planck 2018 VI, Table 2) uses the same T_CMB and N_eff, and
    astropy.constants the exact c."""
    astropy_cosmology = pytest.importorskip("astropy.cosmology")
    astropy_constants = pytest.importorskip("astropy.constants")
    p18 = astropy_cosmology.Planck18
    assert constants.T_CMB == p18.Tcmb0.value
    assert constants.N_EFF == p18.Neff
    assert constants.C_KM_S == astropy_constants.c.to("km/s").value


def test_photon_density_from_t_cmb():
    """Ω_γ h² = 2.4730e-5 for T_CMB = 2.7255 K (astropy's Planck18: Ogamma0 h²), computed by
    omega_radiation from the Stefan-Boltzmann law, not typed."""
    from rediscovery.cosmo.cosmology import omega_radiation

    assert omega_radiation(100.0, n_eff=0.0) == pytest.approx(2.47298e-5, rel=1e-5)


def test_tau_mass_agrees_with_pdg_2024():
    """PDG 2024: m_τ = 1776.93 ± 0.09 MeV; the stored PDG 2022 value is within its error."""
    assert abs(constants.TAU_MASS - 1.77693) < 2 * 0.00012


def test_tau_hadronic_modes():
    modes = constants.TAU_HADRONIC_MODES
    assert [m.name for m in modes] == ["pi", "rho", "a1"]
    # the three modes are 54.6 % of all τ decays (PDG 2022: 10.82 + 25.49 + 18.3)
    assert sum(m.branching_fraction for m in modes) == pytest.approx(0.5461)
    assert all(0 < m.mass < constants.TAU_MASS for m in modes)


def test_one_definition_shared_by_its_users():
    from rediscovery.cosmo import cosmology, joint
    from rediscovery.cosmo.cmb import io as cmb_io
    from rediscovery.higgs.events import generator, kinematics
    from rediscovery.higgs.features import mmc

    assert kinematics.TAU_MASS is constants.TAU_MASS
    assert generator.TAU_MASS is constants.TAU_MASS
    assert mmc.TAU_MASS is constants.TAU_MASS
    assert kinematics.TAU_HADRONIC_MODES is mmc.TAU_HADRONIC_MODES is constants.TAU_HADRONIC_MODES
    assert joint.T_CMB is cmb_io.T_CMB is cosmology.T_CMB is constants.T_CMB
    assert joint.C_KM_S is cosmology.C_KM_S is constants.C_KM_S

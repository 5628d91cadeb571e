"""Derived (``DER_*``) features of the Higgs events table.

The 13 derived features follow the official HiggsML documentation v1.8 (C. Adam-Bourdarios et
al., "Learning to discover: the Higgs boson machine learning challenge", 2014), appendix A.3
(eqs. 19-23) and appendix B (pages 13-14). Particles are massless (``E = |p|``), momenta in
GeV, angles in radians. Undefined values are NaN (the -999.0 sentinel lives only at the I/O
boundary).

The missing-mass estimator behind ``DER_mass_MMC`` lives in :mod:`rediscovery.higgs.features.mmc`;
:func:`add_derived_features` calls it (``mmc=True``) or leaves the column out. The new
(``NEW_*``) features are in :mod:`rediscovery.higgs.features.new`.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from rediscovery.higgs.schema import PRI_COLUMNS
>>> row = dict.fromkeys(PRI_COLUMNS, np.nan)
>>> row.update(PRI_tau_pt=40.0, PRI_tau_eta=0.0, PRI_tau_phi=0.0, PRI_lep_pt=30.0,
...            PRI_lep_eta=0.0, PRI_lep_phi=np.pi, PRI_met=10.0, PRI_met_phi=0.0,
...            PRI_met_sumet=100.0, PRI_jet_num=0, PRI_jet_all_pt=0.0)
>>> out = add_derived_features(pd.DataFrame([row]), mmc=False)
>>> round(float(out["DER_mass_vis"].iloc[0]), 6)  # back-to-back: m = 2 sqrt(40 * 30)
69.282032
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rediscovery.higgs.features.mmc import mmc_mass
from rediscovery.higgs.features.primaries import column, validate_primaries
from rediscovery.higgs.schema import DER_COLUMNS, PRI_COLUMNS

__all__ = [
    "DER_CLOSED_FORM",
    "add_derived_features",
    "derived_features",
    "missing_mass",
]

Array = NDArray[np.float64]

#: The 12 closed-form derived features (all but ``DER_mass_MMC``), in the official order.
DER_CLOSED_FORM: tuple[str, ...] = tuple(c for c in DER_COLUMNS if c != "DER_mass_MMC")


class _Kin(NamedTuple):
    """Primary quantities as float arrays (GeV, radians)."""

    tau_pt: Array
    tau_eta: Array
    tau_phi: Array
    lep_pt: Array
    lep_eta: Array
    lep_phi: Array
    met: Array
    met_phi: Array
    sumet: Array
    jet_num: Array
    j1_pt: Array
    j1_eta: Array
    j1_phi: Array
    j2_pt: Array
    j2_eta: Array
    j2_phi: Array
    jet_all_pt: Array


def _kin(df: pd.DataFrame) -> _Kin:
    return _Kin(*(column(df, c) for c in PRI_COLUMNS))


# ---------------------------------------------------------------------------------------------
# the 12 closed-form DER_ features (doc v1.8 appendix B)
# ---------------------------------------------------------------------------------------------
#: Events per block of the closed-form computation: the ~40 temporaries of a block stay in cache.
_BLOCK = 32_768


def _der_closed_form(k: _Kin) -> dict[str, Array]:
    """The 12 closed-form DER_ features, computed block by block into preallocated arrays."""
    n = k.tau_pt.shape[0]
    out = {c: np.empty(n) for c in DER_CLOSED_FORM}
    with np.errstate(divide="ignore", invalid="ignore"):
        for start in range(0, n, _BLOCK):
            sl = slice(start, start + _BLOCK)
            block = _der_block(_Kin(*(v[sl] for v in k)))
            for c in DER_CLOSED_FORM:
                out[c][sl] = block[c]
    return out


def _der_block(k: _Kin) -> dict[str, Array]:
    # each azimuth's cos and sin once; differences via cos(a-b) = ca cb + sa sb and
    # sin(a-b) = sa cb - ca sb (about half the transcendental calls of the direct formulas)
    two_jets = k.jet_num >= 2
    one_jet = k.jet_num >= 1
    nan = np.nan
    ct, st = np.cos(k.tau_phi), np.sin(k.tau_phi)
    cl, sl = np.cos(k.lep_phi), np.sin(k.lep_phi)
    cm, sm = np.cos(k.met_phi), np.sin(k.met_phi)
    c1, s1 = np.cos(k.j1_phi), np.sin(k.j1_phi)
    c2, s2 = np.cos(k.j2_phi), np.sin(k.j2_phi)
    out: dict[str, Array] = {}
    # eq. (21): m_T² = 2 pT1 pT2 (1 - cos Δφ); eq. (20): m² = 2 pT1 pT2 (cosh Δη - cos Δφ)
    out["DER_mass_transverse_met_lep"] = np.sqrt(np.maximum(
        2.0 * k.met * k.lep_pt * (1.0 - (cm * cl + sm * sl)), 0.0))
    cos_tl = ct * cl + st * sl
    out["DER_mass_vis"] = np.sqrt(np.maximum(
        2.0 * k.tau_pt * k.lep_pt * (np.cosh(k.tau_eta - k.lep_eta) - cos_tl), 0.0))
    hx = k.tau_pt * ct + k.lep_pt * cl + k.met * cm
    hy = k.tau_pt * st + k.lep_pt * sl + k.met * sm
    out["DER_pt_h"] = np.hypot(hx, hy)

    d_eta_jj = k.j1_eta - k.j2_eta
    out["DER_deltaeta_jet_jet"] = np.where(two_jets, np.abs(d_eta_jj), nan)
    m2_jj = 2.0 * k.j1_pt * k.j2_pt * (np.cosh(d_eta_jj) - (c1 * c2 + s1 * s2))
    out["DER_mass_jet_jet"] = np.where(two_jets, np.sqrt(np.maximum(m2_jj, 0.0)), nan)
    out["DER_prodeta_jet_jet"] = np.where(two_jets, k.j1_eta * k.j2_eta, nan)

    # eq. (23) with Δφ brought back into [-π, π): both azimuths are in (-π, π], so one
    # 2π correction is enough
    dphi = k.tau_phi - k.lep_phi
    dphi = np.where(dphi >= np.pi, dphi - 2 * np.pi, np.where(dphi < -np.pi, dphi + 2 * np.pi,
                                                              dphi))
    out["DER_deltar_tau_lep"] = np.hypot(k.tau_eta - k.lep_eta, dphi)

    # vector sum including the leading jet only if jet_num >= 1 and the subleading if >= 2
    # (the doc says "= 2"; the subleading jet exists for every jet_num >= 2 and the real sample
    # confirms it is included for jet_num = 3); jets beyond the second are never included
    j1x = np.where(one_jet, k.j1_pt * c1, 0.0)
    j1y = np.where(one_jet, k.j1_pt * s1, 0.0)
    j2x = np.where(two_jets, k.j2_pt * c2, 0.0)
    j2y = np.where(two_jets, k.j2_pt * s2, 0.0)
    out["DER_pt_tot"] = np.hypot(hx + j1x + j2x, hy + j1y + j2y)

    # the sum of all jets' pT is PRI_jet_all_pt (0 without jets)
    out["DER_sum_pt"] = k.tau_pt + k.lep_pt + k.jet_all_pt
    out["DER_pt_ratio_lep_tau"] = k.lep_pt / k.tau_pt
    # the sign of sin(φ_τ - φ_ℓ) makes C independent of the orientation of the (ℓ, τ) pair,
    # so that C = √2 on the bisector whichever way round (as in the official values)
    orient = np.where(st * cl - ct * sl < 0.0, -1.0, 1.0)
    a = (sm * cl - cm * sl) * orient  # sin(φ_met - φ_ℓ)
    b = (st * cm - ct * sm) * orient  # sin(φ_τ - φ_met)
    out["DER_met_phi_centrality"] = (a + b) / np.sqrt(a * a + b * b)
    centre = 0.5 * (k.j1_eta + k.j2_eta)
    cent = np.exp(-4.0 / d_eta_jj**2 * (k.lep_eta - centre) ** 2)
    out["DER_lep_eta_centrality"] = np.where(two_jets, cent, nan)
    return out


def derived_features(df: pd.DataFrame, *, mmc: bool = True, **mmc_options: object) -> pd.DataFrame:
    """The 13 ``DER_*`` features of the events in ``df`` as a new frame (same index).

    Parameters
    ----------
    df
        Events table with the 17 ``PRI_*`` columns (GeV, radians, NaN = undefined).
    mmc
        Compute ``DER_mass_MMC`` with :func:`missing_mass` (the slow part, ~10³-10⁴ events/s);
        ``False`` leaves that column out.
    **mmc_options
        Passed to :func:`missing_mass`.

    Returns
    -------
    DataFrame
        Columns in the official order of :data:`~rediscovery.higgs.schema.DER_COLUMNS`.
    """
    validate_primaries(df)
    k = _kin(df)
    cols = _der_closed_form(k)
    if mmc:
        cols = {"DER_mass_MMC": missing_mass(df, validate=False, **mmc_options), **cols}
    return pd.DataFrame(cols, index=df.index)


def add_derived_features(df: pd.DataFrame, *, mmc: bool = True,
                         **mmc_options: object) -> pd.DataFrame:
    """Return a copy of ``df`` with the 13 official ``DER_*`` columns (re)computed from ``PRI_*``.

    Formulas: HiggsML documentation v1.8, appendix B (eqs. 19-23 of appendix A.3); every
    particle massless. Jet-pair features (``DER_deltaeta_jet_jet``, ``DER_mass_jet_jet``,
    ``DER_prodeta_jet_jet``, ``DER_lep_eta_centrality``) are NaN when ``PRI_jet_num <= 1``;
    ``DER_mass_MMC`` is NaN where the missing-mass estimator finds no solution. Existing
    ``DER_*`` columns are overwritten; the input frame is never modified.

    Parameters
    ----------
    df
        Events table with the 17 ``PRI_*`` columns.
    mmc
        Also compute ``DER_mass_MMC`` (:func:`missing_mass`); if ``False`` an existing
        ``DER_mass_MMC`` column is kept as it is and none is added otherwise.
    **mmc_options
        Passed to :func:`missing_mass` (``n_points``, ``chunk_size``, ``seed``...).

    Raises
    ------
    InputError
        Missing or non-numeric ``PRI_*`` column, azimuth outside (-π, π], bad ``PRI_jet_num``.
    """
    der = derived_features(df, mmc=mmc, **mmc_options)
    out = df.copy()
    for c in der.columns:
        out[c] = der[c]
    return out


def missing_mass(df: pd.DataFrame, *, validate: bool = True, **options: object) -> NDArray:
    """Missing-mass estimate of m_ττ (GeV) per event; see
    :func:`rediscovery.higgs.features.mmc.mmc_mass`, after :func:`validate_primaries`.

    NaN where no neutrino configuration is consistent with the event (as ``DER_mass_MMC`` in
    the official data). Options: ``n_points``, ``chunk_size``, ``seed``, ``met_resolution``,
    ``fallback`` (collinear approximation when the scan finds no solution).
    """
    if validate:
        validate_primaries(df)
    return mmc_mass(df, **options)  # type: ignore[arg-type]



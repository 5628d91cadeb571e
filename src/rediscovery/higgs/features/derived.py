"""Derived (``DER_*``) and new (``NEW_*``) features of the Higgs events table.

The 13 derived features follow the official HiggsML documentation v1.8 (C. Adam-Bourdarios et
al., "Learning to discover: the Higgs boson machine learning challenge", 2014), appendix A.3
(eqs. 19-23) and appendix B (pages 13-14). Particles are massless (``E = |p|``), momenta in
GeV, angles in radians. Undefined values are NaN (the -999.0 sentinel lives only at the I/O
boundary).

The missing-mass estimator behind ``DER_mass_MMC`` lives in :mod:`rediscovery.higgs.features.mmc`;
:func:`add_derived_features` calls it (``mmc=True``) or leaves the column out.

New features are listed in :data:`NEW_FEATURES`: a registry ``name -> (function, formula)``
whose functions take the events frame and return one float array; :func:`add_new_features`
adds them all (or a chosen subset).

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

from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rediscovery.core.errors import InputError
from rediscovery.higgs.schema import DER_COLUMNS, PHI_COLUMNS, PRI_COLUMNS

__all__ = [
    "ANGLE_TOLERANCE",
    "DER_CLOSED_FORM",
    "NEW_FEATURES",
    "NewFeature",
    "add_derived_features",
    "add_new_features",
    "derived_features",
    "missing_mass",
    "validate_primaries",
]

Array = NDArray[np.float64]

#: Tolerance (radians) on the (-π, π] range of the ``*_phi`` columns: the HiggsML files keep
#: 3 decimals, so -π is written -3.142 (that is 4.1e-4 below -π). Anything further out is an error.
ANGLE_TOLERANCE = 1.0e-3

#: The 12 closed-form derived features (all but ``DER_mass_MMC``), in the official order.
DER_CLOSED_FORM: tuple[str, ...] = tuple(c for c in DER_COLUMNS if c != "DER_mass_MMC")


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------
def validate_primaries(df: pd.DataFrame, columns: Iterable[str] = PRI_COLUMNS) -> None:
    """Check that ``df`` holds the primary columns, numeric, with azimuths in (-π, π].

    Parameters
    ----------
    df
        Events table.
    columns
        Columns required (default: the 17 ``PRI_*`` of the HiggsML schema).

    Raises
    ------
    InputError
        Naming the first column that is missing, not numeric, or (``*_phi``) has a finite value
        outside (-π - tol, π + tol] with tol = :data:`ANGLE_TOLERANCE`; also when
        ``PRI_jet_num`` holds values other than 0, 1, 2, 3.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame of events, got {type(df).__name__}")
    for col in columns:
        if col not in df.columns:
            raise InputError(
                "missing primary column; the HiggsML schema needs all 17 PRI_* columns",
                column=col,
            )
        dtype = df[col].dtype
        if not (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)):
            raise InputError(f"expected a numeric column (float or int), got dtype {dtype}",
                             column=col)
        if col in PHI_COLUMNS:
            phi = df[col].to_numpy(dtype=np.float64)
            bad = np.isfinite(phi) & ((phi <= -np.pi - ANGLE_TOLERANCE)
                                      | (phi > np.pi + ANGLE_TOLERANCE))
            if bad.any():
                raise InputError(
                    f"azimuth {phi[bad][0]!r} outside (-π, π] radians ({int(bad.sum())} rows); "
                    "convert degrees to radians or wrap angles into (-π, π]",
                    column=col,
                )
    if "PRI_jet_num" in columns:
        nj = df["PRI_jet_num"].to_numpy(dtype=np.float64)
        bad = ~((nj == 0.0) | (nj == 1.0) | (nj == 2.0) | (nj == 3.0))
        if bad.any():
            raise InputError(f"expected jet multiplicities 0, 1, 2 or 3 (capped), found "
                             f"{nj[bad][0]!r}", column="PRI_jet_num")


def _col(df: pd.DataFrame, name: str) -> Array:
    return df[name].to_numpy(dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# kinematic helpers (massless particles, doc v1.8 appendix A.3)
# ---------------------------------------------------------------------------------------------
def _wrap(dphi: Array) -> Array:
    """Bring an azimuth difference back into [-π, π)."""
    return (dphi + np.pi) % (2.0 * np.pi) - np.pi


def _m_inv(pt1: Array, eta1: Array, phi1: Array, pt2: Array, eta2: Array, phi2: Array) -> Array:
    """Invariant mass of two massless particles, eq. (20), written as
    m² = 2 pT1 pT2 (cosh Δη - cos Δφ), which is exact and free of cancellations."""
    m2 = 2.0 * pt1 * pt2 * (np.cosh(eta1 - eta2) - np.cos(phi1 - phi2))
    return np.sqrt(np.maximum(m2, 0.0))


def _m_tr(pt1: Array, phi1: Array, pt2: Array, phi2: Array) -> Array:
    """Transverse mass of two massless particles, eq. (21): m_T² = 2 pT1 pT2 (1 - cos Δφ)."""
    return np.sqrt(np.maximum(2.0 * pt1 * pt2 * (1.0 - np.cos(phi1 - phi2)), 0.0))


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
    return _Kin(*(_col(df, c) for c in PRI_COLUMNS))


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
    :func:`rediscovery.higgs.features.mmc.mmc_mass`.

    NaN where no neutrino configuration is consistent with the event (as ``DER_mass_MMC`` in
    the official data). Options: ``n_points``, ``chunk_size``, ``seed``, ``met_resolution``,
    ``fallback`` (collinear approximation when the scan finds no solution).
    """
    if validate:
        validate_primaries(df)
    from rediscovery.higgs.features.mmc import (
        mmc_mass,  # local: avoid an import cycle (mmc uses us)
    )

    return mmc_mass(df, **options)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# NEW_ features
# ---------------------------------------------------------------------------------------------
class NewFeature(NamedTuple):
    """A new feature: the function ``f(events) -> array`` and its one-line formula."""

    function: Callable[[pd.DataFrame], Array]
    formula: str


_TAU_MASS = 1.77686  # GeV, PDG 2022 (R.L. Workman et al., PTEP 2022 083C01)


def _collinear_x(df: pd.DataFrame) -> tuple[Array, Array]:
    """Visible momentum fractions (x_τ, x_ℓ) of the collinear approximation.

    Solves MET = p_T,τ (1/x_τ - 1) + p_T,ℓ (1/x_ℓ - 1) (Ellis, Hinchliffe, Soldate, van der
    Bij, Nucl. Phys. B 297 (1988) 221) as a 2x2 linear system in the missing fractions.
    """
    tpx = _col(df, "PRI_tau_pt") * np.cos(_col(df, "PRI_tau_phi"))
    tpy = _col(df, "PRI_tau_pt") * np.sin(_col(df, "PRI_tau_phi"))
    lpx = _col(df, "PRI_lep_pt") * np.cos(_col(df, "PRI_lep_phi"))
    lpy = _col(df, "PRI_lep_pt") * np.sin(_col(df, "PRI_lep_phi"))
    mx = _col(df, "PRI_met") * np.cos(_col(df, "PRI_met_phi"))
    my = _col(df, "PRI_met") * np.sin(_col(df, "PRI_met_phi"))
    det = tpx * lpy - tpy * lpx
    with np.errstate(divide="ignore", invalid="ignore"):
        r_t = (mx * lpy - my * lpx) / det  # = 1/x_τ - 1
        r_l = (tpx * my - tpy * mx) / det  # = 1/x_ℓ - 1
        return 1.0 / (1.0 + r_t), 1.0 / (1.0 + r_l)


def _new_collinear_mass(df: pd.DataFrame) -> Array:
    x_t, x_l = _collinear_x(df)
    m_vis = _m_inv(_col(df, "PRI_tau_pt"), _col(df, "PRI_tau_eta"), _col(df, "PRI_tau_phi"),
                   _col(df, "PRI_lep_pt"), _col(df, "PRI_lep_eta"), _col(df, "PRI_lep_phi"))
    ok = (x_t > 0) & (x_t <= 1) & (x_l > 0) & (x_l <= 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, m_vis / np.sqrt(x_t * x_l), np.nan)


def _new_x_tau(df: pd.DataFrame) -> Array:
    return _collinear_x(df)[0]


def _new_x_lep(df: pd.DataFrame) -> Array:
    return _collinear_x(df)[1]


def _dphi(df: pd.DataFrame, a: str, b: str) -> Array:
    return np.abs(_wrap(_col(df, a) - _col(df, b)))


def _new_dphi_tau_lep(df: pd.DataFrame) -> Array:
    return _dphi(df, "PRI_tau_phi", "PRI_lep_phi")


def _new_dphi_met_tau(df: pd.DataFrame) -> Array:
    return _dphi(df, "PRI_met_phi", "PRI_tau_phi")


def _new_dphi_met_lep(df: pd.DataFrame) -> Array:
    return _dphi(df, "PRI_met_phi", "PRI_lep_phi")


def _new_dphi_jet_jet(df: pd.DataFrame) -> Array:
    return _dphi(df, "PRI_jet_leading_phi", "PRI_jet_subleading_phi")


def _new_deta_tau_lep(df: pd.DataFrame) -> Array:
    return np.abs(_col(df, "PRI_tau_eta") - _col(df, "PRI_lep_eta"))


def _new_mt_met_tau(df: pd.DataFrame) -> Array:
    return _m_tr(_col(df, "PRI_met"), _col(df, "PRI_met_phi"),
                 _col(df, "PRI_tau_pt"), _col(df, "PRI_tau_phi"))


def _new_mt_tot(df: pd.DataFrame) -> Array:
    mt_l = _m_tr(_col(df, "PRI_met"), _col(df, "PRI_met_phi"),
                 _col(df, "PRI_lep_pt"), _col(df, "PRI_lep_phi"))
    mt_t = _new_mt_met_tau(df)
    mt_v = _m_tr(_col(df, "PRI_tau_pt"), _col(df, "PRI_tau_phi"),
                 _col(df, "PRI_lep_pt"), _col(df, "PRI_lep_phi"))
    return np.sqrt(mt_l**2 + mt_t**2 + mt_v**2)


def _new_tau_eta_centrality(df: pd.DataFrame) -> Array:
    e1, e2 = _col(df, "PRI_jet_leading_eta"), _col(df, "PRI_jet_subleading_eta")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.exp(-4.0 / (e1 - e2) ** 2 * (_col(df, "PRI_tau_eta") - 0.5 * (e1 + e2)) ** 2)


def _new_jet_leading_deta_ditau(df: pd.DataFrame) -> Array:
    eta_tt = 0.5 * (_col(df, "PRI_tau_eta") + _col(df, "PRI_lep_eta"))
    return np.abs(_col(df, "PRI_jet_leading_eta") - eta_tt)


def _new_met_sig(df: pd.DataFrame) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return _col(df, "PRI_met") / np.sqrt(_col(df, "PRI_met_sumet"))


def _new_pt_ratio_met_vis(df: pd.DataFrame) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return _col(df, "PRI_met") / (_col(df, "PRI_tau_pt") + _col(df, "PRI_lep_pt"))


def _new_cos_theta_star(df: pd.DataFrame) -> Array:
    # boost-invariant polar angle of the tau in the ττ visible rest frame along the beam
    d = _col(df, "PRI_tau_eta") - _col(df, "PRI_lep_eta")
    return np.abs(np.tanh(0.5 * d))


#: Registry of new features: name -> (function, one-line formula). All are φ-rotation invariant.
NEW_FEATURES: Mapping[str, NewFeature] = {
    "NEW_mass_collinear": NewFeature(
        _new_collinear_mass,
        "m_vis / sqrt(x_τ x_ℓ), MET = Σ p_T,vis (1/x - 1) (collinear; NaN if x∉(0,1])"),
    "NEW_x_tau": NewFeature(_new_x_tau, "collinear visible fraction x_τ of the hadronic tau"),
    "NEW_x_lep": NewFeature(_new_x_lep, "collinear visible fraction x_ℓ of the leptonic tau"),
    "NEW_dphi_tau_lep": NewFeature(_new_dphi_tau_lep, "|Δφ(τ, ℓ)| in [0, π]"),
    "NEW_dphi_met_tau": NewFeature(_new_dphi_met_tau, "|Δφ(MET, τ)| in [0, π]"),
    "NEW_dphi_met_lep": NewFeature(_new_dphi_met_lep, "|Δφ(MET, ℓ)| in [0, π]"),
    "NEW_dphi_jet_jet": NewFeature(_new_dphi_jet_jet, "|Δφ(j1, j2)| in [0, π] (NaN if < 2 jets)"),
    "NEW_deta_tau_lep": NewFeature(_new_deta_tau_lep, "|η_τ - η_ℓ|"),
    "NEW_mt_met_tau": NewFeature(_new_mt_met_tau, "sqrt(2 p_T,τ MET (1 - cos Δφ(τ, MET)))"),
    "NEW_mt_tot": NewFeature(_new_mt_tot, "sqrt(m_T(ℓ,MET)² + m_T(τ,MET)² + m_T(τ,ℓ)²)"),
    "NEW_tau_eta_centrality": NewFeature(
        _new_tau_eta_centrality, "exp(-4/(η1-η2)² (η_τ - (η1+η2)/2)²) (NaN if < 2 jets)"),
    "NEW_deta_jet_ditau": NewFeature(
        _new_jet_leading_deta_ditau, "|η_j1 - (η_τ + η_ℓ)/2| (NaN if no jet)"),
    "NEW_met_significance": NewFeature(_new_met_sig, "MET / sqrt(ΣE_T) in GeV^½"),
    "NEW_pt_ratio_met_vis": NewFeature(_new_pt_ratio_met_vis, "MET / (p_T,τ + p_T,ℓ)"),
    "NEW_cos_theta_star": NewFeature(_new_cos_theta_star, "|tanh((η_τ - η_ℓ)/2)|"),
}


def add_new_features(df: pd.DataFrame, names: Iterable[str] | None = None) -> pd.DataFrame:
    """Return a copy of ``df`` with the ``NEW_*`` features of :data:`NEW_FEATURES` added.

    Parameters
    ----------
    df
        Events table with the 17 ``PRI_*`` columns.
    names
        Subset of :data:`NEW_FEATURES` to add (default: all).

    Raises
    ------
    InputError
        Invalid primaries (see :func:`validate_primaries`) or an unknown feature name.
    """
    validate_primaries(df)
    chosen = list(NEW_FEATURES) if names is None else list(names)
    for name in chosen:
        if name not in NEW_FEATURES:
            raise InputError(f"unknown new feature; choose among {sorted(NEW_FEATURES)}",
                             column=name)
    out = df.copy()
    for name in chosen:
        out[name] = NEW_FEATURES[name].function(df)
    return out

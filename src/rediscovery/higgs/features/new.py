"""New (``NEW_*``) features of the Higgs events table.

:data:`NEW_FEATURES` is a registry ``name -> (function, formula)`` whose functions take the
events frame (the 17 ``PRI_*`` columns, GeV and radians) and return one float array;
:func:`add_new_features` adds them all (or a chosen subset). All are invariant under a common
rotation of the azimuths (tested). The collinear-approximation features come from
:mod:`rediscovery.higgs.features.collinear`.

Examples
--------
>>> NEW_FEATURES["NEW_mt_tot"].formula
'sqrt(m_T(ℓ,MET)² + m_T(τ,MET)² + m_T(τ,ℓ)²)'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rediscovery.core.errors import InputError
from rediscovery.higgs.features.collinear import collinear_fractions, collinear_mass
from rediscovery.higgs.features.primaries import (
    column,
    transverse_mass,
    validate_primaries,
    wrap_phi,
)

__all__ = ["NEW_FEATURES", "NewFeature", "add_new_features"]

Array = NDArray[np.float64]


class NewFeature(NamedTuple):
    """A new feature: the function ``f(events) -> array`` and its one-line formula."""

    function: Callable[[pd.DataFrame], Array]
    formula: str


def _new_x_tau(df: pd.DataFrame) -> Array:
    return collinear_fractions(df)[0]


def _new_x_lep(df: pd.DataFrame) -> Array:
    return collinear_fractions(df)[1]


def _dphi(df: pd.DataFrame, a: str, b: str) -> Array:
    return np.abs(wrap_phi(column(df, a) - column(df, b)))


def _new_dphi_tau_lep(df: pd.DataFrame) -> Array:
    return _dphi(df, "PRI_tau_phi", "PRI_lep_phi")


def _new_dphi_met_tau(df: pd.DataFrame) -> Array:
    return _dphi(df, "PRI_met_phi", "PRI_tau_phi")


def _new_dphi_met_lep(df: pd.DataFrame) -> Array:
    return _dphi(df, "PRI_met_phi", "PRI_lep_phi")


def _new_dphi_jet_jet(df: pd.DataFrame) -> Array:
    return _dphi(df, "PRI_jet_leading_phi", "PRI_jet_subleading_phi")


def _new_deta_tau_lep(df: pd.DataFrame) -> Array:
    return np.abs(column(df, "PRI_tau_eta") - column(df, "PRI_lep_eta"))


def _new_mt_met_tau(df: pd.DataFrame) -> Array:
    return transverse_mass(column(df, "PRI_met"), column(df, "PRI_met_phi"),
                           column(df, "PRI_tau_pt"), column(df, "PRI_tau_phi"))


def _new_mt_tot(df: pd.DataFrame) -> Array:
    mt_l = transverse_mass(column(df, "PRI_met"), column(df, "PRI_met_phi"),
                 column(df, "PRI_lep_pt"), column(df, "PRI_lep_phi"))
    mt_t = _new_mt_met_tau(df)
    mt_v = transverse_mass(column(df, "PRI_tau_pt"), column(df, "PRI_tau_phi"),
                 column(df, "PRI_lep_pt"), column(df, "PRI_lep_phi"))
    return np.sqrt(mt_l**2 + mt_t**2 + mt_v**2)


def _new_tau_eta_centrality(df: pd.DataFrame) -> Array:
    e1, e2 = column(df, "PRI_jet_leading_eta"), column(df, "PRI_jet_subleading_eta")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.exp(-4.0 / (e1 - e2) ** 2 * (column(df, "PRI_tau_eta") - 0.5 * (e1 + e2)) ** 2)


def _new_jet_leading_deta_ditau(df: pd.DataFrame) -> Array:
    eta_tt = 0.5 * (column(df, "PRI_tau_eta") + column(df, "PRI_lep_eta"))
    return np.abs(column(df, "PRI_jet_leading_eta") - eta_tt)


def _new_met_sig(df: pd.DataFrame) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return column(df, "PRI_met") / np.sqrt(column(df, "PRI_met_sumet"))


def _new_pt_ratio_met_vis(df: pd.DataFrame) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return column(df, "PRI_met") / (column(df, "PRI_tau_pt") + column(df, "PRI_lep_pt"))


def _new_cos_theta_star(df: pd.DataFrame) -> Array:
    # boost-invariant polar angle of the tau in the ττ visible rest frame along the beam
    d = column(df, "PRI_tau_eta") - column(df, "PRI_lep_eta")
    return np.abs(np.tanh(0.5 * d))


#: Registry of new features: name -> (function, one-line formula). All are φ-rotation invariant.
NEW_FEATURES: Mapping[str, NewFeature] = {
    "NEW_mass_collinear": NewFeature(
        collinear_mass,
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

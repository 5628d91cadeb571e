"""The collinear approximation of a ττ decay: visible momentum fractions and the ττ mass.

Each τ's neutrinos are taken collinear with its visible decay products, so the measured MET is
the sum of the invisible transverse momenta: MET = p_T,τ (1/x_τ - 1) + p_T,ℓ (1/x_ℓ - 1), a 2x2
linear system in the visible momentum fractions x (R.K. Ellis, I. Hinchliffe, M. Soldate and
J.J. van der Bij, Nucl. Phys. B 297 (1988) 221). Then m_ττ = m_vis / √(x_τ x_ℓ). Used by the
``NEW_`` features (:mod:`rediscovery.higgs.features.new`) and as the fallback of the missing-mass
calculator (:mod:`rediscovery.higgs.features.mmc`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rediscovery.higgs.features.primaries import column, invariant_mass

__all__ = ["collinear_fractions", "collinear_mass"]

Array = NDArray[np.float64]


def collinear_fractions(df: pd.DataFrame) -> tuple[Array, Array]:
    """Visible momentum fractions (x_τ, x_ℓ) of the collinear approximation.

    Solves MET = p_T,τ (1/x_τ - 1) + p_T,ℓ (1/x_ℓ - 1) (Ellis, Hinchliffe, Soldate, van der
    Bij, Nucl. Phys. B 297 (1988) 221) as a 2x2 linear system in the missing fractions.
    Unphysical solutions (x outside (0, 1]) are returned as they are.
    """
    tpx = column(df, "PRI_tau_pt") * np.cos(column(df, "PRI_tau_phi"))
    tpy = column(df, "PRI_tau_pt") * np.sin(column(df, "PRI_tau_phi"))
    lpx = column(df, "PRI_lep_pt") * np.cos(column(df, "PRI_lep_phi"))
    lpy = column(df, "PRI_lep_pt") * np.sin(column(df, "PRI_lep_phi"))
    mx = column(df, "PRI_met") * np.cos(column(df, "PRI_met_phi"))
    my = column(df, "PRI_met") * np.sin(column(df, "PRI_met_phi"))
    det = tpx * lpy - tpy * lpx
    with np.errstate(divide="ignore", invalid="ignore"):
        r_t = (mx * lpy - my * lpx) / det  # = 1/x_τ - 1
        r_l = (tpx * my - tpy * mx) / det  # = 1/x_ℓ - 1
        return 1.0 / (1.0 + r_t), 1.0 / (1.0 + r_l)


def collinear_mass(df: pd.DataFrame) -> Array:
    """Collinear-approximation m_ττ (GeV): m_vis / √(x_τ x_ℓ), NaN unless 0 < x ≤ 1 for both."""
    x_t, x_l = collinear_fractions(df)
    m_vis = invariant_mass(column(df, "PRI_tau_pt"), column(df, "PRI_tau_eta"),
                           column(df, "PRI_tau_phi"), column(df, "PRI_lep_pt"),
                           column(df, "PRI_lep_eta"), column(df, "PRI_lep_phi"))
    ok = (x_t > 0) & (x_t <= 1) & (x_l > 0) & (x_l <= 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, m_vis / np.sqrt(x_t * x_l), np.nan)

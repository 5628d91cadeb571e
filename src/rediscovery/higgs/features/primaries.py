"""The primary (``PRI_*``) columns as the feature modules read them: validation, column access,
and the kinematics of massless particles.

Formulas follow the HiggsML documentation v1.8 (C. Adam-Bourdarios et al., "Learning to
discover: the Higgs boson machine learning challenge", 2014), appendix A.3: every particle is
massless (``E = |p|``), momenta in GeV, angles in radians.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rediscovery.core.errors import InputError
from rediscovery.higgs.schema import PHI_COLUMNS, PRI_COLUMNS

__all__ = [
    "ANGLE_TOLERANCE",
    "column",
    "invariant_mass",
    "transverse_mass",
    "validate_primaries",
    "wrap_phi",
]

Array = NDArray[np.float64]

#: Tolerance (radians) on the (-π, π] range of the ``*_phi`` columns: the HiggsML files keep
#: 3 decimals, so -π is written -3.142 (that is 4.1e-4 below -π). Anything further out is an error.
ANGLE_TOLERANCE = 1.0e-3


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


def column(df: pd.DataFrame, name: str) -> Array:
    """Column ``name`` of ``df`` as a float64 array."""
    return df[name].to_numpy(dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# kinematic helpers (massless particles, doc v1.8 appendix A.3)
# ---------------------------------------------------------------------------------------------
def wrap_phi(dphi: Array) -> Array:
    """Bring an azimuth difference back into [-π, π)."""
    return (dphi + np.pi) % (2.0 * np.pi) - np.pi


def invariant_mass(pt1: Array, eta1: Array, phi1: Array,
                   pt2: Array, eta2: Array, phi2: Array) -> Array:
    """Invariant mass of two massless particles, eq. (20), written as
    m² = 2 pT1 pT2 (cosh Δη - cos Δφ), which is exact and free of cancellations."""
    m2 = 2.0 * pt1 * pt2 * (np.cosh(eta1 - eta2) - np.cos(phi1 - phi2))
    return np.sqrt(np.maximum(m2, 0.0))


def transverse_mass(pt1: Array, phi1: Array, pt2: Array, phi2: Array) -> Array:
    """Transverse mass of two massless particles, eq. (21): m_T² = 2 pT1 pT2 (1 - cos Δφ)."""
    return np.sqrt(np.maximum(2.0 * pt1 * pt2 * (1.0 - np.cos(phi1 - phi2)), 0.0))

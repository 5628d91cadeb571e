"""The I, Q, U test sky shared by the polarisation tests of the map-makers."""

from __future__ import annotations

import numpy as np
import pytest

from rediscovery.cosmo.cmb.tod import gaussian_sky_iqu


@pytest.fixture(scope="module")
def iqu(request) -> np.ndarray:
    """Smoothed I, Q, U (μK, 60′ beam) at the test module's ``NSIDE`` with C^EE = C^TT/10,
    C^TE = C^TT/5, no B (|ρ_TE| < 1)."""
    nside = request.module.NSIDE
    ell = np.arange(3 * nside, dtype=float)
    tt = np.r_[0.0, 0.0, 2e4 / ell[2:] ** 2]
    cl = np.array([tt, 0.1 * tt, 0.0 * tt, 0.2 * tt])
    return gaussian_sky_iqu(cl, nside, 60.0, np.random.default_rng(21))[1]

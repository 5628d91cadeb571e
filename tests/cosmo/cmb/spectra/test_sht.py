"""The package's ducc0 transforms against healpy's (the reference implementation)."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest

from rediscovery.cosmo.cmb.spectra.sht import alm2map, map2alm, support_rings

NSIDE = 32


@pytest.mark.parametrize("niter", [0, 2])
def test_map2alm_equals_healpy_on_a_patch(niter: int) -> None:
    rng = np.random.default_rng(3)
    npix = 12 * NSIDE**2
    theta, _ = hp.pix2ang(NSIDE, np.arange(npix))
    patch = theta < 0.9
    maps = [np.where(patch, rng.standard_normal(npix), 0.0) for _ in range(2)]
    ours = map2alm(maps, NSIDE, 2 * NSIDE, niter=niter, support=patch, nthreads=1)
    for m, a in zip(maps, ours, strict=True):
        ref = hp.map2alm(m, lmax=2 * NSIDE, iter=niter, use_weights=False)
        np.testing.assert_allclose(a, ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def test_support_rings_and_alm2map() -> None:
    npix = 12 * NSIDE**2
    support = np.zeros(npix, dtype=bool)
    support[[0, 5, npix - 1]] = True  # rings 0, 1 and the last
    np.testing.assert_array_equal(support_rings(NSIDE, support), [0, 1, 4 * NSIDE - 2])
    alm = hp.map2alm(np.random.default_rng(4).standard_normal(npix), lmax=40)
    np.testing.assert_allclose(
        alm2map(alm, NSIDE, 40, nthreads=1), hp.alm2map(alm, NSIDE, lmax=40), atol=1e-12
    )

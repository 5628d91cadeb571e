"""detect.subtract: the two methods behind one interface give the same fluxes and scores.

Reference: the injected fluxes (simulation truth). Each pair holds a grid of stars (for the
Alard-Lupton kernel fit) and 9 transients at S/N 50 midway between them (outside the kernel
fit's stamps), with the new image blurrier or sharper than the reference and a zero-point
ratio F_n = 1.3.
"""

from __future__ import annotations

import numpy as np
import pytest

from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.sn.detect import SUBTRACTIONS, flux_for_snr, subtract, zogy_photometry

SHAPE = (256, 256)


@pytest.mark.parametrize("fwhm_new", [4.5, 2.2])
@pytest.mark.parametrize("method", sorted(SUBTRACTIONS))
def test_fluxes_and_scores_of_injected_transients(synth, method, fwhm_new):
    rng = np.random.default_rng(7)
    stars = synth.grid_field(rng, SHAPE, 60.0, margin=30)
    g = np.array([60.3, 120.3, 180.3])
    tx, ty = (a.ravel() for a in np.meshgrid(g, g + 0.4))
    p0 = synth.make_pair(rng, SHAPE, fwhm_new=fwhm_new, f_new=1.3)
    flux = flux_for_snr(50.0, p0.psf_new, p0.psf_ref, p0.sigma_new, p0.sigma_ref, f_new=1.3)
    p = synth.make_pair(
        rng,
        SHAPE,
        fwhm_new=fwhm_new,
        f_new=1.3,
        stars=stars,
        transients=(tx, ty, np.full(tx.size, flux)),
    )
    d = subtract(
        method,
        p.new,
        p.ref,
        p.psf_new,
        p.psf_ref,
        p.sigma_new,
        p.sigma_ref,
        f_new=1.3,
        var_new=p.var_new,
        var_ref=p.var_ref,
        star_x=stars[0],
        star_y=stars[1],
    )
    assert d.method == method and d.D.shape == SHAPE
    assert d.P_D.sum() == pytest.approx(1.0)
    # D has unit noise on empty sky (away from stars and transients)
    assert np.std(d.D[:30, :]) == pytest.approx(1.0, abs=0.1)
    f, err = zogy_photometry(d, tx, ty)
    pulls = (f - flux) / err
    # flux in the reference's counts: a 10 % scale error would shift the pulls by 5
    assert abs(np.mean(pulls)) < 1.0 and 0.5 < np.std(pulls) < 2.0, pulls
    assert np.median(f / flux) == pytest.approx(1.0, abs=0.03)
    peak = d.score[np.round(ty).astype(int), np.round(tx).astype(int)]
    assert np.median(peak) == pytest.approx(50.0, rel=0.2)


def test_unknown_method():
    with pytest.raises(ConfigError, match="'hotpants' unknown"):
        subtract(
            "hotpants",
            np.zeros((8, 8)),
            np.zeros((8, 8)),
            np.ones((1, 1)),
            np.ones((1, 1)),
            1.0,
            1.0,
        )

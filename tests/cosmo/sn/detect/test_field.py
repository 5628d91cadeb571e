"""detect_field end to end on three synthetic epochs with stars, a transient and a host."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import InputError
from rediscovery.cosmo.sn.detect import CANDIDATE_COLUMNS, detect_field, flux_for_snr

SHAPE = (256, 256)
SCALE = 0.2 / 3600  # degrees per pixel


def to_sky(x, y):
    return 150.0 + (np.asarray(x) - 128) * SCALE, 2.0 + (np.asarray(y) - 128) * SCALE


@pytest.fixture(scope="module", params=["zogy", "alard-lupton"])
def field(synth, request):
    rng = np.random.default_rng(30)
    stars = synth.grid_field(rng, SHAPE, 45.0, margin=30)
    tx, ty = np.array([151.3]), np.array([87.6])
    images, headers = [], []
    # the last epoch is misregistered by (0.4, -0.7) px: detect_field aligns it on the stars
    shifts = ((0.0, 0.0), (0.0, 0.0), (0.4, -0.7))
    # the first epoch is sharper than the reference (FWHM 3 px): Alard-Lupton convolves it
    for epoch, (fwhm, on) in enumerate(((2.4, False), (4.4, True), (3.6, True))):
        p0 = synth.make_pair(rng, SHAPE, fwhm_new=fwhm)
        flux = flux_for_snr(15.0, p0.psf_new, p0.psf_ref, p0.sigma_new, p0.sigma_ref)
        p = synth.make_pair(rng, SHAPE, fwhm_new=fwhm, stars=stars,
                            transients=(tx, ty, flux) if on else None, shift=shifts[epoch])
        if epoch == 0:
            reference = p.ref + 4000.0
        images.append(p.new + 1000.0)
        headers.append({"MJD": 60000.0 + 5 * epoch, "ZP": 27.0, "GAIN": 1.0,
                        "SKYLEVEL": 1000.0, "RDNOISE": 5.0, "BAND": "r", "SEEING": fwhm})
    # the reference stacks 16 exposures: gain 16 e-/ADU, read noise 20 e- (see _synth)
    ref_header = {"ZP": 27.0, "GAIN": 16.0, "SKYLEVEL": 4000.0, "RDNOISE": 20.0}
    hra, hdec = to_sky(np.array([152.0, 40.0]), np.array([88.0, 40.0]))
    hosts = pd.DataFrame({"host_id": [7, 8], "ra": hra, "dec": hdec, "z": [0.31, 0.5]})
    res = detect_field(images, headers, reference, ref_header, field="F1",
                       pixel_to_world=to_sky, hosts=hosts, method=request.param)
    return res, (tx[0], ty[0]), stars, request.param


def test_one_candidate_at_the_transient(field):
    res, (tx, ty), _, _ = field
    c = res.candidates
    assert len(c) == 1
    assert list(c.columns[:len(CANDIDATE_COLUMNS)]) == list(CANDIDATE_COLUMNS)
    good = c[c.real_bogus_score >= 0.5]
    assert len(good) == 1
    row = good.iloc[0]
    assert (row.x, row.y) == pytest.approx((tx, ty), abs=0.5)
    assert row.n_detections == 2 and row.first_mjd == 60005.0
    assert row.host_id == 7 and row.z == 0.31 and row.field == "F1"
    ra, dec = to_sky(tx, ty)
    assert (row.ra, row.dec) == pytest.approx((ra, dec), abs=0.5 * SCALE)


def test_measured_psfs_and_no_detection_on_stars(field):
    res, _, (sx, sy, _), method = field
    assert len(res.psfs_new) == 3 and res.psf_ref.shape == (25, 25)
    d = res.detections
    near = np.hypot(d.x.to_numpy()[:, None] - sx[None], d.y.to_numpy()[:, None] - sy[None])
    on_star = near.min(axis=1) <= 3
    if method == "zogy":  # S_corr holds the stars' Poisson noise: no residual passes 5 sigma
        assert not on_star.any()
    else:  # the Alard-Lupton score has no source-noise term: residuals, rejected as bogus
        assert on_star.sum() <= 2
        assert (d.real_bogus_score.to_numpy()[on_star] < 0.5).all()


def test_headers_must_match_images():
    with pytest.raises(InputError, match="one header per image"):
        detect_field([np.zeros((8, 8))], [], np.zeros((8, 8)), {})
    with pytest.raises(InputError, match="SKYLEVEL"):
        detect_field([np.zeros((8, 8))], [{"MJD": 1}], np.zeros((8, 8)), {"ZP": 1})

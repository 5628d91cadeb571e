"""Forced photometry: flux scale and errors from injected sources of known AB magnitude, and
pulls against the simulator's hidden SN fluxes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import InputError
from rediscovery.cosmo.sn.detect import inject_point_sources
from rediscovery.cosmo.sn.images import list_survey, read_image
from rediscovery.cosmo.sn.photometry import (
    LIGHTCURVE_ZP,
    counts_to_flux,
    difference_epoch,
    forced_photometry,
    repair_spikes,
)
from rediscovery.cosmo.sn.photometry.validation import photometry_pulls, pull_summary
from rediscovery.cosmo.sn.survey import (
    FieldTask,
    band_psfs,
    clean_epoch,
    header_values,
    photometry_survey_field,
    wcs_shift,
)

#: Pixel scale of the simulated survey (arcsec), for the 1-pixel offset.
PIXEL_DEG = 0.26 / 3600.0


def test_counts_to_flux_is_a_magnitude_identity():
    # m = 22 at ZP 30.7 is 10^(0.4 * 8.7) ADU; at zp 27.5 it is 10^(0.4 * 5.5)
    assert counts_to_flux(10 ** (0.4 * 8.7), 30.7) == pytest.approx(10 ** (0.4 * 5.5))


def test_repair_spikes_removes_hot_pixels_and_tracks_not_stars():
    rng = np.random.default_rng(0)
    img = 1000.0 + rng.normal(0, 16, (64, 64))
    sig = 1.7 / 2.355  # the simulator's best seeing; the star sits on a pixel edge
    yy, xx = np.mgrid[:64, :64]
    star = np.exp(-((xx - 20.5) ** 2 + (yy - 20.0) ** 2) / (2 * sig**2))
    img += 5e4 * star / star.sum()
    img[40, 45] += 3e4  # hot pixel
    img[50, 10:14] += 2e3  # cosmic-ray track
    fixed, mask, extra = repair_spikes(img, 1000.0, 4.0, 7.0)
    assert mask[40, 45] and mask[50, 10:14].all() and mask.sum() == 5
    assert abs(fixed[40, 45] - 1000.0) < 80 and np.all(abs(fixed[50, 10:14] - 1000) < 80)
    assert np.array_equal(fixed[10:30, 10:30], img[10:30, 10:30])  # the star stays
    assert np.all(extra[mask] > 0) and np.all(extra[~mask] == 0)


def _empty_positions(ref, n, rng, margin=40):
    """Positions where the reference holds only sky within ±6 px (no galaxy, no star)."""
    sigma = np.sqrt(ref.skylevel / ref.gain + (ref.rdnoise / ref.gain) ** 2)
    ny, nx = ref.data.shape
    out = []
    for _ in range(4000):
        x, y = rng.uniform(margin, nx - margin), rng.uniform(margin, ny - margin)
        xi, yi = round(x), round(y)
        box = ref.data[yi - 6:yi + 7, xi - 6:xi + 7] - ref.skylevel
        if box.max() < 4 * sigma and all(np.hypot(x - a, y - b) > 14 for a, b in out):
            out.append((x, y))
        if len(out) == n:
            break
    return np.array(out)


def _inject_and_measure(survey_dir, offset_px=0.0, seed=1):
    """Sources of known AB magnitude injected (with their Poisson noise) into every r epoch on
    empty sky, measured at their positions (moved by ``offset_px`` in x)."""
    files = list_survey(survey_dir)["field00"]["r"]
    ref = read_image(files.reference)
    epochs = [read_image(p) for p in files.epochs]
    psf_ref, psfs = band_psfs(ref, epochs)
    rng = np.random.default_rng(seed)
    pos = _empty_positions(ref, 12, rng)
    rows = []
    for e, pn in zip(epochs, psfs, strict=True):
        mags = rng.uniform(17.5, 23.5, len(pos))  # S/N ~ 5-1000
        counts = 10 ** (0.4 * (e.zp - mags))
        dx, dy = wcs_shift(ref, e)
        data, extra = clean_epoch(e)
        model = inject_point_sources(np.zeros_like(data, float), pn, pos[:, 0] + dx,
                                     pos[:, 1] + dy, counts)
        noisy = data + model + rng.normal(0, 1, data.shape) * np.sqrt(np.maximum(model, 0) / e.gain)
        d = difference_epoch(noisy, header_values(e), ref.data, header_values(ref), pn, psf_ref,
                             shift=(dx, dy), extra_var=extra)
        lc = forced_photometry([d], pos[:, 0] + offset_px, pos[:, 1])
        lc["true_flux"] = 10 ** (0.4 * (LIGHTCURVE_ZP - mags))
        rows.append(lc)
    lc = pd.concat(rows, ignore_index=True)
    lc["pull"] = (lc["flux"] - lc["true_flux"]) / lc["fluxerr"]
    lc["snr"] = lc["true_flux"] / lc["fluxerr"]
    return lc


def test_injected_sources_flux_scale_and_pulls(survey_dir):
    lc = _inject_and_measure(survey_dir)
    assert len(lc) == 72 and lc["snr"].min() < 10 and lc["snr"].max() > 300
    ratio = lc["flux"] / lc["true_flux"]
    # a 10 % flux-scale error or a wrong zero point fails this
    assert abs(np.mean(ratio[lc["snr"] > 30]) - 1) < 0.03
    # pulls over S/N ~ 5-1000 (source Poisson noise included in fluxerr): 72 points, so
    # mean 0 ± 0.12, width 1 ± 0.09 at 1 σ
    assert abs(lc["pull"].mean()) < 0.35
    assert 0.75 < lc["pull"].std() < 1.3


def test_one_pixel_offset_fails_the_pull_check(survey_dir):
    lc = _inject_and_measure(survey_dir, offset_px=1.0)
    bright = lc[lc["snr"] > 30]
    ratio = bright["flux"] / bright["true_flux"]
    assert np.mean(ratio) < 0.95  # the flux-scale check above fails
    assert bright["pull"].mean() < -2  # and so does the pull check


def test_pulls_against_truth_fluxes(survey_dir, truth, truth_fluxes):
    """At the true SN positions, every epoch of both bands (including worse seeing than the
    reference): pulls against the noiseless truth_fluxes.csv."""
    sne = pd.DataFrame(truth["sne"]).rename(columns={"sn_id": "cand_id"})
    task = FieldTask(field="field00", bands=list_survey(survey_dir)["field00"], candidates=sne)
    pulls = photometry_pulls(photometry_survey_field(task), truth_fluxes)
    assert len(pulls) == 8 * 2 * 6
    s = pull_summary(pulls).set_index("snr_bin")
    assert abs(s.loc["all", "mean"]) < 0.35
    assert 0.75 < s.loc["all", "width"] < 1.3
    worse = pulls[pulls["seeing"] > pulls["seeing_ref"]]
    assert len(worse) > 20 and 0.7 < worse["pull"].std() < 1.4
    # moved by one pixel the bright points are biased low
    moved = sne.assign(ra=sne["ra"] + PIXEL_DEG / np.cos(np.radians(sne["dec"])))
    task_moved = FieldTask(field="field00", bands=task.bands, candidates=moved)
    p1 = photometry_pulls(photometry_survey_field(task_moved), truth_fluxes)
    good = pulls[pulls["snr"] > 10]
    bad = p1[p1["snr"] > 10]
    assert len(good) >= 10
    assert np.mean(bad["ratio"]) < np.mean(good["ratio"]) - 0.04


def test_position_outside_the_image(survey_dir):
    files = list_survey(survey_dir)["field00"]["r"]
    ref = read_image(files.reference)
    e = read_image(files.epochs[0])
    psf_ref, (pn,) = band_psfs(ref, [e])
    d = difference_epoch(e.data, header_values(e), ref.data, header_values(ref), pn, psf_ref)
    with pytest.raises(InputError, match="outside the image"):
        forced_photometry([d], [300.0], [10.0])

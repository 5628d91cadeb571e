"""Detection tables, DBSCAN candidates, real/bogus morphology and host matching."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rediscovery.cosmo.sn.detect import (
    add_cosmic_rays,
    cluster_detections,
    detect_sources,
    flux_for_snr,
    match_hosts,
    match_injections,
    moffat_psf,
    real_bogus_features,
    real_bogus_score,
    zogy,
)

SHAPE = (256, 256)


def test_detect_sources_finds_peaks_at_subpixel_positions():
    yy, xx = np.indices((64, 64), dtype=float)
    score = (8 * np.exp(-((xx - 20.3) ** 2 + (yy - 30.6) ** 2) / 8)
             + 6 * np.exp(-((xx - 45.0) ** 2 + (yy - 10.2) ** 2) / 8))
    det = detect_sources(score, 5.0, flux=score * 10, flux_err=2.0)
    assert list(det.columns) == ["x", "y", "significance", "flux", "flux_err", "npix"]
    assert len(det) == 2
    # strongest first; a parabola through a Gaussian peak of σ = 2 px is good to ~0.05 px
    assert det.x[0] == pytest.approx(20.3, abs=0.05) and det.y[0] == pytest.approx(30.6, abs=0.05)
    assert det.x[1] == pytest.approx(45.0, abs=0.05) and det.y[1] == pytest.approx(10.2, abs=0.05)
    assert det.flux_err.tolist() == [2.0, 2.0]
    assert len(detect_sources(score, 9.0)) == 0


def test_dbscan_groups_one_source_over_epochs_and_separates_neighbours():
    rng = np.random.default_rng(9)
    rows = []
    for epoch in range(6):
        mjd = 60000.0 + 3 * epoch
        for x0, y0, first in ((100.0, 100.0, 0), (110.0, 100.0, 2)):  # 10 px apart
            if epoch >= first:
                rows.append({"x": x0 + rng.normal(0, 0.3), "y": y0 + rng.normal(0, 0.3),
                             "mjd": mjd, "significance": 8.0, "real_bogus_score": 0.9})
        rows.append({"x": rng.uniform(0, 256), "y": rng.uniform(150, 256), "mjd": mjd,
                     "significance": 5.2, "real_bogus_score": 0.1})  # noise: never repeats
    det = pd.DataFrame(rows)
    labels, cands = cluster_detections(det, eps=1.5, min_samples=2)
    assert len(cands) == 2
    assert cands.n_detections.tolist() == [6, 4]
    assert cands.first_mjd.tolist() == [60000.0, 60006.0]
    assert cands.x.tolist() == pytest.approx([100.0, 110.0], abs=0.3)
    assert np.sum(labels == -1) == 6


def test_dbscan_with_no_cluster_gives_no_candidate():
    """Detections that never repeat (min_samples 2): labels −1 and an empty candidates table
    with the usual columns, in both coordinate systems (a field with only one-off noise)."""
    det = pd.DataFrame({"x": [10.0, 100.0], "y": [10.0, 100.0], "ra": [150.0, 150.01],
                        "dec": [2.0, 2.0], "mjd": [1.0, 2.0], "significance": [5.5, 6.0]})
    for coords in ("pixel", "sky"):
        labels, cands = cluster_detections(det, eps=1.5, min_samples=2, coords=coords)
        assert labels.tolist() == [-1, -1]
        assert len(cands) == 0 and {"cand_id", "x", "y", "first_mjd"} <= set(cands.columns)


def test_dbscan_in_sky_coordinates():
    det = pd.DataFrame({"ra": [150.0, 150.0 + 0.3 / 3600, 150.01], "dec": [2.0, 2.0, 2.0],
                        "mjd": [1.0, 2.0, 3.0]})
    labels, cands = cluster_detections(det, eps=1.0, min_samples=2, coords="sky")
    assert labels.tolist() == [0, 0, -1]
    assert cands.ra[0] == pytest.approx(150.0 + 0.15 / 3600)


def test_match_hosts_agrees_with_astropy():
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    rng = np.random.default_rng(10)
    hosts = pd.DataFrame({"host_id": np.arange(200) + 1000,
                          "ra": rng.uniform(10, 10.2, 200), "dec": rng.uniform(-30, -29.8, 200),
                          "z": rng.uniform(0.1, 1, 200)})
    ra = hosts.ra.to_numpy()[:50] + rng.normal(0, 1, 50) / 3600
    dec = hosts.dec.to_numpy()[:50] + rng.normal(0, 1, 50) / 3600
    m = match_hosts(ra, dec, hosts, radius_arcsec=2.0)
    idx, sep, _ = SkyCoord(ra * u.deg, dec * u.deg).match_to_catalog_sky(
        SkyCoord(hosts.ra.to_numpy() * u.deg, hosts.dec.to_numpy() * u.deg))
    within = sep.arcsec < 2.0
    assert m.host_id.to_numpy()[within].tolist() == hosts.host_id.to_numpy()[idx[within]].tolist()
    assert (m.host_id.to_numpy()[~within] == -1).all()
    np.testing.assert_allclose(m.host_sep_arcsec.to_numpy()[within], sep.arcsec[within],
                               rtol=1e-6)
    assert m.z.isna().sum() == (~within).sum()


def test_real_bogus_rejects_cosmic_rays_and_keeps_point_sources(synth):
    """Specification: ≥ 95 % of single-pixel cosmic rays rejected, ≥ 95 % of PSF-shaped
    sources at S/N ≥ 10 kept (score ≥ 0.5)."""
    rng = np.random.default_rng(11)
    g = np.arange(16, 256 - 16, 32.0)
    gx, gy = np.meshgrid(g, g)
    sx = gx.ravel()[::2] + rng.uniform(-0.5, 0.5, gx.size // 2 + 1)
    sy = gy.ravel()[::2] + rng.uniform(-0.5, 0.5, gx.size // 2 + 1)
    cx, cy = gx.ravel()[1::2], gy.ravel()[1::2]
    kept, rejected, n_cr_detected = [], [], 0
    for fwhm_new in (3.0, 4.0, 5.0):
        p0 = synth.make_pair(rng, SHAPE, fwhm_new=fwhm_new)
        snr = rng.uniform(10, 60, sx.size)
        flux = flux_for_snr(snr, p0.psf_new, p0.psf_ref, p0.sigma_new, p0.sigma_ref)
        p = synth.make_pair(rng, SHAPE, fwhm_new=fwhm_new, transients=(sx, sy, flux))
        new = add_cosmic_rays(p.new, cx, cy, rng.uniform(20, 300, cx.size) * p.sigma_new)
        z = zogy(new, p.ref, p.psf_new, p.psf_ref, p.sigma_new, p.sigma_ref)
        det = detect_sources(z.S_corr, 5.0)
        det["score"] = real_bogus_score(real_bogus_features(z.D, z.P_D, z.cr_kernel,
                                                            det.x, det.y))
        m_src = match_injections(det, sx, sy, 2.0)
        kept.append(np.where(m_src >= 0, det.score.to_numpy()[np.maximum(m_src, 0)], 0) >= 0.5)
        m_cr = match_injections(det, cx, cy, 2.0)
        n_cr_detected += np.sum(m_cr >= 0)
        rejected.append(det.score.to_numpy()[m_cr[m_cr >= 0]] < 0.5)
    assert np.mean(np.concatenate(kept)) >= 0.95
    assert n_cr_detected >= 60  # most cosmic rays are bright enough to pass the 5 σ threshold
    assert np.mean(np.concatenate(rejected)) >= 0.95


def test_real_bogus_rejects_dipoles(synth):
    """A misregistered bright star (0.5 px) leaves a dipole: negative lobe, low score."""
    rng = np.random.default_rng(12)
    p = synth.make_pair(rng, SHAPE, stars=(np.array([128.0]), np.array([128.0]),
                                           np.array([3e5])))
    psf = moffat_psf(4.0, 3.5, 31)
    from rediscovery.cosmo.sn.detect import inject_point_sources
    shifted = inject_point_sources(p.new - inject_point_sources(np.zeros(SHAPE), psf, 128, 128,
                                                               3e5), psf, 128.5, 128.0, 3e5)
    z = zogy(shifted, p.ref, p.psf_new, p.psf_ref, p.sigma_new, p.sigma_ref)
    det = detect_sources(z.S_corr, 5.0)
    assert len(det) >= 1
    f = real_bogus_features(z.D, z.P_D, z.cr_kernel, det.x, det.y)
    assert (real_bogus_score(f) < 0.5).all()


def test_match_hosts_keeps_string_host_ids():
    """The survey simulator's hosts.csv names hosts like ``field00_G0009``: kept as given."""
    hosts = pd.DataFrame({"host_id": ["field00_G0001", "field00_G0002"], "ra": [10.0, 10.01],
                          "dec": [-5.0, -5.0], "z": [0.3, 0.5]})
    out = match_hosts([10.0, 10.01, 11.0], [-5.0, -5.0, -5.0], hosts, radius_arcsec=2.0)
    assert out["host_id"].tolist()[:2] == ["field00_G0001", "field00_G0002"]
    assert pd.isna(out["host_id"].iloc[2]) and np.isnan(out["z"].iloc[2])
    assert out["z"].tolist()[:2] == [0.3, 0.5]

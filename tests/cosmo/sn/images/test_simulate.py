"""The simulated images measured like real ones: positions, fluxes, noise, seeing, truth."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.sn.images import (
    TRUTH_ZP,
    ImageSurvey,
    draw_scene,
    list_survey,
    read_image,
    render_images,
    write_image,
)
from rediscovery.cosmo.sn.images.measure import fit_moffat, star_stamp
from rediscovery.cosmo.sn.simulate import draw_truth

from .conftest import INJECTED, SEED, SMALL


@pytest.fixture(scope="module")
def clean_images(clean_scene, tmp_path_factory):
    """Every image of the clean scene, written to FITS and read back."""
    root = tmp_path_factory.mktemp("clean")
    out = []
    for im in render_images(clean_scene):
        write_image(root / im.path, im.data, im.header, im.wcs)
        out.append(read_image(root / im.path))
    return out


def test_headers_present_and_sensible(survey_dir):
    layout = list_survey(survey_dir)
    assert list(layout) == ["field00"] and list(layout["field00"]) == ["g", "r"]
    for band, files in layout["field00"].items():
        assert len(files.epochs) == SMALL["n_epochs"]
        ref = read_image(files.reference)
        mjds = []
        for path in files.epochs:
            img = read_image(path)
            assert img.band == f"sdss{band}" and img.header["FILTER"] == band
            assert 60000 <= img.mjd <= 60180
            assert 28 < img.zp < 32 and 0.3 < img.seeing < 2.0
            assert img.gain == 4.0 and img.rdnoise == 7.0 and img.saturate == 60000.0
            assert img.skylevel > 0 and np.median(img.data) == pytest.approx(img.skylevel,
                                                                             rel=0.05)
            assert img.data.dtype == np.float32 and img.data.shape == (128, 128)
            assert img.data.max() <= img.saturate
            assert img.pixel_scale == pytest.approx(0.26)
            assert img.header["IMAGETYP"] == "epoch"
            mjds.append(img.mjd)
        assert np.all(np.diff(mjds) > 0)                          # epochs in time order
        # the reference is a deeper stack: 16 exposures, 2.5 log10(16) mag more ZP, earlier
        assert ref.header["NCOMBINE"] == 16 and ref.mjd < min(mjds) - 100
        assert ref.zp == pytest.approx(img.zp + 2.5 * np.log10(16), abs=0.3)
        assert ref.rdnoise == pytest.approx(7.0 * 4)


def test_wcs_maps_catalogue_positions_onto_star_centroids(clean_scene, clean_images):
    """Every injected star's fitted centre is where the image's WCS puts its catalogue
    ra/dec, within 0.1 pixel, in every exposure (pointing offsets up to 1 pixel)."""
    stars = clean_scene.stars
    offsets = []
    for img in clean_images:
        xp, yp = img.wcs.wcs_world2pix(stars["ra"], stars["dec"], 0)
        for x, y in zip(xp, yp, strict=True):
            stamp, x0, y0 = star_stamp(img.data, x, y)
            fit = fit_moffat(stamp, img.skylevel)
            assert fit["x"] + x0 == pytest.approx(x, abs=0.1)
            assert fit["y"] + y0 == pytest.approx(y, abs=0.1)
        offsets.append(xp[0] - INJECTED[0][0])
    # the exposures really are misregistered (so the test checks the WCS, not a fixed grid)
    assert np.ptp(offsets) > 0.3 and np.max(np.abs(offsets)) <= 1.0


def test_point_source_counts_match_the_zero_point(clean_scene, clean_images):
    """Sky-subtracted counts of each isolated star equal 10^(0.4 (ZP − mag)) within the
    Poisson + read noise of the aperture (pulls |z| < 4, mean pull small)."""
    stars = clean_scene.stars
    pulls = []
    yy, xx = np.mgrid[:128, :128]
    for img in clean_images:
        band = img.header["FILTER"]
        xp, yp = img.wcs.wcs_world2pix(stars["ra"], stars["dec"], 0)
        for x, y, mag in zip(xp, yp, stars[f"mag_{band}"], strict=True):
            ap = np.hypot(xx - x, yy - y) < 25           # ~ 20 FWHM: > 99.7% of the light
            expected = 10 ** (0.4 * (img.zp - mag))
            measured = (img.data[ap] - img.skylevel).sum()
            var = (expected * img.gain + ap.sum() * (img.skylevel * img.gain
                                                     + img.rdnoise**2)) / img.gain**2
            pulls.append((measured - expected) / np.sqrt(var))
    pulls = np.array(pulls)
    assert np.all(np.abs(pulls) < 4), pulls
    assert abs(pulls.mean()) < 4 / np.sqrt(len(pulls)) + 0.5   # Moffat wings beyond r = 25


def test_empty_sky_noise_matches_the_header(truth):
    """An exposure with nothing in it: std = sqrt(SKYLEVEL·GAIN + RDNOISE²)/GAIN ADU."""
    cfg = ImageSurvey(**SMALL, star_density=0.0, galaxy_density=0.0, sne_per_field=0,
                      transients_per_field=0, cosmic_rays=0.0, hot_pixels=0)
    for im in render_images(draw_scene(cfg, truth, seed=SEED)):
        h = {k: v[0] for k, v in im.header.items()}
        expected = np.sqrt(h["SKYLEVEL"] * h["GAIN"] + h["RDNOISE"] ** 2) / h["GAIN"]
        assert im.data.std() == pytest.approx(expected, rel=0.03)
        assert im.data.mean() == pytest.approx(h["SKYLEVEL"], abs=5 * expected / 128)


def test_star_fwhm_matches_seeing(clean_scene, clean_images):
    """Fitted Moffat FWHM of the stars = SEEING / pixel scale within 5% in every image."""
    stars = clean_scene.stars
    for img in clean_images:
        xp, yp = img.wcs.wcs_world2pix(stars["ra"], stars["dec"], 0)
        fwhm = [fit_moffat(star_stamp(img.data, x, y)[0], img.skylevel)["fwhm"]
                for x, y in zip(xp, yp, strict=True)]
        assert np.median(fwhm) * img.pixel_scale == pytest.approx(img.seeing, rel=0.05)


def test_truth_fluxes_equal_sncosmo_model_fluxes(survey_dir):
    """truth_fluxes.csv against an independent sncosmo SALT2 model built here from the model
    files, for each SN's truth.json parameters; counts = flux · 10^(0.4 (ZP_image − zp))."""
    import sncosmo

    from rediscovery.cosmo.sn.images import register_bandpasses
    from rediscovery.cosmo.sn.salt2 import salt2_modeldir

    register_bandpasses()
    d, version = salt2_modeldir()
    model = sncosmo.Model(source=sncosmo.SALT2Source(modeldir=str(d), version=version))
    truth = json.loads((survey_dir / "truth.json").read_text())
    fluxes = pd.read_csv(survey_dir / "truth_fluxes.csv")
    assert list(fluxes.columns[:6]) == ["sn_id", "time", "band", "flux", "zp", "zpsys"]
    assert len(truth["sne"]) == 3 and len(fluxes) == 3 * 2 * SMALL["n_epochs"]
    for sn in truth["sne"]:
        model.set(z=sn["z"], t0=sn["t0"], x0=sn["x0"], x1=sn["x1"], c=sn["c"])
        mine = fluxes[fluxes["sn_id"] == sn["sn_id"]]
        for row in mine.itertuples():
            ref = model.bandflux(row.band, row.time, zp=row.zp, zpsys=row.zpsys)
            assert row.flux == pytest.approx(ref, rel=1e-9, abs=1e-12)
            img = read_image(survey_dir / row.image)
            assert img.mjd == pytest.approx(row.time, abs=1e-9) and img.band == row.band
            assert row.counts == pytest.approx(row.flux * 10 ** (0.4 * (img.zp - row.zp)))
    assert (fluxes["zp"] == TRUTH_ZP).all() and (fluxes["zpsys"] == "ab").all()


def test_sn_light_is_in_the_image(truth):
    """The SN's counts in an epoch image (hosts made invisible) equal truth_fluxes' counts."""
    cfg = ImageSurvey(**{**SMALL, "n_epochs": 6}, star_density=0.0, galaxy_density=0.0,
                      sne_per_field=2, transients_per_field=0, cosmic_rays=0.0, hot_pixels=0)
    scene = draw_scene(cfg, truth, seed=SEED)
    scene.galaxies = scene.galaxies.assign(mag_g=40.0, mag_r=40.0)
    best = scene.sn_fluxes.sort_values("counts").iloc[-1]
    assert best["counts"] > 300
    sn = scene.sne.set_index("sn_id").loc[best["sn_id"]]
    yy, xx = np.mgrid[:128, :128]
    for im in render_images(scene):
        if im.path != best["image"]:
            continue
        x, y = im.wcs.wcs_world2pix(sn["ra"], sn["dec"], 0)
        ap = np.hypot(xx - x, yy - y) < 25
        h = {k: v[0] for k, v in im.header.items()}
        measured = (im.data[ap] - h["SKYLEVEL"]).sum()
        sigma = np.sqrt(ap.sum() * (h["SKYLEVEL"] * h["GAIN"] + h["RDNOISE"] ** 2)
                        + best["counts"] * h["GAIN"]) / h["GAIN"]
        assert measured == pytest.approx(best["counts"], abs=4 * sigma)
        break
    else:
        pytest.fail("image not rendered")


def test_truth_follows_the_blind_convention(survey_dir, truth):
    t = json.loads((survey_dir / "truth.json").read_text())
    ref = draw_truth(SEED)   # the same hidden universe as `cosmo run --seed` / sn-simulate
    assert (t["H0"], t["Om"], t["OL"], t["hidden"]) == (ref.H0, ref.Om, ref.OL, True)
    assert {"alpha", "beta", "sigma_int"} <= set(t["population"])
    kinds = {i["kind"] for i in t["impostors"]}
    assert {"variable_star", "gaussian_transient", "power_law_decline", "hot_pixels"} <= kinds
    sn = t["sne"][0]
    assert {"sn_id", "field", "ra", "dec", "z", "t0", "x0", "x1", "c"} <= set(sn)
    # the public files hold no hidden number, and a host_id does not tell an SN host
    survey = json.loads((survey_dir / "survey.json").read_text())
    assert not {"H0", "Om", "OL", "sne", "impostors", "population"} & set(survey)
    hosts = pd.read_csv(survey_dir / "hosts.csv")
    assert list(hosts.columns) == ["host_id", "field", "ra", "dec", "z"]
    assert hosts["host_id"].str.fullmatch(r"field\d\d_G\d{4}").all()
    assert hosts.groupby("field")["ra"].apply(lambda r: r.is_monotonic_increasing).all()
    assert {t_sn["host_id"] for t_sn in t["sne"]} <= set(hosts["host_id"])
    on_host = [i for i in t["impostors"] if i.get("host_id")]
    assert {i["host_id"] for i in on_host} <= set(hosts["host_id"])
    stars = pd.read_csv(survey_dir / "stars.csv")
    assert list(stars.columns) == ["star_id", "field", "ra", "dec", "mag_g", "mag_r"]
    assert sum(i["n_cosmic_rays"] for i in t["images"]) > 0


def test_deterministic_by_seed(truth):
    cfg = ImageSurvey(**{**SMALL, "n_epochs": 1, "bands": "r"})
    a, b = draw_scene(cfg, truth, seed=3), draw_scene(cfg, truth, seed=3)
    c = draw_scene(cfg, truth, seed=4)
    pd.testing.assert_frame_equal(a.images, b.images)
    pd.testing.assert_frame_equal(a.sne, b.sne)
    assert not np.allclose(a.images["seeing"], c.images["seeing"])
    for ia, ib, ic in zip(render_images(a), render_images(b), render_images(c), strict=True):
        np.testing.assert_array_equal(ia.data, ib.data)
        assert ia.header == ib.header
        assert not np.array_equal(ia.data, ic.data)


@pytest.mark.parametrize(("change", "option"), [
    ({"bands": "gx"}, "--bands"), ({"bands": "gg"}, "--bands"), ({"bands": ""}, "--bands"),
    ({"size": 0}, "--size"), ({"size": -5}, "--size"), ({"n_fields": 0}, "--fields"),
    ({"n_epochs": 0}, "--epochs"), ({"pixel_scale": -0.2}, "--pixel-scale"),
    ({"sne_per_field": -1}, "--sne-per-field"), ({"bands": "griz", "z_max": 0.1}, "--z-max"),
    ({"seeing_ratio": (1.5, 1.0)}, "seeing_ratio"), ({"gain": 0.0}, "gain"),
])
def test_bad_parameters_name_the_option(change, option):
    with pytest.raises(ConfigError, match=rf"^{option} "):
        dataclasses.replace(ImageSurvey(**SMALL), **change)


def test_hot_pixels_are_fixed_on_the_ccd(survey_dir):
    """Hot pixels sit at the same pixel in every epoch and band (not in the stacked
    reference), whatever the pointing; saturation clips them at SATURATE."""
    t = json.loads((survey_dir / "truth.json").read_text())
    hot = next(i for i in t["impostors"] if i["kind"] == "hot_pixels")
    x, y, adu = (np.array(hot[k]) for k in ("x", "y", "adu"))
    for band, files in list_survey(survey_dir)["field00"].items():
        for path in files.epochs:
            img = read_image(path)
            expected = np.minimum(img.skylevel + adu, img.saturate)
            assert np.all(img.data[y, x] > expected - 10 * np.sqrt(img.skylevel)), (band, path)
            assert np.all(img.data[y, x] <= img.saturate)
        ref = read_image(files.reference)
        assert np.all(ref.data[y, x] < ref.skylevel + 0.1 * adu)

"""Small simulated surveys shared by the image tests (1 field, 2 bands, 3 epochs, 128 px)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rediscovery.cosmo.sn.images import ImageSurvey, draw_scene, write_survey
from rediscovery.cosmo.sn.simulate import draw_truth

SEED = 11
#: The small survey of the tests.
SMALL = {"n_fields": 1, "bands": "gr", "n_epochs": 3, "size": 128}
#: Isolated bright stars injected in the measurement scene: (x, y) field pixels, r mag.
INJECTED = [(32.3, 30.6, 18.0), (94.7, 33.2, 18.5), (35.1, 95.9, 18.2), (90.4, 92.45, 17.8)]


def pixel_moffat(shape, x0, y0, flux, alpha, beta, sky, sub=5):
    """Pixel-integrated (sub × sub samples) Moffat image: the model the tests fit."""
    ny, nx = shape
    off = (np.arange(sub) + 0.5) / sub - 0.5
    xs = (np.arange(nx)[:, None] + off[None, :]).ravel() - x0
    ys = (np.arange(ny)[:, None] + off[None, :]).ravel() - y0
    prof = (1 + (xs[None, :] ** 2 + ys[:, None] ** 2) / alpha**2) ** (-beta)
    prof = prof.reshape(ny, sub, nx, sub).mean(axis=(1, 3))
    return sky + flux * (beta - 1) / (np.pi * alpha**2) * prof


def fit_moffat(stamp: np.ndarray, sky: float) -> dict[str, float]:
    """Least-squares Moffat fit of a star stamp (free centre, flux, α, β; sky fixed)."""
    from scipy.optimize import least_squares

    ny, nx = stamp.shape
    peak = np.unravel_index(np.argmax(stamp), stamp.shape)
    p0 = [peak[1], peak[0], (stamp - sky).sum(), 2.0, 3.0]

    def resid(p):
        return (pixel_moffat(stamp.shape, *p, sky) - stamp).ravel()

    res = least_squares(resid, p0, bounds=([0, 0, 0, 0.3, 1.2], [nx, ny, np.inf, 20, 10]))
    x0, y0, flux, alpha, beta = res.x
    return {"x": x0, "y": y0, "flux": flux,
            "fwhm": 2 * alpha * np.sqrt(2 ** (1 / beta) - 1), "beta": beta}


@pytest.fixture(scope="session")
def truth():
    return draw_truth(SEED)


@pytest.fixture(scope="session")
def survey_dir(tmp_path_factory, truth):
    """A complete small survey written with every ingredient (defaults except the size)."""
    out = tmp_path_factory.mktemp("sn_images") / "survey"
    scene = draw_scene(ImageSurvey(**SMALL, star_density=20.0, galaxy_density=30.0,
                                   sne_per_field=3, transients_per_field=2,
                                   variable_fraction=0.3), truth, seed=SEED)
    write_survey(out, scene, progress=False)
    return out


@pytest.fixture(scope="session")
def clean_scene(truth):
    """A scene with only the INJECTED stars (no galaxies, SNe, transients, defects); fields
    and exposure conditions as drawn."""
    cfg = ImageSurvey(**SMALL, star_density=0.0, galaxy_density=0.0, sne_per_field=0,
                      transients_per_field=0, cosmic_rays=0.0, hot_pixels=0,
                      variable_fraction=0.0)
    scene = draw_scene(cfg, truth, seed=SEED)
    from rediscovery.cosmo.sn.images import field_wcs

    f = scene.fields.iloc[0]
    w = field_wcs(f.ra, f.dec, cfg.size, cfg.pixel_scale)
    x, y, mag = (np.array(c) for c in zip(*INJECTED, strict=True))
    ra, dec = w.wcs_pix2world(x, y, 0)
    gr = 0.6
    scene.stars = pd.DataFrame({"star_id": [f"inj{k}" for k in range(len(x))],
                                "field": f.field, "ra": ra, "dec": dec, "mag_g": mag + gr,
                                "mag_r": mag, "variable": False, "period": np.nan,
                                "amplitude": np.nan, "phase": np.nan})
    return scene

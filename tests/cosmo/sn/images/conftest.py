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

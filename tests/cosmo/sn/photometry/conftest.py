"""A small simulated survey shared by the photometry and sn-detect tests (1 field, g and r,
6 epochs, 256 px, 8 SNe Ia), written once per session with a fixed seed."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from rediscovery.cosmo.sn.images import ImageSurvey, draw_scene, write_survey
from rediscovery.cosmo.sn.simulate import draw_truth

SEED = 3
SURVEY = {"n_fields": 1, "bands": "gr", "n_epochs": 6, "size": 256, "sne_per_field": 8,
          "z_max": 0.5}


@pytest.fixture(scope="session")
def survey_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sn_phot") / "survey"
    write_survey(out, draw_scene(ImageSurvey(**SURVEY), draw_truth(SEED), seed=SEED),
                 progress=False)
    return out


@pytest.fixture(scope="session")
def truth(survey_dir):
    return json.loads((survey_dir / "truth.json").read_text())


@pytest.fixture(scope="session")
def truth_fluxes(survey_dir):
    return pd.read_csv(survey_dir / "truth_fluxes.csv")

"""Bad input stops with an error naming the parameter and what was expected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.cosmo.sn.detect import (
    alard_lupton,
    cluster_detections,
    detect_sources,
    match_hosts,
    measure_psf,
    moffat_psf,
    zogy,
)

PSF = moffat_psf(3.0, 3.5, 15)
IMG = np.zeros((64, 64))


def test_images_of_different_shapes():
    with pytest.raises(InputError, match=r"reference.*shape \(64, 63\).*same pixel grid"):
        zogy(IMG, np.zeros((64, 63)), PSF, PSF, 1.0, 1.0)
    with pytest.raises(InputError, match="reference"):
        alard_lupton(IMG, np.zeros((63, 64)))


def test_psf_not_normalised_or_even():
    with pytest.raises(InputError, match=r"psf_new.*sums to 2.*unit-sum"):
        zogy(IMG, IMG, 2 * PSF, PSF, 1.0, 1.0)
    with pytest.raises(InputError, match=r"psf_ref.*\(14, 14\).*odd sides"):
        zogy(IMG, IMG, PSF, np.full((14, 14), 1 / 196), 1.0, 1.0)


def test_nans():
    bad = IMG.copy()
    bad[3, 4] = np.nan
    with pytest.raises(InputError, match=r"'new'.*1 pixel\(s\) are NaN"):
        zogy(bad, IMG, PSF, PSF, 1.0, 1.0)
    with pytest.raises(InputError, match="score"):
        detect_sources(bad, 5.0)
    with pytest.raises(InputError, match="psf_new"):
        zogy(IMG, IMG, np.where(PSF > PSF.max() / 2, np.nan, PSF), PSF, 1.0, 1.0)


@pytest.mark.parametrize("sigma", [0.0, -1.0, np.nan])
def test_non_positive_noise(sigma):
    with pytest.raises(ConfigError, match="sigma_new: expected a positive"):
        zogy(IMG, IMG, PSF, PSF, sigma, 1.0)
    with pytest.raises(ConfigError, match="sigma_ref"):
        zogy(IMG, IMG, PSF, PSF, 1.0, sigma)


def test_non_positive_variance_image():
    with pytest.raises(InputError, match=r"var_new.*variance <= 0"):
        zogy(IMG, IMG, PSF, PSF, 1.0, 1.0, var_new=np.zeros((64, 64)))


def test_other_settings():
    with pytest.raises(ConfigError, match="threshold"):
        detect_sources(IMG, 0.0)
    with pytest.raises(InputError, match="'mjd'"):
        cluster_detections(pd.DataFrame({"x": [1.0], "y": [1.0]}))
    with pytest.raises(ConfigError, match="coords"):
        cluster_detections(pd.DataFrame({"x": [1.0], "y": [1.0], "mjd": [1]}), coords="deg")
    with pytest.raises(InputError, match="'z'"):
        match_hosts([1.0], [1.0], pd.DataFrame({"host_id": [1], "ra": [1.0], "dec": [1.0]}))
    with pytest.raises(InputError, match="no usable star"):
        measure_psf(IMG, [2.0], [2.0], size=15)
    with pytest.raises(InputError, match="odd stamp size"):
        moffat_psf(3.0, 3.5, 14)


def test_zero_points_and_flux_scales():
    with pytest.raises(ConfigError, match="zp_new, zp_ref"):
        zogy(IMG, IMG, PSF, PSF, 1.0, 1.0, zp_new=25.0)
    with pytest.raises(ConfigError, match="zp_new, zp_ref"):
        zogy(IMG, IMG, PSF, PSF, 1.0, 1.0, f_new=1.2, zp_new=25.0, zp_ref=25.0)
    with pytest.raises(ConfigError, match="f_new"):
        zogy(IMG, IMG, PSF, PSF, 1.0, 1.0, f_new=0.0)


def test_detect_field_names_the_bad_image():
    from rediscovery.cosmo.sn.detect import detect_field

    header = {"MJD": 1.0, "ZP": 25.0, "GAIN": 1.0, "SKYLEVEL": 100.0, "RDNOISE": 5.0}
    bad = IMG.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InputError, match=r"'new_images\[0\]'.*NaN"):
        detect_field([bad], [header], IMG, header, psf_ref=PSF, psfs_new=[PSF], align=False)
    with pytest.raises(InputError, match=r"'new_images\[0\]'.*shape"):
        detect_field([np.zeros((64, 65))], [header], IMG, header, psf_ref=PSF, psfs_new=[PSF],
                     align=False)

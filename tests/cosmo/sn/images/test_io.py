"""FITS reading and survey listing: round trip and clear errors naming file and key."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from rediscovery.core.errors import InputError
from rediscovery.cosmo.sn.images import (
    REQUIRED_KEYS,
    field_wcs,
    list_survey,
    read_hosts,
    read_image,
    read_stars,
    write_image,
)

HEADER = {"MJD": 60010.5, "BAND": "sdssr", "ZP": 30.7, "SEEING": 0.9, "GAIN": 4.0,
          "SKYLEVEL": 150.0, "RDNOISE": 7.0, "SATURATE": 60000.0}


def _write(path, shape=(8, 8), header=None, wcs=True):
    data = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    w = field_wcs(150.0, 2.0, shape[0], 0.26, (0.3, -0.2))
    if wcs:
        return write_image(path, data, HEADER if header is None else header, w)
    hdr = fits.Header()
    for k, v in (HEADER if header is None else header).items():
        hdr[k] = v
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.PrimaryHDU(data, hdr).writeto(path)
    return path


def test_round_trip(tmp_path):
    p = _write(tmp_path / "a.fits")
    img = read_image(p)
    assert img.data.shape == (8, 8) and img.data[1, 0] == 8.0      # data[y, x]
    assert (img.mjd, img.band, img.zp, img.seeing, img.gain, img.skylevel, img.rdnoise,
            img.saturate) == tuple(HEADER.values())
    assert img.pixel_scale == pytest.approx(0.26)
    # the WCS written with the pointing offset (0.3, -0.2) pixels maps like the one in memory
    w = field_wcs(150.0, 2.0, 8, 0.26, (0.3, -0.2))
    np.testing.assert_allclose(img.wcs.wcs_pix2world([[1.5, 2.5]], 0),
                               w.wcs_pix2world([[1.5, 2.5]], 0), rtol=0, atol=1e-12)
    assert not list(tmp_path.glob(".*.tmp"))                        # atomic: no leftovers


@pytest.mark.parametrize("key", list(REQUIRED_KEYS))
def test_missing_key_names_file_and_key(tmp_path, key):
    p = _write(tmp_path / "a.fits", header={k: v for k, v in HEADER.items() if k != key})
    with pytest.raises(InputError, match=rf"a\.fits: missing header key '{key}'"):
        read_image(p)


def test_missing_wcs(tmp_path):
    p = _write(tmp_path / "nowcs.fits", wcs=False)
    with pytest.raises(InputError, match=r"nowcs\.fits: missing WCS header key 'CTYPE1'"):
        read_image(p)


@pytest.mark.parametrize(("key", "value", "match"), [
    ("SEEING", 0.0, "'SEEING' = 0.0: expected > 0"), ("GAIN", -1.0, "'GAIN' = -1.0"),
    ("SKYLEVEL", -3.0, "'SKYLEVEL' = -3.0: expected >= 0"), ("ZP", "abc", "'ZP' = 'abc'"),
    ("BAND", 3, "'BAND' = 3"),
])
def test_bad_values(tmp_path, key, value, match):
    p = _write(tmp_path / "a.fits", header={**HEADER, key: value})
    with pytest.raises(InputError, match=match):
        read_image(p)


def test_not_fits_and_missing(tmp_path):
    (tmp_path / "x.fits").write_text("hello")
    with pytest.raises(InputError, match=r"x\.fits: cannot be read as FITS"):
        read_image(tmp_path / "x.fits")
    with pytest.raises(InputError, match="image not found"):
        read_image(tmp_path / "none.fits")
    with pytest.raises(InputError, match="expected a 2-D image"):
        fits.PrimaryHDU(np.zeros(5, dtype=np.float32)).writeto(tmp_path / "v.fits")
        read_image(tmp_path / "v.fits")


def test_list_survey(tmp_path):
    for band in ("g", "r"):
        _write(tmp_path / "field00" / band / "reference.fits")
        for e in (1, 0, 2):
            _write(tmp_path / "field00" / band / f"epoch{e:03d}.fits")
    _write(tmp_path / "field01" / "g" / "reference.fits", shape=(16, 16))
    layout = list_survey(tmp_path)
    assert list(layout) == ["field00", "field01"]
    assert [p.name for p in layout["field00"]["r"].epochs] == [
        "epoch000.fits", "epoch001.fits", "epoch002.fits"]
    assert layout["field01"]["g"].reference.name == "reference.fits"
    assert layout["field01"]["g"].epochs == []


def test_list_survey_refuses_mixed_sizes(tmp_path):
    _write(tmp_path / "field00" / "g" / "reference.fits")
    _write(tmp_path / "field00" / "g" / "epoch000.fits")
    _write(tmp_path / "field00" / "r" / "reference.fits", shape=(16, 8))
    with pytest.raises(InputError, match=r"images of field 'field00' differ in size: .*"
                       r"g/reference\.fits is 8x8 pixels, .*r/reference\.fits is 8x16"):
        list_survey(tmp_path)


def test_list_survey_errors(tmp_path):
    with pytest.raises(InputError, match="survey folder not found"):
        list_survey(tmp_path / "nope")
    with pytest.raises(InputError, match="no images found"):
        list_survey(tmp_path)
    _write(tmp_path / "field00" / "g" / "epoch000.fits")
    with pytest.raises(InputError, match=r"1 epoch images but no reference\.fits"):
        list_survey(tmp_path)


def test_catalogues(survey_dir, tmp_path):
    stars, hosts = read_stars(survey_dir / "stars.csv"), read_hosts(survey_dir / "hosts.csv")
    assert len(stars) > 0 and len(hosts) > 0
    (tmp_path / "bad.csv").write_text("star_id,ra\nA,1\n")
    with pytest.raises(InputError, match=r"bad\.csv: missing columns \['field', 'dec'\]"):
        read_stars(tmp_path / "bad.csv")

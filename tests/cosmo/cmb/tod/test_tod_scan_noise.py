"""Pointing against ERFA's independent horizon → equatorial transform, the sweep, and the
noise spectrum of the simulator against its model."""

from __future__ import annotations

import itertools
import math

import erfa
import numpy as np
import pytest

from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.cmb.tod import (
    Detector,
    ScanStrategy,
    detector_pointing,
    horizon_to_equatorial,
    noise_psd,
    simulate_noise,
)
from rediscovery.cosmo.cmb.tod.scan import EARTH_ROTATION_RATE, boresight_azel


def test_horizon_to_equatorial_matches_erfa_ae2hd() -> None:
    # erfa.ae2hd (SOFA iauAe2hd): azimuth, elevation, latitude -> hour angle, declination
    rng = np.random.default_rng(1)
    az = rng.uniform(0, 2 * np.pi, 500)
    el = rng.uniform(0.05, 1.5, 500)
    lat = math.radians(-22.96)
    lst = rng.uniform(0, 2 * np.pi, 500)
    ra, dec = horizon_to_equatorial(az, el, lat, lst)
    ha_ref, dec_ref = erfa.ae2hd(az, el, lat)
    np.testing.assert_allclose(dec, dec_ref, atol=1e-12)
    dra = np.angle(np.exp(1j * (ra - (lst - ha_ref))))
    np.testing.assert_allclose(dra, 0.0, atol=1e-12)


def test_sweep_and_sky_rotation() -> None:
    scan = ScanStrategy()
    t = np.arange(0.0, 120.0, 0.1)
    az, el = boresight_azel(t, scan)
    assert np.degrees(az).min() == pytest.approx(135.0) and np.degrees(az).max() == \
        pytest.approx(225.0)
    assert np.all(el == math.radians(50.0))
    # constant az speed 3 deg/s except at the turnarounds
    speed = np.abs(np.diff(np.degrees(az))) / 0.1
    assert np.median(speed) == pytest.approx(3.0)
    # the sky turns at the sidereal rate: same az/el later = same dec, RA shifted by ω⊕ Δt
    det = Detector("d", 0.0, 0.0)
    th0, ph0 = detector_pointing(np.array([10.0]), scan, det)
    dt = 3 * 60 * scan.sweep_period  # same sweep phase 3 hours later
    th1, ph1 = detector_pointing(np.array([10.0 + dt]), scan, det)
    assert th1[0] == pytest.approx(th0[0], abs=1e-12)
    assert np.angle(np.exp(1j * (ph1[0] - ph0[0] - EARTH_ROTATION_RATE * dt))) == \
        pytest.approx(0.0, abs=1e-12)
    # declination band of the default scan: -63 to -46 degrees (docs)
    th, _ = detector_pointing(np.arange(0, 86400.0, 1.0), scan, det)
    dec = 90 - np.degrees(th)
    assert dec.min() == pytest.approx(-62.96, abs=0.05)
    assert dec.max() == pytest.approx(-45.9, abs=0.2)


def test_detector_offset_moves_elevation() -> None:
    scan = ScanStrategy(az_half_width=0.1, az_speed=0.01)
    t = np.array([0.0])
    up = Detector("up", 0.0, math.radians(1.0))
    th0, _ = detector_pointing(t, scan, Detector("c"))
    th1, _ = detector_pointing(t, scan, up)
    # at az ~ 180 (South) from a southern site, higher elevation = further from the pole
    assert np.degrees(th0 - th1)[0] == pytest.approx(1.0, abs=1e-3)


def test_bad_parameters_refused() -> None:
    with pytest.raises(ConfigError, match="elevation"):
        ScanStrategy(elevation=95.0)
    with pytest.raises(ConfigError, match="alpha"):
        Detector("d", alpha=0.0)
    with pytest.raises(ConfigError, match="larger than 10"):
        Detector("d", dx=1.0)


@pytest.mark.parametrize("alpha", [1.0, 2.0])
def test_noise_spectrum_matches_model(alpha: float) -> None:
    n, fs = 1 << 18, 10.0
    x = simulate_noise(n, fs, 300.0, 1.0, alpha, np.random.default_rng(7))
    f = np.fft.rfftfreq(n, 1 / fs)
    per = np.abs(np.fft.rfft(x)) ** 2 / n  # estimates P(f_k) (eigenvalue convention)
    model = noise_psd(f, 300.0, 1.0, alpha)
    edges = np.geomspace(0.01, 5.0, 12)
    for lo, hi in itertools.pairwise(edges):
        sel = (f >= lo) & (f < hi)
        ratio = per[sel].mean() / model[sel].mean()
        # each band averages >= ~50 chi2(2)/2 values: relative error <~ 1/sqrt(N)
        assert ratio == pytest.approx(1.0, abs=5.0 / math.sqrt(sel.sum())), (lo, hi)
    assert abs(x.mean()) < 1e-9  # no DC term


def test_white_noise_variance() -> None:
    x = simulate_noise(200_000, 10.0, 300.0, 0.0, 1.0, np.random.default_rng(3))
    assert x.std() == pytest.approx(300.0, rel=0.01)

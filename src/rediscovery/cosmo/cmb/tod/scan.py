"""Scan strategy and pointing: constant-elevation azimuth sweeps of a ground telescope.

The boresight sweeps in azimuth at constant elevation with a triangle wave (constant angular
speed, instantaneous turnarounds) while the Earth turns under the sky, so that in equatorial
coordinates the sweeps drift across a declination band and every sky point is crossed rising
and setting, at two different angles (the cross-linking a destriper needs).

Horizon → equatorial coordinates (closed form, e.g. J. Meeus, *Astronomical Algorithms*,
2nd ed. 1998, ch. 13, with azimuth counted from North through East):

.. math::

    \\sin\\delta &= \\sin\\varphi \\sin a + \\cos\\varphi \\cos a \\cos A, \\\\
    \\cos\\delta \\sin H &= -\\cos a \\sin A, \\\\
    \\cos\\delta \\cos H &= \\sin a \\cos\\varphi - \\cos a \\sin\\varphi \\cos A,

with site latitude φ, elevation a, azimuth A, hour angle H; right ascension α = LST − H, and
the local sidereal time advances at the Earth's rotation rate :data:`EARTH_ROTATION_RATE`,
LST(t) = LST₀ + ω⊕ t. Precession, nutation, aberration and refraction are ignored (they
move the whole map by ≲ 1′ over the few days simulated). HEALPix angles are
θ = π/2 − δ, φ = α.

Detectors sit at small offsets (Δx cross-elevation, Δy elevation, radians) from the boresight:
a = a₀ + Δy, A = A₀ + Δx / cos a₀ (flat focal plane, exact to second order in the offset).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rediscovery.core.errors import ConfigError

__all__ = [
    "EARTH_ROTATION_RATE",
    "Detector",
    "ScanStrategy",
    "boresight_azel",
    "default_focal_plane",
    "detector_pointing",
    "detector_pointing_psi",
    "horizon_to_equatorial",
    "parallactic_angle",
]

#: Nominal mean angular velocity of the Earth ω⊕ in rad/s (sidereal rotation), IERS
#: Conventions 2010 (G. Petit & B. Luzum, IERS Technical Note 36), Table 1.1.
EARTH_ROTATION_RATE = 7.292115e-5


@dataclass(frozen=True)
class ScanStrategy:
    """A constant-elevation azimuth sweep (angles in degrees, speeds in deg/s, times in s).

    Defaults: a site at the latitude of the Chajnantor plateau (−22.96°), elevation 50°,
    sweeps of ±45° around due South at 3°/s (one back-and-forth every 60 s; on the sky
    3° cos 50° = 1.9°/s, 0.19° between samples at 10 Hz). Over a day this covers the band
    −63° < δ < −46° (9.3 % of the pixels at nside 256).
    """

    site_latitude: float = -22.96
    elevation: float = 50.0
    az_center: float = 180.0
    az_half_width: float = 45.0
    az_speed: float = 3.0
    lst_start: float = 0.0  # local sidereal time at t = 0, degrees

    def __post_init__(self) -> None:
        for name, value, lo, hi in (("site_latitude", self.site_latitude, -90.0, 90.0),
                                    ("elevation", self.elevation, 0.0, 89.0),
                                    ("az_half_width", self.az_half_width, 0.0, 180.0),
                                    ("az_speed", self.az_speed, 0.0, 360.0)):
            if not (math.isfinite(value) and lo < value <= hi):
                raise ConfigError(f"scan {name} = {value}: expected a value in ({lo:g}, {hi:g}] "
                                  "degrees (deg/s for az_speed)")

    @property
    def sweep_period(self) -> float:
        """Seconds for one back-and-forth sweep."""
        return 4.0 * self.az_half_width / self.az_speed


@dataclass(frozen=True)
class Detector:
    """One temperature detector: focal-plane offset and noise.

    Parameters
    ----------
    name
        Dataset name in the TOD file.
    dx, dy
        Cross-elevation and elevation offsets from the boresight (radians).
    net
        White-noise standard deviation per sample σ (μK).
    fknee
        Knee frequency of the 1/f noise (Hz); 0 for white noise only.
    alpha
        Slope of the 1/f noise, P(f) = σ² (1 + (f_knee/f)^α).
    pol_angle
        Polarisation-sensitive detector: the angle of its polarisation direction in the focal
        plane (radians, from the elevation direction towards increasing azimuth); ``None`` for
        a temperature-only detector. On the sky the angle is ψ = pol_angle + q, q the
        parallactic angle (:func:`detector_pointing_psi`), and the detector sees
        I + Q cos 2ψ + U sin 2ψ.
    """

    name: str
    dx: float = 0.0
    dy: float = 0.0
    net: float = 300.0
    fknee: float = 1.0
    alpha: float = 1.0
    pol_angle: float | None = None

    @property
    def polarised(self) -> bool:
        return self.pol_angle is not None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.net) and self.net >= 0):
            raise ConfigError(f"detector {self.name}: net = {self.net}: expected σ >= 0 μK")
        if not (math.isfinite(self.fknee) and self.fknee >= 0):
            raise ConfigError(f"detector {self.name}: fknee = {self.fknee}: expected >= 0 Hz")
        if not (math.isfinite(self.alpha) and 0 < self.alpha <= 4):
            raise ConfigError(f"detector {self.name}: alpha = {self.alpha}: expected 0 < α <= 4")
        if self.pol_angle is not None and not math.isfinite(self.pol_angle):
            raise ConfigError(f"detector {self.name}: pol_angle = {self.pol_angle}: expected "
                              "a finite angle in radians (or None: temperature only)")
        if max(abs(self.dx), abs(self.dy)) > math.radians(10.0):
            raise ConfigError(f"detector {self.name}: offset ({self.dx}, {self.dy}) rad is "
                              "larger than 10°: the small-offset model does not apply")


def default_focal_plane(n: int, *, radius_deg: float = 0.5, net: float = 300.0,
                        fknee: float = 1.0, alpha: float = 1.0,
                        polarised: bool = False) -> list[Detector]:
    """``n`` detectors: one at the centre when ``n`` is odd, the others on a ring.

    ``polarised``: detector k has the polarisation angle (k mod 4) × 45° (four angles, so
    that every pixel seen by four consecutive detectors constrains Q and U).

    Examples
    --------
    >>> [d.name for d in default_focal_plane(3)]
    ['det000', 'det001', 'det002']
    """
    if n < 1:
        raise ConfigError(f"--detectors {n}: expected at least one detector")
    dets = []
    ring = n - (n % 2)
    for k in range(n):
        if n % 2 and k == 0:
            dx = dy = 0.0
        else:
            j = k - (n % 2)
            ang = 2.0 * math.pi * j / max(ring, 1)
            dx = math.radians(radius_deg) * math.cos(ang)
            dy = math.radians(radius_deg) * math.sin(ang)
        pol = math.radians(45.0 * (k % 4)) if polarised else None
        dets.append(Detector(f"det{k:03d}", dx, dy, net=net, fknee=fknee, alpha=alpha,
                             pol_angle=pol))
    return dets


def boresight_azel(t: np.ndarray, scan: ScanStrategy) -> tuple[np.ndarray, np.ndarray]:
    """Boresight azimuth and elevation (radians) at times ``t`` (s): a triangle wave in azimuth.

    Examples
    --------
    >>> az, el = boresight_azel(np.array([0.0, 15.0, 30.0]), ScanStrategy())
    >>> np.degrees(az).round(6).tolist()
    [135.0, 180.0, 225.0]
    """
    period = scan.sweep_period
    phase = np.mod(np.asarray(t, dtype=float), period) / period  # 0 … 1
    tri = 1.0 - np.abs(2.0 * phase - 1.0)  # 0 → 1 → 0
    az = scan.az_center + scan.az_half_width * (2.0 * tri - 1.0)
    el = np.full_like(az, scan.elevation)
    return np.radians(az), np.radians(el)


def horizon_to_equatorial(az: np.ndarray, el: np.ndarray, lat: float,
                          lst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Right ascension and declination (radians) of horizon coordinates (module formulas).

    ``az`` from North through East, ``el``, ``lat`` (site latitude) and ``lst`` in radians.

    Examples
    --------
    The zenith is at δ = latitude, α = LST; the North horizon of a southern site is at
    δ = 90° + latitude on the far side of the pole:

    >>> ra, dec = horizon_to_equatorial(np.array([0.0, 0.0]), np.radians([90.0, 0.0]),
    ...                                 np.radians(-30.0), np.array([1.0, 1.0]))
    >>> np.degrees(dec).round(9).tolist(), round(float(ra[0]), 9)
    ([-30.0, 60.0], 1.0)
    """
    ha, dec = _horizon_to_hadec(az, el, lat)
    ra = np.mod(lst - ha, 2.0 * np.pi)
    return ra, dec


def _horizon_to_hadec(az: np.ndarray, el: np.ndarray,
                      lat: float) -> tuple[np.ndarray, np.ndarray]:
    sa, ca = np.sin(el), np.cos(el)
    sl, cl = math.sin(lat), math.cos(lat)
    cos_az = np.cos(az)
    sin_dec = sl * sa + cl * ca * cos_az
    y = -ca * np.sin(az)  # cos δ sin H
    x = sa * cl - ca * sl * cos_az  # cos δ cos H
    return np.arctan2(y, x), np.arcsin(np.clip(sin_dec, -1.0, 1.0))


def parallactic_angle(ha: np.ndarray, dec: np.ndarray, lat: float) -> np.ndarray:
    """Parallactic angle q (radians): the angle at the source from the direction to the
    North celestial pole to the direction to the zenith, counted from North through East as
    the observer sees the sky (positive West of the meridian, H > 0; Meeus, *Astronomical
    Algorithms*, eq. 14.1),

    tan q = sin H / (tan φ cos δ − sin δ cos H).

    Examples
    --------
    On the meridian (H = 0) of a southern site, a source North of the zenith has q = 180°,
    one South of it q = 0:

    >>> np.degrees(parallactic_angle(np.zeros(2), np.radians([0.0, -60.0]),
    ...                              math.radians(-30.0))).round(9).tolist()
    [180.0, 0.0]
    """
    return np.arctan2(np.sin(ha), math.tan(lat) * np.cos(dec) - np.sin(dec) * np.cos(ha))


def detector_pointing(t: np.ndarray, scan: ScanStrategy,
                      det: Detector) -> tuple[np.ndarray, np.ndarray]:
    """HEALPix angles (θ, φ) in radians, equatorial frame, of ``det`` at times ``t`` (s)."""
    az, el = boresight_azel(t, scan)
    el_d = el + det.dy
    az_d = az + det.dx / np.cos(el)
    lst = math.radians(scan.lst_start) + EARTH_ROTATION_RATE * np.asarray(t, dtype=float)
    ra, dec = horizon_to_equatorial(az_d, el_d, math.radians(scan.site_latitude), lst)
    return 0.5 * np.pi - dec, ra


def detector_pointing_psi(t: np.ndarray, scan: ScanStrategy,
                          det: Detector) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """θ, φ (as :func:`detector_pointing`) and the polarisation angle on the sky
    ψ = pol_angle + q (radians; q the :func:`parallactic_angle`; 0 for a temperature-only
    detector). Without a half-wave plate ψ changes only as the sky turns: q differs between
    rising and setting crossings of a pixel, which is what lets detectors at a few fixed
    angles separate Q and U."""
    az, el = boresight_azel(t, scan)
    el_d = el + det.dy
    az_d = az + det.dx / np.cos(el)
    lat = math.radians(scan.site_latitude)
    lst = math.radians(scan.lst_start) + EARTH_ROTATION_RATE * np.asarray(t, dtype=float)
    ha, dec = _horizon_to_hadec(az_d, el_d, lat)
    ra = np.mod(lst - ha, 2.0 * np.pi)
    psi = (det.pol_angle or 0.0) + parallactic_angle(ha, dec, lat)
    return 0.5 * np.pi - dec, ra, psi

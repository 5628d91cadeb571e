"""The TOD simulator: beam-smoothed sky + white and 1/f noise along the scan of every detector.

For each detector and each noise block (:data:`~rediscovery.cosmo.cmb.tod.noise
.DEFAULT_NOISE_BLOCK` samples) the pointing is computed (:mod:`~rediscovery.cosmo.cmb.tod.scan`),
converted to a HEALPix NESTED pixel at ``nside_pointing`` (default 8192, 0.43′ pixels), and
the sky is read at the pixel of the sky map that contains it (nearest pixel: a map made at the
sky's nside has no sub-pixel error, so a noiseless TOD gives back the input map exactly).
The blocks are cut into chunks of ``chunk`` samples and yielded one at a time, so that a TOD
of 10⁸ samples is never in memory at once (peak memory ~ 50 bytes × noise block).

Random numbers: one ``Generator`` per (seed, detector, block), so that results do not depend
on the chunk size and detectors could be simulated in parallel.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.cmb.tod.noise import DEFAULT_NOISE_BLOCK, simulate_noise
from rediscovery.cosmo.cmb.tod.scan import (
    Detector,
    ScanStrategy,
    default_focal_plane,
    detector_pointing,
    detector_pointing_psi,
)

__all__ = ["DEFAULT_CHUNK", "NSIDE_POINTING", "TODChunk", "TODConfig", "simulate_chunks",
           "sky_at_pixels"]

#: Pointing resolution: HEALPix NESTED pixel index at this nside (0.43′ pixels); a map at any
#: nside ≤ 8192 takes its pixel by a bit shift.
NSIDE_POINTING = 8192
#: Samples per HDF5 chunk and per yielded chunk (2²⁰, 29 h at 10 Hz).
DEFAULT_CHUNK = 1 << 20
_SEED_TAG = 0x544F44  # "TOD", separates these streams from other uses of the same seed


@dataclass(frozen=True)
class TODConfig:
    """What to simulate: instrument, scan, duration and sampling.

    Defaults are the small default run (4 detectors × 1 day × 10 Hz = 3.46 × 10⁶ samples);
    the school exercise is ``days=9`` (3.1 × 10⁷ samples).
    """

    detectors: tuple[Detector, ...] = field(default_factory=lambda: tuple(default_focal_plane(4)))
    scan: ScanStrategy = field(default_factory=ScanStrategy)
    sample_rate: float = 10.0
    days: float = 1.0
    fwhm_arcmin: float = 30.0
    nside_pointing: int = NSIDE_POINTING
    chunk: int = DEFAULT_CHUNK
    noise_block: int = DEFAULT_NOISE_BLOCK

    def __post_init__(self) -> None:
        if not (math.isfinite(self.sample_rate) and 0 < self.sample_rate <= 1e4):
            raise ConfigError(f"--sample-rate {self.sample_rate}: expected 0 < f_s <= 10⁴ Hz")
        if not (math.isfinite(self.days) and 0 < self.days <= 400):
            raise ConfigError(f"--days {self.days}: expected 0 < days <= 400")
        if self.n_samples < 2:
            raise ConfigError(f"--days {self.days} at {self.sample_rate} Hz gives fewer than "
                              "2 samples")
        if not self.detectors:
            raise ConfigError("expected at least one detector")
        names = [d.name for d in self.detectors]
        if len(set(names)) != len(names):
            raise ConfigError(f"detector names must be unique, got {names}")
        if self.chunk < 1 or self.noise_block < 2:
            raise ConfigError("chunk >= 1 and noise_block >= 2 samples expected")
        if self.nside_pointing & (self.nside_pointing - 1) or not 1 <= self.nside_pointing <= 8192:
            raise ConfigError(f"nside_pointing {self.nside_pointing}: expected a power of 2 "
                              "<= 8192")

    @property
    def n_samples(self) -> int:
        """Samples per detector."""
        return round(self.days * 86400.0 * self.sample_rate)


@dataclass(frozen=True)
class TODChunk:
    """A stretch of one detector's TOD: samples ``start … start + len(signal)``.

    ``signal`` in μK; ``pixels`` HEALPix NESTED at the file's ``nside_pointing``; ``theta``,
    ``phi`` (radians) when available; ``psi`` the polarisation angle on the sky (radians)
    for a polarisation-sensitive detector.
    """

    detector: str
    start: int
    signal: np.ndarray
    pixels: np.ndarray
    theta: np.ndarray | None = None
    phi: np.ndarray | None = None
    psi: np.ndarray | None = None


def sky_at_pixels(sky_nest: np.ndarray, pixels: np.ndarray, nside_pointing: int) -> np.ndarray:
    """Sky values at NESTED ``pixels`` of ``nside_pointing`` from a NESTED map of lower nside.

    Examples
    --------
    >>> sky = np.arange(12.0)           # nside 1
    >>> sky_at_pixels(sky, np.array([0, 3, 4, 47]), 2).tolist()   # 4 sub-pixels per parent
    [0.0, 0.0, 1.0, 11.0]
    """
    nside_sky = round(math.sqrt(len(sky_nest) / 12))
    shift = 2 * round(math.log2(nside_pointing // nside_sky))
    return sky_nest[np.right_shift(pixels, shift)]


def simulate_chunks(config: TODConfig, sky: np.ndarray | None, seed: int, *,
                    angles: bool = True, noise: bool = True) -> Iterator[TODChunk]:
    """Yield the TOD chunk by chunk, detector after detector.

    Parameters
    ----------
    config
        Instrument and scan.
    sky
        Beam-smoothed sky (μK, RING) at an nside ≤ ``config.nside_pointing``: a temperature
        map (npix,), or I, Q, U maps (3, npix) (required when a detector is polarised: it
        sees I + Q cos 2ψ + U sin 2ψ; temperature detectors see I); ``None`` for noise only.
    seed
        Seed of the noise.
    angles
        Also yield θ, φ (float32) beside the pixel indices.
    noise
        Add the detector noise (``False``: signal-only TOD, for tests).
    """
    import healpy as hp

    sky_nest = None if sky is None else np.atleast_2d(
        hp.reorder(np.asarray(sky, float), r2n=True))
    if sky_nest is not None and hp.npix2nside(sky_nest.shape[1]) > config.nside_pointing:
        raise ConfigError(f"sky nside {hp.npix2nside(sky_nest.shape[1])} is finer than the "
                          f"pointing nside {config.nside_pointing}")
    if sky_nest is not None and sky_nest.shape[0] not in (1, 3):
        raise ConfigError(f"sky of shape {np.shape(sky)}: expected (npix,) or (3, npix) I, Q, U")
    if (sky_nest is not None and sky_nest.shape[0] == 1
            and any(d.polarised for d in config.detectors)):
        raise ConfigError("polarised detectors need an I, Q, U sky of shape (3, npix); got a "
                          "temperature map")
    n = config.n_samples
    for i_det, det in enumerate(config.detectors):
        for i_block, b0 in enumerate(range(0, n, config.noise_block)):
            b1 = min(b0 + config.noise_block, n)
            t = np.arange(b0, b1) / config.sample_rate
            psi = None
            if det.polarised:
                theta, phi, psi = detector_pointing_psi(t, config.scan, det)
            else:
                theta, phi = detector_pointing(t, config.scan, det)
            pixels = hp.ang2pix(config.nside_pointing, theta, phi, nest=True).astype(np.int32)
            if sky_nest is None:
                signal = np.zeros(b1 - b0)
            else:
                signal = sky_at_pixels(sky_nest[0], pixels, config.nside_pointing)
                if psi is not None:
                    signal += (sky_at_pixels(sky_nest[1], pixels, config.nside_pointing)
                               * np.cos(2.0 * psi)
                               + sky_at_pixels(sky_nest[2], pixels, config.nside_pointing)
                               * np.sin(2.0 * psi))
            if noise:
                rng = np.random.default_rng([seed, _SEED_TAG, i_det, i_block])
                signal = signal + simulate_noise(b1 - b0, config.sample_rate, det.net,
                                                 det.fknee, det.alpha, rng)
            for c0 in range(0, b1 - b0, config.chunk):
                c1 = min(c0 + config.chunk, b1 - b0)
                yield TODChunk(det.name, b0 + c0, signal[c0:c1].astype(np.float32),
                               pixels[c0:c1],
                               theta[c0:c1].astype(np.float32) if angles else None,
                               phi[c0:c1].astype(np.float32) if angles else None,
                               None if psi is None else psi[c0:c1].astype(np.float32))

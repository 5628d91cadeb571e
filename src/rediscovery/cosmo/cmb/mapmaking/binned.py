"""Pointing matrix, binned maps and the in-memory TOD used by the iterative map-makers.

The data model is d = P m + n: P (n_samples × n_pix) has one 1 per row, the pixel seen by the
sample. With the white-noise weights N_w⁻¹ = diag(1/σ_det²) the binned map is

.. math::

    \\hat m = (P^T N_w^{-1} P)^{-1} P^T N_w^{-1} d, \\qquad
    \\mathrm{Var}(\\hat m_p) = \\Big(\\sum_{i \\in p} \\sigma_{\\det(i)}^{-2}\\Big)^{-1}
    = \\sigma^2 / \\mathrm{hits}_p \\text{ for equal detectors},

computed with ``np.bincount`` over pixels, chunk by chunk (:func:`bin_tod` streams any TOD
size). Pixels are HEALPix NESTED while computing (the pixel at nside N of a pointing index at
``nside_pointing`` is a right shift by 2 log₂(nside_pointing/N)); maps are returned in RING
ordering, ``hp.UNSEEN`` outside the observed pixels.

Noiseless detectors (σ = 0) get weight 1 (all detectors alike).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.cmb.tod.scan import Detector
from rediscovery.cosmo.cmb.tod.simulate import TODChunk

__all__ = ["MapResult", "TODData", "bin_tod", "detector_weights", "load_tod", "pixel_shift",
           "ring_map"]


def pixel_shift(nside: int, nside_pointing: int) -> int:
    """Bits to shift a NESTED index at ``nside_pointing`` to get the pixel at ``nside``."""
    if nside < 1 or nside & (nside - 1) or nside > nside_pointing:
        raise ConfigError(f"--nside {nside}: expected a power of 2 between 1 and the TOD's "
                          f"pointing resolution {nside_pointing}")
    return 2 * round(math.log2(nside_pointing // nside))


def detector_weights(detectors: Iterable[Detector]) -> dict[str, float]:
    """1/σ² per detector (μK⁻²), or 1 for all if any detector is noiseless."""
    dets = list(detectors)
    if any(d.net <= 0 for d in dets):
        return {d.name: 1.0 for d in dets}
    return {d.name: 1.0 / d.net**2 for d in dets}


@dataclass(frozen=True)
class MapResult:
    """A map and its companions, full sky, RING ordering.

    ``map`` (μK) and ``variance`` (white-noise variance per pixel, μK²) are ``hp.UNSEEN``
    where ``hits == 0``; ``info`` holds the method, solver figures and sizes.
    """

    nside: int
    map: np.ndarray
    hits: np.ndarray
    variance: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def seen(self) -> np.ndarray:
        """Boolean mask of observed pixels."""
        return self.hits > 0


def ring_map(nside: int, hit_nest: np.ndarray, values: dict[str, np.ndarray],
             info: dict[str, Any]) -> MapResult:
    """A :class:`MapResult` from per-observed-pixel arrays ``map``, ``hits``, ``variance``
    given on the NESTED pixels ``hit_nest`` (full-sky RING maps, ``UNSEEN`` elsewhere)."""
    import healpy as hp

    npix = 12 * nside * nside
    ring = hp.nest2ring(nside, hit_nest)
    out = {}
    for k, v in values.items():
        full = np.zeros(npix, dtype=np.int64) if k == "hits" else np.full(npix, hp.UNSEEN)
        full[ring] = v
        out[k] = full
    return MapResult(nside, out["map"], out["hits"], out["variance"], info)


def bin_tod(chunks: Iterable[TODChunk], nside: int, nside_pointing: int,
            weights: dict[str, float]) -> MapResult:
    """Binned map of a stream of TOD chunks (nothing but the map-sized sums in memory).

    Parameters
    ----------
    chunks
        E.g. ``TODFile.iter_chunks()``.
    nside
        Output resolution.
    nside_pointing
        Resolution of the chunks' pixel indices.
    weights
        1/σ² per detector name (:func:`detector_weights`).
    """
    shift = pixel_shift(nside, nside_pointing)
    npix = 12 * nside * nside
    hits = np.zeros(npix, dtype=np.int64)
    wsum = np.zeros(npix)
    wd = np.zeros(npix)
    n = 0
    for c in chunks:
        pix = np.right_shift(c.pixels, shift)
        w = weights[c.detector]
        cnt = np.bincount(pix, minlength=npix)
        hits += cnt
        wsum += w * cnt
        wd += w * np.bincount(pix, weights=c.signal, minlength=npix)
        n += len(c.signal)
    seen = np.flatnonzero(hits)
    if seen.size == 0:
        raise ConfigError("the TOD has no samples: nothing to map")
    wmap = wd[seen] / wsum[seen]
    return ring_map(nside, seen, {"map": wmap, "hits": hits[seen], "variance": 1.0 / wsum[seen]},
                    {"method": "binned", "n_samples": n, "n_pixels_seen": int(seen.size)})


@dataclass
class TODData:
    """The TOD in memory for the iterative solvers, on the observed pixels only.

    ``pix`` indexes ``hit_nest`` (the observed NESTED pixels at ``nside``); samples of all
    segments are concatenated; a segment is one detector's stretch of one noise block
    (``seg_start``, ``seg_det``), so that no baseline crosses a detector or block edge.
    ``psi`` (radians, float64) is the polarisation angle on the sky of every sample when some
    detector is polarised (0 on the samples of temperature-only detectors), else ``None``.
    """

    nside: int
    hit_nest: np.ndarray
    pix: np.ndarray
    signal: np.ndarray
    seg_start: np.ndarray
    seg_det: np.ndarray
    detectors: list[Detector]
    sample_rate: float
    psi: np.ndarray | None = None

    @property
    def n_samples(self) -> int:
        return len(self.signal)

    @property
    def seg_len(self) -> np.ndarray:
        return np.diff(np.r_[self.seg_start, self.n_samples])

    def segment_weights(self) -> np.ndarray:
        """1/σ² of every segment's detector."""
        w = detector_weights(self.detectors)
        return np.array([w[self.detectors[k].name] for k in self.seg_det])

    def hits(self) -> np.ndarray:
        return np.bincount(self.pix, minlength=len(self.hit_nest))

    def polarised_samples(self) -> np.ndarray:
        """Boolean per sample: taken by a polarisation-sensitive detector."""
        pol = np.array([d.polarised for d in self.detectors], dtype=bool)
        return np.repeat(pol[self.seg_det], self.seg_len)

    def iqu_columns(self) -> np.ndarray:
        """(3, n_samples): every sample's row of the I, Q, U pointing matrix,
        (1, cos 2ψ, sin 2ψ), or (1, 0, 0) for a temperature-only detector (float64)."""
        if self.psi is None:
            raise ConfigError("the TOD has no polarisation angles (psi): no I, Q, U pointing")
        psi2 = 2.0 * self.psi
        pol = self.polarised_samples()
        return np.stack([np.ones_like(psi2), np.where(pol, np.cos(psi2), 0.0),
                         np.where(pol, np.sin(psi2), 0.0)])

    def result(self, values: dict[str, np.ndarray], info: dict[str, Any]) -> MapResult:
        """Expand per-observed-pixel arrays ``map``, ``hits``, ``variance`` to a RING map."""
        return ring_map(self.nside, self.hit_nest, values, info)


def load_tod(chunks: Iterable[TODChunk], nside: int, nside_pointing: int,
             detectors: list[Detector], sample_rate: float) -> TODData:
    """Read chunks into a :class:`TODData`; each chunk is one segment (read the file with
    ``chunk=noise_block`` so that segments are noise blocks). Memory: 16 bytes per sample, 24
    when some detector is polarised (ψ kept)."""
    shift = pixel_shift(nside, nside_pointing)
    names = [d.name for d in detectors]
    pix_l, sig_l, psi_l, starts, dets = [], [], [], [], []
    n = 0
    for c in chunks:
        pix_l.append(np.right_shift(c.pixels, shift))
        sig_l.append(np.asarray(c.signal, dtype=np.float64))
        psi_l.append(c.psi)
        starts.append(n)
        dets.append(names.index(c.detector))
        n += len(c.signal)
    if n == 0:
        raise ConfigError("the TOD has no samples: nothing to map")
    pix = np.concatenate(pix_l)
    del pix_l
    npix = 12 * nside * nside
    hit_nest = np.flatnonzero(np.bincount(pix, minlength=npix))
    lut = np.full(npix, -1, dtype=np.int64)
    lut[hit_nest] = np.arange(hit_nest.size)
    pix = lut[pix]
    psi = None
    if any(p is not None for p in psi_l):
        psi = np.concatenate([np.zeros(len(x)) if p is None else np.asarray(p, dtype=np.float64)
                              for p, x in zip(psi_l, sig_l, strict=True)])
    return TODData(nside, hit_nest, pix, np.concatenate(sig_l), np.asarray(starts),
                   np.asarray(dets), detectors, sample_rate, psi)

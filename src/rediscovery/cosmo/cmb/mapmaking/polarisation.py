"""Binned I, Q, U maps from polarisation-sensitive detectors: a 3 × 3 solve per pixel.

A detector at angle ψ on the sky sees d = I + Q cos 2ψ + U sin 2ψ + n (a temperature-only
detector: d = I + n). With the pointing row p_i = (1, cos 2ψ_i, sin 2ψ_i) (or (1, 0, 0)) and
white-noise weights w_i = 1/σ²_det, the binned (white-noise maximum-likelihood) map of pixel
p solves

.. math::

    A_p \\hat m_p = b_p, \\qquad A_p = \\sum_{i \\in p} w_i\\, p_i p_i^T, \\qquad
    b_p = \\sum_{i \\in p} w_i\\, d_i\\, p_i, \\qquad \\mathrm{Cov}(\\hat m_p) = A_p^{-1}

(e.g. the MADAM paper, Keihänen et al. 2010, A&A 510, A57, §2, with no baselines). The six
distinct entries of A_p and the three of b_p are summed with ``np.bincount`` chunk by chunk
(any TOD size streams); the blocks are inverted together (``np.linalg.inv`` on the stack of
observed pixels). A pixel whose angles do not separate Q from U has an ill-conditioned A_p:
where its reciprocal condition number (``1/np.linalg.cond``) is below ``rcond_min`` the three
maps are ``UNSEEN`` there (counted in ``info["n_pixels_ill_conditioned"]``).

Without a half-wave plate a detector's ψ changes only through the parallactic angle as the
sky turns (:func:`rediscovery.cosmo.cmb.tod.detector_pointing_psi`): detectors at several
focal-plane angles (the default polarised focal plane has 0°, 45°, 90°, 135°) make A_p
well conditioned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.cosmo.cmb.mapmaking.binned import MapResult, pixel_shift
from rediscovery.cosmo.cmb.tod.simulate import TODChunk

__all__ = ["RCOND_MIN", "IQUMapResult", "accumulate_iqu", "bin_tod_iqu", "block_matrix",
           "cos_sin_2psi", "invert_pixel_blocks", "iqu_result", "pixel_blocks"]

#: Default smallest reciprocal condition number of a pixel's 3 × 3 system: below it the
#: pixel's Q, U are not separable (1/rcond amplifies the noise; 10⁻² means at most ×100).
RCOND_MIN = 1e-2


@dataclass(frozen=True)
class IQUMapResult:
    """Binned I, Q, U maps, full sky, RING.

    ``maps`` (3, npix) μK and ``variance`` (3, npix) μK² (the diagonal of A_p⁻¹) are
    ``hp.UNSEEN`` where a pixel is unobserved or ill-conditioned; ``hits`` samples per pixel;
    ``rcond`` (npix,) the reciprocal condition number of A_p (0 where unobserved).
    """

    nside: int
    maps: np.ndarray
    hits: np.ndarray
    variance: np.ndarray
    rcond: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def good(self) -> np.ndarray:
        """Boolean mask of the pixels with a solved I, Q, U."""
        import healpy as hp

        return self.maps[0] != hp.UNSEEN

    def stokes(self, k: int) -> MapResult:
        """Stokes map ``k`` (0 I, 1 Q, 2 U) as a :class:`MapResult` for the temperature
        tools (plots, residual spectra): its ``hits`` are 0 where ``k`` is not solved."""
        if k not in (0, 1, 2):
            raise ConfigError(f"Stokes index {k}: expected 0 (I), 1 (Q) or 2 (U)")
        import healpy as hp

        solved = self.maps[k] != hp.UNSEEN
        info = {**self.info, "stokes": "IQU"[k]}
        return MapResult(self.nside, self.maps[k], np.where(solved, self.hits, 0),
                         self.variance[k], info)


def bin_tod_iqu(chunks: Iterable[TODChunk], nside: int, nside_pointing: int,
                weights: dict[str, float], *, rcond_min: float = RCOND_MIN) -> IQUMapResult:
    """Binned I, Q, U maps of a stream of TOD chunks (module notes).

    Parameters
    ----------
    chunks
        E.g. ``TODFile.iter_chunks()``; a chunk with ``psi`` (radians) is from a polarised
        detector, one without from a temperature-only detector.
    nside, nside_pointing
        Output resolution and that of the chunks' pixel indices.
    weights
        1/σ² per detector name (:func:`~rediscovery.cosmo.cmb.mapmaking.detector_weights`).
    rcond_min
        Pixels whose system has a smaller reciprocal condition number are left ``UNSEEN``.
    """
    if not 0.0 < rcond_min < 1.0:
        raise ConfigError(f"rcond_min {rcond_min}: expected 0 < rcond_min < 1")
    shift = pixel_shift(nside, nside_pointing)
    npix = 12 * nside * nside
    # A entries (n, c, s, cc, cs, ss) and b entries (d, dc, ds), weighted
    acc = np.zeros((9, npix))
    hits = np.zeros(npix, dtype=np.int64)
    n_pol = 0
    for ch in chunks:
        pix = np.right_shift(ch.pixels, shift)
        hits += accumulate_iqu(acc, pix, weights[ch.detector], ch.signal,
                               cos_sin_2psi(ch.psi))
        if ch.psi is not None:
            n_pol += len(ch.signal)
    if n_pol == 0:
        raise InputError("no polarisation angles (psi) in the TOD: I, Q, U maps need "
                         "polarisation-sensitive detectors; make a temperature map instead")
    seen = np.flatnonzero(hits)
    inv, rcond = invert_pixel_blocks(block_matrix(acc[:6, seen]), rcond_min)
    m = np.einsum("pij,jp->pi", inv, acc[6:, seen])
    info = {"method": "binned-iqu", "n_samples": int(hits.sum()), "n_samples_polarised": n_pol,
            "rcond_min": rcond_min}
    return iqu_result(nside, seen, m, inv, hits[seen], rcond, rcond_min, info)


def accumulate_iqu(acc: np.ndarray, pix: np.ndarray, w: float, signal: np.ndarray,
                   cos_sin: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Add one detector's chunk to the weighted sums of every pixel (in place) and return its
    hit count per pixel.

    ``acc`` (9, npix): the six distinct entries of A_p (n, c, s, cc, cs, ss) and the three of
    b_p (d, dc, ds) (module notes), each weighted by ``w`` = 1/σ²; ``pix`` the chunk's pixel
    indices at the map's resolution; ``cos_sin`` its (cos 2ψ, sin 2ψ) (:func:`cos_sin_2psi`),
    ``None`` for a temperature-only detector (then only n and d grow).
    """
    npix = acc.shape[1]
    d = np.asarray(signal, dtype=float)
    cnt = np.bincount(pix, minlength=npix)
    acc[0] += w * cnt
    acc[6] += w * np.bincount(pix, weights=d, minlength=npix)
    if cos_sin is not None:
        c, s = (np.asarray(x, dtype=float) for x in cos_sin)
        for k, x in ((1, c), (2, s), (3, c * c), (4, c * s), (5, s * s), (7, d * c),
                     (8, d * s)):
            acc[k] += w * np.bincount(pix, weights=x, minlength=npix)
    return cnt


def cos_sin_2psi(psi: np.ndarray | None, dtype: Any = np.float64
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """(cos 2ψ, sin 2ψ) of polarisation angles (radians) in ``dtype``; ``None`` for ``None``
    (a temperature-only detector).

    float64 for the binned and in-memory maps. The streaming destriper, which recomputes them
    at every CG iteration, asks for float32: numpy's float32 sine and cosine are vectorised
    (~3 ns per sample for both on this machine, against ~70 ns in float64), and their
    rounding (6 × 10⁻⁸) is below that of the stored float32 ψ itself (2ψ to 2 × 10⁻⁷ rad).
    """
    if psi is None:
        return None
    t = np.multiply(psi, 2.0, dtype=dtype)
    return np.cos(t), np.sin(t)


def pixel_blocks(pix: np.ndarray, w: np.ndarray, cols: np.ndarray, npix: int) -> np.ndarray:
    """The blocks Σ_i w_i p_i p_iᵀ of every pixel, shape (npix, 3, 3), from the samples' pixel
    indices ``pix``, weights ``w`` and pointing rows ``cols`` (3, n)
    (:meth:`~rediscovery.cosmo.cmb.mapmaking.TODData.iqu_columns`)."""
    return block_matrix(np.stack([np.bincount(pix, weights=w * cols[i] * cols[j],
                                              minlength=npix)
                                  for i, j in ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))]))


def block_matrix(entries: np.ndarray) -> np.ndarray:
    """The symmetric 3 × 3 blocks A_p, shape (k, 3, 3), from their six distinct entries
    (n, c, s, cc, cs, ss), shape (6, k) (module notes)."""
    n, c, s, cc, cs, ss = entries
    return np.stack([np.stack([n, c, s], -1), np.stack([c, cc, cs], -1),
                     np.stack([s, cs, ss], -1)], -2)


def invert_pixel_blocks(a: np.ndarray, rcond_min: float = RCOND_MIN
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Inverses of a stack of pixel blocks A_p (k, n, n) and their reciprocal condition numbers.

    A block with ``1/cond(A_p) < rcond_min`` (Q, U not separable, or unobserved) gets a zero
    inverse: its pixel is excluded (the caller leaves it ``UNSEEN``).

    Examples
    --------
    >>> a = np.array([np.diag([4.0, 2.0, 2.0]), np.diag([4.0, 1e-9, 1.0])])
    >>> inv, rc = invert_pixel_blocks(a)
    >>> np.diagonal(inv, axis1=1, axis2=2).tolist(), rc.round(3).tolist()
    ([[0.25, 0.5, 0.5], [0.0, 0.0, 0.0]], [0.5, 0.0])
    """
    if not 0.0 < rcond_min < 1.0:
        raise ConfigError(f"rcond_min {rcond_min}: expected 0 < rcond_min < 1")
    if a.shape[0] == 0:
        return np.zeros_like(a), np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rcond = np.nan_to_num(1.0 / np.linalg.cond(a), nan=0.0)
    ok = rcond >= rcond_min
    if a.shape[-1] > 1 and not ok.any():
        raise InputError(f"none of the {a.shape[0]} observed pixels has a well-conditioned "
                         f"{a.shape[-1]} × {a.shape[-1]} system (reciprocal condition number "
                         f">= rcond_min {rcond_min}): the detectors' polarisation angles do "
                         "not separate Q from U (map more detectors, e.g. at 0°, 45°, 90°, "
                         "135°, or make a temperature map)")
    inv = np.zeros_like(a)
    inv[ok] = np.linalg.inv(a[ok])
    return inv, rcond


def iqu_result(nside: int, seen_nest: np.ndarray, maps: np.ndarray, inv: np.ndarray,
               hits: np.ndarray, rcond: np.ndarray, rcond_min: float,
               info: dict[str, Any]) -> IQUMapResult:
    """An :class:`IQUMapResult` (full sky, RING) from per-observed-pixel arrays on the NESTED
    pixels ``seen_nest``: ``maps`` (k, 3) μK, ``inv`` the blocks A_p⁻¹ (k, 3, 3) (zero where
    ``rcond < rcond_min``: those pixels are ``UNSEEN``), ``hits`` and ``rcond`` (k,)."""
    import healpy as hp

    npix = 12 * nside * nside
    ok = rcond >= rcond_min
    ring = hp.nest2ring(nside, seen_nest)
    full_maps = np.full((3, npix), hp.UNSEEN)
    variance = np.full((3, npix), hp.UNSEEN)
    full_maps[:, ring[ok]] = maps[ok].T
    variance[:, ring[ok]] = np.diagonal(inv[ok], axis1=1, axis2=2).T
    hits_ring = np.zeros(npix, dtype=np.int64)
    hits_ring[ring] = hits
    rcond_ring = np.zeros(npix)
    rcond_ring[ring] = rcond
    info = {**info, "n_pixels_seen": int(seen_nest.size), "n_pixels_solved": int(ok.sum()),
            "n_pixels_ill_conditioned": int(seen_nest.size - ok.sum())}
    return IQUMapResult(nside, full_maps, hits_ring, variance, rcond_ring, info)

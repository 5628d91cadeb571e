"""Generalised least-squares (maximum-likelihood) map with the full noise covariance.

.. math::

    \\hat m = (P^T N^{-1} P)^{-1} P^T N^{-1} d,

with N the true noise covariance of the simulator: per detector and noise block a circulant
matrix with eigenvalues P(f_k) = σ²(1 + (f_knee/f_k)^α)
(:func:`rediscovery.cosmo.cmb.tod.noise.noise_psd`; P(0) := P(f₁), since the simulated
blocks have zero mean). N⁻¹ x = irfft(rfft(x)/P(f)) on each segment; the system is solved by
PCG with the Jacobi preconditioner hits × ⟨1/P⟩ (the diagonal of PᵀN⁻¹P for a circulant N).
This is the reference the destriper approaches for short baselines (Kurki-Suonio et al.
2009, A&A 506, 1511): use it on small cases (every CG iteration costs two FFTs of the TOD).

**I, Q, U** (:func:`gls_map_iqu`): the same with the polarised pointing row
(1, cos 2ψ, sin 2ψ) ((1, 0, 0) for a temperature-only detector) and m = (I, Q, U) per pixel;
the preconditioner is block-Jacobi, the 3 × 3 blocks Σ_i ⟨1/P⟩ p_i p_iᵀ per pixel
pseudo-inverted (a pixel whose angles do not separate Q from U has a singular block; the
right-hand side Pᵀ N⁻¹ d has no component along it, so CG leaves it at zero). Every observed
pixel takes part in the solve; as for the binned and destriped I, Q, U maps, pixels whose
white-noise block has a reciprocal condition number below ``rcond_min`` are ``UNSEEN`` in
the result.
"""

from __future__ import annotations

import time

import numpy as np

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.cosmo.cmb.mapmaking.binned import MapResult, TODData
from rediscovery.cosmo.cmb.mapmaking.cg import pcg
from rediscovery.cosmo.cmb.mapmaking.polarisation import (
    RCOND_MIN,
    IQUMapResult,
    invert_pixel_blocks,
    iqu_result,
    pixel_blocks,
)
from rediscovery.cosmo.cmb.tod.noise import noise_psd

__all__ = ["gls_map", "gls_map_iqu", "inverse_noise_filters"]


def inverse_noise_filters(data: TODData) -> list[np.ndarray]:
    """1/P(f) on the rfft frequencies of every segment (μK⁻²)."""
    out = []
    for ln, k in zip(data.seg_len, data.seg_det, strict=True):
        det = data.detectors[k]
        f = np.fft.rfftfreq(int(ln), d=1.0 / data.sample_rate)
        psd = noise_psd(f, det.net, det.fknee, det.alpha)
        if len(f) > 1:
            psd[0] = psd[1]
        out.append(1.0 / psd)
    return out


class _NoiseInverse:
    """N⁻¹ on the samples of a :class:`TODData` (per segment, by FFT) and ⟨1/P⟩ per sample,
    the diagonal of the circulant N⁻¹ (for the Jacobi preconditioners)."""

    def __init__(self, data: TODData) -> None:
        self.filters = inverse_noise_filters(data)
        self.bounds = list(zip(data.seg_start, data.seg_start + data.seg_len, strict=True))
        mean_inv = np.array([(2 * fi.sum() - fi[0] - (fi[-1] if (s1 - s0) % 2 == 0 else 0))
                             / (s1 - s0) for (s0, s1), fi in zip(self.bounds, self.filters,
                                                                  strict=True)])
        self.diagonal = np.repeat(mean_inv, data.seg_len)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = np.empty_like(x)
        for (s0, s1), fi in zip(self.bounds, self.filters, strict=True):
            y[s0:s1] = np.fft.irfft(np.fft.rfft(x[s0:s1]) * fi, n=s1 - s0)
        return y


def gls_map(data: TODData, *, tol: float = 1e-8, maxiter: int = 1000) -> MapResult:
    """The GLS map (RING, μK) with the CG figures in ``info``; ``variance`` is the white-noise
    variance (as for the other map-makers), not the GLS covariance diagonal."""
    t0 = time.perf_counter()
    npix = len(data.hit_nest)
    pix = data.pix
    ninv = _NoiseInverse(data)

    def apply_a(m: np.ndarray) -> np.ndarray:
        return np.bincount(pix, weights=ninv(m[pix]), minlength=npix)

    # Jacobi: diag(P^T N^-1 P) ≈ Σ_i <1/P> (the circulant diagonal), per segment
    diag = np.bincount(pix, weights=ninv.diagonal, minlength=npix)
    rhs = np.bincount(pix, weights=ninv(data.signal), minlength=npix)
    sol = pcg(apply_a, rhs, lambda r: r / diag, tol=tol, maxiter=maxiter)
    wdet = data.segment_weights()
    white = np.bincount(pix, weights=np.repeat(wdet, data.seg_len), minlength=npix)
    info = {"method": "gls", "cg_iterations": sol.iterations, "cg_residual": sol.residual,
            "cg_tol": tol, "cg_converged": sol.converged, "cg_history": list(sol.history),
            "n_samples": data.n_samples, "n_pixels_seen": npix,
            "seconds": time.perf_counter() - t0}
    return data.result({"map": sol.x, "hits": data.hits(), "variance": 1.0 / white}, info)


def gls_map_iqu(data: TODData, *, tol: float = 1e-8, maxiter: int = 1000,
                rcond_min: float = RCOND_MIN) -> IQUMapResult:
    """The GLS I, Q, U maps of a TOD of polarised detectors (module notes).

    Parameters
    ----------
    data
        The TOD in memory with ``psi`` (:func:`~rediscovery.cosmo.cmb.mapmaking.load_tod` of a
        file with polarised detectors, read by noise blocks).
    tol, maxiter
        CG stops when ‖r‖/‖b‖ ≤ tol or after ``maxiter`` iterations.
    rcond_min
        Pixels whose white-noise 3 × 3 block has a smaller reciprocal condition number are
        ``UNSEEN`` in the result (they are solved with the others).

    Returns
    -------
    IQUMapResult
        ``variance`` is the diagonal of the white-noise blocks' inverse (as for the binned
        and destriped maps), not the GLS covariance; ``info`` has the CG figures.
    """
    if not 0.0 < rcond_min < 1.0:
        raise ConfigError(f"rcond_min {rcond_min}: expected 0 < rcond_min < 1")
    if data.psi is None:
        raise InputError("no polarisation angles (psi) in the TOD: I, Q, U maps need "
                         "polarisation-sensitive detectors; make a temperature map instead "
                         "(gls_map)")
    t0 = time.perf_counter()
    npix = len(data.hit_nest)
    pix = data.pix
    ninv = _NoiseInverse(data)
    cols = data.iqu_columns()

    def bin_cols(y: np.ndarray) -> np.ndarray:  # P^T y, (npix, 3)
        return np.stack([np.bincount(pix, weights=y * c, minlength=npix) for c in cols], -1)

    def apply_a(m: np.ndarray) -> np.ndarray:
        mm = m.reshape(npix, 3)
        return bin_cols(ninv(np.einsum("kp,pk->p", cols, mm[pix]))).ravel()

    # block Jacobi: Σ_i <1/P> p_i p_i^T, pseudo-inverted (singular blocks, module notes)
    precond = np.linalg.pinv(pixel_blocks(pix, ninv.diagonal, cols, npix), rcond=1e-10,
                             hermitian=True)
    rhs = bin_cols(ninv(data.signal)).ravel()
    sol = pcg(apply_a, rhs,
              lambda r: np.einsum("pij,pj->pi", precond, r.reshape(npix, 3)).ravel(),
              tol=tol, maxiter=maxiter)
    inv_white, rcond = invert_pixel_blocks(
        pixel_blocks(pix, np.repeat(data.segment_weights(), data.seg_len), cols, npix),
        rcond_min)
    info = {"method": "gls-iqu", "cg_iterations": sol.iterations, "cg_residual": sol.residual,
            "cg_tol": tol, "cg_converged": sol.converged, "cg_history": list(sol.history),
            "n_samples": data.n_samples,
            "n_samples_polarised": int(data.polarised_samples().sum()),
            "rcond_min": rcond_min, "seconds": time.perf_counter() - t0}
    return iqu_result(data.nside, data.hit_nest, sol.x.reshape(npix, 3), inv_white,
                      data.hits(), rcond, rcond_min, info)

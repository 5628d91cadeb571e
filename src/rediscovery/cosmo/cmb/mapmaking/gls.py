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
"""

from __future__ import annotations

import time

import numpy as np

from rediscovery.cosmo.cmb.mapmaking.binned import MapResult, TODData
from rediscovery.cosmo.cmb.mapmaking.cg import pcg
from rediscovery.cosmo.cmb.tod.noise import noise_psd

__all__ = ["gls_map", "inverse_noise_filters"]


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


def gls_map(data: TODData, *, tol: float = 1e-8, maxiter: int = 1000) -> MapResult:
    """The GLS map (RING, μK) with the CG figures in ``info``; ``variance`` is the white-noise
    variance (as for the other map-makers), not the GLS covariance diagonal."""
    t0 = time.perf_counter()
    npix = len(data.hit_nest)
    pix = data.pix
    filt = inverse_noise_filters(data)
    bounds = list(zip(data.seg_start, data.seg_start + data.seg_len, strict=True))

    def ninv(x: np.ndarray) -> np.ndarray:
        y = np.empty_like(x)
        for (s0, s1), fi in zip(bounds, filt, strict=True):
            y[s0:s1] = np.fft.irfft(np.fft.rfft(x[s0:s1]) * fi, n=s1 - s0)
        return y

    def apply_a(m: np.ndarray) -> np.ndarray:
        return np.bincount(pix, weights=ninv(m[pix]), minlength=npix)

    # Jacobi: diag(P^T N^-1 P) ≈ Σ_i <1/P> (the circulant diagonal), per segment
    mean_inv = np.array([(2 * fi.sum() - fi[0] - (fi[-1] if (s1 - s0) % 2 == 0 else 0))
                         / (s1 - s0) for (s0, s1), fi in zip(bounds, filt, strict=True)])
    w_samp = np.repeat(mean_inv, data.seg_len)
    diag = np.bincount(pix, weights=w_samp, minlength=npix)
    rhs = np.bincount(pix, weights=ninv(data.signal), minlength=npix)
    sol = pcg(apply_a, rhs, lambda r: r / diag, tol=tol, maxiter=maxiter)
    wdet = data.segment_weights()
    white = np.bincount(pix, weights=np.repeat(wdet, data.seg_len), minlength=npix)
    info = {"method": "gls", "cg_iterations": sol.iterations, "cg_residual": sol.residual,
            "cg_tol": tol, "cg_converged": sol.converged, "cg_history": list(sol.history),
            "n_samples": data.n_samples, "n_pixels_seen": npix,
            "seconds": time.perf_counter() - t0}
    return data.result({"map": sol.x, "hits": data.hits(), "variance": 1.0 / white}, info)

"""Destriping map-maker: the 1/f noise modelled as an offset per baseline.

Model (Keihänen et al. 2010, A&A 510, A57, "Making CMB temperature and polarization maps with
Madam", §2; Kurki-Suonio et al. 2009, A&A 506, 1511): d = P m + F a + n_w, with F
(n_samples × n_baselines) spreading the baseline offsets a over consecutive samples (baselines
of ``baseline_length`` samples, restarted at every segment edge) and n_w white noise with
N_w = diag(σ²_det). Minimising χ² over m gives the destriping equation

.. math::

    (F^T N_w^{-1} Z F)\\, a = F^T N_w^{-1} Z d, \\qquad
    Z = I - P (P^T N_w^{-1} P)^{-1} P^T N_w^{-1},

solved by preconditioned conjugate gradient with the Jacobi preconditioner
(F^T N_w^{-1} F)⁻¹ = σ²/n_b (the MADAM and TOAST choice), then
m = (P^T N_w^{-1} P)⁻¹ P^T N_w^{-1} (d − F a). For equal detectors Z = I − P (PᵀP)⁻¹ Pᵀ.
The common offset of all baselines is degenerate with the map monopole and is left as CG
finds it (the map's monopole is not measured by a differential scan).

With ``noise_prior=True`` (MADAM's "noise filter", Keihänen et al. 2010 eq. 12) the 1/f
model of the detectors is used as a Gaussian prior on the offsets: C_a⁻¹ is added to the
left-hand side, with C_a circulant on each segment's sequence of baselines and eigenvalues

.. math::

    P_a(f) = \\frac{\\sigma^2}{n_b} \\left(\\frac{f_\\mathrm{knee}}{f}\\right)^\\alpha,
    \\qquad f = k \\frac{f_s}{n_b N_b}, \\; k = 1 … N_b/2,

(the spectrum of the mean of n_b samples of the 1/f component, valid for f ≪ f_s/n_b;
no prior on the segment's mean, k = 0), applied by FFT on each segment zero-padded to the
next fast FFT length. Short baselines then stop absorbing white noise
and the solution approaches the GLS map (Kurki-Suonio et al. 2009, Fig. 4). A detector
without 1/f noise (f_knee = 0) has P_a = 0 at f > 0: its segments are one baseline each
(only the mean offset free), so that a white-noise TOD gives the binned map (up to one
offset per detector and noise block).

Operators are vectorised over all samples: P^T x = ``bincount(pix, x)``, P m = ``m[pix]``,
F a = ``repeat(a, n_b)``, F^T x = ``add.reduceat(x, starts)``. Inside the CG loop the
sample-domain passes are replaced by the sparse baseline × pixel matrix B = F^T N_w⁻¹ P
(scipy CSR, built once; its non-zeros are the distinct (baseline, pixel) pairs, ~0.9 per
sample at nside 256): F^T N_w⁻¹ Z F a = (F^T N_w⁻¹ F) a − B (P^T N_w⁻¹ P)⁻¹ B^T a, about
4× faster than four passes over the samples.

**I, Q, U** (:func:`destripe_iqu`; Keihänen et al. 2010, §2): the same equation with the
polarised pointing matrix, whose row for sample i is (1, cos 2ψ_i, sin 2ψ_i) (a
temperature-only detector: (1, 0, 0)), m = (I, Q, U) per pixel. Pᵀ N_w⁻¹ P is then
block-diagonal with one 3 × 3 block per pixel (the binned map's A_p,
:mod:`~rediscovery.cosmo.cmb.mapmaking.polarisation`), inverted once; B has three columns per
pixel. Baselines, prior, preconditioner and CG are those of the temperature destriper, which
is the one-component case of the same code. As in MADAM, the samples of pixels whose block is
ill-conditioned (reciprocal condition number below ``rcond_min``) get zero weight: they take
no part in the destriping and those pixels stay ``UNSEEN``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.cmb.mapmaking.binned import MapResult, TODData
from rediscovery.cosmo.cmb.mapmaking.cg import pcg
from rediscovery.cosmo.cmb.mapmaking.polarisation import (
    RCOND_MIN,
    IQUMapResult,
    invert_pixel_blocks,
    iqu_result,
    pixel_blocks,
)
from rediscovery.cosmo.cmb.tod.scan import Detector

__all__ = ["BaselinePrior", "Baselines", "destripe", "destripe_iqu", "white_segments"]


class Baselines:
    """Baseline layout of a :class:`TODData`: ``starts`` (sample index), ``lengths``, and the
    white-noise weight ``w`` (1/σ²) of each baseline.

    ``whole`` (bool per segment, optional): those segments get a single baseline (their
    mean offset), see :func:`white_segments`.
    """

    def __init__(self, data: TODData, baseline_length: int,
                 whole: np.ndarray | None = None) -> None:
        self._build(data.seg_start, data.seg_len, data.segment_weights(), data.n_samples,
                    baseline_length, whole)

    @classmethod
    def from_segments(cls, seg_start: np.ndarray, seg_len: np.ndarray, seg_w: np.ndarray,
                      n_samples: int, baseline_length: int,
                      whole: np.ndarray | None = None) -> Baselines:
        """The layout of segments (first sample, length, 1/σ² each) of a TOD of ``n_samples``
        samples in all, without the TOD itself (the streaming destriper's)."""
        self = cls.__new__(cls)
        self._build(seg_start, seg_len, seg_w, n_samples, baseline_length, whole)
        return self

    def _build(self, seg_start: np.ndarray, seg_len: np.ndarray, seg_w: np.ndarray,
               n_samples: int, baseline_length: int, whole: np.ndarray | None) -> None:
        if baseline_length < 1:
            raise ConfigError(f"baseline length {baseline_length} samples: expected >= 1")
        if whole is None:
            whole = np.zeros(len(seg_start), dtype=bool)
        starts, weights = [], []
        for s0, ln, w, one in zip(seg_start, seg_len, seg_w, whole, strict=True):
            st = np.arange(s0, s0 + ln, ln if one else baseline_length)
            starts.append(st)
            weights.append(np.full(st.size, w))
        self.starts = np.concatenate(starts)
        self.lengths = np.diff(np.r_[self.starts, n_samples])
        self.w = np.concatenate(weights)

    def __len__(self) -> int:
        return len(self.starts)

    def spread(self, a: np.ndarray) -> np.ndarray:
        """F a: every baseline's value on its samples."""
        return np.repeat(a, self.lengths)

    def collect(self, x: np.ndarray) -> np.ndarray:
        """F^T x: the sum of ``x`` over each baseline."""
        return np.add.reduceat(x, self.starts)


def white_segments(seg_det: np.ndarray, detectors: list[Detector]) -> np.ndarray:
    """Segments whose detector has no 1/f noise (``fknee <= 0``): with the noise prior on,
    each is one baseline (module notes).

    The prior's P_a(f) vanishes at f > 0 for such a detector: its offsets may not vary within
    the segment (C_a⁻¹ infinite there), only their mean is free. The destriped map of a
    white-noise TOD is then the binned map up to one offset per detector and noise block
    (instead of 1 s baselines fitting the white noise).
    """
    fknee = np.array([d.fknee for d in detectors])
    return fknee[np.asarray(seg_det, dtype=int)] <= 0


class BaselinePrior:
    """The 1/f prior C_a⁻¹ on the baselines (module notes): per segment, (first baseline,
    n baselines, FFT length, 1/P_a on its rfft frequencies); empty (falsy) without 1/f noise.

    The FFT length is the next fast length ≥ n (scipy ``next_fast_len``; a length with a large
    prime factor, e.g. 2²²/10 → 419431 = 59 × 7109, is 20× slower): C_a⁻¹ is applied as the
    circulant of that length restricted to the segment, still symmetric and positive.

    Parameters
    ----------
    base
        The baseline layout.
    seg_start, seg_det
        First sample and detector (index into ``detectors``) of every segment.
    detectors, sample_rate
        Noise parameters and sampling frequency (Hz).
    """

    def __init__(self, base: Baselines, seg_start: np.ndarray, seg_det: np.ndarray,
                 detectors: list[Detector], sample_rate: float) -> None:
        from scipy.fft import next_fast_len

        out = []
        first = np.searchsorted(base.starts, seg_start)
        counts = np.diff(np.r_[first, len(base)])
        for b0, nb, k in zip(first, counts, seg_det, strict=True):
            det = detectors[k]
            if det.fknee <= 0 or det.net <= 0 or nb < 2:
                continue
            nlen = float(np.median(base.lengths[b0:b0 + nb]))
            nfft = next_fast_len(int(nb), real=True)
            f = np.fft.rfftfreq(nfft, d=nlen / sample_rate)
            inv = np.zeros_like(f)
            inv[1:] = nlen / det.net**2 * (f[1:] / det.fknee) ** det.alpha
            out.append((int(b0), int(nb), int(nfft), inv))
        self.filters = out

    def __bool__(self) -> bool:
        return bool(self.filters)

    def apply(self, a: np.ndarray) -> np.ndarray:
        """C_a⁻¹ a."""
        out = np.zeros_like(a)
        for b0, nb, nfft, inv in self.filters:
            out[b0:b0 + nb] = np.fft.irfft(np.fft.rfft(a[b0:b0 + nb], n=nfft) * inv,
                                           n=nfft)[:nb]
        return out

    def add_diagonal(self, diag: np.ndarray) -> np.ndarray:
        """``diag`` + the diagonal of C_a⁻¹ (of a circulant: its mean eigenvalue), in place."""
        for b0, nb, nfft, inv in self.filters:
            diag[b0:b0 + nb] += (2 * inv.sum() - inv[0] - (inv[-1] if nfft % 2 == 0 else 0)) / nfft
        return diag


class _Pointing:
    """P and the per-pixel blocks (Pᵀ N_w⁻¹ P)⁻¹ of a :class:`TODData` (module notes).

    ``npol = 1``: temperature, P has a 1 per row. ``npol = 3``: I, Q, U, the row of sample i
    is (1, cos 2ψ_i, sin 2ψ_i) ((1, 0, 0) for a temperature-only detector), the blocks are
    3 × 3 (:func:`~rediscovery.cosmo.cmb.mapmaking.polarisation.invert_pixel_blocks`); the
    samples of pixels whose block has ``rcond < rcond_min`` get weight 0 (MADAM's treatment of
    poorly conditioned pixels: they take no part in the destriping and stay unseen).
    Map vectors are (n_pixels_seen, npol); the sample weights ``w`` are N_w⁻¹ with those flags.
    """

    def __init__(self, data: TODData, w_samp: np.ndarray, npol: int, rcond_min: float) -> None:
        self.pix, self.npol = data.pix, npol
        self.npix = npix = len(data.hit_nest)
        if npol == 1:
            self.cols: np.ndarray | None = None
            self.inv = (1.0 / np.bincount(self.pix, weights=w_samp, minlength=npix))[:, None, None]
            self.rcond = np.ones(npix)
            self.w = w_samp
            return
        self.cols = data.iqu_columns()
        self.inv, self.rcond = invert_pixel_blocks(
            pixel_blocks(self.pix, w_samp, self.cols, npix), rcond_min)
        self.w = w_samp * (self.rcond >= rcond_min)[self.pix]

    def bin(self, y_w: np.ndarray) -> np.ndarray:
        """Pᵀ y_w, (npix, npol): ``y_w`` already weighted by N_w⁻¹."""
        if self.cols is None:
            return np.bincount(self.pix, weights=y_w, minlength=self.npix)[:, None]
        return np.stack([np.bincount(self.pix, weights=y_w * c, minlength=self.npix)
                         for c in self.cols], -1)

    def solve(self, b: np.ndarray) -> np.ndarray:
        """(Pᵀ N_w⁻¹ P)⁻¹ b block by block, b (npix, npol)."""
        if self.cols is None:
            return b * self.inv[:, 0]
        return np.einsum("pij,pj->pi", self.inv, b)

    def baseline_matrix(self, base: Baselines):
        """B = Fᵀ N_w⁻¹ P, sparse CSR (baselines × npix·npol, column p·npol + k): duplicate
        (baseline, pixel) pairs summed."""
        import scipy.sparse as sp

        rows = np.repeat(np.arange(len(base), dtype=np.int32), base.lengths)
        cols = self.pix.astype(np.int32)
        if self.cols is None:
            return sp.csr_matrix((self.w, (rows, cols)), shape=(len(base), self.npix))
        vals = np.concatenate([self.w * c for c in self.cols])
        cols = np.concatenate([cols * 3 + k for k in range(3)])
        return sp.csr_matrix((vals, (np.tile(rows, 3), cols)), shape=(len(base), 3 * self.npix))


def _destripe(data: TODData, baseline_length: int, npol: int, noise_prior: bool, tol: float,
              maxiter: int, rcond_min: float) -> tuple[np.ndarray, _Pointing, np.ndarray,
                                                       dict[str, Any]]:
    """The destriper of :func:`destripe` (``npol = 1``) and :func:`destripe_iqu` (3): the map
    (npix, npol) on the observed pixels, the pointing, the offsets and the solver figures."""
    t0 = time.perf_counter()
    whole = white_segments(data.seg_det, data.detectors) if noise_prior else None
    base = Baselines(data, baseline_length, whole)
    pt = _Pointing(data, base.spread(base.w), npol, rcond_min)
    w_samp = pt.w
    # B = F^T N^-1 P (baselines × pixels, duplicates summed): one sparse product each way per
    # iteration instead of four passes over the samples
    fnp = pt.baseline_matrix(base)
    # B^T as the CSC view of B (no copy): its product runs through the baselines in order and
    # scatters into the (cache-sized) map; a CSR copy of B^T would read the baseline vector
    # at random, ~7x slower at 10^8 samples
    fnp_t = fnp.T
    fnf = base.collect(w_samp)  # F^T N^-1 F (diagonal)

    def z_part(bt_a: np.ndarray) -> np.ndarray:  # B (P^T N^-1 P)^-1 (.), (.) = B^T a or P^T N^-1 d
        return fnp @ pt.solve(bt_a.reshape(pt.npix, npol)).ravel()

    prior = BaselinePrior(base, data.seg_start, data.seg_det, data.detectors,
                          data.sample_rate) if noise_prior else None

    def apply_a(a: np.ndarray) -> np.ndarray:
        # F^T N^-1 Z F a = F^T N^-1 F a - B (P^T N^-1 P)^-1 B^T a
        out = fnf * a - z_part(fnp_t @ a)
        if prior:
            out += prior.apply(a)
        return out

    d = data.signal
    fnd = base.collect(d * w_samp)
    rhs = fnd - z_part(pt.bin(d * w_samp))
    pdiag = fnf.copy()
    if prior:
        prior.add_diagonal(pdiag)
    # a baseline whose samples are all flagged (ill-conditioned pixels) has a zero row
    precond_diag = np.divide(1.0, pdiag, out=np.zeros_like(pdiag), where=pdiag > 0)
    # a right-hand side at round-off level of the data's own (noiseless TOD) is solved by a = 0
    scale = float(np.linalg.norm(fnd))
    sol = pcg(apply_a, rhs, lambda r: precond_diag * r, tol=tol, maxiter=maxiter,
              atol=1e-13 * scale)
    a = sol.x
    m = pt.solve(pt.bin((d - base.spread(a)) * w_samp))
    info = {"method": "destriped", "baseline_length": int(baseline_length),
            "noise_prior": bool(prior),
            "baseline_seconds": baseline_length / data.sample_rate,
            "n_baselines": len(base), "cg_iterations": sol.iterations,
            "cg_residual": sol.residual, "cg_tol": tol, "cg_converged": sol.converged,
            "cg_history": list(sol.history), "n_samples": data.n_samples,
            "n_pixels_seen": pt.npix, "seconds": time.perf_counter() - t0}
    return m, pt, a, info


def destripe(data: TODData, baseline_length: int, *, noise_prior: bool = True,
             tol: float = 1e-6, maxiter: int = 300) -> tuple[MapResult, np.ndarray]:
    """Destriped temperature map and the baseline offsets (μK).

    Parameters
    ----------
    data
        The TOD in memory (:func:`~rediscovery.cosmo.cmb.mapmaking.binned.load_tod`).
    baseline_length
        Samples per baseline (e.g. 10 = 1 s at 10 Hz).
    noise_prior
        Add the 1/f prior C_a⁻¹ of the detectors' noise parameters (module notes).
    tol
        CG stops when ‖r‖/‖b‖ ≤ tol.
    maxiter
        Largest number of CG iterations.

    Returns
    -------
    (MapResult, ndarray)
        The map (``info``: method, baseline_length, cg_iterations, cg_residual,
        cg_converged, cg_history, seconds) and the offsets a.
    """
    m, pt, a, info = _destripe(data, baseline_length, 1, noise_prior, tol, maxiter, RCOND_MIN)
    res = data.result({"map": m[:, 0], "hits": data.hits(), "variance": pt.inv[:, 0, 0]}, info)
    return res, a


def destripe_iqu(data: TODData, baseline_length: int, *, noise_prior: bool = True,
                 tol: float = 1e-6, maxiter: int = 300,
                 rcond_min: float = RCOND_MIN) -> tuple[IQUMapResult, np.ndarray]:
    """Destriped I, Q, U maps and the baseline offsets (μK) of a TOD of polarised detectors.

    The destriping equation of :func:`destripe` with the I, Q, U pointing matrix
    (module notes; Keihänen et al. 2010, §2): P has the row (1, cos 2ψ, sin 2ψ), so
    Pᵀ N_w⁻¹ P is block-diagonal with one 3 × 3 block per pixel, inverted once. A TOD without
    polarised detectors gives the temperature destriper's map as I, with Q and U ``UNSEEN``.

    Parameters
    ----------
    data
        The TOD in memory with ``psi`` (:func:`~rediscovery.cosmo.cmb.mapmaking.load_tod` of a
        file with polarised detectors).
    baseline_length, noise_prior, tol, maxiter
        As for :func:`destripe`.
    rcond_min
        Pixels whose 3 × 3 block has a smaller reciprocal condition number are excluded from
        the destriping (their samples get weight 0) and left ``UNSEEN``.

    Returns
    -------
    (IQUMapResult, ndarray)
        The maps (``info`` as for ``destripe``, ``method`` ``destriped-iqu``, plus the pixel
        counts of :func:`~rediscovery.cosmo.cmb.mapmaking.bin_tod_iqu`) and the offsets a.
    """
    if not 0.0 < rcond_min < 1.0:
        raise ConfigError(f"rcond_min {rcond_min}: expected 0 < rcond_min < 1")
    npol = 1 if data.psi is None else 3
    m, pt, a, info = _destripe(data, baseline_length, npol, noise_prior, tol, maxiter,
                               rcond_min)
    info["method"] = "destriped-iqu"
    info["n_samples_polarised"] = 0 if data.psi is None else int(data.polarised_samples().sum())
    info["rcond_min"] = rcond_min
    if npol == 3:
        return iqu_result(data.nside, data.hit_nest, m, pt.inv, data.hits(), pt.rcond,
                          rcond_min, info), a
    # temperature only: I is the temperature destriper's map, Q and U are not solved
    import healpy as hp

    inv = np.zeros((pt.npix, 3, 3))
    inv[:, 0, 0] = pt.inv[:, 0, 0]
    res = iqu_result(data.nside, data.hit_nest, np.column_stack([m, np.zeros((pt.npix, 2))]),
                     inv, data.hits(), pt.rcond, rcond_min, info)
    res.maps[1:] = hp.UNSEEN
    res.variance[1:] = hp.UNSEEN
    res.rcond[:] = 0.0  # the 3 × 3 blocks are singular
    return res, a

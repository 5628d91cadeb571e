"""The destriper on a TOD file read chunk by chunk: the TOD is never in memory.

It solves the destriping equation of :func:`~rediscovery.cosmo.cmb.mapmaking.destripe`
(same baselines, restarted at every detector and noise-block edge; same 1/f prior and Jacobi
preconditioner; same :func:`~rediscovery.cosmo.cmb.mapmaking.pcg`), with every product that
touches the samples computed by a pass over the file (:meth:`TODFile.iter_chunks` /
:meth:`TODFile.iter_pixels`):

* setup, one pass over samples and pointing: the hit map Pᵀ N_w⁻¹ P, Pᵀ N_w⁻¹ d and
  Fᵀ N_w⁻¹ d; then one pass over the pointing for B (Pᵀ N_w⁻¹ P)⁻¹ Pᵀ N_w⁻¹ d, with
  B = Fᵀ N_w⁻¹ P;
* every CG iteration, two passes over the pointing: Bᵀ a = Pᵀ N_w⁻¹ F a (the baselines
  binned), then B z with z = (Pᵀ N_w⁻¹ P)⁻¹ Bᵀ a (the map summed over each baseline), each a
  compiled loop over the chunk (:mod:`~rediscovery.cosmo.cmb.mapmaking.kernels`);
* at the end, one pass over samples and pointing for the map of d − F a.

Memory: the maps (full sky at ``nside``, a few arrays of 12 nside² values), one chunk of
samples, and the baseline vectors of CG (~12 float64 values per baseline). Measured peak
(``benchmarks/cmb_mapmaking.py stream``, 1 s baselines at 10 Hz): ~10 bytes per sample over
a fixed ~0.13 GB, against ~57 bytes per sample for the in-memory destriper, whose TOD and
sparse B hold the whole pointing. The pointing is read again at every iteration: 1.2× the
in-memory destriper's CPU time at 10⁸ samples, 2-3× below 10⁷.

**I, Q, U** (:func:`destripe_file_iqu`): the same passes with the polarised pointing row
(1, cos 2ψ, sin 2ψ) of :func:`~rediscovery.cosmo.cmb.mapmaking.destripe_iqu`, the angles read
with the pixels (:meth:`TODFile.iter_pointing`, 4 more bytes per sample and pass) and cos 2ψ,
sin 2ψ taken in float32 in every pass (:func:`~rediscovery.cosmo.cmb.mapmaking.polarisation.
cos_sin_2psi`: below the float32 ψ's own rounding, and 20× cheaper than float64 here; the maps
then differ from the in-memory destriper's, float64 trigonometry, by ~10⁻⁷ of their rms), the
3 × 3 pixel blocks inverted once after the setup pass. The samples of ill-conditioned pixels get
weight 0 as in memory; that changes only the diagonal Fᵀ N_w⁻¹ F and Fᵀ N_w⁻¹ d (those pixels'
blocks are zero in (Pᵀ N_w⁻¹ P)⁻¹), so one extra pass over the file corrects them when a seen
pixel is ill-conditioned.

A baseline may straddle two read chunks (any chunk size works, it need not divide the
baseline length or the noise block): each chunk adds its part of the baseline's sum.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.cosmo.cmb.mapmaking.binned import (
    MapResult,
    detector_weights,
    pixel_shift,
    ring_map,
)
from rediscovery.cosmo.cmb.mapmaking.cg import pcg
from rediscovery.cosmo.cmb.mapmaking.destriper import BaselinePrior, Baselines, white_segments
from rediscovery.cosmo.cmb.mapmaking.polarisation import (
    RCOND_MIN,
    IQUMapResult,
    accumulate_iqu,
    block_matrix,
    cos_sin_2psi,
    invert_pixel_blocks,
    iqu_result,
)
from rediscovery.cosmo.cmb.tod.io import TODFile

__all__ = ["STREAM_ABOVE_SAMPLES", "destripe_file", "destripe_file_iqu"]

#: Above this many samples (all mapped detectors) ``cmb-mapmake --method destriped`` and the
#: ``map`` stage of ``cosmo run`` stream the TOD from the file (:func:`destripe_file`) instead
#: of loading it. Measured peak memory (docs/cosmo-cmb-tod.md, "Streaming destriper"): in
#: memory ~57 bytes per sample (1.7 GB at this size), streamed ~10 bytes per sample over a
#: fixed ~0.13 GB; streaming costs 1.2-3× the CPU, so small TODs stay in memory.
STREAM_ABOVE_SAMPLES = 30_000_000


class _Layout:
    """Segments (detector × noise block) and baselines of the selected detectors, in the
    order of the in-memory destriper: detector after detector, sample index
    ``i_det × n_samples + i`` (``i_det`` the position among the selected detectors)."""

    def __init__(self, tod: TODFile, names: list[str], baseline_length: int,
                 noise_prior: bool) -> None:
        n = tod.n_samples
        block = int(tod.attrs.get("noise_block", n)) or n
        all_names = [d.name for d in tod.detectors]
        w = detector_weights(tod.detectors)
        starts, lens, dets = [], [], []
        for k, name in enumerate(names):
            b0 = np.arange(0, n, block)
            starts.append(k * n + b0)
            lens.append(np.minimum(block, n - b0))
            dets.append(np.full(b0.size, all_names.index(name)))
        self.n_samples = n
        self.names = names
        self.seg_start = np.concatenate(starts)
        self.seg_len = np.concatenate(lens)
        self.seg_det = np.concatenate(dets)
        self.weight = {name: w[name] for name in names}
        self.position = {name: k for k, name in enumerate(names)}
        seg_w = np.array([w[tod.detectors[j].name] for j in self.seg_det])
        whole = white_segments(self.seg_det, tod.detectors) if noise_prior else None
        self.base = Baselines.from_segments(self.seg_start, self.seg_len, seg_w,
                                            n * len(names), baseline_length, whole)

    def local(self, name: str, start: int, size: int) -> tuple[int, int, np.ndarray, np.ndarray]:
        """Baselines ``lo … hi-1`` overlapping a chunk, their first sample in the chunk
        (the first clipped to 0) and their number of samples in it."""
        g0 = self.position[name] * self.n_samples + start
        starts = self.base.starts
        lo = int(np.searchsorted(starts, g0, side="right")) - 1
        hi = int(np.searchsorted(starts, g0 + size, side="left"))
        first = np.maximum(starts[lo:hi] - g0, 0)
        return lo, hi, first, np.diff(np.r_[first, size])


def _selected(tod: TODFile, detectors: Iterable[str] | None, chunk: int | None) -> list[str]:
    """The detectors to map (default: all), checked, and the chunk size checked."""
    names = [d.name for d in tod.detectors] if detectors is None else list(detectors)
    unknown = [x for x in names if x not in {d.name for d in tod.detectors}]
    if unknown or not names:
        raise ConfigError(f"detectors {unknown or names}: expected names among "
                          f"{[d.name for d in tod.detectors]}")
    if chunk is not None and chunk < 1:
        raise ConfigError(f"chunk {chunk}: expected >= 1 samples")
    return names


def _solve_offsets(lay: _Layout, tod: TODFile, noise_prior: bool, fnf: np.ndarray,
                   rhs: np.ndarray, z_part: Any, scale: float, tol: float,
                   maxiter: int) -> tuple[Any, bool]:
    """PCG on (Fᵀ N_w⁻¹ F − B (Pᵀ N_w⁻¹ P)⁻¹ Bᵀ + C_a⁻¹) a = rhs with the Jacobi
    preconditioner; ``z_part(a)`` = B (Pᵀ N_w⁻¹ P)⁻¹ Bᵀ a by passes over the file. Returns the
    CG result and whether the 1/f prior was used."""
    base = lay.base
    prior = BaselinePrior(base, lay.seg_start, lay.seg_det, tod.detectors,
                          tod.sample_rate) if noise_prior else None

    def apply_a(a: np.ndarray) -> np.ndarray:
        # F^T N^-1 Z F a = F^T N^-1 F a - B (P^T N^-1 P)^-1 B^T a
        out = fnf * a
        out -= z_part(a)
        if prior:
            out += prior.apply(a)
        return out

    pdiag = fnf.copy()
    if prior:
        prior.add_diagonal(pdiag)
    # a baseline whose samples are all flagged (ill-conditioned pixels) has a zero row
    precond_diag = np.divide(1.0, pdiag, out=np.zeros_like(pdiag), where=pdiag > 0)
    del pdiag
    # a right-hand side at round-off level of the data's own (noiseless TOD) is solved by a = 0
    sol = pcg(apply_a, rhs, lambda r: precond_diag * r, tol=tol, maxiter=maxiter,
              atol=1e-13 * scale)
    return sol, bool(prior)


def _info(lay: _Layout, tod: TODFile, sol: Any, prior: bool, baseline_length: int, tol: float,
          n_seen: int, t0: float, chunk: int | None, passes: int) -> dict[str, Any]:
    return {"method": "destriped", "baseline_length": int(baseline_length),
            "noise_prior": prior, "baseline_seconds": baseline_length / tod.sample_rate,
            "n_baselines": len(lay.base), "cg_iterations": sol.iterations,
            "cg_residual": sol.residual, "cg_tol": tol, "cg_converged": sol.converged,
            "cg_history": list(sol.history), "n_samples": tod.n_samples * len(lay.names),
            "n_pixels_seen": int(n_seen), "seconds": time.perf_counter() - t0,
            "streamed": True, "chunk": chunk, "passes": passes}


def destripe_file(tod: TODFile, nside: int, baseline_length: int, *,
                  detectors: Iterable[str] | None = None, chunk: int | None = None,
                  noise_prior: bool = True, tol: float = 1e-6,
                  maxiter: int = 300) -> tuple[MapResult, np.ndarray]:
    """Destriped map of a TOD file, streamed chunk by chunk (module notes).

    Parameters
    ----------
    tod
        An open :class:`~rediscovery.cosmo.cmb.tod.TODFile`.
    nside
        Output resolution.
    baseline_length
        Samples per baseline (e.g. 10 = 1 s at 10 Hz).
    detectors
        Names of the detectors to map (default: all); a data split maps a subset.
    chunk
        Samples per read (default: the file's HDF5 chunk, 2²⁰ as written by the simulator).
    noise_prior, tol, maxiter
        As for :func:`~rediscovery.cosmo.cmb.mapmaking.destripe`.

    Returns
    -------
    (MapResult, ndarray)
        The map (``info`` as for ``destripe``, plus ``streamed``, ``chunk`` and
        ``passes``: the reads of the file) and the offsets a (μK), detector after detector.
    """
    from rediscovery.cosmo.cmb.mapmaking.kernels import bin_baselines, collect_map

    t0 = time.perf_counter()
    names = _selected(tod, detectors, chunk)
    shift = pixel_shift(nside, tod.nside_pointing)
    npix = 12 * nside * nside
    lay = _Layout(tod, names, baseline_length, noise_prior)
    base = lay.base
    passes = 0

    def pointing() -> Iterator[tuple[str, int, np.ndarray]]:
        nonlocal passes
        passes += 1
        # the indices were range-checked by the setup pass (TODFile.iter_chunks)
        yield from tod.iter_pixels(chunk, detectors=names, check=False)

    # setup: hits, P^T N^-1 P, P^T N^-1 d, F^T N^-1 d in one pass over samples and pointing
    hits = np.zeros(npix, dtype=np.int64)
    m_diag = np.zeros(npix)
    pnd = np.zeros(npix)
    fnd = np.zeros(len(base))
    passes += 1
    for c in tod.iter_chunks(chunk, detectors=names):
        pix = np.right_shift(c.pixels, shift)
        w = lay.weight[c.detector]
        cnt = np.bincount(pix, minlength=npix)
        hits += cnt
        m_diag += w * cnt
        pnd += w * np.bincount(pix, weights=c.signal, minlength=npix)
        lo, hi, first, _ = lay.local(c.detector, c.start, len(c.signal))
        fnd[lo:hi] += w * np.add.reduceat(c.signal, first)
    seen = hits > 0
    if not seen.any():
        raise ConfigError("the TOD has no samples: nothing to map")
    inv_m = np.zeros(npix)
    inv_m[seen] = 1.0 / m_diag[seen]

    def b_times(z: np.ndarray) -> np.ndarray:  # B z = F^T N^-1 P z
        out = np.zeros(len(base))
        for name, c0, pix in pointing():
            lo, hi, first, _ = lay.local(name, c0, len(pix))
            collect_map(pix, shift, first, z, lay.weight[name], out[lo:hi])
        return out

    def bt_times(a: np.ndarray) -> np.ndarray:  # B^T a = P^T N^-1 F a
        y = np.zeros(npix)
        for name, c0, pix in pointing():
            lo, hi, first, _ = lay.local(name, c0, len(pix))
            bin_baselines(pix, shift, first, a[lo:hi], lay.weight[name], y)
        return y

    rhs = fnd - b_times(pnd * inv_m)
    sol, prior = _solve_offsets(lay, tod, noise_prior, base.w * base.lengths, rhs,
                                lambda a: b_times(bt_times(a) * inv_m),
                                float(np.linalg.norm(fnd)), tol, maxiter)
    del fnd
    a = sol.x
    # the map of d - F a: one more pass over samples and pointing
    acc = np.zeros(npix)
    passes += 1
    for c in tod.iter_chunks(chunk, detectors=names):
        lo, hi, _, size = lay.local(c.detector, c.start, len(c.signal))
        clean = c.signal - np.repeat(a[lo:hi], size)
        acc += lay.weight[c.detector] * np.bincount(np.right_shift(c.pixels, shift),
                                                    weights=clean, minlength=npix)
    hit_nest = np.flatnonzero(seen)
    info = _info(lay, tod, sol, prior, baseline_length, tol, hit_nest.size, t0, chunk, passes)
    res = ring_map(nside, hit_nest, {"map": acc[seen] * inv_m[seen], "hits": hits[seen],
                                     "variance": inv_m[seen]}, info)
    return res, a


def destripe_file_iqu(tod: TODFile, nside: int, baseline_length: int, *,
                      detectors: Iterable[str] | None = None, chunk: int | None = None,
                      noise_prior: bool = True, tol: float = 1e-6, maxiter: int = 300,
                      rcond_min: float = RCOND_MIN) -> tuple[IQUMapResult, np.ndarray]:
    """Destriped I, Q, U maps of a TOD file of polarised detectors, streamed chunk by chunk:
    :func:`~rediscovery.cosmo.cmb.mapmaking.destripe_iqu` without loading the TOD (module
    notes).

    Parameters
    ----------
    tod, nside, baseline_length, detectors, chunk, noise_prior, tol, maxiter
        As for :func:`destripe_file`.
    rcond_min
        As for :func:`~rediscovery.cosmo.cmb.mapmaking.destripe_iqu`.

    Returns
    -------
    (IQUMapResult, ndarray)
        The maps (``info`` as for ``destripe_iqu``, plus ``streamed``, ``chunk`` and
        ``passes``) and the offsets a (μK), detector after detector.
    """
    from rediscovery.cosmo.cmb.mapmaking.kernels import (
        bin_baselines,
        bin_baselines_iqu,
        collect_map,
        collect_map_iqu,
    )

    t0 = time.perf_counter()
    names = _selected(tod, detectors, chunk)
    if not 0.0 < rcond_min < 1.0:
        raise ConfigError(f"rcond_min {rcond_min}: expected 0 < rcond_min < 1")
    if not any(d.polarised for d in tod.detectors if d.name in names):
        raise InputError(f"no polarisation angles (psi) for detectors {names}: I, Q, U maps "
                         "need polarisation-sensitive detectors; make a temperature map "
                         "instead (destripe_file)", path=tod.path)
    shift = pixel_shift(nside, tod.nside_pointing)
    npix = 12 * nside * nside
    lay = _Layout(tod, names, baseline_length, noise_prior)
    base = lay.base
    passes = 0

    def pointing() -> Iterator[tuple[str, int, np.ndarray, np.ndarray | None]]:
        nonlocal passes
        passes += 1
        yield from tod.iter_pointing(chunk, detectors=names, check=False)

    # setup: the A_p and b_p sums of every pixel and F^T N^-1 d in one pass
    acc = np.zeros((9, npix))
    hits = np.zeros(npix, dtype=np.int64)
    fnd = np.zeros(len(base))
    n_pol = 0
    passes += 1
    for c in tod.iter_chunks(chunk, detectors=names):
        w = lay.weight[c.detector]
        hits += accumulate_iqu(acc, np.right_shift(c.pixels, shift), w, c.signal,
                               cos_sin_2psi(c.psi, np.float32))
        n_pol += 0 if c.psi is None else len(c.signal)
        lo, hi, first, _ = lay.local(c.detector, c.start, len(c.signal))
        fnd[lo:hi] += w * np.add.reduceat(c.signal, first)
    seen = np.flatnonzero(hits)
    if seen.size == 0:
        raise ConfigError("the TOD has no samples: nothing to map")
    inv, rcond = invert_pixel_blocks(block_matrix(acc[:6, seen]), rcond_min)
    pnd = np.zeros((npix, 3))
    pnd[seen] = acc[6:, seen].T
    del acc
    # the samples of ill-conditioned pixels get weight 0: remove them from the diagonal terms
    flagged = np.zeros(len(base))
    bad_seen = rcond < rcond_min
    if bad_seen.any():
        bad = np.zeros(npix, dtype=bool)
        bad[seen[bad_seen]] = True
        passes += 1
        for c in tod.iter_chunks(chunk, detectors=names):
            flag = bad[np.right_shift(c.pixels, shift)]
            if flag.any():
                lo, hi, first, _ = lay.local(c.detector, c.start, len(c.signal))
                w = lay.weight[c.detector]
                fnd[lo:hi] -= w * np.add.reduceat(np.where(flag, c.signal, 0.0), first)
                flagged[lo:hi] += np.add.reduceat(flag.astype(float), first)
    fnf = base.w * (base.lengths - flagged)

    def solve(y: np.ndarray) -> np.ndarray:  # (P^T N^-1 P)^-1 y, block by block, (npix, 3)
        z = np.zeros((npix, 3))
        z[seen] = np.einsum("pij,pj->pi", inv, y[seen])
        return z

    def b_times(z: np.ndarray) -> np.ndarray:  # B z = F^T N^-1 P z
        out = np.zeros(len(base))
        z_t = np.ascontiguousarray(z[:, 0])
        for name, c0, pix, psi in pointing():
            lo, hi, first, _ = lay.local(name, c0, len(pix))
            if psi is not None:  # a polarised detector
                c2, s2 = cos_sin_2psi(psi, np.float32)
                collect_map_iqu(pix, c2, s2, shift, first, z, lay.weight[name], out[lo:hi])
            else:
                collect_map(pix, shift, first, z_t, lay.weight[name], out[lo:hi])
        return out

    def bt_times(a: np.ndarray) -> np.ndarray:  # B^T a = P^T N^-1 F a
        y = np.zeros((npix, 3))
        y_t = np.zeros(npix)
        for name, c0, pix, psi in pointing():
            lo, hi, first, _ = lay.local(name, c0, len(pix))
            if psi is not None:
                c2, s2 = cos_sin_2psi(psi, np.float32)
                bin_baselines_iqu(pix, c2, s2, shift, first, a[lo:hi], lay.weight[name], y)
            else:
                bin_baselines(pix, shift, first, a[lo:hi], lay.weight[name], y_t)
        y[:, 0] += y_t
        return y

    rhs = fnd - b_times(solve(pnd))
    sol, prior = _solve_offsets(lay, tod, noise_prior, fnf, rhs,
                                lambda a: b_times(solve(bt_times(a))),
                                float(np.linalg.norm(fnd)), tol, maxiter)
    del fnd, pnd
    a = sol.x
    # the maps of d - F a: one more pass over samples and pointing
    acc = np.zeros((9, npix))
    passes += 1
    for c in tod.iter_chunks(chunk, detectors=names):
        lo, hi, _, size = lay.local(c.detector, c.start, len(c.signal))
        clean = c.signal - np.repeat(a[lo:hi], size)
        accumulate_iqu(acc, np.right_shift(c.pixels, shift), lay.weight[c.detector], clean,
                       cos_sin_2psi(c.psi, np.float32))
    m = np.einsum("pij,jp->pi", inv, acc[6:, seen])
    info = _info(lay, tod, sol, prior, baseline_length, tol, seen.size, t0, chunk, passes)
    info.update(method="destriped-iqu", n_samples_polarised=n_pol, rcond_min=rcond_min)
    return iqu_result(nside, seen, m, inv, hits[seen], rcond, rcond_min, info), a

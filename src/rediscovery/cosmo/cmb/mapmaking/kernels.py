"""Compiled kernels of the streaming destriper: Bᵀa and Bz on one chunk of pointing
(temperature; and I, Q, U with the polarisation angles).

Why compiled: the streaming destriper (:mod:`~rediscovery.cosmo.cmb.mapmaking.streaming`)
cannot keep the sparse baseline × pixel matrix B = Fᵀ N_w⁻¹ P that the in-memory destriper
builds once with scipy (it is as large as the pointing), so B is applied anew from the
pointing at every CG iteration. In numpy that is five passes over memory per chunk (pixel
shift, ``repeat`` of the baselines, ``bincount``'s integer cast and scatter; or the gather
``z[pix]`` and ``reduceat``) and ran at 4 × 10⁵ samples/s per CG run of ~60 iterations; one
numba loop reads each pixel index once. litebird-sim's and TOAST's destripers work on a TOD
held in memory (distributed over MPI processes), so there is no library call to use instead.
numba is already installed (it compiles UMAP's kernels and
:mod:`rediscovery.cosmo.distance_kernel`); ``cache=True`` keeps the machine code next to this
file or in numba's user cache.

Conventions: ``pix`` are NESTED indices at the pointing resolution, ``shift`` the right shift
to the map's nside; the chunk holds baselines ``j = 0 … len(first) - 1`` starting at samples
``first[j]`` (``first[0] = 0``) and ending at the next start or the chunk's end; ``w`` is the
detector's 1/σ². The I, Q, U kernels take the chunk's cos 2ψ and sin 2ψ (float32, computed
per chunk by numpy's vectorised float32 trigonometry: a scalar float64 sine and cosine in the
loop cost ~50 ns per sample, 6× the rest of the loop); the maps are (npix, 3).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["bin_baselines", "bin_baselines_iqu", "collect_map", "collect_map_iqu"]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


@numba.njit(**_JIT)
def bin_baselines(pix: np.ndarray, shift: int, first: np.ndarray, a: np.ndarray, w: float,
                  y: np.ndarray) -> None:  # pragma: no cover (compiled)
    """y += Pᵀ N_w⁻¹ F a on the chunk: ``y[pix[i] >> shift] += w a[j]`` for sample i of
    baseline j (in place)."""
    n = pix.size
    nb = first.size
    for j in range(nb):
        s1 = first[j + 1] if j + 1 < nb else n
        v = w * a[j]
        for i in range(first[j], s1):
            y[pix[i] >> shift] += v


@numba.njit(**_JIT)
def collect_map(pix: np.ndarray, shift: int, first: np.ndarray, z: np.ndarray, w: float,
                out: np.ndarray) -> None:  # pragma: no cover (compiled)
    """out += Fᵀ N_w⁻¹ P z on the chunk: ``out[j] += w Σ_{i ∈ j} z[pix[i] >> shift]``
    (in place)."""
    n = pix.size
    nb = first.size
    for j in range(nb):
        s1 = first[j + 1] if j + 1 < nb else n
        acc = 0.0
        for i in range(first[j], s1):
            acc += z[pix[i] >> shift]
        out[j] += w * acc


@numba.njit(**_JIT)
def bin_baselines_iqu(pix: np.ndarray, cos2: np.ndarray, sin2: np.ndarray, shift: int,
                      first: np.ndarray, a: np.ndarray, w: float,
                      y: np.ndarray) -> None:  # pragma: no cover (compiled)
    """y += Pᵀ N_w⁻¹ F a for a polarised detector, y (npix, 3): sample i of baseline j adds
    ``w a[j] (1, cos 2ψ_i, sin 2ψ_i)`` to its pixel's row (in place)."""
    n = pix.size
    nb = first.size
    for j in range(nb):
        s1 = first[j + 1] if j + 1 < nb else n
        v = w * a[j]
        for i in range(first[j], s1):
            p = pix[i] >> shift
            y[p, 0] += v
            y[p, 1] += v * cos2[i]
            y[p, 2] += v * sin2[i]


@numba.njit(**_JIT)
def collect_map_iqu(pix: np.ndarray, cos2: np.ndarray, sin2: np.ndarray, shift: int,
                    first: np.ndarray, z: np.ndarray, w: float,
                    out: np.ndarray) -> None:  # pragma: no cover (compiled)
    """out += Fᵀ N_w⁻¹ P z for a polarised detector, z (npix, 3):
    ``out[j] += w Σ_{i ∈ j} (z[p,0] + z[p,1] cos 2ψ_i + z[p,2] sin 2ψ_i)`` (in place)."""
    n = pix.size
    nb = first.size
    for j in range(nb):
        s1 = first[j + 1] if j + 1 < nb else n
        acc = 0.0
        for i in range(first[j], s1):
            p = pix[i] >> shift
            acc += z[p, 0] + z[p, 1] * cos2[i] + z[p, 2] * sin2[i]
        out[j] += w * acc

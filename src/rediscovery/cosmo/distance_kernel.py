r"""Compiled kernel for ΛCDM luminosity distances (no radiation): one model or an ensemble.

Why a compiled kernel: in numpy a call of :func:`rediscovery.cosmo.cosmology.luminosity_distance`
costs ~20 array operations (integrand, cumulative sum, curvature branch, interpolation), each
a pass over memory plus Python overhead, which capped one model at ~11-15× astropy. One numba
loop does the same work in a few microseconds. numba is already installed with ``umap-learn``
(it compiles UMAP's kernels); here it compiles on first use and caches the machine code
(``cache=True``: next to this file, or in numba's user cache when that is not writable).

Method, per model (Ω_k = 1 − Ω_m − Ω_Λ) and the largest requested redshift z_max:

* knots uniform in u = √z on [0, √z_max] (:data:`N_INTERVALS` intervals: short at low z, where
  the distance's Taylor series has its largest derivatives for extreme models);
* D_C/D_H = ∫dz/E at the knots by composite 3-point Gauss-Legendre per interval (error
  ∝ Δz⁷, negligible beside the interpolation);
* at the knots the smooth ratio f = D_L/(z D_H) = (1+z) D_M/(z D_H) and its exact derivative
  df/dz = (D_M/D_H)/z + (1+z)[z D_M'/D_H − D_M/D_H]/z² with D_M' = cosh(√Ω_k D_C)/E (open),
  cos(√−Ω_k D_C)/E (closed), 1/E (flat; Hogg 1999, astro-ph/9905116, eq. 16); f = 1 and
  df/du = 2u df/dz = 0 at z = 0;
* cubic Hermite interpolation of f(u) at each requested redshift; the interval index is
  ⌊√z/Δu⌋, no search. Error ≤ Δu⁴/384 · max|d⁴f/du⁴|: below 1e-7 relative over the SN fits'
  prior box (Ω_m ∈ [0, 1.5], Ω_Λ ∈ [−1, 2.5], z ≤ 2.5), tested against astropy.

Near a bounce (Ω_Λ large, Ω_m small) E² dips: 1/E peaks with a width ∝ √E²_min, so where
E²_min < :data:`E2_REFINE` the intervals are ⌈√(E2_REFINE/E²_min)⌉ times shorter (at most
:data:`MAX_REFINE`); tested to 2e-7 against a tight scipy ``quad`` for 0.02 ≤ E²_min < 0.3.

Accuracy domain (status 1 outside it, where the caller takes the general numpy path): E² ≥
:data:`E2_MIN` on [0, z_max], z_max ≤ :data:`Z_MAX`, and closed models before
√−Ω_k D_C/D_H = π/2 at z_max (beyond it D_M turns over towards the antipode).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["BAD_Z", "E2_MIN", "E2_REFINE", "MAX_REFINE", "N_INTERVALS", "OK",
           "OUTSIDE", "Z_MAX", "lcdm_hubble_free_dl", "lcdm_hubble_free_dl_many"]

#: Interpolation intervals (uniform in √z) on [0, z_max].
N_INTERVALS = 64
#: Largest redshift the kernel serves.
Z_MAX = 2.5
#: Smallest E² on [0, z_max] the kernel serves.
E2_MIN = 0.02
#: Below this smallest E² the intervals are refined by ⌈√(E2_REFINE/E²_min)⌉, at most
#: MAX_REFINE times (1/E peaks near a bounce, with a width ∝ √E²_min).
E2_REFINE = 1.0
MAX_REFINE = 8
#: Largest √−Ω_k D_C/D_H of a closed model the kernel serves (the sine's maximum).
_SIN_MAX = 0.5 * math.pi
_GL_X, _GL_W = np.polynomial.legendre.leggauss(3)
#: Status codes returned by the kernels.
OK, OUTSIDE, BAD_Z = 0, 1, 2
_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


@numba.njit(**_JIT)
def _min_e2(om, ok, ol, zmax):
    """Smallest E² = Ω_m x³ + Ω_k x² + Ω_Λ over x = 1 + z in [1, 1 + zmax] (the ends and the
    cubic's interior stationary point)."""
    x1 = 1.0 + zmax
    lo = min(om + ok + ol, (om * x1 + ok) * x1 * x1 + ol)
    if om != 0.0:
        x = -2.0 * ok / (3.0 * om)
        if 1.0 < x < x1:
            lo = min(lo, (om * x + ok) * x * x + ol)
    return lo


@numba.njit(**_JIT)
def _z_max(z):
    """Largest entry of ``z``, or −1 when an entry is not finite and > 0."""
    zmax = 0.0
    for m in range(z.size):
        v = z[m]
        if not (v > 0.0 and v < np.inf):
            return -1.0
        if v > zmax:
            zmax = v
    return zmax


@numba.njit(**_JIT)
def _table(om, ol, zmax, flat_tol, coef):
    """Cubic coefficients of f(u) per interval (the first n rows of ``coef``); returns n, or 0
    outside the domain."""
    ok = 1.0 - om - ol
    if zmax > Z_MAX:
        return 0
    e2 = _min_e2(om, ok, ol, zmax)
    if e2 < E2_MIN:
        return 0
    # near a bounce 1/E peaks with a width ∝ √E²_min: shorter intervals there
    n = N_INTERVALS * min(MAX_REFINE, max(1, math.ceil(math.sqrt(E2_REFINE / e2) - 1e-9)))
    du = math.sqrt(zmax) / n
    sq = math.sqrt(abs(ok))
    flat = abs(ok) < flat_tol
    f0, g0, z0, dc = 1.0, 0.0, 0.0, 0.0
    for k in range(n):
        u1 = (k + 1) * du
        z1 = u1 * u1
        half = 0.5 * (z1 - z0)
        mid = 0.5 * (z1 + z0)
        s = 0.0
        for j in range(_GL_X.size):
            x = 1.0 + mid + half * _GL_X[j]
            s += _GL_W[j] / math.sqrt((om * x + ok) * x * x + ol)
        dc += half * s
        x = 1.0 + z1
        inv_e = 1.0 / math.sqrt((om * x + ok) * x * x + ol)
        if flat:
            dm = dc * (1.0 + ok * dc * dc / 6.0)
            dmp = inv_e * (1.0 + 0.5 * ok * dc * dc)
        elif ok > 0.0:
            ex = math.exp(sq * dc)
            dm = 0.5 * (ex - 1.0 / ex) / sq
            dmp = 0.5 * (ex + 1.0 / ex) * inv_e
        else:
            if sq * dc > _SIN_MAX:
                return 0
            dm = math.sin(sq * dc) / sq
            dmp = math.cos(sq * dc) * inv_e
        f1 = x * dm / z1
        g1 = (dm / z1 + x * (dmp * z1 - dm) / (z1 * z1)) * 2.0 * u1  # df/du
        # Hermite cubic in t = (u − u_k)/Δu: f = c0 + t (c1 + t (c2 + t c3))
        coef[k, 0] = f0
        coef[k, 1] = du * g0
        coef[k, 2] = 3.0 * (f1 - f0) - du * (2.0 * g0 + g1)
        coef[k, 3] = 2.0 * (f0 - f1) + du * (g0 + g1)
        f0, g0, z0 = f1, g1, z1
    return n


@numba.njit(**_JIT)
def _evaluate(z, zmax, n, coef, out):
    inv_du = n / math.sqrt(zmax)
    for m in range(z.size):
        zz = z[m]
        s = math.sqrt(zz) * inv_du
        i = min(int(s), n - 1)
        t = s - i
        out[m] = zz * (coef[i, 0] + t * (coef[i, 1] + t * (coef[i, 2] + t * coef[i, 3])))


@numba.njit(**_JIT)
def _one(z, om, ol, flat_tol, out):
    zmax = _z_max(z)
    if zmax < 0.0:
        return BAD_Z
    coef = np.empty((N_INTERVALS * MAX_REFINE, 4))
    n = _table(om, ol, zmax, flat_tol, coef)
    if n == 0:
        return OUTSIDE
    _evaluate(z, zmax, n, coef, out)
    return OK


@numba.njit(**_JIT)
def _many(z, om, ol, flat_tol, out, inside):
    zmax = _z_max(z)
    if zmax < 0.0:
        return BAD_Z
    coef = np.empty((N_INTERVALS * MAX_REFINE, 4))
    for r in range(om.size):
        n = _table(om[r], ol[r], zmax, flat_tol, coef)
        inside[r] = n > 0
        if n > 0:
            _evaluate(z, zmax, n, coef, out[r])
    return OK


def lcdm_hubble_free_dl(z: np.ndarray, om: float, ol: float, out: np.ndarray, *,
                        flat_tol: float) -> int:
    """D_L H0/c of one ΛCDM model at the redshifts ``z`` (1-D float64) into ``out``; |Ω_k| <
    ``flat_tol`` takes the flat branch's Taylor expansion.

    Returns :data:`OK`, :data:`OUTSIDE` (the model or z_max outside the domain: ``out`` is not
    filled) or :data:`BAD_Z` (an entry of ``z`` is not finite and > 0).
    """
    return _one(z, om, ol, flat_tol, out)


def lcdm_hubble_free_dl_many(z: np.ndarray, om: np.ndarray, ol: np.ndarray, out: np.ndarray,
                             inside: np.ndarray, *, flat_tol: float) -> int:
    """D_L H0/c of many ΛCDM models (1-D float64 ``om``, ``ol``) at ``z`` (1-D float64) into
    the rows of ``out`` (models × z); ``inside`` (bool, per model) says which rows were filled.
    Returns :data:`OK` or :data:`BAD_Z`."""
    return _many(z, om, ol, flat_tol, out, inside)

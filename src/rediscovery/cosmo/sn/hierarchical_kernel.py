r"""Compiled sums of the hierarchical SALT2 likelihood (:mod:`~rediscovery.cosmo.sn.hierarchical`).

Why a compiled kernel: for every sampled parameter set and every SN the likelihood needs the
inverse and determinant of a 3×3 covariance :math:`S_i = C_i + A\,\mathrm{diag}(\sigma_
\mathrm{int}^2, R_x^2, R_c^2)\,A^T` and the products :math:`S_i^{-1} r_i`. In numpy these are
~15 passes over (walkers × SNe × 3 × 3) arrays, each allocated anew; they cost ~4 ms per
32-walker step of 100 SNe, most of a hierarchical fit. One numba loop over (parameter set,
SN) keeps everything in registers (~30× less work); numba is already installed with
``umap-learn`` and is used the same way by :mod:`rediscovery.cosmo.distance_kernel`.

The inverse is the adjugate over the determinant (closed form for symmetric 3×3 matrices); the
kernel returns, per parameter set p,

* ``q[p] = Σ_i r_iᵀ S_i⁻¹ r_i + ln det S_i``,
* ``w[p] = Σ_i S_i⁻¹`` (3×3) and ``u[p] = Σ_i S_i⁻¹ r_i`` (3),
* ``ok[p]``: every S_i positive definite (det > 0 and leading minors > 0) and every
  distance modulus finite; where it is False, q = 0, w = identity and u = 0.

with :math:`r_i = d_i - (\mu_{70}(z_i), 0, 0)`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["hierarchical_sums"]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


@numba.njit(**_JIT)
def _sums(cmeas, d, mu, alpha, beta, si2, rx2, rc2, q, w, u, ok):  # pragma: no cover - jitted
    n_par, n_sn = mu.shape
    for p in range(n_par):
        a, b = alpha[p], beta[p]
        p00 = si2[p] + a * a * rx2[p] + b * b * rc2[p]
        p01 = -a * rx2[p]
        p02 = b * rc2[p]
        p11 = rx2[p]
        p22 = rc2[p]
        qs = 0.0
        w00 = w01 = w02 = w11 = w12 = w22 = 0.0
        u0 = u1 = u2 = 0.0
        good = True
        for i in range(n_sn):
            m = mu[p, i]
            if not math.isfinite(m):
                good = False
                break
            s00 = cmeas[i, 0, 0] + p00
            s01 = cmeas[i, 0, 1] + p01
            s02 = cmeas[i, 0, 2] + p02
            s11 = cmeas[i, 1, 1] + p11
            s12 = cmeas[i, 1, 2]
            s22 = cmeas[i, 2, 2] + p22
            c00 = s11 * s22 - s12 * s12
            c01 = s02 * s12 - s01 * s22
            c02 = s01 * s12 - s02 * s11
            c11 = s00 * s22 - s02 * s02
            c12 = s01 * s02 - s00 * s12
            c22 = s00 * s11 - s01 * s01
            det = s00 * c00 + s01 * c01 + s02 * c02
            if not (det > 0.0 and s00 > 0.0 and c22 > 0.0):
                good = False
                break
            inv = 1.0 / det
            i00, i01, i02 = c00 * inv, c01 * inv, c02 * inv
            i11, i12, i22 = c11 * inv, c12 * inv, c22 * inv
            r0 = d[i, 0] - m
            r1 = d[i, 1]
            r2 = d[i, 2]
            sr0 = i00 * r0 + i01 * r1 + i02 * r2
            sr1 = i01 * r0 + i11 * r1 + i12 * r2
            sr2 = i02 * r0 + i12 * r1 + i22 * r2
            qs += r0 * sr0 + r1 * sr1 + r2 * sr2 + math.log(det)
            w00 += i00
            w01 += i01
            w02 += i02
            w11 += i11
            w12 += i12
            w22 += i22
            u0 += sr0
            u1 += sr1
            u2 += sr2
        if not good:
            qs = 0.0
            w00 = w11 = w22 = 1.0
            w01 = w02 = w12 = 0.0
            u0 = u1 = u2 = 0.0
        ok[p] = good
        q[p] = qs
        w[p, 0, 0], w[p, 1, 1], w[p, 2, 2] = w00, w11, w22
        w[p, 0, 1] = w[p, 1, 0] = w01
        w[p, 0, 2] = w[p, 2, 0] = w02
        w[p, 1, 2] = w[p, 2, 1] = w12
        u[p, 0], u[p, 1], u[p, 2] = u0, u1, u2


def hierarchical_sums(cmeas: np.ndarray, d: np.ndarray, mu: np.ndarray, alpha: np.ndarray,
                      beta: np.ndarray, si2: np.ndarray, rx2: np.ndarray,
                      rc2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(q, w, u, ok) of the module notes for P parameter sets.

    ``cmeas`` (n, 3, 3) measurement covariances, ``d`` (n, 3) the (m_B, x1, c) measurements,
    ``mu`` (P, n) model distance moduli; ``alpha, beta`` and the variances σ_int², R_x², R_c²
    (P,) each. Returns q (P,), w (P, 3, 3), u (P, 3) and ok (P,) bool.
    """
    n_par = max(mu.shape[0], *(np.size(x) for x in (alpha, beta, si2, rx2, rc2)))
    mu = np.broadcast_to(mu, (n_par, mu.shape[1]))
    q = np.empty(n_par)
    w = np.empty((n_par, 3, 3))
    u = np.empty((n_par, 3))
    ok = np.empty(n_par, dtype=np.bool_)
    f64 = [np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=float), (n_par,)))
           for x in (alpha, beta, si2, rx2, rc2)]
    _sums(np.ascontiguousarray(cmeas, dtype=float), np.ascontiguousarray(d, dtype=float),
          np.ascontiguousarray(mu, dtype=float), *f64, q, w, u, ok)
    return q, w, u, ok

"""Preconditioned conjugate gradient for the symmetric positive (semi-)definite systems of
map-making (Shewchuk 1994, "An Introduction to the Conjugate Gradient Method Without the
Agonizing Pain", §B3).

Convergence is declared when ‖r_k‖ / ‖b‖ ≤ ``tol`` (Euclidean norm of the residual
r = b − A x). A semi-definite A (the destriper's: a common offset of all baselines is
degenerate with the map monopole) is fine when b lies in its range, as it does here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["CGResult", "pcg"]


@dataclass(frozen=True)
class CGResult:
    """Solution ``x``, iterations done, final relative residual, whether ``tol`` was reached,
    and the relative residual after every iteration."""

    x: np.ndarray
    iterations: int
    residual: float
    converged: bool
    history: tuple[float, ...]


def pcg(apply_a: Callable[[np.ndarray], np.ndarray], b: np.ndarray,
        precond: Callable[[np.ndarray], np.ndarray] | None = None, *, x0: np.ndarray | None = None,
        tol: float = 1e-8, maxiter: int = 500, atol: float = 0.0) -> CGResult:
    """Solve A x = b by preconditioned conjugate gradient.

    Stops when ‖r‖ ≤ max(tol ‖b‖, atol); ``atol`` lets a caller declare a right-hand side
    at round-off level (e.g. a noiseless TOD for the destriper) already solved.

    Examples
    --------
    >>> a = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> r = pcg(lambda v: a @ v, np.array([1.0, 2.0]), tol=1e-12)
    >>> np.allclose(a @ r.x, [1.0, 2.0]), r.converged
    (True, True)
    """
    precond = precond or (lambda v: v)
    x = np.zeros_like(b) if x0 is None else x0.astype(float, copy=True)
    r = b - apply_a(x) if x0 is not None else b.copy()
    bnorm = float(np.linalg.norm(b))
    if bnorm == 0.0:
        return CGResult(x, 0, 0.0, True, ())
    z = precond(r)
    p = z.copy()
    rz = float(r @ z)
    hist: list[float] = []
    res = float(np.linalg.norm(r)) / bnorm
    goal = max(tol, atol / bnorm)
    it = 0
    work = np.empty_like(p)
    # updates in place, one work vector: the streaming destriper's vectors are its memory
    while res > goal and it < maxiter:
        ap = apply_a(p)
        pap = float(p @ ap)
        if pap <= 0:  # exhausted the positive part (semi-definite A at round-off)
            break
        alpha = rz / pap
        x += np.multiply(p, alpha, out=work)  # x += α p
        r -= np.multiply(ap, alpha, out=ap)  # r -= α A p
        del ap
        it += 1
        res = float(np.linalg.norm(r)) / bnorm
        hist.append(res)
        z = precond(r)
        rz_new = float(r @ z)
        p *= rz_new / rz  # p = z + β p
        p += z
        del z
        rz = rz_new
    return CGResult(x, it, res, res <= goal, tuple(hist))

"""Profile-likelihood intervals: the frequentist companion of the MCMC's credible intervals.

Where a posterior is bounded by its flat prior along a degeneracy (the supernovae's
(Ω_m, Ω_Λ) banana in curved ΛCDM), the 68 % central credible interval of one parameter is
set partly by how far the prior lets the banana extend, and over hidden universes it covers
the truth more often than 68 % (docs/cosmo-supernovae.md). The profile-likelihood interval

    { θ_i : min over the other parameters of −2 ln L(θ) − min over all of −2 ln L ≤ 1 }

does not depend on the prior's extent; by Wilks' theorem it covers the truth in 68.27 % of
experiments when the likelihood is close to Gaussian in some reparametrisation.

A scan walks from the best fit in steps of about half the posterior width, minimising over
the other parameters at each point (Powell within the prior bounds, started from the previous
point), until −2 ln L has risen by the level or a prior edge is reached; the crossing is
interpolated linearly in √Δ (exact for a Gaussian likelihood). scipy provides the minimiser;
it has no profile-likelihood scan, hence this module.

References
----------
S.S. Wilks, Ann. Math. Statist. 9 (1938) 60. Particle Data Group, "Statistics" review
(R.L. Workman et al., PTEP 2022, 083C01), section 40.4.2.2 on profile-likelihood intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rediscovery.core.errors import ConfigError

__all__ = ["ProfileInterval", "profile_interval"]

#: Δ(−2 ln L) of a 68.27 % interval for one parameter (the χ² quantile with one degree of
#: freedom at Φ(1) − Φ(−1)).
DELTA_ONE_SIGMA = 1.0
#: Largest number of scan points on each side of the best fit.
_MAX_STEPS = 40


@dataclass(frozen=True)
class ProfileInterval:
    """A profile-likelihood interval of one parameter.

    ``lo``/``hi`` are the interval's ends; ``lo_at_edge``/``hi_at_edge`` are True where the
    profile stayed below the level up to the prior bound (the end is then that bound);
    ``t`` and ``delta`` are the scanned values and their Δ(−2 ln L) from the lowest value seen.
    """

    name: str
    lo: float
    hi: float
    lo_at_edge: bool
    hi_at_edge: bool
    t: np.ndarray
    delta: np.ndarray

    def to_dict(self) -> dict[str, float | bool]:
        return {
            "lo68": self.lo,
            "hi68": self.hi,
            "lo_at_prior_edge": self.lo_at_edge,
            "hi_at_prior_edge": self.hi_at_edge,
        }


def profile_interval(
    m2ll: Callable[[np.ndarray], float],
    x_best: Sequence[float],
    index: int,
    bounds: Sequence[tuple[float, float]],
    *,
    step: float,
    name: str = "",
    level: float = DELTA_ONE_SIGMA,
    cov: np.ndarray | None = None,
) -> ProfileInterval:
    """Profile-likelihood interval of parameter ``index``.

    Parameters
    ----------
    m2ll
        −2 ln L of a full parameter vector (finite inside ``bounds``; a large value or ∞ where
        the model is undefined).
    x_best
        The maximum-likelihood point (or a point near it: a lower minimum found by the scan is
        used as the reference).
    bounds
        (lo, hi) of every parameter: the prior box.
    step
        First scan step (about half the parameter's posterior standard deviation).
    level
        Δ(−2 ln L) that bounds the interval (1 for 68.27 %).
    cov
        Optional covariance of the parameters (e.g. of posterior samples). Each scan point's
        minimisation starts from the best of: the previous point moved along the secant
        through the last two points, moved along the regression slope
        cov[others, index]/cov[index, index], and not moved. Where the likelihood is finite
        only on a thin ridge (the CMB's geometric degeneracy bounded by an emulator's box), a
        start that keeps the other parameters fixed lies off the ridge and no local
        minimiser finds it back; without ``cov`` the first step starts from the best fit.
    """
    from scipy.optimize import minimize

    x0 = np.asarray(x_best, dtype=float)
    if not (0 <= index < x0.size) or len(bounds) != x0.size:
        raise ConfigError(
            f"profile_interval: index {index} and {len(bounds)} bounds for {x0.size} parameters"
        )
    if not (np.isfinite(step) and step > 0):
        raise ConfigError(f"profile_interval: step must be > 0, got {step}")
    others = [j for j in range(x0.size) if j != index]
    other_bounds = [bounds[j] for j in others]
    slope0 = np.zeros(x0.size)
    if cov is not None:
        c = np.asarray(cov, dtype=float)
        if c.shape != (x0.size, x0.size) or not c[index, index] > 0:
            raise ConfigError(
                f"profile_interval: cov of shape {c.shape} with variance "
                f"{c[index, index] if c.ndim == 2 else c} for parameter {index}; "
                f"expected ({x0.size}, {x0.size}) with a positive diagonal"
            )
        slope0 = c[:, index] / c[index, index]
    lo_all = np.array([b[0] for b in bounds], dtype=float)
    hi_all = np.array([b[1] for b in bounds], dtype=float)

    def predicted(path: list[np.ndarray], t_new: float) -> list[np.ndarray]:
        """Starts for the point at ``t_new``: on the path's secant, on the covariance's slope,
        and the previous point itself (the best of them starts the minimiser)."""
        last = path[-1]
        slopes = [slope0]
        if len(path) >= 2 and path[-1][index] != path[-2][index]:
            slopes.insert(0, (path[-1] - path[-2]) / (path[-1][index] - path[-2][index]))
        guesses = [
            np.clip(last + sl * (t_new - last[index]), lo_all, hi_all)
            for sl in slopes
            if np.any(sl[others])
        ]
        return [*guesses, last]

    def safe(x: np.ndarray) -> float:
        v = float(m2ll(x))
        return v if np.isfinite(v) else 1e30

    def profiled(t: float, starts: list[np.ndarray]) -> tuple[float, np.ndarray]:
        if not others:
            x = starts[0].copy()
            x[index] = t
            return safe(x), x

        seen = [np.inf, starts[0][others]]  # the best point evaluated: Powell may end elsewhere

        def f(y: np.ndarray) -> float:
            v = safe(np.insert(y, index, t))
            if v < seen[0]:
                seen[0], seen[1] = v, np.array(y, dtype=float)
            return v

        for st in starts:
            f(st[others])
        start = np.insert(seen[1], index, t)
        # scipy's bounded Powell can end on a worse point than it saw where −2 ln L has an
        # infinite region (the CMB emulator's box, inside the prior's): keep the best seen,
        # and where Powell stopped short polish with Nelder-Mead from it (it shrinks its
        # simplex off such a region instead of line-searching into it)
        r = minimize(
            f,
            start[others],
            method="Powell",
            bounds=other_bounds,
            options={"xtol": 1e-4, "ftol": 1e-7, "maxfev": 4000},
        )
        if not (r.success and r.fun <= seen[0]):
            minimize(
                f,
                seen[1],
                method="Nelder-Mead",
                bounds=other_bounds,
                options={"xatol": 1e-5, "fatol": 1e-7, "maxfev": 2000},
            )
        return float(seen[0]), np.insert(seen[1], index, t)

    f0, x0 = profiled(float(x0[index]), [x0])  # the start need not be the conditional minimum
    lo_b, hi_b = bounds[index]
    ts, fs = [float(x0[index])], [f0]
    for direction in (-1, 1):
        t, dt = float(x0[index]), float(step)
        path = [x0]
        edge = lo_b if direction < 0 else hi_b
        for k in range(_MAX_STEPS):
            t_new = t + direction * dt
            at_edge = (t_new <= lo_b) if direction < 0 else (t_new >= hi_b)
            if at_edge:
                t_new = edge
            f, x = profiled(t_new, predicted(path, t_new))
            path.append(x)
            ts.append(t_new)
            fs.append(f)
            if f - min(fs) > level or at_edge:
                break
            t = t_new
            if k >= 2 and f - min(fs) < 0.2 * level:  # a flat profile: lengthen the steps
                dt *= 2.0
    order = np.argsort(ts)
    t_arr = np.asarray(ts)[order]
    d_arr = np.asarray(fs)[order] - min(fs)
    i_min = int(np.argmin(d_arr))

    def crossing(direction: int) -> tuple[float, bool]:
        idx = range(i_min, -1, -1) if direction < 0 else range(i_min, t_arr.size)
        prev = i_min
        for i in idx:
            if d_arr[i] > level:
                a, b = np.sqrt(max(d_arr[prev], 0.0)), np.sqrt(d_arr[i])
                w = (np.sqrt(level) - a) / (b - a) if b > a else 1.0
                return float(t_arr[prev] + w * (t_arr[i] - t_arr[prev])), False
            prev = i
        return float(t_arr[prev]), True

    lo, lo_edge = crossing(-1)
    hi, hi_edge = crossing(1)
    return ProfileInterval(
        name=name, lo=lo, hi=hi, lo_at_edge=lo_edge, hi_at_edge=hi_edge, t=t_arr, delta=d_arr
    )

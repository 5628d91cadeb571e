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
        return {"lo68": self.lo, "hi68": self.hi, "lo_at_prior_edge": self.lo_at_edge,
                "hi_at_prior_edge": self.hi_at_edge}


def profile_interval(m2ll: Callable[[np.ndarray], float], x_best: Sequence[float], index: int,
                     bounds: Sequence[tuple[float, float]], *, step: float,
                     name: str = "", level: float = DELTA_ONE_SIGMA) -> ProfileInterval:
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
    """
    from scipy.optimize import minimize

    x0 = np.asarray(x_best, dtype=float)
    if not (0 <= index < x0.size) or len(bounds) != x0.size:
        raise ConfigError(f"profile_interval: index {index} and {len(bounds)} bounds for "
                          f"{x0.size} parameters")
    if not (np.isfinite(step) and step > 0):
        raise ConfigError(f"profile_interval: step must be > 0, got {step}")
    others = [j for j in range(x0.size) if j != index]
    other_bounds = [bounds[j] for j in others]

    def safe(x: np.ndarray) -> float:
        v = float(m2ll(x))
        return v if np.isfinite(v) else 1e30

    def profiled(t: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        if not others:
            x = start.copy()
            x[index] = t
            return safe(x), x

        def f(y: np.ndarray) -> float:
            return safe(np.insert(y, index, t))

        r = minimize(f, start[others], method="Powell", bounds=other_bounds,
                     options={"xtol": 1e-4, "ftol": 1e-7, "maxfev": 4000})
        return float(r.fun), np.insert(r.x, index, t)

    f0, x0 = profiled(float(x0[index]), x0)  # the start need not be the conditional minimum
    lo_b, hi_b = bounds[index]
    ts, fs = [float(x0[index])], [f0]
    for direction in (-1, 1):
        x, t, dt = x0, float(x0[index]), float(step)
        edge = lo_b if direction < 0 else hi_b
        for k in range(_MAX_STEPS):
            t_new = t + direction * dt
            at_edge = (t_new <= lo_b) if direction < 0 else (t_new >= hi_b)
            if at_edge:
                t_new = edge
            f, x = profiled(t_new, x)
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
    return ProfileInterval(name=name, lo=lo, hi=hi, lo_at_edge=lo_edge, hi_at_edge=hi_edge,
                           t=t_arr, delta=d_arr)

"""Profile-likelihood intervals against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.profile import profile_interval


def _gaussian(mean, cov):
    icov = np.linalg.inv(cov)

    def m2ll(x):
        r = np.asarray(x) - mean
        return float(r @ icov @ r)

    return m2ll


@pytest.mark.parametrize("rho", [0.0, 0.9, -0.97])
def test_correlated_gaussian_gives_mean_plus_minus_marginal_sigma(rho):
    """For a Gaussian likelihood the profile interval of x is x̂ ± σ_x whatever the
    correlation (the profile of a Gaussian is the marginal); the scan starts off the
    minimum, as a best fit from a sampler would."""
    sx, sy = 0.3, 2.0
    mean = np.array([1.0, -2.0, 0.5])
    cov = np.array([[sx**2, rho * sx * sy, 0.0], [rho * sx * sy, sy**2, 0.0],
                    [0.0, 0.0, 0.1**2]])
    bounds = [(-10.0, 10.0)] * 3
    p = profile_interval(_gaussian(mean, cov), mean + np.array([0.02, 0.1, 0.0]), 0, bounds,
                         step=0.15, name="x")
    assert p.lo == pytest.approx(mean[0] - sx, abs=2e-3)
    assert p.hi == pytest.approx(mean[0] + sx, abs=2e-3)
    assert not (p.lo_at_edge or p.hi_at_edge)
    q = profile_interval(_gaussian(mean, cov), mean, 1, bounds, step=1.0)
    assert (q.lo, q.hi) == pytest.approx((mean[1] - sy, mean[1] + sy), abs=1e-2)


def test_interval_stops_at_the_prior_edge():
    """A best fit 0.5 σ inside a bound: the interval ends at the bound and says so."""
    m2ll = _gaussian(np.array([0.05, 0.0]), np.diag([0.1**2, 1.0]))
    p = profile_interval(m2ll, [0.05, 0.0], 0, [(0.0, 1.0), (-5.0, 5.0)], step=0.05)
    assert p.lo == 0.0 and p.lo_at_edge
    assert p.hi == pytest.approx(0.15, abs=1e-3) and not p.hi_at_edge


def test_a_wider_level_gives_the_two_sigma_interval():
    m2ll = _gaussian(np.array([0.0]), np.array([[1.0]]))
    p = profile_interval(m2ll, [0.0], 0, [(-10.0, 10.0)], step=0.5, level=4.0)
    assert (p.lo, p.hi) == pytest.approx((-2.0, 2.0), abs=1e-9)


def test_bad_arguments_are_refused():
    m2ll = _gaussian(np.array([0.0]), np.array([[1.0]]))
    with pytest.raises(ConfigError, match="step"):
        profile_interval(m2ll, [0.0], 0, [(-1.0, 1.0)], step=0.0)
    with pytest.raises(ConfigError, match="index"):
        profile_interval(m2ll, [0.0], 2, [(-1.0, 1.0)], step=0.1)

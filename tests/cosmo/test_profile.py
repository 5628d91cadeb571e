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
    cov = np.array([[sx**2, rho * sx * sy, 0.0], [rho * sx * sy, sy**2, 0.0], [0.0, 0.0, 0.1**2]])
    bounds = [(-10.0, 10.0)] * 3
    p = profile_interval(
        _gaussian(mean, cov), mean + np.array([0.02, 0.1, 0.0]), 0, bounds, step=0.15, name="x"
    )
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


def _band_m2ll(v):
    """A Gaussian (σ = 0.2 about (0.1, 0.1)) that is finite only on a thin band |y − x| ≤ 0.02:
    the shape of a CMB degeneracy ridge cut by an emulator's box."""
    v = np.asarray(v, dtype=float)
    if abs(v[1] - v[0]) > 0.02:
        return np.inf
    return float(np.sum((v - 0.1) ** 2) / 0.04)


def test_profile_follows_a_thin_ridge_with_the_covariance():
    # closed form: at x, y is the point of [x − 0.02, x + 0.02] nearest 0.1
    xs = np.linspace(-0.3, 0.5, 80001)
    y = np.clip(0.1, xs - 0.02, xs + 0.02)
    inside = xs[((xs - 0.1) ** 2 + (y - 0.1) ** 2) / 0.04 <= 1.0]
    cov = np.array([[0.02, 0.02], [0.02, 0.0201]])  # e.g. of posterior samples along the band
    p = profile_interval(_band_m2ll, [0.1, 0.1], 0, [(-1, 1), (-1, 1)], step=0.05, cov=cov)
    assert p.lo == pytest.approx(inside.min(), abs=1e-3)
    assert p.hi == pytest.approx(inside.max(), abs=1e-3)
    assert np.all(np.isfinite(p.delta)) and p.delta.max() < 10
    with pytest.raises(ConfigError, match="cov"):
        profile_interval(_band_m2ll, [0.1, 0.1], 0, [(-1, 1), (-1, 1)], step=0.05, cov=np.eye(3))


def test_profile_never_reports_a_worse_point_than_it_evaluated():
    # without cov the scan cannot follow the band, but each point is at worst the start's value:
    # the best fit's own profile value is the finite minimum, never the 1e30 of the wall
    p = profile_interval(_band_m2ll, [0.1, 0.1], 0, [(-1, 1), (-1, 1)], step=0.05)
    i0 = int(np.argmin(np.abs(p.t - 0.1)))
    assert p.delta[i0] == 0.0
    assert p.lo <= 0.1 <= p.hi

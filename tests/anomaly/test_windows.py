"""The excess tests of the windowed methods: the sideband efficiency fit against the flat flanks."""

from __future__ import annotations

import numpy as np
import pytest

from rediscovery.anomaly.overdensity import efficiency_excess_z
from rediscovery.anomaly.windows import efficiency_fit_test, flank_mask
from rediscovery.core.errors import ConfigError, InputError

#: the dijet scan range and signal region (GeV)
M_MIN, M_MAX, SR = 2_800.0, 5_000.0, (3_300.0, 3_700.0)


def _sample(rng: np.random.Generator, n: int, excess: float = 0.0):
    """n masses on a falling m^-6 spectrum and a selection whose efficiency rises with ln m
    as the CATHODE selections of signal-free 10^6-event dijet data did (9.2 % in the lower
    flank, 10.6 % in the SR, 11.4 % in the upper one: concave), plus ``excess`` of the SR
    events selected on top."""
    u = rng.random(n)
    a, b = M_MIN**-5, M_MAX**-5
    m = (a - u * (a - b)) ** (-1 / 5)
    d = np.log(m / 3_500.0)
    logit = np.log(0.105 / 0.895) + 1.9 * d - 6.0 * d**2
    passed = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    sr = (m >= SR[0]) & (m < SR[1])
    passed |= sr & (rng.random(n) < excess)
    return m, passed, sr, ~sr


def test_efficiency_fit_is_calibrated_where_the_flat_flanks_are_not():
    # 20 signal-free samples of 500,000 events: the fit's pulls are N(0, 1); the flanks'
    # test on the same selections (the old CATHODE test) claims an excess on average
    rng = np.random.default_rng(20)
    pulls, z_flanks = [], []
    for _ in range(20):
        m, passed, sr, sb = _sample(rng, 500_000)
        pulls.append(efficiency_fit_test(passed, m, sr, sb).pull)
        fl = flank_mask(m, *SR)
        z_flanks.append(
            efficiency_excess_z(
                int(passed[sr].sum()), int(sr.sum()), int(passed[fl].sum()), int(fl.sum())
            )
        )
    pulls = np.array(pulls)
    # mean of 20 unit-width pulls: ± 0.22; width: ± 0.16
    assert abs(pulls.mean()) < 0.7, pulls
    assert 0.6 < pulls.std(ddof=1) < 1.5, pulls
    assert np.mean(z_flanks) > 2.5, z_flanks


def test_efficiency_fit_finds_an_excess_and_its_size():
    rng = np.random.default_rng(21)
    m, passed, sr, sb = _sample(rng, 500_000, excess=0.02)
    res = efficiency_fit_test(passed, m, sr, sb)
    # 2 % of the SR's unselected events (about 0.9 of its 95,000) selected on top
    extra = passed[sr].sum() - res.expected
    sigma = np.sqrt(res.expected + res.expected_error**2)
    assert abs(extra - 0.02 * 0.895 * sr.sum()) < 4 * sigma
    assert res.z > 6 and res.z == res.pull
    assert res.degree >= 1 and 0 < res.expected_error < 0.05 * res.expected


def test_efficiency_fit_recovers_a_known_efficiency():
    # an exact log-linear efficiency, no noise in the sidebands' counts beyond binomial:
    # the expectation is the true sum of the efficiencies within a few of its errors
    rng = np.random.default_rng(22)
    m = np.exp(rng.uniform(np.log(M_MIN), np.log(M_MAX), 400_000))
    eff = 1.0 / (1.0 + np.exp(-(-2.0 + 1.5 * np.log(m / 3_500.0))))
    passed = rng.random(m.size) < eff
    sr = (m >= SR[0]) & (m < SR[1])
    res = efficiency_fit_test(passed, m, sr, ~sr)
    assert abs(res.expected - eff[sr].sum()) < 4 * res.expected_error


def test_efficiency_fit_refusals():
    m = np.linspace(M_MIN, M_MAX, 1000)
    sr = (m >= SR[0]) & (m < SR[1])
    passed = np.zeros(m.size, bool)
    with pytest.raises(InputError, match="disjoint"):
        efficiency_fit_test(passed, m, sr, np.ones(m.size, bool))
    with pytest.raises(InputError, match="sideband events"):
        efficiency_fit_test(passed, m, sr, np.zeros(m.size, bool))
    with pytest.raises(ConfigError, match="min_degree"):
        efficiency_fit_test(passed, m, sr, ~sr, min_degree=3, max_degree=2)
    with pytest.raises(ConfigError, match="degree_test_p"):
        efficiency_fit_test(passed, m, sr, ~sr, degree_test_p=1.0)

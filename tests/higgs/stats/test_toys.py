"""Pseudo-experiments: statistical checks (coverage, pulls) and local/dask reproducibility.

Truth by simulation: for a correctly built likelihood in the asymptotic regime the 68.27%
profile-likelihood interval covers the true μ in 68.27% of toys and the pulls are N(0, 1)
(Wilks; Cowan et al. 2011, arXiv:1007.1727). The fast test uses 200 toys (binomial error of the
coverage 0.033, so ±0.10 is 3σ; pull-width error 0.05, ±0.15 is 3σ); the slow test the
1,000 toys and tolerances of the issue (0.68 ± 0.03, 1.00 ± 0.07).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from rediscovery.core.errors import ConfigError
from rediscovery.higgs.stats.model import BinnedModel, NormSys
from rediscovery.higgs.stats.toys import generate_toy, run_toys

NOMINAL = stats.norm.cdf(1) - stats.norm.cdf(-1)


def toy_model() -> BinnedModel:
    x = np.linspace(0.1, 0.9, 5)
    sig = 30.0 * x**2 + 2.0
    bkg = 300.0 * (1 - x) + 30.0
    return BinnedModel(sig, {"bkg": bkg}, background_sumw2={"bkg": bkg * 0.5},
                       systematics=[NormSys("norm", {"bkg": (0.95, 1.05)})])


def test_toys_coverage_and_pulls_fast() -> None:
    res = run_toys(toy_model(), 1.0, 200, seed=11, n_workers=1, progress=False)
    assert res.n_converged == 200
    cov, cov_err = res.coverage
    assert cov_err == pytest.approx(math.sqrt(cov * (1 - cov) / 200))
    assert abs(cov - NOMINAL) < 0.10
    width, _ = res.pull_width
    mean, _ = res.pull_mean
    assert abs(width - 1.0) < 0.15
    assert abs(mean) < 0.25
    # the median toy significance is the Asimov one (Cowan et al. 2011, sec. 3.2)
    assert res.z_toys_median == pytest.approx(res.z_asimov, rel=0.15)
    s = res.summary()
    assert s["nominal_coverage"] == pytest.approx(NOMINAL)


def test_toys_reproducible_and_chunking_independent() -> None:
    m = toy_model()
    a = run_toys(m, 0.5, 12, seed=5, n_workers=1, chunk_size=5, progress=False)
    b = run_toys(m, 0.5, 12, seed=5, n_workers=2, chunk_size=3, progress=False)
    np.testing.assert_array_equal(a.mu_hat, b.mu_hat)
    np.testing.assert_array_equal(a.mu_hi, b.mu_hi)
    c = run_toys(m, 0.5, 12, seed=6, n_workers=1, progress=False)
    assert not np.array_equal(a.mu_hat, c.mu_hat)


def test_background_only_toys_q0_tail() -> None:
    """Under μ = 0, P(q0 ≥ 1) → 1 − Φ(1) (half-χ² law, Cowan et al. 2011, eq. 52)."""
    res = run_toys(toy_model(), 0.0, 150, seed=21, n_workers=1, progress=False)
    tails = res.tail_fractions((1.0,))["1"]
    assert abs(tails["toys"] - tails["asymptotic"]) < 4 * math.sqrt(
        tails["asymptotic"] * (1 - tails["asymptotic"]) / 150)
    p, perr, z = res.p_value(1.0)
    assert p == pytest.approx(tails["toys"]) and perr > 0 and z == pytest.approx(
        stats.norm.isf(p))
    with pytest.raises(ConfigError, match="mu_true = 0"):
        run_toys(toy_model(), 1.0, 3, seed=1, n_workers=1, progress=False).p_value(1.0)


def test_generate_toy_aux_data() -> None:
    m = toy_model()
    counts, ag, aa = generate_toy(m, 1.0, np.random.default_rng(0))
    assert counts.shape == (5,) and ag is not None and ag.shape == (5,) and aa.shape == (1,)
    assert np.all(counts == np.round(counts))


def test_dask_local_cluster_matches_local_run() -> None:
    """Same seeds → identical results on a 2-worker dask LocalCluster and locally."""
    import distributed

    m = toy_model()
    local = run_toys(m, 1.0, 8, seed=3, n_workers=1, chunk_size=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote = run_toys(m, 1.0, 8, seed=3, scheduler=cluster.scheduler_address,
                          chunk_size=2, progress=False)
    for key in ("mu_hat", "mu_lo", "mu_hi", "q0"):
        np.testing.assert_array_equal(getattr(local, key), getattr(remote, key))


@pytest.mark.slow
def test_toys_coverage_1000_benchmark_model() -> None:
    """Issue 5 done-when: 1,000 toys on the 20-bin, 5-nuisance benchmark model:
    coverage 0.68 ± 0.03, pull width 1.00 ± 0.07."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from toys import benchmark_model

    res = run_toys(benchmark_model(), 1.0, 1000, seed=2026, progress=False)
    s = res.summary()
    print(s)
    assert res.n_converged >= 990
    assert abs(s["coverage"] - 0.68) <= 0.03
    assert abs(s["pull_width"] - 1.0) <= 0.07

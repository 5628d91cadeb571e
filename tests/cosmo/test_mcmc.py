"""Tests of the emcee wrapper (rediscovery.cosmo.mcmc).

The Gaussian-recovery test follows emcee's own ``_test_normal`` idea (emcee/tests/integration):
sample a known correlated multivariate normal and recover its mean and covariance.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import ConfigError, ConvergenceError
from rediscovery.cosmo.mcmc import Gaussian, Uniform, run_mcmc, split_rhat, write_posterior

MEAN = np.array([1.0, -2.0, 0.5])
COV = np.array([[1.0, 0.5, 0.1], [0.5, 2.0, -0.3], [0.1, -0.3, 0.5]])
ICOV = np.linalg.inv(COV)


def _lnp_vec(theta):
    d = theta - MEAN
    return -0.5 * np.einsum("ij,jk,ik->i", d, ICOV, d)


@pytest.fixture(scope="module")
def normal_result():
    return run_mcmc(_lnp_vec, MEAN + 0.5, 0.1, names=["a", "b", "c"], seed=42, n_walkers=32,
                    n_steps=10000, progress=False, vectorize=True)


def test_recovers_multivariate_normal(normal_result):
    s = normal_result.samples
    n_eff = s.shape[0] / np.max(normal_result.autocorr_tau)
    # Monte-Carlo error of the mean of each component: sqrt(var / n_eff); allow 4 sigma
    tol = 4 * np.sqrt(np.diag(COV) / n_eff)
    np.testing.assert_array_less(np.abs(s.mean(axis=0) - MEAN), tol)
    # covariance to ~10% (n_eff ~ 1500 independent draws: relative error of a variance ~ sqrt(2/n))
    scale = np.sqrt(np.outer(np.diag(COV), np.diag(COV)))
    assert np.all(np.abs(np.cov(s.T) - COV) < 0.12 * scale)


def test_converged_diagnostics(normal_result):
    r = normal_result
    assert r.converged
    assert np.all(np.abs(r.rhat - 1) < 0.01)
    assert r.chain.shape == (10000, 32, 3)
    assert np.all((r.acceptance_fraction > 0.2) & (r.acceptance_fraction < 0.8))
    summ = r.summary()
    for k in ("a", "b", "c"):
        assert {"mean", "std", "median", "lo68", "hi68"} <= set(summ[k])
        assert summ[k]["lo68"] < summ[k]["median"] < summ[k]["hi68"]
    assert summ["converged"] is True
    assert summ["n_samples"] == r.samples.shape[0]


def test_scalar_and_vector_logprob_agree_and_seed_reproducible():
    def lnp(t):
        return float(_lnp_vec(t[None, :])[0])

    a = run_mcmc(lnp, MEAN, 0.1, names=list("abc"), seed=3, n_steps=50, progress=False)
    b = run_mcmc(_lnp_vec, MEAN, 0.1, names=list("abc"), seed=3, n_steps=50, progress=False,
                 vectorize=True)
    np.testing.assert_allclose(a.chain, b.chain)


def test_split_rhat_detects_stuck_chains():
    rng = np.random.default_rng(0)
    good = rng.standard_normal((1000, 16, 1))
    assert abs(split_rhat(good)[0] - 1) < 0.01
    stuck = good.copy()
    stuck[:, :8] += 3.0  # half of the walkers sit in another mode
    assert split_rhat(stuck)[0] > 1.5
    drift = good + np.linspace(0, 3, 1000)[:, None, None]  # non-stationary
    assert split_rhat(drift)[0] > 1.1


def test_short_chain_reported_not_converged(caplog):
    res = run_mcmc(_lnp_vec, MEAN + 3, 0.01, names=list("abc"), seed=1, n_steps=60,
                   progress=False, vectorize=True)
    assert not res.converged
    assert res.summary()["converged"] is False
    assert "not converged" in caplog.text
    with pytest.raises(ConvergenceError):
        res.raise_if_not_converged()


def test_priors_truncate_and_pull():
    # flat likelihood: the posterior is the prior
    res = run_mcmc(lambda t: 0.0, [0.5, 0.0], [0.1, 0.1], names=["u", "g"], seed=5,
                   n_steps=1500, progress=False,
                   priors={"u": Uniform(0.0, 1.0), "g": Gaussian(2.0, 0.5)})
    u, g = res.get("u"), res.get("g")
    assert u.min() >= 0 and u.max() <= 1
    assert abs(u.mean() - 0.5) < 0.05
    assert abs(g.mean() - 2.0) < 0.1 and abs(g.std() - 0.5) < 0.07


def test_bad_configuration():
    with pytest.raises(ConfigError, match="n_walkers"):
        run_mcmc(_lnp_vec, MEAN, 0.1, names=list("abc"), seed=0, n_walkers=4, progress=False)
    with pytest.raises(ConfigError, match="unknown parameters"):
        run_mcmc(_lnp_vec, MEAN, 0.1, names=list("abc"), seed=0, progress=False,
                 priors={"z": Uniform(0, 1)})
    with pytest.raises(ConfigError, match="starting points"):
        run_mcmc(lambda t: -np.inf, [0.0], [1.0], names=["x"], seed=0, n_steps=20,
                 progress=False)
    with pytest.raises(ConfigError):
        Uniform(1.0, 0.0)
    with pytest.raises(ConfigError):
        Gaussian(0.0, -1.0)


def test_write_posterior(tmp_path, normal_result):
    path = write_posterior(normal_result, tmp_path / "x_posterior.json", extra={"model": "test"})
    data = json.loads(path.read_text())
    assert data["model"] == "test" and data["chain"] == "x_chain.parquet"
    df = pd.read_parquet(tmp_path / "x_chain.parquet")
    assert list(df.columns) == ["step", "walker", "a", "b", "c", "log_prob"]
    assert len(df) == data["n_samples"]


def test_triangle_plot(normal_result):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rediscovery.cosmo.plots import plot_trace, triangle_plot

    fig = triangle_plot(normal_result, truths={"a": 1.0, "b": -2.0, "c": 0.5})
    assert len(fig.axes) == 9
    fig2 = plot_trace(normal_result)
    assert len(fig2.axes) == 3
    plt.close("all")


def test_differential_evolution_moves_sample_a_correlated_gaussian():
    """moves="de": mean and covariance of a correlated 3-D Gaussian recovered (closed form)."""
    cov = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.3], [0.0, 0.3, 2.0]])
    prec = np.linalg.inv(cov)

    def logp(t):
        return -0.5 * np.einsum("pi,ij,pj->p", t, prec, t)

    res = run_mcmc(logp, [0.5, 0.5, 0.5], 0.1, names=["a", "b", "c"], seed=4, n_steps=6000,
                   n_walkers=32, progress=False, vectorize=True, moves="de")
    s = res.samples
    assert np.allclose(s.mean(axis=0), 0.0, atol=0.12)
    # widths to 5 % (a sampler that under-disperses by 10 %, as a snooker mix did, fails)
    assert np.allclose(s.std(axis=0) / np.sqrt(np.diag(cov)), 1.0, atol=0.05)
    assert np.allclose(np.corrcoef(s.T), cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov))),
                       atol=0.05)
    assert np.max(res.autocorr_tau) < 30


def test_unknown_moves_are_refused():
    with pytest.raises(ConfigError, match="moves"):
        run_mcmc(lambda t: 0.0, [0.0], [1.0], names=["x"], seed=1, n_steps=20, n_walkers=4,
                 progress=False, moves="gibbs")


def test_max_steps_extends_an_unconverged_chain_until_it_converges():
    # 400 steps are < 50 tau for this start far from the mode; run on up to 12,000
    short = run_mcmc(_lnp_vec, MEAN + 3, 0.01, names=list("abc"), seed=1, n_steps=400,
                     progress=False, vectorize=True)
    assert not short.converged
    long = run_mcmc(_lnp_vec, MEAN + 3, 0.01, names=list("abc"), seed=1, n_steps=400,
                    max_steps=12000, progress=False, vectorize=True)
    assert long.converged
    n = long.chain.shape[0]
    assert 400 < n <= 12000
    assert n > 50 * np.max(long.autocorr_tau)
    # the extension continues the same walkers: the first 400 steps are the short chain's
    np.testing.assert_array_equal(long.chain[:400], short.chain)
    assert long.summary()["n_steps"] == n
    s = long.samples
    np.testing.assert_allclose(s.mean(axis=0), MEAN, atol=0.15)


def test_max_steps_stops_at_the_limit_and_reports_it(caplog):
    res = run_mcmc(_lnp_vec, MEAN + 3, 0.01, names=list("abc"), seed=1, n_steps=60,
                   max_steps=100, progress=False, vectorize=True)
    assert res.chain.shape[0] == 100  # 60, +30, then +10 to the limit
    assert not res.converged
    assert "not converged" in caplog.text
    with pytest.raises(ConfigError, match="max_steps"):
        run_mcmc(_lnp_vec, MEAN, 0.1, names=list("abc"), seed=1, n_steps=100, max_steps=50,
                 progress=False, vectorize=True)


def test_converged_chain_is_not_extended(normal_result):
    res = run_mcmc(_lnp_vec, MEAN + 0.5, 0.1, names=["a", "b", "c"], seed=42, n_walkers=32,
                   n_steps=10000, max_steps=30000, progress=False, vectorize=True)
    assert res.chain.shape[0] == 10000
    np.testing.assert_array_equal(res.chain, normal_result.chain)

"""The isolation forest ranks injected outliers (simulation truth) above the bulk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from rediscovery.anomaly import IsolationForestConfig, isolation_forest_scores
from rediscovery.core.errors import ConfigError, InputError


def _bulk_with_outliers(n: int = 2000, n_out: int = 20, seed: int = 0):
    """A correlated Gaussian bulk and ``n_out`` events 6σ away along a random direction."""
    rng = np.random.default_rng(seed)
    cov = np.array([[1.0, 0.6, 0.0], [0.6, 1.0, 0.2], [0.0, 0.2, 1.0]])
    x = rng.multivariate_normal(np.zeros(3), cov, n)
    d = rng.normal(size=(n_out, 3))
    x[:n_out] = 6.0 * d / np.linalg.norm(d, axis=1, keepdims=True)
    truth = np.zeros(n, dtype=int)
    truth[:n_out] = 1
    df = pd.DataFrame(x, columns=["PRI_a", "DER_b", "NEW_c"])
    df.insert(0, "EventId", np.arange(100, 100 + n))
    return df, truth


def test_injected_outliers_are_ranked_first():
    df, truth = _bulk_with_outliers()
    res = isolation_forest_scores(df, IsolationForestConfig(seed=1))
    s = res.scores
    assert list(s.columns) == ["EventId", "anomaly_score", "rank"]
    np.testing.assert_array_equal(s["EventId"], df["EventId"])
    assert roc_auc_score(truth, s["anomaly_score"]) > 0.99
    # most of the top 20 are the injected ones (the bulk's own 4σ tail competes)
    assert truth[s["rank"].to_numpy() <= 20].sum() >= 15
    assert sorted(s["rank"]) == list(range(1, len(df) + 1))
    assert ((s["anomaly_score"] > 0) & (s["anomaly_score"] <= 1)).all()


def test_hard_tail_of_simulated_events_is_found():
    from rediscovery.higgs.events.simulate import simulate_events

    df = simulate_events(3000, seed=2)
    truth = np.zeros(len(df), dtype=int)
    truth[:30] = 1  # a population the simulation does not make: 10x harder taus and leptons
    df.loc[:29, ["PRI_tau_pt", "PRI_lep_pt"]] *= 10.0
    res = isolation_forest_scores(df, IsolationForestConfig(seed=3))
    assert roc_auc_score(truth, res.scores["anomaly_score"]) > 0.95
    assert "PRI_tau_phi" not in res.summary["features"]


def test_scores_are_seeded():
    df, _ = _bulk_with_outliers(n=300, n_out=3)
    a = isolation_forest_scores(df, IsolationForestConfig(n_estimators=20, seed=5))
    b = isolation_forest_scores(df, IsolationForestConfig(n_estimators=20, seed=5))
    pd.testing.assert_frame_equal(a.scores, b.scores)


def test_bad_input_and_settings_are_refused():
    df, _ = _bulk_with_outliers(n=50, n_out=1)
    with pytest.raises(InputError, match="expected at least 10"):
        isolation_forest_scores(df.iloc[:9])
    with pytest.raises(InputError, match="no numeric feature columns"):
        isolation_forest_scores(df[["EventId"]])
    with pytest.raises(ConfigError, match="n_estimators 0"):
        IsolationForestConfig(n_estimators=0)
    with pytest.raises(ConfigError, match="max_samples 1"):
        IsolationForestConfig(max_samples=1)

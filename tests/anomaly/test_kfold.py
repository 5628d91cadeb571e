"""The shared k-fold classifier of CWoLa and CATHODE: out-of-fold (no leakage), the analytic
AUC of two Gaussians, bagged ensembles, scoring of other events."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from rediscovery.anomaly import CathodeMethod
from rediscovery.anomaly.kfold import kfold_scores
from rediscovery.anomaly.overdensity import CWoLaMethod
from rediscovery.core.errors import ConfigError


def _two_gaussians(shift: float, n: int, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.5
    x = rng.normal(size=(n, 2))
    x[y, 0] += shift
    return x, y, rng


def test_out_of_fold_scores_do_not_learn_noise():
    # the same density in both classes: an in-sample boosted classifier separates them (it
    # memorises), the out-of-fold scores must not (AUC 0.5 within its error ~ 0.01)
    x, y, rng = _two_gaussians(0.0, 4000, 1)
    s, _ = kfold_scores(x, y, rng.integers(0, 4, len(x)), folds=4, rng=rng, max_iter=50)
    assert abs(roc_auc_score(y, s) - 0.5) < 0.04


def test_auc_of_two_unit_gaussians_matches_the_closed_form():
    # two unit normals Δ = 1 apart along one axis: the optimal AUC is Φ(Δ/√2) = 0.760
    # (e.g. Hanley & McNeil 1982 for the binormal ROC)
    x, y, rng = _two_gaussians(1.0, 8000, 2)
    for ensemble in (1, 3):
        s, _ = kfold_scores(
            x, y, rng.integers(0, 4, len(x)), folds=4, rng=rng, max_iter=50, ensemble=ensemble
        )
        assert abs(roc_auc_score(y, s) - norm.cdf(1.0 / np.sqrt(2.0))) < 0.02


def test_bagged_members_differ_and_other_events_are_scored():
    x, y, rng = _two_gaussians(1.0, 3000, 3)
    fold = rng.integers(0, 3, len(x))
    x_new = np.random.default_rng(4).normal(size=(500, 2))
    fold_new = np.random.default_rng(5).integers(0, 3, 500)
    one, (mean1, own1, empty) = kfold_scores(
        x,
        y,
        fold,
        folds=3,
        rng=np.random.default_rng(0),
        others=[(x_new, None), (x_new, fold_new), (x_new[:0], None)],
        max_iter=30,
    )
    bag, (mean3,) = kfold_scores(
        x,
        y,
        fold,
        folds=3,
        rng=np.random.default_rng(0),
        others=[(x_new, None)],
        ensemble=3,
        max_iter=30,
    )
    assert empty.size == 0
    assert ((0 < one) & (one < 1)).all() and ((0 < mean1) & (mean1 < 1)).all()
    # each new event scored by its own fold's model: the same scale as the mean of the folds
    assert np.corrcoef(mean1, own1)[0, 1] > 0.9
    # bagging changes the models (Poisson weights) but not what they learn
    assert not np.allclose(one, bag) and np.corrcoef(one, bag)[0, 1] > 0.9
    assert np.corrcoef(mean1, mean3)[0, 1] > 0.9


def test_refusals():
    x, y, rng = _two_gaussians(1.0, 200, 6)
    with pytest.raises(ConfigError, match="ensemble 0"):
        kfold_scores(x, y, np.zeros(200, int), folds=2, rng=rng, ensemble=0)
    with pytest.raises(ConfigError, match="folds 1"):
        kfold_scores(x, y, np.zeros(200, int), folds=1, rng=rng)
    with pytest.raises(ConfigError, match="ensemble 0"):
        CathodeMethod(ensemble=0)
    with pytest.raises(ConfigError, match="ensemble 0"):
        CWoLaMethod(ensemble=0)

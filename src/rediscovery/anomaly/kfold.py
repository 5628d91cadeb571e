"""One k-fold gradient-boosting classifier for the weakly supervised methods (CWoLa, CATHODE).

Both train a classifier of two samples (SR data against sideband data, or against a flow's
samples) with the two classes weighted equally, score every training event with a model that
did not see it, and score other events (the rest of the data, the SM reference) with the fold
models. Optionally each fold trains an ensemble of bagged classifiers (Poisson(1) bootstrap
weights, the online bagging of N. Oza, S. Russell, AISTATS 2001; the bagging of L. Breiman,
Machine Learning 24 (1996) 123) whose probabilities are averaged: the variance reduction that
CATHODE's authors get from averaging several trainings (A. Hallin et al., Phys. Rev. D 106
(2022) 055006, sec. III), where a weak signal of a few hundred events otherwise lets one
training's fluctuations decide which events pass a tight cut.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rediscovery.core.errors import ConfigError

__all__ = ["kfold_scores"]


def kfold_scores(
    x: np.ndarray,
    y: np.ndarray,
    fold: np.ndarray,
    *,
    folds: int,
    rng: np.random.Generator,
    others: Sequence[tuple[np.ndarray, np.ndarray | None]] = (),
    ensemble: int = 1,
    max_iter: int = 100,
    learning_rate: float = 0.1,
    max_leaf_nodes: int = 15,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Out-of-fold class-1 probabilities of a balanced k-fold gradient-boosting classifier.

    Parameters
    ----------
    x, y
        (n, d) training features (NaN allowed), (n,) booleans (class 1).
    fold
        (n,) int in [0, folds): the fold of each training event (drawn by the caller).
    folds, rng
        Number of folds; the generator of the boosting seeds and the bagging weights.
    others
        ``(x_o, fold_o)`` pairs of further events to score: each event by the model of its
        fold ``fold_o`` (so that its score is distributed as the out-of-fold ones), or, with
        ``fold_o`` None, by the mean of the fold models.
    ensemble
        Bagged classifiers per fold (1: one classifier on the fold's events, no bagging).
    max_iter, learning_rate, max_leaf_nodes
        scikit-learn ``HistGradientBoostingClassifier`` settings (50 events per leaf at
        least, L2 regularisation 1, no early stopping).

    Returns
    -------
    The (n,) out-of-fold scores and one score array per ``others`` entry.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    if ensemble < 1:
        raise ConfigError(f"ensemble {ensemble}: expected at least 1 classifier per fold")
    if folds < 2:
        raise ConfigError(f"folds {folds}: expected at least 2")
    y = np.asarray(y, bool)
    w = np.where(y, 0.5 / max(y.sum(), 1), 0.5 / max((~y).sum(), 1))
    out = np.zeros(len(x))
    out_o = [np.zeros(len(xo)) for xo, _ in others]
    for k in range(folds):
        fit = fold != k
        for _ in range(ensemble):
            weight = w[fit] * fit.sum()
            state = int(rng.integers(2**31))
            if ensemble > 1:
                weight = weight * rng.poisson(1.0, weight.size)
            clf = HistGradientBoostingClassifier(
                max_iter=max_iter,
                learning_rate=learning_rate,
                max_leaf_nodes=max_leaf_nodes,
                min_samples_leaf=50,
                l2_regularization=1.0,
                early_stopping=False,
                random_state=state,
            ).fit(x[fit], y[fit], sample_weight=weight)
            out[~fit] += clf.predict_proba(x[~fit])[:, 1] / ensemble
            for (xo, fo), so in zip(others, out_o, strict=True):
                if len(xo) == 0:
                    continue
                if fo is None:
                    so += clf.predict_proba(xo)[:, 1] / (folds * ensemble)
                elif (fo == k).any():
                    so[fo == k] += clf.predict_proba(xo[fo == k])[:, 1] / ensemble
    return out, out_o

"""The classifier plots draw the numbers of :mod:`rediscovery.higgs.classifiers.metrics`.

Each test reads the data back from the returned axes (line, stairs and error-bar data, labels,
legend entries) and compares it with the metric computed independently.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from rediscovery.higgs.classifiers import metrics
from rediscovery.higgs.classifiers import plots as plots_models


@pytest.fixture
def sample():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 2000)
    s = np.clip(rng.normal(0.35 + 0.3 * y, 0.15), 0, 1)
    w = rng.uniform(0.5, 2.0, y.size)
    yield s, w, y
    plt.close("all")


def _legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_roc_draws_the_weighted_roc_curve(sample):
    s, w, y = sample
    ax = plots_models.plot_roc({"BDT": (s, w, y)})
    fpr, tpr, _ = metrics.weighted_roc(s, w, y)
    curve, diagonal = ax.get_lines()
    np.testing.assert_allclose(curve.get_xdata(), fpr)
    np.testing.assert_allclose(curve.get_ydata(), tpr)
    np.testing.assert_array_equal(diagonal.get_xydata(), [[0, 0], [1, 1]])
    auc = metrics.weighted_auc(s, w, y)
    assert _legend(ax) == [f"BDT (AUC = {auc:.4f})", "random"]
    assert "ε_b" in ax.get_xlabel() and "ε_s" in ax.get_ylabel()

    ax = plots_models.plot_roc({"BDT": (s, w, y)}, log_background=True)
    (line,) = ax.get_lines()
    ok = fpr > 0
    np.testing.assert_allclose(line.get_ydata(), 1 / fpr[ok])
    assert ax.get_yscale() == "log"


def test_score_distributions_are_normalised_histograms(sample):
    s, w, y = sample
    train = (s[:1000], w[:1000], y[:1000])
    test = (s[1000:], w[1000:], y[1000:])
    ax = plots_models.plot_score_distributions(train, test, bins=20)
    edges = np.linspace(0, 1, 21)
    stairs = [p for p in ax.patches if hasattr(p, "get_data")]
    assert len(stairs) == 2  # signal and background, training set
    for patch, cls in zip(stairs, (1, 0), strict=True):
        values, patch_edges, _ = patch.get_data()
        m = train[2] == cls
        expected, _ = np.histogram(train[0][m], edges, weights=train[1][m], density=True)
        np.testing.assert_allclose(patch_edges, edges)
        np.testing.assert_allclose(values, expected)
    ks = metrics.overtraining_check(*train, *test)
    labels = _legend(ax)
    assert "signal train" in labels and "background train" in labels
    assert f"signal test (KS p = {ks['signal'].pvalue:.3g})" in labels
    assert ax.get_xlabel() == "classifier score"


def test_ams_curve_marks_the_best_cut(sample):
    s, w, y = sample
    ax = plots_models.plot_ams_curve(s, w, y)
    c = metrics.ams_curve(s, w, y)
    curve, best = ax.get_lines()
    np.testing.assert_allclose(curve.get_xdata(), c.threshold)
    np.testing.assert_allclose(curve.get_ydata(), c.ams)
    assert best.get_xdata()[0] == pytest.approx(c.best_threshold)
    assert f"AMS = {c.best_ams:.3f}" in _legend(ax)[0]
    assert "b_reg" in ax.get_ylabel()


def test_calibration_draws_the_reliability_curve(sample):
    s, w, y = sample
    ax = plots_models.plot_calibration(s, w, y, n_bins=5)
    mean, frac, _ = metrics.calibration_curve(s, w, y, n_bins=5)
    _, line = ax.get_lines()
    np.testing.assert_allclose(line.get_xdata(), mean)
    np.testing.assert_allclose(line.get_ydata(), frac)
    assert _legend(ax) == ["perfect calibration", "classifier"]


def test_training_history_marks_the_best_epoch():
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": (e - 3) ** 2 + 0.5}
               for e in range(1, 7)]
    ax = plots_models.plot_training_history(history)
    train, val, best = ax.get_lines()
    np.testing.assert_array_equal(train.get_xdata(), range(1, 7))
    np.testing.assert_allclose(val.get_ydata(), [h["val_loss"] for h in history])
    assert best.get_xdata()[0] == 3
    assert _legend(ax) == ["train", "validation", "best epoch 3"]
    plt.close("all")

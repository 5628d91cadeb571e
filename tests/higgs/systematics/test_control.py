"""Tests of the control channel (rediscovery.higgs.systematics.control)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.stats.inference import asimov_data, mle
from rediscovery.higgs.systematics.challenge import ChallengeSetup, run_pseudo_experiment
from rediscovery.higgs.systematics.control import ControlRegionScorer, control_region_scorer
from rediscovery.higgs.systematics.methods import TemplateInference
from rediscovery.higgs.systematics.templates import TemplateWarning, build_templates
from rediscovery.higgs.systematics.variations import FAIR_UNIVERSE_PRIORS

#: Luminosity factor of the toy's templates and data (one template event weighs 1/LUMI of its
#: expected count: the data's Poisson noise dominates).
LUMI = 20.0


def _score(df: pd.DataFrame) -> np.ndarray:
    # harder taus and less MET score higher: the soft MET moves events between score bins
    z = (df["PRI_tau_pt"].to_numpy() - 45.0) / 15.0 - (df["PRI_met"].to_numpy() - 30.0) / 40.0
    return 1.0 / (1.0 + np.exp(-z))


def test_scorer_puts_low_scores_in_feature_bins_and_keeps_the_others():
    df = pd.DataFrame({"PRI_met": [1.0, 5.0, 50.0, 7.0, 3.0], "s": [0.1, 0.2, 0.3, 0.6, 0.9]})
    crs = ControlRegionScorer(lambda d: d["s"].to_numpy(), ("PRI_met",), 0.5, ((2.0, 10.0),))
    x = crs(df)
    # control bins on [-0.5, 0.5): [-0.5, -1/6), [-1/6, 1/6), [1/6, 0.5) for met < 2, < 10, ≥ 10
    np.testing.assert_allclose(x[:3], [-0.5 + 1 / 6, -0.5 + 0.5, -0.5 + 5 / 6])
    np.testing.assert_array_equal(x[3:], [0.6, 0.9])
    np.testing.assert_allclose(crs.control_edges(), [-0.5, -0.5 + 1 / 3, -0.5 + 2 / 3, 0.5])


def test_control_region_edges_and_histogram_partition_the_events(make_events):
    ev = make_events(n=3000, seed=21)
    score_edges = np.array([0.0, 0.4, 0.7, 1.0])
    crs, edges = control_region_scorer(_score, score_edges, ev, "PRI_met", n_bins=5)
    assert edges.size == 5 + 2 + 1 and np.all(np.diff(edges) > 0)
    np.testing.assert_array_equal(edges[-3:], score_edges[1:])
    x = crs(ev)
    idx = np.searchsorted(edges, x, side="right") - 1
    w = ev["Weight"].to_numpy()
    per_bin = np.bincount(idx, weights=w, minlength=edges.size - 1)
    # every event in exactly one bin; the signal channel is the score histogram above the cut
    assert per_bin.sum() == pytest.approx(w.sum())
    s = _score(ev)
    above = np.histogram(s, score_edges[1:], weights=w)[0]
    np.testing.assert_allclose(per_bin[5:], above)
    # the feature bins hold equal shares of the control region's weight (to one event)
    np.testing.assert_allclose(per_bin[:5], per_bin[:5].mean(), atol=w.max())


def test_two_features_make_a_grid_of_cells_in_row_major_order():
    df = pd.DataFrame({
        "PRI_met": [1.0, 1.0, 50.0, 50.0, 3.0],
        "PRI_tau_pt": [20.0, 40.0, 20.0, 40.0, 99.0],
        "s": [0.1, 0.2, 0.3, 0.4, 0.9],
    })
    crs = ControlRegionScorer(
        lambda d: d["s"].to_numpy(), ("PRI_met", "PRI_tau_pt"), 0.5, ((10.0,), (30.0,))
    )
    assert crs.grid_shape == (2, 2) and crs.n_control_bins == 4
    x = crs(df)
    # cells (met bin, τ bin) = (0,0), (0,1), (1,0), (1,1): indices 0..3 of 4 on [-0.5, 0.5)
    np.testing.assert_allclose(x[:4], -0.5 + (np.arange(4) + 0.5) / 4)
    assert x[4] == 0.9
    with pytest.raises(ConfigError, match="one set per feature"):
        ControlRegionScorer(crs.scorer, ("PRI_met", "PRI_tau_pt"), 0.5, ((10.0,),))


def test_grid_control_region_partitions_the_events_with_equal_marginals(make_events):
    ev = make_events(n=4000, seed=24)
    score_edges = np.array([0.0, 0.4, 0.7, 1.0])
    crs, edges = control_region_scorer(
        _score, score_edges, ev, ["PRI_met", "PRI_tau_pt"], n_bins=4
    )
    assert crs.grid_shape == (4, 4) and edges.size == 16 + 2 + 1
    idx = np.searchsorted(edges, crs(ev), side="right") - 1
    w = ev["Weight"].to_numpy()
    per_bin = np.bincount(idx, weights=w, minlength=edges.size - 1)
    assert per_bin.sum() == pytest.approx(w.sum())
    grid = per_bin[:16].reshape(4, 4)
    # each feature's marginal holds equal shares of the control region's weight
    for marginal in (grid.sum(axis=1), grid.sum(axis=0)):
        np.testing.assert_allclose(marginal, marginal.mean(), atol=w.max())
    # the grid is the 2-D histogram of the two features in the control region
    control = _score(ev) < 0.4
    h = np.histogram2d(
        ev["PRI_met"].to_numpy()[control],
        ev["PRI_tau_pt"].to_numpy()[control],
        bins=[np.r_[-np.inf, e, np.inf] for e in crs.inner_edges],
        weights=w[control],
    )[0]
    np.testing.assert_allclose(grid, h)
    with pytest.raises(ConfigError, match="distinct"):
        control_region_scorer(_score, score_edges, ev, ["PRI_met", "PRI_met"])


def test_control_region_scorer_rejects_bad_input(make_events):
    ev = make_events(n=500, seed=22)
    edges = np.array([0.0, 0.4, 1.0])
    with pytest.raises(InputError, match="NOT_A_COLUMN"):
        control_region_scorer(_score, edges, ev, "NOT_A_COLUMN")
    with pytest.raises(InputError, match="PRI_jet_leading_pt"):  # NaN without jets
        control_region_scorer(_score, edges, ev, "PRI_jet_leading_pt")
    with pytest.raises(ConfigError, match="signal channel remains"):
        control_region_scorer(_score, edges, ev, "PRI_met", n_score_bins=2)
    with pytest.raises(ConfigError, match="at least 2"):
        control_region_scorer(_score, edges, ev, "PRI_met", n_bins=1)


@pytest.fixture(scope="module")
def toy(make_events):
    """Template events whose signal has harder taus; soft MET the only nuisance."""
    ev = make_events(n=6000, seed=23)
    sig = ev["Label"].to_numpy() == 1
    ev.loc[sig, "PRI_tau_pt"] *= 1.6
    ev["Weight"] = np.where(sig, 0.2, 1.0)
    score_edges = np.array([0.0, 0.5, 0.7, 0.85, 1.0])
    priors = {"soft_met": FAIR_UNIVERSE_PRIORS["soft_met"]}
    crs, cr_edges = control_region_scorer(_score, score_edges, ev, "PRI_met", n_bins=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TemplateWarning)
        opts = {"priors": priors, "seed": 5, "weight_scale": LUMI}
        plain = build_templates(ev, _score, score_edges, **opts)
        control = build_templates(ev, crs, cr_edges, **opts)
    # pool = the template events with the templates' soft-MET random numbers, at LUMI, no
    # MC-statistics terms: the data follow the model at every template point
    infs = {
        name: TemplateInference(sc, t, mc_stat=False, shape_interpolation="spline")
        for name, sc, t in (("plain", _score, plain), ("control", crs, control))
    }
    return ev, priors, infs


def test_control_channel_constrains_the_soft_met_and_keeps_mu_pulls_unit(toy):
    ev, priors, infs = toy
    # post-fit error of α_soft_met on Asimov data (μ = 1, α = 0)
    err = {}
    for name, inf in infs.items():
        model = inf.model()
        res = mle(model, asimov_data(model, 1.0), errors=True)
        err[name] = res.errors["soft_met"]
    assert err["plain"] > 0.3  # the score bins hardly measure the soft MET ...
    assert err["control"] < 0.5 * err["plain"]  # ... the control channel does
    # pseudo-experiments: μ ~ U(0.1, 3), soft MET from its prior, the real data path
    # (apply_systematics, Poisson counts per event, the scorer, the fit)
    rows = {
        name: pd.DataFrame(
            [
                run_pseudo_experiment(
                    ChallengeSetup(
                        pool=ev, inference=inf, priors=priors, lumi_factor=LUMI, pool_seed=5
                    ),
                    seed,
                )
                for seed in range(60)
            ]
        )
        for name, inf in infs.items()
    }
    # α̂ against the truth where the soft MET is measurable at all: below α = −1 (soft_met <
    # 0.37 GeV) its effect vanishes and no channel can tell α = −1 from α = −3 (measured: the
    # misses of both fits sit there)
    rms = {}
    for k, r in rows.items():
        a = np.log(r["true_soft_met"])
        rms[k] = np.sqrt(np.mean((r["syst_alpha_soft_met"] - a)[a > -1.0] ** 2))
    assert rms["control"] < 0.5 * rms["plain"], rms  # measured 0.18 against 0.56
    r = rows["control"]
    assert r["syst_converged"].all()
    sig = np.where(r["syst_mu_hat"] >= r["mu_true"], r["syst_mu_hat"] - r["syst_lo"],
                   r["syst_hi"] - r["syst_mu_hat"])
    pull = (r["syst_mu_hat"] - r["mu_true"]) / sig
    n = len(pull)
    assert abs(pull.mean()) < 3.0 / np.sqrt(n), pull.mean()
    assert abs(pull.std() - 1.0) < 3.0 / np.sqrt(2 * n), pull.std()

"""Tests of rediscovery.higgs.systematics.challenge (Fair Universe evaluation) and syst_training."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import ConfigError
from rediscovery.higgs.systematics.challenge import (
    ChallengeSetup,
    challenge_score,
    coverage_penalty,
    run_challenge,
    summarise,
)


def test_coverage_penalty_hand_values():
    # FAIR-Universe/HEP-Challenge scoring_program/score.py (Quantiles_Score): N = 100,
    # σ68 = sqrt(0.3173 · 0.6827 · 100)/100 = 0.0465425; hand-evaluated values below.
    assert coverage_penalty(0.6827, 100) == 1.0
    assert coverage_penalty(0.60, 100) == 1.0  # inside 0.6827 ± 2σ68
    assert coverage_penalty(0.5, 100) == pytest.approx(14.744271, rel=1e-6)
    assert coverage_penalty(0.9, 100) == pytest.approx(20.009537, rel=1e-6)


def test_challenge_score_definition():
    n = 100
    mu = np.ones(n)
    lo = np.full(n, 0.8)
    hi = np.full(n, 1.2)
    hi[:50] = 0.9  # half the intervals miss: coverage 0.5, mean width (50·0.1 + 50·0.4)/100
    s = challenge_score(mu, lo, hi)
    assert s["coverage"] == 0.5
    assert s["width"] == pytest.approx(0.25)
    assert s["score"] == pytest.approx(-math.log((0.25 + 1e-3) * 14.744271421498413), rel=1e-9)


def test_summary_counts_failed_fits_as_misses():
    t = pd.DataFrame({"mu_true": [1.0, 1.0, 1.0, 1.0],
                      "syst_mu_hat": [1.0, 1.1, np.nan, 0.9],
                      "syst_lo": [0.5, 0.9, np.nan, 0.2],
                      "syst_hi": [1.5, 1.3, np.nan, 0.95],
                      "syst_converged": [True, True, False, True],
                      "stat_mu_hat": [1.0] * 4, "stat_lo": [0.9] * 4, "stat_hi": [1.1] * 4,
                      "stat_converged": [True] * 4})
    s = summarise(t)
    assert s["syst"]["coverage"] == 0.5  # 2 of 4: the failed fit is a miss, not dropped
    assert s["syst"]["n_failed"] == 1
    assert s["stat"]["coverage"] == 1.0


@pytest.fixture(scope="module")
def small_setup(make_events):
    from rediscovery.higgs.systematics.templates import TemplateWarning, build_templates

    ev = make_events(n=3000, seed=8)
    sig = ev["Label"].to_numpy() == 1
    ev.loc[sig, "PRI_tau_pt"] *= 1.6
    ev["Weight"] = np.where(sig, 0.2, 1.0)
    pool = make_events(n=3000, seed=9)
    sig = pool["Label"].to_numpy() == 1
    pool.loc[sig, "PRI_tau_pt"] *= 1.6
    pool["Weight"] = np.where(sig, 0.2, 1.0)
    edges = np.array([0.0, 0.5, 0.65, 0.8, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TemplateWarning)
        t = build_templates(ev, _score, edges, nuisances=("tes", "ttbar_scale"), seed=0)
    return ChallengeSetup(pool=pool, scorer=_score, templates=t)


def _score(df):
    return 1.0 - np.exp(-df["PRI_tau_pt"].to_numpy() / 40.0)


def test_run_challenge_is_reproducible_and_chunking_independent(small_setup):
    a = run_challenge(small_setup, 6, seed=4, n_workers=1, progress=False, chunk_size=2)
    b = run_challenge(small_setup, 6, seed=4, n_workers=1, progress=False, chunk_size=6)
    # everything but the measured CPU time is reproducible
    pd.testing.assert_frame_equal(a.table.drop(columns="cpu_s"), b.table.drop(columns="cpu_s"))
    mu = a.table["mu_true"]
    assert ((mu >= 0.1) & (mu <= 3.0)).all()
    assert {"syst", "stat", "n_pseudo"} <= set(a.summary)
    # nuisance truths follow the clipped priors
    assert a.table["true_tes"].between(0.9, 1.1).all()
    with pytest.raises(ConfigError):
        run_challenge(small_setup, 0)


def test_augmentation_and_parameterised_inputs(make_events):
    from rediscovery.higgs.systematics.training import alpha_column, augment

    ev = make_events(n=500, seed=2)
    aug = augment(ev, n_copies=3, seed=1)
    # weights divided by the number of copies: the total is the nominal one up to the events
    # removed by the re-applied selection
    assert aug["Weight"].sum() <= ev["Weight"].sum() * 1.0001 * 1.03
    assert len(aug) <= 3 * len(ev)
    par = augment(ev, n_copies=5, seed=1, grid=(-1.0, 0.0, 1.0), parameterised=("tes", "jes"))
    vals = set(np.unique(par[alpha_column("tes")]))
    assert vals <= {-1.0, 0.0, 1.0} and len(vals) > 1
    with pytest.raises(ConfigError):
        augment(ev, n_copies=0, seed=1)


def test_train_classifier_modes(make_events):
    from rediscovery.higgs.systematics.training import alpha_column, train_classifier

    ev = make_events(n=1500, seed=4)
    sig = ev["Label"].to_numpy() == 1
    ev.loc[sig, "PRI_tau_pt"] *= 1.6
    feats = ["PRI_tau_pt", "PRI_lep_pt", "PRI_met"]
    sc = train_classifier(ev, feats, mode="parameterised", n_copies=3, n_estimators=10,
                          max_depth=2)
    s = sc(ev)
    assert s.shape == (len(ev),) and np.all((s >= 0) & (s <= 1))
    assert set(sc.alphas) == {"tes", "jes", "soft_met"}
    assert alpha_column("tes") not in ev.columns  # scorer adds its inputs itself
    # the score separates the harder-tau signal
    assert s[sig].mean() > s[~sig].mean()
    with pytest.raises(ConfigError):
        train_classifier(ev, feats, mode="adversarial")


def test_cli_challenge_writes_its_outputs(tmp_path):
    """The real command on tiny samples: every output is written (atomically: no temp files
    left), one CSV row per pseudo-experiment."""
    import json

    from rediscovery.cli import main

    out = tmp_path / "ch"
    code = main(["higgs", "challenge", "--n-pseudo", "3", "--out", str(out), "--n-train", "3000",
                 "--n-templates", "6000", "--n-pool", "6000", "--n-estimators", "5",
                 "--n-workers", "1"])
    assert code == 0
    table = pd.read_csv(out / "pseudo_experiments_nominal.csv")
    assert len(table) == 3 and {"syst_mu_hat", "stat_lo", "mu_true"} <= set(table.columns)
    summary = json.loads((out / "challenge.json").read_text())["results"]["nominal"]
    assert summary["n_pseudo"] == 3 and "total" in summary["expected_breakdown"]
    assert sorted(p.name for p in out.iterdir()) == [
        "challenge.json", "interval_widths.png", "mu_hat_vs_true_nominal.png",
        "pseudo_experiments_nominal.csv"]


def test_cli_challenge_help_lists_every_method(capsys):
    from rediscovery.cli import main
    from rediscovery.higgs.systematics.catalogue import METHODS

    try:
        main(["higgs", "challenge", "--help"])
    except SystemExit:
        pass
    text = " ".join(capsys.readouterr().out.split())
    assert "--method" in text
    for m in METHODS:
        assert m in text


def test_cli_challenge_refuses_a_control_channel_for_other_methods(tmp_path, capsys):
    from rediscovery.cli import main

    code = main(["higgs", "challenge", "--method", "nominal,pivot", "--control-channel",
                 "DER_pt_tot", "--out", str(tmp_path / "ch")])
    assert code != 0 and "not pivot" in capsys.readouterr().err
    assert not (tmp_path / "ch").exists()  # refused before anything is simulated or written


def test_cli_challenge_with_a_control_channel_runs_end_to_end(tmp_path):
    """The real command with a control channel on a (PRI_tau_pt, DER_pt_tot) grid and spline
    morphing on tiny samples: it runs, writes one row per pseudo-experiment with finite
    intervals that hold their μ̂, and records the channel in challenge.json."""
    import json

    from rediscovery.cli import main

    out = tmp_path / "ch"
    code = main(["higgs", "challenge", "--n-pseudo", "3", "--out", str(out), "--n-train", "3000",
                 "--n-templates", "6000", "--n-pool", "6000", "--n-estimators", "5",
                 "--n-workers", "1", "--control-channel", "PRI_tau_pt,DER_pt_tot",
                 "--control-bins", "3", "--morphing", "spline"])
    assert code == 0
    table = pd.read_csv(out / "pseudo_experiments_nominal.csv")
    assert len(table) == 3
    lo, hi, mu = table["syst_lo"], table["syst_hi"], table["syst_mu_hat"]
    assert np.all(np.isfinite(lo) & np.isfinite(hi)) and np.all((lo <= mu) & (mu <= hi))
    text = (out / "challenge.json").read_text()
    assert "spline" in text
    record = json.loads(text)
    assert record["control_channel"] == ["PRI_tau_pt", "DER_pt_tot"]
    assert record["results"]["nominal"]["n_pseudo"] == 3
    assert record["results"]["nominal"]["n_bins"] > 9  # the 3 x 3 control cells + score bins

"""Tests of rediscovery.higgs.systematics.variations (dataset alterations, Fair Universe
conventions).

Reference for the conventions: FAIR-Universe/HEP-Challenge ``ingestion_program/systematics.py``
(Bhimji et al. 2024, arXiv:2410.02867).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.schema import PRI_COLUMNS
from rediscovery.higgs.systematics.variations import (
    DEFAULT_THRESHOLDS,
    FAIR_UNIVERSE_PRIORS,
    SelectionThresholds,
    apply_systematics,
    draw_nuisances,
)


def _vis_sum(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Σ p_T vectors of MET, τ_h and the two leading jets (GeV)."""
    px = np.zeros(len(df))
    py = np.zeros(len(df))
    for pt, phi in (("PRI_met", "PRI_met_phi"), ("PRI_tau_pt", "PRI_tau_phi"),
                    ("PRI_jet_leading_pt", "PRI_jet_leading_phi"),
                    ("PRI_jet_subleading_pt", "PRI_jet_subleading_phi")):
        p = np.nan_to_num(df[pt].to_numpy())
        f = np.nan_to_num(df[phi].to_numpy())
        px += p * np.cos(f)
        py += p * np.sin(f)
    return px, py


def test_identity_at_nominal_values(make_events):
    df = make_events()
    before = df.copy()
    out = apply_systematics(df)
    pd.testing.assert_frame_equal(out, df)
    pd.testing.assert_frame_equal(df, before)  # input untouched
    assert out.attrs["n_removed"] == 0 and out.attrs["n_jets_removed"] == 0


def test_input_never_modified(make_events):
    df = make_events()
    before = df.copy()
    apply_systematics(df, tes=1.05, jes=0.95, soft_met=3.0, ttbar_scale=1.1, seed=1)
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize("tes,jes", [(1.05, 1.0), (1.0, 1.07), (1.03, 1.04)])
def test_met_update_conserves_transverse_momentum(make_events, tes, jes):
    # Without soft term, p_T^miss + p_T^τ + p_T^j1 + p_T^j2 is invariant (vector sum), as in
    # the challenge's mom4_manipulate. Up-shifts so that no jet falls below threshold.
    df = make_events()
    out = apply_systematics(df, tes=tes, jes=jes)
    assert out.attrs["n_removed"] == 0 and out.attrs["n_jets_removed"] == 0
    x0, y0 = _vis_sum(df)
    x1, y1 = _vis_sum(out)
    np.testing.assert_allclose(x1, x0, atol=1e-9 * (1 + np.abs(x0).max()))
    np.testing.assert_allclose(y1, y0, atol=1e-9 * (1 + np.abs(y0).max()))
    np.testing.assert_allclose(out["PRI_tau_pt"], df["PRI_tau_pt"] * tes, rtol=1e-12)
    np.testing.assert_allclose(out["PRI_jet_all_pt"], df["PRI_jet_all_pt"] * jes, rtol=1e-12)


def test_soft_met_adds_gaussian_components_of_given_width(make_events):
    df = make_events(n=20000)
    s = 3.0
    out = apply_systematics(df, soft_met=s, seed=7)
    x0, y0 = _vis_sum(df)
    x1, y1 = _vis_sum(out)
    dx, dy = x1 - x0, y1 - y0
    n = len(dx)
    # mean 0 within 4 standard errors, width within 4 standard errors of a Gaussian s.d.
    for d in (dx, dy):
        assert abs(d.mean()) < 4 * s / np.sqrt(n)
        assert abs(d.std() - s) < 4 * s / np.sqrt(2 * n)
    assert abs(np.corrcoef(dx, dy)[0, 1]) < 4 / np.sqrt(n)
    again = apply_systematics(df, soft_met=s, seed=7)
    pd.testing.assert_frame_equal(out, again)  # deterministic given the seed


def test_visible_mass_responds_monotonically_to_tes(make_events):
    from rediscovery.higgs.features import derived as features

    df = features.add_derived_features(make_events(n=2000), mmc=False)
    tes_values = [0.95, 0.98, 1.0, 1.02, 1.05]
    means = []
    ref = df["DER_mass_vis"].to_numpy()
    for t in tes_values:
        thr = SelectionThresholds(tau_pt=0.0, lep_pt=0.0, jet_pt=0.0)
        out = apply_systematics(df, tes=t, thresholds=thr)
        mvis = out["DER_mass_vis"].to_numpy()
        # massless visible system: m_vis^2 = 2 pT_τ pT_ℓ (cosh Δη − cos Δφ) ∝ tes (HiggsML doc
        # v1.8 appendix B), hence m_vis(tes) = sqrt(tes) m_vis(1) event by event
        np.testing.assert_allclose(mvis, np.sqrt(t) * ref, rtol=1e-9)
        means.append(np.average(mvis, weights=out["Weight"]))
    assert np.all(np.diff(means) > 0)


def test_selection_reapplied_and_counted(make_events):
    df = make_events()
    out = apply_systematics(df, tes=0.9, jes=0.9)
    n_low_tau = int((df["PRI_tau_pt"] * 0.9 < DEFAULT_THRESHOLDS.tau_pt).sum())
    assert out.attrs["n_removed"] == n_low_tau > 0
    assert len(out) == len(df) - n_low_tau
    assert (out["PRI_tau_pt"] >= DEFAULT_THRESHOLDS.tau_pt).all()
    # jets: every remaining jet above threshold, jet count consistent with defined columns
    assert (out["PRI_jet_leading_pt"].dropna() >= DEFAULT_THRESHOLDS.jet_pt).all()
    assert (out["PRI_jet_subleading_pt"].dropna() >= DEFAULT_THRESHOLDS.jet_pt).all()
    nj = out["PRI_jet_num"].to_numpy()
    assert np.array_equal(out["PRI_jet_leading_pt"].notna().to_numpy(), nj >= 1)
    assert np.array_equal(out["PRI_jet_subleading_pt"].notna().to_numpy(), nj >= 2)
    assert out.attrs["n_jets_removed"] > 0
    lead_only = nj == 1
    np.testing.assert_allclose(out.loc[lead_only, "PRI_jet_all_pt"],
                               out.loc[lead_only, "PRI_jet_leading_pt"])
    assert (out.loc[nj == 0, "PRI_jet_all_pt"] == 0).all()
    # bookkeeping: jets lost = jets before (kept events) − jets after
    kept = df.loc[df["PRI_tau_pt"] * 0.9 >= DEFAULT_THRESHOLDS.tau_pt]
    assert out.attrs["n_jets_removed"] == int(kept["PRI_jet_num"].sum() - nj.sum())


def test_process_scales_multiply_weights(make_events):
    df = make_events()
    out = apply_systematics(df, ttbar_scale=1.1, diboson_scale=0.5, bkg_scale=1.01)
    w0, w1 = df["Weight"].to_numpy(), out["Weight"].to_numpy()
    proc = df["Process"].to_numpy()
    expect = w0 * np.where(proc == "ttbar", 1.1, 1.0) * np.where(proc == "diboson", 0.5, 1.0)
    expect *= np.where(df["Label"].to_numpy() == 0, 1.01, 1.0)
    np.testing.assert_allclose(w1, expect, rtol=1e-14)
    cols = [c for c in PRI_COLUMNS]
    pd.testing.assert_frame_equal(out[cols], df[cols])


@pytest.mark.parametrize("kw", [{"tes": 0.0}, {"jes": -1.0}, {"tes": float("nan")},
                                {"soft_met": -1.0}, {"ttbar_scale": 0.0},
                                {"bkg_scale": float("inf")}])
def test_bad_scale_values_raise(make_events, kw):
    with pytest.raises(InputError, match=next(iter(kw))):
        apply_systematics(make_events(n=50), seed=0, **kw)


def test_bad_tables_raise(make_events):
    df = make_events(n=50)
    with pytest.raises(InputError, match="seed"):
        apply_systematics(df, soft_met=1.0)
    bad = df.copy()
    bad.loc[3, "Process"] = "zprime"
    with pytest.raises(InputError, match="zprime"):
        apply_systematics(bad, ttbar_scale=1.02)
    with pytest.raises(InputError, match="PRI_tau_pt"):
        apply_systematics(df.drop(columns="PRI_tau_pt"))
    nan = df.copy()
    nan.loc[5, "PRI_met"] = np.nan
    with pytest.raises(InputError, match="PRI_met"):
        apply_systematics(nan, tes=1.01)
    with pytest.raises(InputError, match="Weight"):
        apply_systematics(df.drop(columns="Weight"), bkg_scale=1.01)
    with pytest.raises(ConfigError):
        SelectionThresholds(tau_pt=-1.0, lep_pt=20.0, jet_pt=30.0)


def test_default_thresholds_match_the_simulation():
    from rediscovery.higgs.events import simulate

    sel = simulate.SELECTION
    assert DEFAULT_THRESHOLDS.tau_pt == sel.tau_pt_min
    assert DEFAULT_THRESHOLDS.lep_pt == sel.lep_pt_min
    assert DEFAULT_THRESHOLDS.jet_pt == sel.jet_pt_min


def test_draw_nuisances_follows_the_challenge_priors():
    rng = np.random.default_rng(11)
    draws = [draw_nuisances(rng) for _ in range(4000)]
    tes = np.array([d["tes"] for d in draws])
    soft = np.array([d["soft_met"] for d in draws])
    dib = np.array([d["diboson_scale"] for d in draws])
    assert abs(tes.mean() - 1.0) < 4 * 0.01 / np.sqrt(4000)
    assert abs(tes.std() - 0.01) < 0.001
    # log-normal(0, 1) clipped at 5 GeV: median 1 GeV; P(> 5) = 1 − Φ(ln 5) ≈ 0.054 → clipped
    assert abs(np.median(soft) - 1.0) < 0.08
    assert soft.max() == 5.0 and soft.min() > 0
    assert dib.min() >= 0.0 and dib.max() <= 2.0
    p = FAIR_UNIVERSE_PRIORS["soft_met"]
    assert p.value(p.alpha(2.5)) == pytest.approx(2.5)


def test_cli_alter_writes_shifted_file(make_events, tmp_path, capsys):
    from rediscovery.cli import main
    from rediscovery.higgs.events.io import read_events, write_events

    df = make_events(n=300)
    src = tmp_path / "in.parquet"
    dst = tmp_path / "out.parquet"
    write_events(df, src)
    code = main(["higgs", "alter", str(src), str(dst), "--tes", "1.03", "--ttbar-scale", "1.1"])
    assert code == 0
    out = read_events(dst)
    np.testing.assert_allclose(out["PRI_tau_pt"], df["PRI_tau_pt"] * 1.03, rtol=1e-12)
    assert "300 events" in capsys.readouterr().out
    assert (tmp_path / "out.parquet.json").exists()
    code = main(["higgs", "alter", str(src), str(dst), "--tes", "-1"])
    assert code == 2
    assert "tes" in capsys.readouterr().err


def test_real_higgsml_sample_identity_and_conservation(reference_data):
    # The real HiggsML events pass the default thresholds (τ ≥ 20, ℓ ≥ 26, jets ≥ 30 GeV are
    # the sample's minima, data README / simulate.SELECTION): nominal values change nothing.
    from rediscovery.higgs.events.io import read_events

    df = read_events(reference_data / "higgsml" / "train_sml_sig.csv")
    pri = [c for c in df.columns if c.startswith("PRI_")]
    out = apply_systematics(df, recompute_derived=False)
    assert out.attrs["n_removed"] == 0 and out.attrs["n_jets_removed"] == 0
    pd.testing.assert_frame_equal(out[pri], df[pri])
    up = apply_systematics(df, tes=1.02, jes=1.02, recompute_derived=False)
    x0, y0 = _vis_sum(df)
    x1, y1 = _vis_sum(up)
    np.testing.assert_allclose(x1, x0, atol=1e-9 * (1 + np.abs(x0).max()))
    np.testing.assert_allclose(y1, y0, atol=1e-9 * (1 + np.abs(y0).max()))

"""Tests of rediscovery.higgs.systematics.templates and .fit: templates → modifiers, fits with
nuisances, impacts."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from rediscovery.core.errors import ConfigError
from rediscovery.higgs.stats.inference import asimov_data
from rediscovery.higgs.systematics.fit import build_model, fit_with_systematics
from rediscovery.higgs.systematics.templates import (
    SIGNAL_SAMPLE,
    Templates,
    TemplateWarning,
    build_templates,
    check_templates,
    histogram_samples,
    nuisance_kwargs,
)
from rediscovery.higgs.systematics.variations import NuisancePrior, apply_systematics

EDGES = np.array([0.0, 0.45, 0.6, 0.7, 0.8, 1.0])


def _scorer(df):
    """A fixed score increasing with the visible transverse momenta (sensitive to TES)."""
    return 1.0 - np.exp(-(df["PRI_tau_pt"].to_numpy() + 0.3 * df["PRI_met"].to_numpy()) / 40.0)


@pytest.fixture(scope="module")
def events(make_events):
    df = make_events(n=6000, seed=5)
    # give the signal harder taus so that the score separates it
    sig = df["Label"].to_numpy() == 1
    df.loc[sig, "PRI_tau_pt"] *= 1.6
    df["Weight"] = np.where(sig, 0.05, 1.0)
    return df


@pytest.fixture(scope="module")
def templates(events):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TemplateWarning)
        return build_templates(events, _scorer, EDGES, seed=1)


def test_histograms_keep_the_weight_sums(events):
    y, w2 = histogram_samples(events, _scorer(events), EDGES)
    sig = events["Label"] == 1
    assert y[SIGNAL_SAMPLE].sum() == pytest.approx(events.loc[sig, "Weight"].sum(), rel=1e-12)
    for p in ("ztautau", "ttbar", "wjets", "diboson"):
        m = (~sig) & (events["Process"] == p)
        assert y[p].sum() == pytest.approx(events.loc[m, "Weight"].sum(), rel=1e-12)
        assert w2[p].sum() == pytest.approx((events.loc[m, "Weight"] ** 2).sum(), rel=1e-12)


def test_templates_follow_apply_systematics(events, templates):
    # the nominal template is the histogram at α = 0: tes = jes = 1, soft_met = 1 GeV (median)
    kw = nuisance_kwargs({})
    assert kw["soft_met"] == pytest.approx(1.0) and kw["tes"] == 1.0
    nom = apply_systematics(events, soft_met=1.0, seed=1)
    y, _ = histogram_samples(nom, _scorer(nom), EDGES)
    for s, v in y.items():
        np.testing.assert_allclose(templates.nominal[s], v, rtol=1e-12)
    # +1σ TES (tes = 1.01) moves signal to higher scores: mean bin index increases
    up = templates.shifted["tes"][1.0][SIGNAL_SAMPLE]
    dn = templates.shifted["tes"][-1.0][SIGNAL_SAMPLE]
    centre = np.arange(EDGES.size - 1)
    mean = lambda h: (h * centre).sum() / h.sum()  # noqa: E731
    assert mean(dn) < mean(templates.nominal[SIGNAL_SAMPLE]) < mean(up)


def test_model_modifiers_and_roundtrip(templates):
    model = build_model(templates)
    assert set(model.alpha_names) == {"tes", "jes", "soft_met", "ttbar_scale",
                                      "diboson_scale", "bkg_scale"}
    # normalisation modifiers are exact: ttbar ×1.02 at α = +1 (challenge prior σ = 2%)
    up = model.expected(1.0, {"ttbar_scale": 1.0}, per_sample=True)
    np.testing.assert_allclose(up["ttbar"], 1.02 * templates.nominal["ttbar"], rtol=1e-12)
    # shape modifiers reproduce the ±1σ templates
    hi = model.expected(1.0, {"tes": 1.0}, per_sample=True)
    for s in templates.samples:
        np.testing.assert_allclose(hi[s], templates.shifted["tes"][1.0][s], rtol=1e-10,
                                   atol=1e-12)
    again = Templates.from_dict(templates.to_dict())
    np.testing.assert_allclose(build_model(again).expected(1.3, {"jes": -0.7}),
                               model.expected(1.3, {"jes": -0.7}), rtol=1e-12)
    assert build_model(templates, nuisances=()).alpha_names == ()
    with pytest.raises(ConfigError):
        build_model(templates, nuisances=("nope",))


def test_fit_recovers_injected_tes_shift(templates):
    # pseudo-data = the expectation at μ = 1.5 and tes shifted by +1σ: the fit with nuisances
    # must return μ̂ = 1.5 and α_tes = 1 (closure of the interpolation at the template point;
    # the auxiliary datum of tes is set to 1 too, as for a full Asimov data set)
    model = build_model(templates, mc_stat=False)
    obs = asimov_data(model, 1.5, {"tes": 1.0})
    aux = np.array([1.0 if n == "tes" else 0.0 for n in model.alpha_names])
    res = fit_with_systematics(model, obs, aux_alpha=aux)
    assert res.fit.converged
    assert res.mu_hat == pytest.approx(1.5, abs=2e-3)
    assert res.fit.parameters["tes"] == pytest.approx(1.0, abs=2e-2)
    d = res.to_dict()
    assert set(d["nuisances"]) == set(model.alpha_names)
    assert d["breakdown"]["stat"] <= d["breakdown"]["total"]


def test_breakdown_matches_gaussian_counting_formula():
    # One bin, s = 1000, b = 10000, background normalisation σ_b = 5%: in the Gaussian limit
    # the μ uncertainty is sqrt(s + b)/s (stat) ⊕ σ_b b / s (syst) (e.g. Cowan, "Statistical
    # Data Analysis", ch. 6/9; error propagation of μ̂ = (n − b)/s).
    s, b, k = 1000.0, 10000.0, 0.05
    pri = {"bkg_scale": NuisancePrior("bkg_scale", "normal", 1.0, k, 0.0, 2.0)}
    t = Templates(edges=np.array([0.0, 1.0]), nominal={SIGNAL_SAMPLE: np.array([s]),
                                                      "wjets": np.array([b])},
                  sumw2={SIGNAL_SAMPLE: np.array([0.0]), "wjets": np.array([0.0])},
                  priors=pri, nuisances=("bkg_scale",))
    model = build_model(t, mc_stat=False)
    res = fit_with_systematics(model, np.array([s + b]), prefit_impacts=True)
    br = res.breakdown
    stat = math.sqrt(s + b) / s
    syst = k * b / s
    assert br["stat"] == pytest.approx(stat, rel=0.02)
    assert br["bkg_scale"] == pytest.approx(syst, rel=0.03)
    assert br["total"] == pytest.approx(math.hypot(stat, syst), rel=0.03)
    dn, up = res.prefit_impacts["bkg_scale"]
    assert up == pytest.approx(-syst, rel=0.05) and dn == pytest.approx(syst, rel=0.05)


def test_check_templates_names_the_bad_bin(templates):
    bad = Templates.from_dict(templates.to_dict())
    nom = bad.nominal["wjets"]
    hi = bad.shifted["tes"][1.0]["wjets"]
    # a +0.5σ template far off the interpolation in bin 3
    bad.shifted["tes"][0.5]["wjets"] = bad.shifted["tes"][0.5]["wjets"].copy()
    bad.shifted["tes"][0.5]["wjets"][3] = nom[3] + 3.0 * (abs(hi[3] - nom[3]) + 0.1 * nom[3])
    with pytest.warns(TemplateWarning, match=r"'tes', sample 'wjets', bin 3"):
        msgs = check_templates(bad)
    assert any("bin 3" in m for m in msgs)


def test_bad_template_requests(events):
    with pytest.raises(ConfigError, match="grid"):
        build_templates(events, _scorer, EDGES, grid=(0.5,))
    with pytest.raises(ConfigError, match="unknown"):
        build_templates(events, _scorer, EDGES, nuisances=("tes", "lumi"))


def test_cli_templates_and_syst_fit(make_events, tmp_path, capsys):
    import json

    from rediscovery.cli import main
    from rediscovery.higgs import classifiers as models
    from rediscovery.higgs.events.io import write_events

    ev = make_events(n=3000, seed=12)
    sig = ev["Label"].to_numpy() == 1
    ev.loc[sig, "PRI_tau_pt"] *= 1.6
    ev["Weight"] = np.where(sig, 0.2, 1.0)
    feats = ["PRI_tau_pt", "PRI_lep_pt", "PRI_met", "PRI_jet_num"]
    m = models.make_model("xgboost", feats, n_estimators=15, max_depth=2)
    m.fit(ev[feats], ev["Label"].to_numpy(), ev["Weight"].to_numpy())
    m.save(tmp_path / "model")
    write_events(ev, tmp_path / "mc.parquet")
    data = make_events(n=3000, seed=13)[[c for c in ev.columns if c.startswith("PRI_")]]
    data["Weight"] = 1.0
    write_events(data, tmp_path / "data.parquet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TemplateWarning)
        code = main(["higgs", "templates", "--events", str(tmp_path / "mc.parquet"),
                     "--model", str(tmp_path / "model"), "--out", str(tmp_path / "t"),
                     "--max-bins", "4", "--min-bkg", "200", "--nuisances", "tes,bkg_scale"])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "t" / "templates.json").exists()
    code = main(["higgs", "syst-fit", "--templates", str(tmp_path / "t" / "templates.json"),
                 "--observed", str(tmp_path / "data.parquet"), "--model",
                 str(tmp_path / "model"), "--out", str(tmp_path / "f")])
    assert code == 0, capsys.readouterr().err
    fitd = json.loads((tmp_path / "f" / "fit.json").read_text())
    assert set(fitd["nuisances"]) == {"tes", "bkg_scale"}
    assert {"total", "stat", "tes", "bkg_scale"} <= set(fitd["breakdown"])
    assert (tmp_path / "f" / "impacts.png").exists()
    assert "mu_hat" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    code = main(["higgs", "syst-fit", "--templates", str(bad), "--observed",
                 str(tmp_path / "data.parquet"), "--model", str(tmp_path / "model"),
                 "--out", str(tmp_path / "g")])
    assert code == 2


def test_breakdown_by_fixing_equals_removing_on_asimov(templates):
    # On Asimov data every α̂ = 0, so fixing α_k at its best fit is the same as removing its
    # modifier from the model: an independent computation of each share with mle + interval.
    from rediscovery.higgs.stats.inference import interval, mle

    model = build_model(templates)
    obs = asimov_data(model, 1.0)
    res = fit_with_systematics(model, obs, prefit_impacts=False)
    tot = res.breakdown["total"]
    for n in ("tes", "jes", "bkg_scale"):
        red = build_model(templates, nuisances=[k for k in model.alpha_names if k != n])
        r = interval(red, obs, stat_only=False, mle_result=mle(red, obs, errors=False))
        w = 0.5 * (r.mu_hi - r.mu_lo)
        # compare the widths (the share sqrt(tot² − w²) amplifies MINOS' tolerance when small)
        w_fixed = math.sqrt(tot**2 - res.breakdown[n] ** 2)
        assert w_fixed == pytest.approx(w, rel=2e-3)
        if res.breakdown[n] > 0.1 * tot:
            assert res.breakdown[n] == pytest.approx(math.sqrt(tot**2 - w**2), rel=0.02)

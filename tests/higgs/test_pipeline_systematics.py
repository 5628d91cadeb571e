"""`higgs run` with systematic uncertainties (``systematics: true``): hidden nuisance values in
the pseudo-data, shifted template samples with common random numbers, HistoSys/NormSys in the
fit, and the unblinding of the nuisance parameters."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rediscovery.cli import main
from rediscovery.higgs.pipeline import (
    HiggsRunConfig,
    feature_table,
    run_pipeline,
    template_sample,
)
from rediscovery.higgs.systematics.run_model import (
    RUN_NUISANCES,
    nominal_values,
    run_systematics,
    truth_alphas,
    variation_values,
)

# small: 20k MC events, 60k template events (and six shifted samples of the same events),
# pseudo-data at 10 % of the HiggsML luminosity (~41k events)
SMALL_SYST = {
    "seed": 2, "events": 20000, "template_events": 60000, "lumi_factor": 0.1, "n_bootstrap": 5,
    "model_params": {"n_estimators": 40, "max_depth": 3}, "max_bins": 8, "systematics": True,
}


@pytest.fixture(scope="module")
def syst_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("higgs-syst") / "run"
    results = run_pipeline(out, HiggsRunConfig(**SMALL_SYST))
    return out, results


def _run_model(out, results):
    """The run's own fit model, rebuilt from its evaluate-stage files."""
    from rediscovery.higgs.stats.histograms import model_from_scores
    from rediscovery.higgs.stats.model import BinnedModel

    ev = out / "evaluate"
    mc = pd.read_parquet(ev / "mc_scores.parquet")
    binning = pd.read_parquet(ev / "binning_scores.parquet")
    reference = pd.concat([mc, binning], ignore_index=True)
    reference["Weight"] /= 2.0
    shifted = {n: pd.read_parquet(ev / f"templates_{n}_scores.parquet")
               for n in variation_values()}
    nominal, _ = model_from_scores(mc, edges=results["edges"])
    return BinnedModel(nominal.signal, nominal.backgrounds, signal_sumw2=nominal.signal_sumw2,
                       background_sumw2=nominal.background_sumw2,
                       systematics=run_systematics(
                           nominal, reference, shifted,
                           smooth=results["systematics"]["template_smoothing"]),
                       edges=nominal.edges)


def test_systematic_run_recovers_mu_and_the_hidden_nuisances(syst_run):
    out, results = syst_run
    truth = json.loads((out / "simulate" / "truth.json").read_text())
    assert results["converged"]
    assert set(truth["nuisances"]) == set(RUN_NUISANCES)
    assert truth["nuisance_alphas"] == pytest.approx(truth_alphas(truth["nuisances"]))
    # the hidden values are nowhere else in the run's results
    assert "truth" not in json.dumps(results)
    lo, hi = results["mu_68"]
    half = (hi - lo) / 2
    assert abs(results["mu_hat"] - truth["mu"]) < 3 * half
    nuis = results["nuisances"]
    for name in RUN_NUISANCES:
        d = nuis[name]
        assert d["error"] > 0 and set(d) >= {"value", "pull", "constraint", "impact"}
        assert abs(d["value"] - truth["nuisance_alphas"][name]) < 3 * d["error"], name
    assert results["mu_uncertainty"]["syst_source"] == "systematics and template MC statistics"
    assert results["systematics"]["tes"]["values_at_alpha"] == pytest.approx([0.99, 1.0, 1.01])


def test_shifted_templates_hold_the_same_generated_events(syst_run):
    """Common random numbers: every event of the tes = 0.99 sample is in the nominal one
    (same truth, same lepton), and the nominal sample is inside the tes = 1.01 one. The
    evaluate stage simulates the shifted samples in memory; :func:`template_sample` is its
    function."""
    out, _ = syst_run
    cfg = HiggsRunConfig(**SMALL_SYST)

    def keys(df):
        return set(zip(df["PRI_lep_pt"], df["PRI_lep_eta"], strict=True))

    nominal = keys(pd.read_parquet(out / "simulate" / "templates.parquet",
                                   columns=["PRI_lep_pt", "PRI_lep_eta"]))
    variations = variation_values()
    low = keys(template_sample(cfg, variations["tes_lo"]))
    high = keys(template_sample(cfg, variations["tes_hi"]))
    assert low <= nominal <= high
    assert 0.9 < len(low) / len(nominal) < 1.0 < len(high) / len(nominal) < 1.1
    for name in variations:  # only their scores are kept, one row per event
        scores = pd.read_parquet(out / "evaluate" / f"templates_{name}_scores.parquet")
        assert list(scores.columns) == ["EventId", "score", "Weight", "Label", "Process"]
    assert not list((out / "simulate").glob("templates_*")), "shifted samples are not stored"
    assert not list((out / "features").glob("templates_*"))


def test_in_memory_features_equal_the_features_stage(syst_run):
    """The evaluate stage's in-memory path (simulate → :func:`feature_table`) gives the nominal
    template sample's stored features bit for bit, so the shifted and nominal templates differ
    only by the detector shift."""
    from rediscovery.higgs.events.io import read_events

    out, _ = syst_run
    cfg = HiggsRunConfig(**SMALL_SYST)
    memory = feature_table(template_sample(cfg, nominal_values()), cfg)
    stored = read_events(out / "features" / "templates.parquet", require_primaries=False)
    assert list(memory.columns) == list(stored.columns)
    pd.testing.assert_frame_equal(memory.reset_index(drop=True), stored, check_dtype=False)


def test_asimov_data_of_the_run_model_return_mu_and_the_nuisances(syst_run):
    """Asimov data built from the run's own systematic model at μ = 1 and α = ±1 give them
    back to 1e-3 (with several starts, as the run's fit). The Asimov data set includes the
    auxiliary measurements of the constraints, set to the same α (CCGV sec. 3.2): with the
    constraints left at 0, they would pull the α's towards 0 and μ̂ with them."""
    from rediscovery.higgs.stats.inference import asimov_data, mle

    out, results = syst_run
    model = _run_model(out, results)
    assert set(model.alpha_names) == set(RUN_NUISANCES)
    alphas = {n: (1.0 if i % 2 == 0 else -1.0) for i, n in enumerate(model.alpha_names)}
    aux = np.array([alphas[n] for n in model.alpha_names])
    fit = mle(model, asimov_data(model, 1.0, alphas), aux_alpha=aux, multistart=True)
    assert fit.converged
    assert fit.mu_hat == pytest.approx(1.0, abs=1e-3)
    for name, alpha in alphas.items():
        assert fit.parameters[name] == pytest.approx(alpha, abs=1e-3), name


def test_fit_at_two_sigma_of_the_tau_energy_scale(syst_run):
    """Pseudo-data simulated at tes = 1.02 (α = 2, beyond the ±1σ templates: the HistoSys
    extrapolates linearly) and fitted with the run's model and classifier: α̂(tes) near 2."""
    from rediscovery.higgs.classifiers.registry import load_model
    from rediscovery.higgs.classifiers.workflow import score_events
    from rediscovery.higgs.events.simulate import simulate_pseudo_data
    from rediscovery.higgs.features.derived import add_derived_features
    from rediscovery.higgs.features.new import add_new_features
    from rediscovery.higgs.stats.histograms import histogram_observed
    from rediscovery.higgs.stats.inference import mle

    out, results = syst_run
    model = _run_model(out, results)
    data, _ = simulate_pseudo_data(lumi_factor=SMALL_SYST["lumi_factor"], mu=1.0, seed=11,
                                   nuisances={**nominal_values(), "tes": 1.02})
    feats = add_new_features(add_derived_features(data))
    scores = score_events(load_model(out / "train" / "model"), feats)
    counts = histogram_observed(scores["score"].to_numpy(float), model.edges)
    fit = mle(model, counts, multistart=True)
    assert fit.converged
    err = fit.errors["tes"]
    assert abs(fit.parameters["tes"] - 2.0) < 3 * err
    assert fit.parameters["tes"] > 1.0


def test_unblind_lists_the_nuisances(syst_run, capsys):
    out, _ = syst_run
    assert main(["unblind", str(out)]) == 0
    shown = capsys.readouterr().out
    for name in ("mu", *RUN_NUISANCES):
        assert name in shown


def test_smoothing_keeps_the_normalisation_and_removes_noise():
    from rediscovery.higgs.systematics.run_model import smooth_shift

    rng = np.random.default_rng(1)
    nominal = np.linspace(1000.0, 50.0, 12)
    true_shift = 0.02 + 0.01 * np.linspace(0, 1, 12)
    varied = nominal * (1 + true_shift + rng.normal(0, 0.03, 12) / np.sqrt(nominal / 50))
    smooth = smooth_shift(nominal, varied)
    assert smooth.sum() == pytest.approx(varied.sum(), rel=1e-12)
    assert np.std(smooth / nominal - 1 - true_shift) < 0.5 * np.std(varied / nominal - 1
                                                                        - true_shift)


def test_systematics_default_on_except_with_an_mc_file(tmp_path):
    from rediscovery.core.errors import InputError

    with pytest.raises(InputError, match="--mc"):
        run_pipeline(tmp_path / "r", HiggsRunConfig(systematics=True, mc=__file__))
    assert HiggsRunConfig().systematics is None and HiggsRunConfig().nominal_data is False
    assert nominal_values()["soft_met"] == pytest.approx(1.0)
    assert np.isclose(variation_values()["soft_met_hi"]["soft_met"], np.e)


def test_cli_default_run_is_systematic_and_nominal_data_is_an_option(tmp_path):
    out = tmp_path / "run"
    assert main(["higgs", "run", "--out", str(out), "--events", "3000", "--template-events",
                 "10000", "--lumi-factor", "0.01", "--nominal-data", "--until", "evaluate"]) == 0
    import yaml

    assert yaml.safe_load((out / "config.yaml").read_text())["higgs"]["systematics"] is True
    truth = json.loads((out / "simulate" / "truth.json").read_text())
    assert truth["nuisances"] == pytest.approx({**nominal_values(), "soft_met": 1.0})
    assert truth["nuisance_alphas"] == pytest.approx(dict.fromkeys(RUN_NUISANCES, 0.0))
    for name in variation_values():
        assert (out / "evaluate" / f"templates_{name}_scores.parquet").is_file()
    off = tmp_path / "off"
    assert main(["higgs", "run", "--out", str(off), "--events", "3000", "--template-events",
                 "10000", "--lumi-factor", "0.01", "--no-systematics", "--until",
                 "simulate"]) == 0
    truth = json.loads((off / "simulate" / "truth.json").read_text())
    assert "nuisance_alphas" not in truth and truth["nuisances"]["soft_met"] == 0.0


def test_systematic_run_directory_stays_small(syst_run):
    """The six shifted samples add only their scores (~10 bytes per event each) to the run
    directory, not event tables (~115 bytes per event each)."""
    fixed_bytes, max_table_bytes_per_event = 5_000_000, 140  # as in test_pipeline.py
    out, results = syst_run
    n_events = SMALL_SYST["events"] + SMALL_SYST["template_events"] + results["n_observed"]
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    shifted = sum(p.stat().st_size for p in (out / "evaluate").glob("templates_*_scores.parquet"))
    assert shifted < 6 * 12 * SMALL_SYST["template_events"], shifted
    assert size < fixed_bytes + max_table_bytes_per_event * n_events + shifted, size


def test_a_replaced_features_stage_reaches_the_shifted_samples(syst_run, tmp_path, monkeypatch):
    """A team's features stage adding NEW_my_feature: the classifier trains on it, so the
    shifted template samples (featurised inside the evaluate stage, in spawned workers) must
    get it too, or scoring them fails."""
    import shutil
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    out, _ = syst_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    results = run_pipeline(copy, HiggsRunConfig(**SMALL_SYST),
                           replace={"features": "_custom_stage:features_plus"})
    assert results["converged"]
    metrics = json.loads((copy / "train" / "metrics.json").read_text())
    assert "NEW_my_feature" in metrics["features"]
    for name in variation_values():
        assert (copy / "evaluate" / f"templates_{name}_scores.parquet").is_file()
    assert not list((copy / "evaluate").glob(".shifted-*")), "temporary folders are removed"


def test_cli_run_with_augmented_training_alters_only_the_training_third(tmp_path):
    """``--training augmented``: the train stage replaces the training third of the MC by
    copies altered with prior draws of the nuisances (weights divided by the number of copies,
    so the summed weight is kept); validation and test stay the nominal events."""
    from rediscovery.higgs.pipeline import augmented_training_set, read_with_features

    out = tmp_path / "run"
    assert main(["higgs", "run", "--out", str(out), "--events", "3000", "--template-events",
                 "10000", "--lumi-factor", "0.01", "--training", "augmented", "--until",
                 "train"]) == 0
    import yaml

    cfg = yaml.safe_load((out / "config.yaml").read_text())["higgs"]
    assert cfg["training"] == "augmented" and cfg["augment_copies"] == 5
    mc = read_with_features(out / "simulate" / "mc.parquet", out / "features" / "mc.parquet")
    aug = augmented_training_set(mc, n_copies=3, seed=cfg["seed"])
    nominal = augmented_training_set(mc, n_copies=1, seed=cfg["seed"])
    tr = nominal["Set"] == "train"
    assert (aug["Set"] == "train").sum() <= 3 * tr.sum()  # the selection may drop a few
    assert (aug["Set"] == "train").sum() > 2.9 * tr.sum()
    w_aug = aug.loc[aug["Set"] == "train", "Weight"].sum()
    assert w_aug == pytest.approx(nominal.loc[tr, "Weight"].sum(), rel=0.02)
    rest = aug[aug["Set"] != "train"].reset_index(drop=True)
    pd.testing.assert_frame_equal(rest, nominal[~tr].reset_index(drop=True), check_dtype=False,
                                  check_categorical=False)
    # the stored summary counts the copies the classifier was trained on
    manifest = json.loads((out / "manifest.json").read_text())
    assert "augmented_training_events" in json.dumps(manifest)
    with pytest.raises(Exception, match="training"):
        HiggsRunConfig(training="pivot")

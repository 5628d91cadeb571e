"""Hostile inputs to the Higgs commands: every mutation of a valid file that would give a wrong
number (or hang) must stop with exit code 2 and a message naming the file and the column, or,
for a fit that ends on a bound, exit 3 unless the user accepts it.

The valid files are small (simulated events, synthetic classifier scores); the same commands
accept them unmutated (the control cases at the end), and the real HiggsML sample too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rediscovery.cli import main
from rediscovery.core.errors import InputError
from rediscovery.higgs.events import simulate as simulate_module
from rediscovery.higgs.events.io import write_events
from rediscovery.higgs.events.simulate import simulate_events

N_EVENTS = 1500


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return simulate_events(N_EVENTS, seed=11)


def _set(col: str, value: float, row: int = 7) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def mutate(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        df[col] = df[col].astype(np.float64)  # PRI_jet_num is int64: room for any value
        df.loc[row, col] = value
        return df
    return mutate


def _scale(col: str, factor: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def mutate(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        df[col] = df[col] * factor
        return df
    return mutate


def _doubled(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df, df], ignore_index=True)


def _doubled_renumbered(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.concat([df, df], ignore_index=True)
    out["EventId"] = np.arange(len(out))
    return out


def _two_jets_without_mjj(df: pd.DataFrame) -> pd.DataFrame:
    from rediscovery.higgs.features.derived import add_derived_features

    df = add_derived_features(df, mmc=False)
    row = int(np.flatnonzero(df["PRI_jet_num"].to_numpy() >= 2)[0])
    df.loc[row, "DER_mass_jet_jet"] = np.nan
    return df


def _jet_without_pt(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    row = int(np.flatnonzero(df["PRI_jet_num"].to_numpy() >= 1)[0])
    df.loc[row, "PRI_jet_leading_pt"] = np.nan
    return df


# (id, mutation, file format, fragments the message must hold)
EVENT_CASES = [
    ("nan-tau-pt", _set("PRI_tau_pt", np.nan), "parquet", ["PRI_tau_pt", "not finite"]),
    ("inf-lep-pt", _set("PRI_lep_pt", np.inf), "parquet", ["PRI_lep_pt", "inf"]),
    ("sentinel-met", _set("PRI_met", -999.0), "csv", ["PRI_met", "-999"]),
    ("nan-met-phi", _set("PRI_met_phi", np.nan), "parquet", ["PRI_met_phi"]),
    ("negative-tau-pt", _set("PRI_tau_pt", -20.0), "parquet", ["PRI_tau_pt", "-20", "negative"]),
    ("zero-tau-pt", _set("PRI_tau_pt", 0.0), "parquet", ["PRI_tau_pt", "(0, 14000]"]),
    ("zero-jet-pt", lambda d: _set("PRI_jet_leading_pt", 0.0,
                                   int(np.flatnonzero(d["PRI_jet_num"] >= 1)[0]))(d),
     "csv", ["PRI_jet_leading_pt"]),
    ("negative-sumet", _set("PRI_met_sumet", -5.0), "csv", ["PRI_met_sumet", "-5"]),
    ("MeV-lep-pt", _scale("PRI_lep_pt", 1000.0), "csv", ["PRI_lep_pt", "MeV"]),
    ("MeV-all", lambda d: _scale("PRI_tau_pt", 1e3)(_scale("PRI_lep_pt", 1e3)(d)), "parquet",
     ["PRI_tau_pt", "MeV"]),
    ("absurd-met", _set("PRI_met", 1e300), "parquet", ["PRI_met", "1e+300", "14 TeV"]),
    ("absurd-jet-sum", _set("PRI_jet_all_pt", 1e300), "csv", ["PRI_jet_all_pt", "1e+300"]),
    ("absurd-eta", _set("PRI_tau_eta", 1e300), "parquet", ["PRI_tau_eta", "4.9"]),
    ("phi-in-degrees", _scale("PRI_lep_phi", 180.0 / np.pi), "csv", ["PRI_lep_phi", "radians"]),
    ("jet-without-pt", _jet_without_pt, "parquet", ["PRI_jet_leading_pt", "PRI_jet_num >= 1"]),
    ("two-jets-without-mjj", _two_jets_without_mjj, "csv",
     ["DER_mass_jet_jet", "PRI_jet_num >= 2"]),
    ("negative-jet-num", _set("PRI_jet_num", -1.0), "csv", ["PRI_jet_num"]),
    ("absurd-jet-num", _set("PRI_jet_num", 1e300), "parquet", ["PRI_jet_num", "0 to 100"]),
    ("sentinel-weight", _set("Weight", -999.0), "csv", ["Weight", "-999"]),
    ("negative-weight", _set("Weight", -1.0), "parquet", ["Weight", ">= 0"]),
    ("inf-weight", _set("Weight", np.inf), "parquet", ["Weight"]),
    ("doubled-eventid", _doubled, "parquet", ["EventId", "counted twice"]),
    ("doubled-renumbered", _doubled_renumbered, "csv", ["identical to an earlier row"]),
]


def _write(df: pd.DataFrame, tmp_path: Path, fmt: str) -> Path:
    path = tmp_path / f"events.{fmt}"
    if fmt == "csv":
        write_events(df, path, format="csv")
    else:
        df.to_parquet(path, index=False)
    return path


def _assert_refused(code: int, err: str, path: Path, fragments: list[str]) -> None:
    assert code == 2, err
    assert str(path) in err, err
    for frag in fragments:
        assert frag in err, (frag, err)
    assert err.count("\n") == 1, err  # one line


@pytest.mark.parametrize(("mutate", "fmt", "fragments"),
                         [c[1:] for c in EVENT_CASES], ids=[c[0] for c in EVENT_CASES])
@pytest.mark.parametrize("command", ["features", "alter"])
def test_event_mutations_refused(events, tmp_path, capsys, command, mutate, fmt, fragments):
    path = _write(mutate(events), tmp_path, fmt)
    out = tmp_path / "out.parquet"
    argv = (["higgs", "features", str(path), str(out), "--no-mmc", "--no-new"]
            if command == "features" else ["higgs", "alter", str(path), str(out), "--tes",
                                           "1.01"])
    code = main(argv)
    _assert_refused(code, capsys.readouterr().err, path, fragments)
    assert not out.exists()


@pytest.mark.parametrize(("argv", "fragments"), [
    (["--events", "100000000000"], ["GiB of memory", "available"]),
    (["--nuisance", "tes=-2"], ["'tes'", "[0.9, 1.1]"]),
    (["--nuisance", "jes=0"], ["'jes'", "[0.9, 1.1]"]),
    (["--nuisance", "bkg_scale=-1"], ["'bkg_scale'", "[0.99, 1.01]"]),
    (["--nuisance", "soft_met=nan"], ["'soft_met'"]),
    (["--nuisance", "diboson_scale=1e300"], ["'diboson_scale'"]),
    (["--lumi", "3"], ["--lumi", "--pseudo-data"]),
    (["--pseudo-data", "--lumi", "1e9"], ["GiB of memory"]),
    (["--pseudo-data", "--lumi", "0"], ["--lumi"]),
], ids=["huge-events", "tes-negative", "jes-zero", "bkg-scale-negative", "soft-met-nan",
        "diboson-absurd", "lumi-without-pseudo-data", "huge-lumi", "zero-lumi"])
def test_simulate_parameters_refused(tmp_path, capsys, argv, fragments):
    out = tmp_path / "sim.parquet"
    code = main(["higgs", "simulate", "--out", str(out), "--seed", "1", "--events", "200",
                 *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    for frag in fragments:
        assert frag in err, (frag, err)
    assert not out.exists()


@pytest.mark.parametrize(("option", "value"), [("--tes", "-2"), ("--jes", "1.5"),
                                              ("--bkg-scale", "-1"), ("--soft-met", "50")])
def test_alter_parameters_refused(events, tmp_path, capsys, option, value):
    path = _write(events, tmp_path, "parquet")
    code = main(["higgs", "alter", str(path), str(tmp_path / "o.parquet"), option, value])
    err = capsys.readouterr().err
    assert code == 2 and "outside its allowed range" in err, err


def test_generation_loop_is_bounded(monkeypatch):
    """A detector setting that selects nothing stops with an error instead of looping."""
    real = simulate_module.simulate_detector

    def nothing_passes(rng, truth, nuis):
        cols, ok = real(rng, truth, nuis)
        return cols, np.zeros_like(ok)

    monkeypatch.setattr(simulate_module, "simulate_detector", nothing_passes)
    with pytest.raises(InputError, match=r"pass the selection .*efficiency"):
        simulate_events(100, seed=1, processes=["ztautau"])


# ---------------------------------------------------------------------------- higgs fit
def _scores(seed: int = 0, n_s: int = 600, n_b: int = 4000, event_id: bool = False):
    """Signal ~ Beta(5, 2), background ~ Beta(2, 5); s = 70, b = 4000 expected events."""
    rng = np.random.default_rng(seed)
    mc = pd.DataFrame({
        "score": np.r_[rng.beta(5, 2, n_s), rng.beta(2, 5, n_b)],
        "Weight": np.r_[np.full(n_s, 70.0 / n_s), np.full(n_b, 4000.0 / n_b)],
        "Label": np.r_[np.ones(n_s, int), np.zeros(n_b, int)],
    })
    if event_id:
        mc.insert(0, "EventId", np.arange(len(mc)))
    obs = pd.DataFrame({"score": np.r_[rng.beta(5, 2, rng.poisson(70)),
                                       rng.beta(2, 5, rng.poisson(4000))]})
    return mc, obs


def _set_text(df: pd.DataFrame, col: str, text: str) -> pd.DataFrame:
    df = df.copy()
    df.loc[3, col] = text
    return df


def _mc(fn):
    return ("mc", fn)


def _obs(fn):
    return ("observed", fn)


FIT_CASES = [
    ("mc-doubled", _mc(_doubled), "scores", ["identical to an earlier row", "twice"]),
    ("mc-doubled-eventid", _mc(lambda d: _doubled(d.assign(EventId=np.arange(len(d))))),
     "scores", ["EventId", "twice"]),
    ("score-7.5", _mc(_set("score", 7.5)), "scores", ["'score'", "7.5", "[0, 1]"]),
    ("score-negative", _mc(_set("score", -0.2)), "scores", ["'score'", "[0, 1]"]),
    ("score-sentinel", _mc(_set("score", -999.0)), "scores", ["'score'", "-999"]),
    ("score-nan", _mc(_set("score", np.nan)), "scores", ["'score'"]),
    ("weight-sentinel", _mc(_set("Weight", -999.0)), "scores", ["'Weight'", "-999"]),
    ("weight-negative", _mc(_set("Weight", -0.5)), "scores", ["'Weight'", ">= 0"]),
    ("weight-inf", _mc(_set("Weight", np.inf)), "scores", ["'Weight'"]),
    ("observed-weighted", _obs(lambda d: d.assign(Weight=2.0)), "observed",
     ["'Weight'", "Weight != 1"]),
    ("observed-score-1.5", _obs(_set("score", 1.5)), "observed", ["'score'", "1.5"]),
    ("observed-score-text", _obs(lambda d: d.assign(score=d["score"].astype(object)).pipe(
        lambda x: _set_text(x, "score", "high"))), "observed", ["'score'", "not finite"]),
    ("observed-score-sentinel", _obs(_set("score", -999.0)), "observed", ["'score'", "-999"]),
    ("observed-doubled-eventid",
     _obs(lambda d: _doubled(d.assign(EventId=np.arange(len(d))))), "observed",
     ["EventId", "twice"]),
]


def _fit(tmp_path: Path, mc: pd.DataFrame, obs: pd.DataFrame, *extra: str) -> tuple[int, Path,
                                                                                       Path]:
    scores, observed = tmp_path / "scores.parquet", tmp_path / "observed.csv"
    mc.to_parquet(scores, index=False)
    obs.to_csv(observed, index=False)
    code = main(["higgs", "fit", "--scores", str(scores), "--observed", str(observed), "--out",
                 str(tmp_path / "fit"), "--min-bkg", "50", "--max-bins", "5", "--no-plots",
                 "--no-cross-check", *extra])
    return code, scores, observed


@pytest.mark.parametrize(("target", "fragments_file", "fragments"),
                         [c[1:] for c in FIT_CASES], ids=[c[0] for c in FIT_CASES])
def test_fit_mutations_refused(tmp_path, capsys, target, fragments_file, fragments):
    mc, obs = _scores()
    which, mutate = target
    if which == "mc":
        mc = mutate(mc)
    else:
        obs = mutate(obs)
    code, scores, observed = _fit(tmp_path, mc, obs)
    _assert_refused(code, capsys.readouterr().err,
                    scores if fragments_file == "scores" else observed, fragments)
    assert not (tmp_path / "fit" / "fit.json").exists()


def test_fit_doubled_mc_changes_mu_hat_and_needs_opt_in(tmp_path, capsys):
    """The doubled MC is not harmless: accepted on purpose, it halves the fitted μ."""
    mc, obs = _scores()
    code, _, _ = _fit(tmp_path, mc, obs)
    assert code == 0, capsys.readouterr().err
    mu_ok = float(pd.read_json(tmp_path / "fit" / "fit.json", typ="series")["mu_hat"])
    code, _, _ = _fit(tmp_path, _doubled(mc), obs, "--allow-duplicates")
    assert code == 0, capsys.readouterr().err
    mu_dbl = float(pd.read_json(tmp_path / "fit" / "fit.json", typ="series")["mu_hat"])
    assert abs(mu_ok - 1.0) < 0.6 and abs(mu_dbl - mu_ok) > 0.3


def test_fit_on_a_bound_exits_3(tmp_path, capsys):
    """Observed data far below the background: μ̂ runs to the lower end of its range, which
    is a failed fit (exit 3), not a measurement."""
    mc, obs = _scores()
    code, _, _ = _fit(tmp_path, mc, obs.sample(frac=0.1, random_state=1))
    err = capsys.readouterr().err
    assert code == 3 and "at its bound" in err, err


def test_toys_refuse_doubled_mc(tmp_path, capsys):
    mc, _ = _scores(event_id=True)
    path = tmp_path / "scores.parquet"
    _doubled(mc).to_parquet(path, index=False)
    code = main(["higgs", "toys", "--scores", str(path), "--out", str(tmp_path / "t"),
                 "--n-toys", "2", "--workers", "1"])
    _assert_refused(code, capsys.readouterr().err, path, ["EventId"])


@pytest.mark.parametrize(("argv", "fragments"), [
    (["--mu-true", "-100"], ["'mu_true'", "expected yield"]),
    (["--mu-true", "nan"], ["--mu-true nan"]),  # the CLI refuses non-finite numbers first
    (["--n-toys", "100000000000"], ["GiB of memory"]),
], ids=["mu-true-negative-yields", "mu-true-nan", "n-toys-huge"])
def test_toys_parameters_refused(tmp_path, capsys, argv, fragments):
    mc, _ = _scores(event_id=True)
    path = tmp_path / "scores.parquet"
    mc.to_parquet(path, index=False)
    code = main(["higgs", "toys", "--scores", str(path), "--out", str(tmp_path / "t"),
                 "--n-toys", "2", "--workers", "1", "--min-bkg", "50", "--max-bins", "5",
                 *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    for frag in fragments:
        assert frag in err, (frag, err)


@pytest.mark.parametrize("argv", [
    ["templates", "--events", "e.parquet", "--model", "m", "--out", "o", "--weight-scale", "-1"],
    ["challenge", "--out", "o", "--lumi-factor", "-1"],
], ids=["templates-negative-weight-scale", "challenge-negative-lumi"])
def test_scale_factors_refused_before_any_work(tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(tmp_path)
    assert main(["higgs", *argv]) == 2
    assert "-1" in capsys.readouterr().err


def test_features_mmc_points_beyond_memory_refused(events, tmp_path, capsys):
    path = _write(events, tmp_path, "parquet")
    code = main(["higgs", "features", str(path), str(tmp_path / "o.parquet"), "--n-points",
                 "1000000000000"])
    err = capsys.readouterr().err
    assert code == 2 and "'n_points'" in err and "GiB of memory" in err, err


def test_fit_warns_about_labels_in_observed(tmp_path, capsys):
    mc, obs = _scores()
    code, _, observed = _fit(tmp_path, mc, obs.assign(Label=1))
    err = capsys.readouterr().err
    assert code == 0, err
    assert "WARNING" in err and str(observed) in err and "which the fit ignores" in err


# ---------------------------------------------------------------------------- controls
def test_valid_inputs_still_pass(events, tmp_path, capsys):
    for fmt in ("csv", "parquet"):
        path = _write(events, tmp_path, fmt)
        out = tmp_path / f"der_{fmt}.parquet"
        assert main(["higgs", "features", str(path), str(out), "--no-mmc", "--no-new"]) == 0, \
            capsys.readouterr().err
        der = pd.read_parquet(out)
        assert np.isfinite(der["DER_mass_vis"]).all()
        assert main(["higgs", "alter", str(path), str(tmp_path / f"alt_{fmt}.parquet"),
                     "--tes", "1.05", "--bkg-scale", "1.01"]) == 0, capsys.readouterr().err


def test_real_higgsml_sample_passes(reference_data, tmp_path, capsys):
    for name in ("train_sml_sig.csv", "train_sml_bg.csv"):
        src = reference_data / "higgsml" / name
        assert main(["higgs", "features", str(src), str(tmp_path / "f.parquet"), "--no-mmc",
                     "--no-new"]) == 0, capsys.readouterr().err

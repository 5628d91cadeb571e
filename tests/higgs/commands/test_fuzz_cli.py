"""Hostile command lines for the Higgs commands: every refusal is one line, exit code 2, no
traceback, and argument or output-path problems are found before any work.

Each row: (argv with ``{placeholders}``, expected fragment of the message, functions that must
not be called). Placeholders: the small inputs built below and the shared ``bad_files``.
"""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rediscovery.cli import main

SIM = "rediscovery.higgs.events.simulate:simulate_events"
PSEUDO = "rediscovery.higgs.events.simulate:simulate_pseudo_data"
TRAIN = "rediscovery.higgs.classifiers.workflow:train_classifier"
SCORE = "rediscovery.higgs.classifiers.workflow:score_events"
DERIVED = "rediscovery.higgs.features.derived:add_derived_features"
STUDY = "rediscovery.higgs.features.selection:feature_study"
HPO = "rediscovery.higgs.classifiers.hpo:run_study"
FIT = "rediscovery.higgs.stats:fit_scores"
TOYS = "rediscovery.higgs.stats:run_toys"
ALTER = "rediscovery.higgs.systematics.variations:apply_systematics"
TEMPLATES = "rediscovery.higgs.systematics:build_templates"
SYSTFIT = "rediscovery.higgs.systematics:fit_with_systematics"
CHALLENGE = "rediscovery.higgs.systematics.challenge:simulated_sets"
RUN = "rediscovery.higgs.commands.pipeline:run_pipeline"


@pytest.fixture(scope="session")
def inputs(tmp_path_factory, bad_files) -> dict[str, Path]:
    """A 600-event sample (Parquet and CSV), a 5-tree model, MC scores and observed scores."""
    from rediscovery.higgs.events.io import write_events
    from rediscovery.higgs.events.simulate import simulate_events

    root = tmp_path_factory.mktemp("higgs_fuzz")
    ev = simulate_events(600, seed=1)
    write_events(ev, root / "events.parquet")
    write_events(ev, root / "events.csv")
    assert main(["-q", "higgs", "train", "--data", str(root / "events.parquet"), "--model",
                 "xgboost", "--out", str(root / "model"), "--param", "n_estimators=5",
                 "--bootstrap", "2", "--no-plots"]) == 0
    rng = np.random.default_rng(0)
    n_s, n_b = 3000, 20000
    pd.DataFrame({
        "score": np.r_[rng.beta(5, 2, n_s), rng.beta(2, 5, n_b)],
        "Weight": np.r_[np.full(n_s, 70.0 / n_s), np.full(n_b, 4000.0 / n_b)],
        "Label": np.r_[np.ones(n_s, int), np.zeros(n_b, int)],
    }).to_parquet(root / "scores.parquet")
    pd.DataFrame({"score": rng.beta(2, 5, 4100)}).to_csv(root / "observed.csv", index=False)
    # 100 times fewer events than the MC predicts (pseudo-data of --lumi 0.01)
    pd.DataFrame({"score": rng.beta(2, 5, 41)}).to_csv(root / "observed_small.csv", index=False)
    pd.DataFrame({"score": []}).to_csv(root / "observed_none.csv", index=False)
    (root / "templates.json").write_text('{"edges": [0, 1]}')
    return {**bad_files, "ev": root / "events.parquet", "evcsv": root / "events.csv",
            "model": root / "model", "scores": root / "scores.parquet",
            "obs": root / "observed.csv", "obs_small": root / "observed_small.csv",
            "obs_none": root / "observed_none.csv", "templates_bad": root / "templates.json",
            "device": _device_link(root)}


def _device_link(root: Path) -> Path:
    """A ``.parquet`` name that is a symbolic link to /dev/null (a device, not a file)."""
    link = root / "device.parquet"
    link.symlink_to("/dev/null")
    return link


def _fill(argv: list[str], paths: dict[str, Path], tmp: Path) -> list[str]:
    (tmp / "o.parquet.json").mkdir()  # a folder where alter writes its sidecar
    return [a.format(tmp=tmp, **paths) for a in argv]


TRAIN_ARGS = ["higgs", "train", "--data", "{ev}", "--model", "xgboost", "--no-plots",
              "--bootstrap", "2"]
FIT_ARGS = ["higgs", "fit", "--scores", "{scores}", "--observed", "{obs}", "--no-plots",
            "--no-cross-check"]

CASES: list[tuple[str, list[str], str, tuple[str, ...]]] = [
    # -- simulate: output path, extension and format, option values
    ("simulate-out-dir", ["higgs", "simulate", "--seed", "1", "--out", "{dir}"],
     "is an existing folder", (SIM,)),
    ("simulate-out-no-ext", ["higgs", "simulate", "--seed", "1", "--out", "{tmp}/events"],
     "unknown extension", (SIM,)),
    ("simulate-out-txt", ["higgs", "simulate", "--seed", "1", "--out", "{tmp}/x.txt"],
     "unknown extension '.txt'", (SIM,)),
    ("simulate-format-contradicts", ["higgs", "simulate", "--seed", "1", "--out",
                                     "{tmp}/x.csv", "--format", "parquet"],
     "--format parquet contradicts", (SIM,)),
    ("simulate-format-csv-into-parquet", ["higgs", "simulate", "--seed", "1", "--out",
                                          "{tmp}/x.parquet", "--format", "csv"],
     "contradicts the extension", (SIM,)),
    ("simulate-format-unknown", ["higgs", "simulate", "--seed", "1", "--out",
                                 "{tmp}/x.parquet", "--format", "json"],
     "--format 'json'", (SIM,)),
    ("simulate-out-unwritable", ["higgs", "simulate", "--seed", "1", "--out",
                                 "{unwritable}/x.parquet"], "cannot write", (SIM,)),
    ("simulate-out-under-file", ["higgs", "simulate", "--seed", "1", "--out",
                                 "{under_file}/x.parquet"], "is a file, not a folder", (SIM,)),
    ("simulate-out-name-too-long", ["higgs", "simulate", "--seed", "1", "--out",
                                    "{tmp}/" + "x" * 250 + ".parquet"], "too long", (SIM,)),
    ("simulate-out-device", ["higgs", "simulate", "--seed", "1", "--out", "{device}"],
     "not a regular file", (SIM,)),
    ("simulate-pseudo-out-dir", ["higgs", "simulate", "--seed", "1", "--pseudo-data",
                                 "--out", "{dir}"], "is an existing folder", (PSEUDO,)),
    ("simulate-events-0", ["higgs", "simulate", "--seed", "1", "--out", "{tmp}/x.parquet",
                           "--events", "0"], "'--events'", (SIM,)),
    ("simulate-events-abc", ["higgs", "simulate", "--seed", "1", "--out", "{tmp}/x.parquet",
                             "--events", "abc"], "'--events'", (SIM,)),
    ("simulate-nuisance-no-value", ["higgs", "simulate", "--seed", "1", "--out",
                                    "{tmp}/x.parquet", "--nuisance", "tes"],
     "--nuisance 'tes'", (SIM,)),
    ("simulate-nuisance-unknown", ["higgs", "simulate", "--seed", "1", "--out",
                                   "{tmp}/x.parquet", "--nuisance", "foo=1"],
     "--nuisance 'foo' is unknown", (SIM,)),
    ("simulate-lumi-0", ["higgs", "simulate", "--seed", "1", "--out", "{tmp}/x.parquet",
                         "--pseudo-data", "--lumi", "0"], "--lumi 0", (PSEUDO,)),
    ("simulate-draw-without-pseudo", ["higgs", "simulate", "--seed", "1", "--out",
                                      "{tmp}/x.parquet", "--draw-nuisances"],
     "--draw-nuisances", (SIM,)),
    # -- features / feature-study
    ("features-out-dir", ["higgs", "features", "{ev}", "{dir}"], "OUT", (DERIVED,)),
    ("features-out-json", ["higgs", "features", "{ev}", "{tmp}/o.json"],
     "unknown extension '.json'", (DERIVED,)),
    ("features-in-empty", ["higgs", "features", "{empty_csv}", "{tmp}/o.parquet"], "empty",
     (DERIVED,)),
    ("features-in-junk", ["higgs", "features", "{junk_parquet}", "{tmp}/o.parquet"],
     "cannot be read", (DERIVED,)),
    ("features-in-junk-csv", ["higgs", "features", "{junk_csv}", "{tmp}/o.parquet"],
     "junk.csv", (DERIVED,)),
    ("features-in-dir", ["higgs", "features", "{dir}", "{tmp}/o.parquet"], "directory",
     (DERIVED,)),
    ("features-n-points-0", ["higgs", "features", "{ev}", "{tmp}/o.parquet", "--n-points",
                             "0"], "'--n-points'", (DERIVED,)),
    ("feature-study-out-file", ["higgs", "feature-study", "--simulate", "100", "--out",
                                "{file}"], "is an existing file", (SIM, STUDY)),
    ("feature-study-simulate-0", ["higgs", "feature-study", "--simulate", "0", "--out",
                                  "{tmp}/fs"], "--simulate 0", (SIM, STUDY)),
    ("feature-study-folds-1", ["higgs", "feature-study", "--simulate", "100", "--out",
                               "{tmp}/fs", "--n-folds", "1"], "'--n-folds'", (SIM, STUDY)),
    # -- train: output folder, hyper-parameters, options, bad data files
    ("train-out-is-file", [*TRAIN_ARGS, "--out", "{ev}"], "is an existing file", (TRAIN,)),
    ("train-out-unwritable", [*TRAIN_ARGS, "--out", "{unwritable}"], "cannot write",
     (TRAIN,)),
    ("train-out-under-file", [*TRAIN_ARGS, "--out", "{under_file}"],
     "is a file, not a folder", (TRAIN,)),
    ("train-param-max-depth-abc", [*TRAIN_ARGS, "--out", "{tmp}/t", "--param",
                                   "max_depth=abc"], "--param max_depth", (TRAIN,)),
    ("train-param-negative-trees", [*TRAIN_ARGS, "--out", "{tmp}/t", "--param",
                                    "n_estimators=-3"], "--param n_estimators=-3", (TRAIN,)),
    ("train-param-negative-rate", [*TRAIN_ARGS, "--out", "{tmp}/t", "--param",
                                   "learning_rate=-0.1"], "--param learning_rate", (TRAIN,)),
    ("train-param-zero-rate", [*TRAIN_ARGS, "--out", "{tmp}/t", "--param",
                               "learning_rate=0"], "a number > 0", (TRAIN,)),
    ("train-param-subsample-2", [*TRAIN_ARGS, "--out", "{tmp}/t", "--param", "subsample=2"],
     "--param subsample", (TRAIN,)),
    ("train-param-nan", [*TRAIN_ARGS, "--out", "{tmp}/t", "--param", "reg_lambda=NaN"],
     "--param reg_lambda", (TRAIN,)),
    ("train-param-bool", [*TRAIN_ARGS, "--out", "{tmp}/t", "--param", "max_depth=true"],
     "--param max_depth", (TRAIN,)),
    ("train-hgb-max-depth-abc", ["higgs", "train", "--data", "{ev}", "--model", "hgb",
                                 "--out", "{tmp}/t", "--param", "max_depth=abc"],
     "--param max_depth", (TRAIN,)),
    ("train-hgb-max-bins-300", ["higgs", "train", "--data", "{ev}", "--model", "hgb",
                                "--out", "{tmp}/t", "--param", "max_bins=300"],
     "--param max_bins", (TRAIN,)),
    ("train-lightgbm-num-leaves-1", ["higgs", "train", "--data", "{ev}", "--model",
                                     "lightgbm", "--out", "{tmp}/t", "--param",
                                     "num_leaves=1"], "--param num_leaves", (TRAIN,)),
    ("train-nn-activation", ["higgs", "train", "--data", "{ev}", "--model", "nn", "--out",
                             "{tmp}/t", "--param", "activation=foo"], "--param activation",
     (TRAIN,)),
    ("train-nn-dropout-1", ["higgs", "train", "--data", "{ev}", "--model", "nn", "--out",
                            "{tmp}/t", "--param", "dropout=1"], "--param dropout", (TRAIN,)),
    ("train-param-unknown", [*TRAIN_ARGS, "--out", "{tmp}/t", "--param", "foo=1"],
     "unknown xgboost hyper-parameters foo", (TRAIN,)),
    ("train-param-seed", [*TRAIN_ARGS, "--out", "{tmp}/t", "--param", "seed=3"],
     "use --seed", (TRAIN,)),
    ("train-param-no-value", [*TRAIN_ARGS, "--out", "{tmp}/t", "--param", "max_depth"],
     "expected KEY=VALUE", (TRAIN,)),
    ("train-params-bad-json", [*TRAIN_ARGS, "--out", "{tmp}/t", "--params", "{bad_json}"],
     "not valid JSON", (TRAIN,)),
    ("train-params-list-json", [*TRAIN_ARGS, "--out", "{tmp}/t", "--params", "{list_json}"],
     "expected a JSON object", (TRAIN,)),
    ("train-params-missing", [*TRAIN_ARGS, "--out", "{tmp}/t", "--params",
                              "{tmp}/nope.json"], "not found", (TRAIN,)),
    ("train-bootstrap-0", [*TRAIN_ARGS, "--out", "{tmp}/t", "--bootstrap", "0"],
     "'--bootstrap'", (TRAIN,)),
    ("train-threads-0", [*TRAIN_ARGS, "--out", "{tmp}/t", "--threads", "0"], "'--threads'",
     (TRAIN,)),
    ("train-model-unknown", ["higgs", "train", "--data", "{ev}", "--model", "svm", "--out",
                             "{tmp}/t"], "--model 'svm'", (TRAIN,)),
    ("train-data-empty", ["higgs", "train", "--data", "{empty_parquet}", "--model",
                          "xgboost", "--out", "{tmp}/t"], "empty", (TRAIN,)),
    ("train-data-junk", ["higgs", "train", "--data", "{junk_parquet}", "--model", "xgboost",
                         "--out", "{tmp}/t"], "cannot be read", (TRAIN,)),
    ("train-data-dir", ["higgs", "train", "--data", "{dir}", "--model", "xgboost", "--out",
                        "{tmp}/t"], "is a directory", (TRAIN,)),
    ("train-data-missing", ["higgs", "train", "--data", "{tmp}/nope.parquet", "--model",
                            "xgboost", "--out", "{tmp}/t"], "does not exist", (TRAIN,)),
    # -- evaluate
    ("evaluate-out-txt", ["higgs", "evaluate", "--model", "{model}", "--data", "{ev}",
                          "--out", "{tmp}/ev.txt"], "unknown extension '.txt'", (SCORE,)),
    ("evaluate-out-dir", ["higgs", "evaluate", "--model", "{model}", "--data", "{ev}",
                          "--out", "{dir}"], "is an existing folder", (SCORE,)),
    ("evaluate-out-unwritable", ["higgs", "evaluate", "--model", "{model}", "--data", "{ev}",
                                 "--out", "{unwritable}/ev.parquet"], "cannot write",
     (SCORE,)),
    ("evaluate-model-empty-dir", ["higgs", "evaluate", "--model", "{dir}", "--data", "{ev}",
                                  "--out", "{tmp}/ev.parquet"], "a_folder", (SCORE,)),
    ("evaluate-set-unknown", ["higgs", "evaluate", "--model", "{model}", "--data", "{ev}",
                              "--out", "{tmp}/ev.parquet", "--set", "nosuch"], "--set nosuch",
     (SCORE,)),
    # -- hpo
    ("hpo-sampler", ["higgs", "hpo", "--data", "{ev}", "--model", "xgboost", "--out",
                     "{tmp}/h", "--sampler", "foo"], "--sampler 'foo'", (HPO,)),
    ("hpo-objective", ["higgs", "hpo", "--data", "{ev}", "--model", "xgboost", "--out",
                       "{tmp}/h", "--objective", "foo"], "--objective 'foo'", (HPO,)),
    ("hpo-trials-0", ["higgs", "hpo", "--data", "{ev}", "--model", "xgboost", "--out",
                      "{tmp}/h", "--trials", "0"], "'--trials'", (HPO,)),
    ("hpo-out-file", ["higgs", "hpo", "--data", "{ev}", "--model", "xgboost", "--out",
                      "{file}"], "is an existing file", (HPO,)),
    ("hpo-storage-bad", ["higgs", "hpo", "--data", "{ev}", "--model", "xgboost", "--out",
                         "{tmp}/h", "--storage", "not a url"], "--storage", (HPO,)),
    ("hpo-storage-unknown-dialect", ["higgs", "hpo", "--data", "{ev}", "--model", "xgboost",
                                     "--out", "{tmp}/h", "--storage", "foo://x"], "--storage",
     (HPO,)),
    ("hpo-model-unknown", ["higgs", "hpo", "--data", "{ev}", "--model", "svm", "--out",
                           "{tmp}/h"], "--model 'svm'", (HPO,)),
    # -- fit / toys
    ("fit-out-file", [*FIT_ARGS, "--out", "{file}"], "is an existing file", (FIT,)),
    ("fit-out-unwritable", [*FIT_ARGS, "--out", "{unwritable}"], "cannot write", (FIT,)),
    ("fit-backend", [*FIT_ARGS, "--out", "{tmp}/f", "--backend", "root"],
     "--backend 'root'", (FIT,)),
    ("fit-min-bkg-0", [*FIT_ARGS, "--out", "{tmp}/f", "--min-bkg", "0"], "--min-bkg 0",
     (FIT,)),
    ("fit-max-bins-0", [*FIT_ARGS, "--out", "{tmp}/f", "--max-bins", "0"], "--max-bins 0",
     (FIT,)),
    ("fit-lumi-factor-0", [*FIT_ARGS, "--out", "{tmp}/f", "--lumi-factor", "0"],
     "--lumi-factor 0", (FIT,)),
    ("fit-scores-empty", ["higgs", "fit", "--scores", "{empty_csv}", "--observed", "{obs}",
                          "--out", "{tmp}/f"], "empty", (FIT,)),
    ("fit-scores-junk", ["higgs", "fit", "--scores", "{junk_parquet}", "--observed",
                         "{obs}", "--out", "{tmp}/f"], "cannot be read", (FIT,)),
    ("fit-observed-junk-csv", ["higgs", "fit", "--scores", "{scores}", "--observed",
                               "{junk_csv}", "--out", "{tmp}/f"], "junk.csv", (FIT,)),
    ("fit-observed-dir", ["higgs", "fit", "--scores", "{scores}", "--observed", "{dir}",
                          "--out", "{tmp}/f"], "is a folder", (FIT,)),
    ("fit-observed-100x-small", [*FIT_ARGS[:5], "{obs_small}", *FIT_ARGS[6:], "--out",
                                 "{tmp}/f"], "--lumi-factor", ()),
    ("fit-observed-no-rows", [*FIT_ARGS[:5], "{obs_none}", *FIT_ARGS[6:], "--out",
                              "{tmp}/f"], "luminosity", ()),
    ("toys-n-toys-1", ["higgs", "toys", "--scores", "{scores}", "--out", "{tmp}/t",
                       "--n-toys", "1"], "--n-toys 1", (TOYS,)),
    ("toys-out-file", ["higgs", "toys", "--scores", "{scores}", "--out", "{file}",
                       "--n-toys", "10"], "is an existing file", (TOYS,)),
    ("toys-mu-true-negative", ["higgs", "toys", "--scores", "{scores}", "--out", "{tmp}/t",
                               "--mu-true", "-100"], "'mu_true'", ()),
    ("toys-scheduler-garbage", ["higgs", "toys", "--scores", "{scores}", "--out", "{tmp}/t",
                                "--scheduler", "garbage"], "--scheduler 'garbage'", (TOYS,)),
    # -- systematics
    ("alter-out-dir", ["higgs", "alter", "{ev}", "{dir}"], "is an existing folder", (ALTER,)),
    ("alter-sidecar-is-dir", ["higgs", "alter", "{ev}", "{tmp}/o.parquet", "--tes", "1.01"],
     "its .json beside it", (ALTER,)),
    ("alter-out-xlsx", ["higgs", "alter", "{ev}", "{tmp}/o.xlsx"], "unknown extension",
     (ALTER,)),
    ("alter-out-unwritable", ["higgs", "alter", "{ev}", "{unwritable}/o.parquet"],
     "cannot write", (ALTER,)),
    ("templates-out-file", ["higgs", "templates", "--events", "{ev}", "--model",
                            "{model}/model", "--out", "{file}"], "is an existing file",
     (TEMPLATES,)),
    ("templates-weight-scale-0", ["higgs", "templates", "--events", "{ev}", "--model",
                                  "{model}/model", "--out", "{tmp}/tp", "--weight-scale", "0"],
     "--weight-scale 0", (TEMPLATES,)),
    ("syst-fit-templates-bad-json", ["higgs", "syst-fit", "--templates", "{bad_json}",
                                     "--observed", "{ev}", "--model", "{model}/model",
                                     "--out", "{tmp}/sf"], "not valid JSON", (SYSTFIT,)),
    ("syst-fit-templates-list", ["higgs", "syst-fit", "--templates", "{list_json}",
                                 "--observed", "{ev}", "--model", "{model}/model", "--out",
                                 "{tmp}/sf"], "expected a JSON object", (SYSTFIT,)),
    ("syst-fit-templates-incomplete", ["higgs", "syst-fit", "--templates", "{templates_bad}",
                                       "--observed", "{ev}", "--model", "{model}/model",
                                       "--out", "{tmp}/sf"], "templates.json: not a templates file",
     (SYSTFIT,)),
    ("syst-fit-backend", ["higgs", "syst-fit", "--templates", "{templates_bad}",
                          "--observed", "{ev}", "--model", "{model}/model", "--out",
                          "{tmp}/sf", "--backend", "root"], "--backend 'root'", (SYSTFIT,)),
    ("challenge-training", ["higgs", "challenge", "--out", "{tmp}/c", "--training", "foo"],
     "--training 'foo'", (CHALLENGE,)),
    ("challenge-n-pseudo-0", ["higgs", "challenge", "--out", "{tmp}/c", "--n-pseudo", "0"],
     "--n-pseudo 0", (CHALLENGE,)),
    ("challenge-scheduler", ["higgs", "challenge", "--out", "{tmp}/c", "--scheduler",
                             "tcp://host"], "--scheduler 'tcp://host'", (CHALLENGE,)),
    ("challenge-out-file", ["higgs", "challenge", "--out", "{file}"], "is an existing file",
     (CHALLENGE,)),
    # -- run
    ("run-out-file", ["higgs", "run", "--out", "{file}"], "is an existing file", (RUN,)),
    ("run-out-unwritable", ["higgs", "run", "--out", "{unwritable}"], "cannot write", (RUN,)),
    ("run-out-under-file", ["higgs", "run", "--out", "{under_file}"],
     "is a file, not a folder", (RUN,)),
    ("run-events-0", ["higgs", "run", "--out", "{tmp}/r", "--events", "0"], "--events (events) = 0",
     (RUN,)),
    ("run-model-unknown", ["higgs", "run", "--out", "{tmp}/r", "--model", "svm"],
     "--model (model) = 'svm'", (RUN,)),
    ("run-config-bad-yaml", ["higgs", "run", "--out", "{tmp}/r", "--config", "{bad_json}"],
     "not valid YAML", (RUN,)),
    ("run-config-missing", ["higgs", "run", "--out", "{tmp}/r", "--config",
                            "{tmp}/nope.yaml"], "--config", (RUN,)),
    # -- numbers: non-finite floats and integers beyond int64, for every option of every command
    ("simulate-lumi-inf", ["higgs", "simulate", "--seed", "1", "--out", "{tmp}/x.parquet",
                           "--pseudo-data", "--lumi", "inf"], "--lumi inf", (PSEUDO,)),
    ("simulate-mu-nan", ["higgs", "simulate", "--seed", "1", "--out", "{tmp}/x.parquet",
                         "--mu", "nan"], "'--mu'", (SIM,)),
    ("simulate-events-huge", ["higgs", "simulate", "--seed", "1", "--out", "{tmp}/x.parquet",
                              "--events", "9" * 20], "too large", (SIM,)),
    ("alter-tes-nan", ["higgs", "alter", "{ev}", "{tmp}/a.parquet", "--tes", "nan"],
     "--tes nan", (ALTER,)),
    ("fit-min-bkg-inf", [*FIT_ARGS, "--out", "{tmp}/f", "--min-bkg", "inf"], "--min-bkg inf",
     (FIT,)),
    ("toys-mu-true-nan", ["higgs", "toys", "--scores", "{scores}", "--out", "{tmp}/t",
                          "--mu-true", "nan"], "--mu-true nan", (TOYS,)),
    # -- seeds
    ("simulate-seed-negative", ["higgs", "simulate", "--seed", "-1", "--out",
                                "{tmp}/x.parquet"], "'--seed'", (SIM,)),
    ("train-seed-negative", [*TRAIN_ARGS, "--out", "{tmp}/t", "--seed", "-1"], "'--seed'",
     (TRAIN,)),
    ("toys-seed-negative", ["higgs", "toys", "--scores", "{scores}", "--out", "{tmp}/t",
                            "--seed", "-1"], "'--seed'", (TOYS,)),
    ("run-seed-negative", ["higgs", "run", "--out", "{tmp}/r", "--seed", "-1"], "'--seed'",
     (RUN,)),
    # -- usage
    ("unknown-command", ["higgs", "nosuch"], "No such command", ()),
    ("unknown-option", [*TRAIN_ARGS, "--out", "{tmp}/t", "--bogus"], "No such option",
     (TRAIN,)),
    ("missing-option", ["higgs", "train", "--data", "{ev}"], "Missing option", (TRAIN,)),
]


@pytest.mark.parametrize(("argv", "fragment", "forbidden"),
                         [pytest.param(a, f, g, id=i) for i, a, f, g in CASES])
def test_refused_in_one_line_with_exit_2(argv, fragment, forbidden, inputs, tmp_path, run_cli,
                                         forbid) -> None:
    forbid(*forbidden)
    code, err = run_cli(_fill(argv, inputs, tmp_path))
    assert code == 2, err
    assert fragment in err, err


def test_case_ids_are_unique() -> None:
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(("errno_", "fragment"), [(errno.EACCES, "Permission denied"),
                                                  (errno.ENOSPC, "disk is full"),
                                                  (errno.EROFS, "read-only")])
def test_os_errors_during_the_work_are_one_line(errno_, fragment, inputs, tmp_path, run_cli,
                                                monkeypatch) -> None:
    """The safety net: an OSError raised while writing (after the checks) names the path."""
    import os

    from rediscovery.core import files

    def refuse(path, data):
        raise OSError(errno_, os.strerror(errno_), str(path))

    monkeypatch.setattr(files, "write_json", refuse)
    code, err = run_cli([*TRAIN_ARGS[:2], "--data", inputs["ev"], "--model", "xgboost",
                         "--param", "n_estimators=3", "--bootstrap", "2", "--no-plots",
                         "--out", tmp_path / "t"])
    assert code == 2
    assert "metrics.json" in err and fragment in err


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_output_format_follows_the_extension(suffix, inputs, tmp_path, run_cli) -> None:
    ev = tmp_path / f"ev{suffix}"
    code, err = run_cli(["higgs", "evaluate", "--model", inputs["model"], "--data",
                         inputs["ev"], "--out", ev])
    assert code == 0, err
    is_parquet = ev.read_bytes()[:4] == b"PAR1"
    assert is_parquet == (suffix == ".parquet")
    table = pd.read_parquet(ev) if is_parquet else pd.read_csv(ev)
    assert {"EventId", "score"} <= set(table.columns) and len(table) == 600
    sim = tmp_path / f"sim{suffix}"
    code, err = run_cli(["higgs", "simulate", "--seed", "1", "--events", "50", "--out", sim,
                         "--format", suffix[1:]])
    assert code == 0, err
    assert (sim.read_bytes()[:4] == b"PAR1") == (suffix == ".parquet")


def test_fit_of_small_data_with_scaled_mc(inputs, tmp_path, run_cli) -> None:
    """41 observed events with the MC scaled to them (--lumi-factor 0.01) fit without error."""
    code, err = run_cli([*_fill(FIT_ARGS[:5], inputs, tmp_path), inputs["obs_small"],
                         *FIT_ARGS[6:], "--out", tmp_path / "f", "--lumi-factor", "0.01",
                         "--min-bkg", "5", "--max-bins", "3"])
    assert code in (0, 3), err  # 0: converged; 3: a flagged, explained non-convergence
    assert (tmp_path / "f" / "fit.json").is_file()

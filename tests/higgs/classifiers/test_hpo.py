"""Tests of rediscovery.higgs.classifiers.hpo: samplers, objectives, pruning, storage, outputs,
CLI."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pandas as pd
import pytest

from rediscovery.cli import main
from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.classifiers import hpo
from rediscovery.higgs.classifiers.metrics import best_ams, weighted_auc
from rediscovery.higgs.events.io import split_events, write_events
from rediscovery.higgs.schema import PRI_COLUMNS

from .test_models import physical, synthetic_events

FEATS = list(PRI_COLUMNS)
FAST_XGB = {"n_estimators": 15}


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return split_events(synthetic_events(1800, seed=21), seed=0)


@pytest.fixture(autouse=True)
def _quiet_optuna():
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_objective_value_is_the_metric():
    rng = np.random.default_rng(0)
    s, y = rng.random(300), (rng.random(300) < 0.4).astype(int)
    w = np.where(y == 1, 0.5, 2.0)
    assert hpo.objective_value(s, w, y, "auc") == weighted_auc(s, w, y)
    assert hpo.objective_value(s, w, y, "ams") == best_ams(s, w, y)[1]
    with pytest.raises(ConfigError):
        hpo.objective_value(s, w, y, "logloss")


@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_study_in_memory(events, sampler):
    study = hpo.run_study(events, "xgboost", features=FEATS, n_trials=3, sampler=sampler,
                          objective="auc", base_params=FAST_XGB, seed=1)
    assert len(study.trials) == 3
    assert 0.6 < study.best_value <= 1.0
    assert set(study.best_params) >= {"max_depth", "learning_rate"}
    # the sampler is seeded: the same study twice suggests the same parameters
    again = hpo.run_study(events, "xgboost", features=FEATS, n_trials=3, sampler=sampler,
                          objective="auc", base_params=FAST_XGB, seed=1)
    assert [t.params for t in again.trials] == [t.params for t in study.trials]
    assert [t.value for t in again.trials] == [t.value for t in study.trials]


def test_grid_search_covers_the_grid(events):
    study = hpo.run_study(events, "lightgbm", features=FEATS, n_trials=20, sampler="grid",
                          objective="ams", base_params={"n_estimators": 10})
    combos = {(t.params["num_leaves"], t.params["learning_rate"]) for t in study.trials}
    grid = hpo.GRIDS["lightgbm"]
    assert len(study.trials) == 9  # the grid sampler stops when the grid is exhausted
    assert combos == {(a, b) for a in grid["num_leaves"] for b in grid["learning_rate"]}


def test_nn_reports_every_epoch_and_prunes(events):
    study = hpo.run_study(events, "nn", features=FEATS, n_trials=8, sampler="random",
                          objective="auc", base_params={"max_epochs": 6, "patience": 6},
                          seed=4)
    states = [t.state for t in study.trials]
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert done
    for t in done:
        assert sorted(t.intermediate_values) == list(range(6))  # one report per epoch
    # MedianPruner(n_startup_trials=3, n_warmup_steps=2): with this seed some of the 8 random
    # networks fall below the running median after epoch 2 and are stopped
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned, states
    assert all(max(t.intermediate_values) >= 2 for t in pruned)


def test_sqlite_storage_resumes(events, tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    hpo.run_study(events, "xgboost", features=FEATS, n_trials=2, storage=url,
                  base_params=FAST_XGB)
    study = hpo.run_study(events, "xgboost", features=FEATS, n_trials=2, storage=url,
                          base_params=FAST_XGB)
    assert len(study.trials) == 4
    loaded = optuna.load_study(study_name="xgboost-auc", storage=url)
    assert loaded.best_value == study.best_value
    assert loaded.user_attrs["features"] == FEATS


def test_parallel_workers_share_the_study(events, tmp_path):
    # two local processes, one SQLite study: every trial lands in the same study
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    study = hpo.run_study(events, "xgboost", features=FEATS, n_trials=3, storage=url,
                          sampler="random", base_params=FAST_XGB, n_workers=2)
    assert len(study.trials) == 3
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def test_write_study(events, tmp_path, check_png):
    study = hpo.run_study(events, "xgboost", features=FEATS, n_trials=3, sampler="random",
                          base_params=FAST_XGB)
    paths = hpo.write_study(study, tmp_path, model="xgboost", features=FEATS)
    best = json.loads((tmp_path / "best_params.json").read_text())
    assert best["params"] == study.best_params and best["best_value"] == study.best_value
    assert best["objective"] == "auc" and best["features"] == FEATS
    trials = pd.read_csv(tmp_path / "trials.csv")
    assert len(trials) == 3 and "params_max_depth" in trials.columns
    check_png(paths["history"])
    check_png(paths["importances"])


def test_bad_hpo_input(events):
    with pytest.raises(ConfigError, match="sampler"):
        hpo.run_study(events, "xgboost", features=FEATS, sampler="annealing")
    with pytest.raises(ConfigError, match="objective"):
        hpo.run_study(events, "xgboost", features=FEATS, objective="f1")
    with pytest.raises(ConfigError, match="unknown model"):
        hpo.run_study(events, "svm", features=FEATS)
    with pytest.raises(ConfigError, match="storage"):
        hpo.run_study(events, "xgboost", features=FEATS, n_workers=2)
    with pytest.raises(InputError, match="Set"):
        hpo.run_study(events.drop(columns="Set"), "xgboost", features=FEATS)
    with pytest.raises(InputError, match="NEW_x"):
        hpo.run_study(events, "xgboost", features=[*FEATS, "NEW_x"])
    empty = optuna.create_study(direction="maximize")
    with pytest.raises(InputError, match="no completed trial"):
        hpo.write_study(empty, "unused")


def test_hpo_cli_then_train_with_best_params(events, tmp_path, capsys):
    data = tmp_path / "events.parquet"
    write_events(physical(events), data)
    out = tmp_path / "hpo"
    code = main(["-q", "higgs", "hpo", "--data", str(data), "--model", "xgboost",
                 "--trials", "2", "--objective", "auc", "--out", str(out), "--no-plots"])
    assert code == 0, capsys.readouterr().err
    assert (out / "study.db").exists() and (out / "trials.csv").exists()
    assert "best validation auc" in capsys.readouterr().out
    code = main(["-q", "higgs", "train", "--data", str(data), "--model", "xgboost",
                 "--params", str(out / "best_params.json"), "--param", "n_estimators=15",
                 "--out", str(tmp_path / "train"), "--no-plots", "--bootstrap", "5"])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((tmp_path / "train" / "metrics.json").read_text())
    best = json.loads((out / "best_params.json").read_text())["params"]
    assert {k: metrics["params"][k] for k in best} == best
    assert metrics["params"]["n_estimators"] == 15

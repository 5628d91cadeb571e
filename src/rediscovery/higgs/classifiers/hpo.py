"""Hyper-parameter optimisation of the classifiers with optuna.

* Samplers: ``tpe`` (tree-structured Parzen estimator, Bergstra et al. 2011), ``random`` and
  ``grid`` (a small per-model grid, :data:`GRIDS`), all seeded.
* Objective: the weighted validation AUC (default) or the validation-set AMS (best cut,
  :func:`rediscovery.higgs.classifiers.metrics.best_ams`), with the physics weights. The AMS of a
  small
  validation set is noisy (about ±0.2 with 10k events), so maximising it picks fluctuations;
  see ``docs/higgs-classifiers.md``. The validation set also drives the early stopping, so
  the best value is slightly optimistic: quote the test-set numbers of
  ``rediscovery higgs train --params best_params.json``.
* Pruning for the network: the objective on the validation set is reported after every
  epoch and optuna's ``MedianPruner`` stops trials that fall below the median of earlier
  trials at the same epoch.
* Storage: an SQLAlchemy URL (``sqlite:///DIR/study.db`` by default in the CLI); several
  processes or machines pointing at the same URL share one study (``n_workers`` here runs
  local processes through :func:`rediscovery.core.executor.map_tasks`, or a dask cluster
  with ``scheduler``).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.core.files import atomic_path, write_json
from rediscovery.higgs.classifiers import metrics
from rediscovery.higgs.classifiers.registry import MODEL_KINDS, make_model
from rediscovery.higgs.schema import LABEL, SET, WEIGHT

__all__ = [
    "GRIDS",
    "OBJECTIVES",
    "SAMPLERS",
    "objective_value",
    "run_study",
    "suggest_params",
    "write_study",
]

logger = logging.getLogger(__name__)

OBJECTIVES = ("ams", "auc")
SAMPLERS = ("tpe", "random", "grid")

#: Grid-search values per model (3 x 3 = 9 points; other hyper-parameters at defaults).
GRIDS: dict[str, dict[str, list[Any]]] = {
    "xgboost": {"max_depth": [3, 5, 7], "learning_rate": [0.05, 0.1, 0.2]},
    "lightgbm": {"num_leaves": [15, 31, 63], "learning_rate": [0.05, 0.1, 0.2]},
    "hgb": {"max_leaf_nodes": [15, 31, 63], "learning_rate": [0.05, 0.1, 0.2]},
    "nn": {"depth": [2, 3, 4], "width": [32, 64, 128]},
}


def suggest_params(trial: Any, kind: str, *, grid: bool = False) -> dict[str, Any]:
    """Hyper-parameters of one trial (the search space of each model).

    With ``grid=True`` only the :data:`GRIDS` parameters are suggested (categorical), as the
    grid sampler requires.
    """
    if grid:
        return {k: trial.suggest_categorical(k, v) for k, v in GRIDS[kind].items()}
    if kind == "xgboost":
        return {
            "max_depth": trial.suggest_int("max_depth", 2, 10),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "min_child_weight": trial.suggest_float("min_child_weight", 0.1, 20.0, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        }
    if kind == "lightgbm":
        return {
            "num_leaves": trial.suggest_int("num_leaves", 7, 255, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 5, 200, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        }
    if kind == "hgb":
        return {
            "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 7, 255, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 5, 200, log=True),
            "l2_regularization": trial.suggest_float("l2_regularization", 1e-4, 10.0,
                                                     log=True),
        }
    if kind == "nn":
        return {
            "depth": trial.suggest_int("depth", 1, 5),
            "width": trial.suggest_int("width", 16, 256, log=True),
            "activation": trial.suggest_categorical("activation", ["relu", "silu", "tanh"]),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True),
            "batch_size": trial.suggest_categorical("batch_size", [256, 512, 1024]),
        }
    raise ConfigError(f"unknown model {kind!r}; choose one of {MODEL_KINDS}")


def objective_value(scores: Any, weights: Any, labels: Any, objective: str) -> float:
    """Validation figure of merit: best AMS (HiggsML eq. 7) or weighted AUC."""
    if objective == "ams":
        return metrics.best_ams(scores, weights, labels)[1]
    if objective == "auc":
        return metrics.weighted_auc(scores, weights, labels)
    raise ConfigError(f"objective {objective!r}: choose one of {OBJECTIVES}")


def _make_sampler(name: str, kind: str, seed: int) -> Any:
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(GRIDS[kind], seed=seed)
    raise ConfigError(f"sampler {name!r}: choose one of {SAMPLERS}")


def _split(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    if SET not in df.columns:
        raise InputError("the HPO needs a Set column with train and valid events "
                         "(use rediscovery.higgs.events.io.split_events)", column=SET)
    s = df[SET].astype(str)
    tr, va = df[s == "train"], df[s == "valid"]
    if tr.empty or va.empty:
        raise InputError("the HPO needs train and valid events", column=SET)
    return tr, va


def _pruner() -> Any:
    import optuna

    # a trial is pruned when below the median of >= 3 earlier trials at the same epoch,
    # never during its first 2 epochs
    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)


def _optimise(task: dict[str, Any]) -> int:
    """Worker: load the stored study and run ``task['n_trials']`` trials of it."""
    import optuna

    study = optuna.load_study(
        study_name=task["study_name"], storage=task["storage"],
        sampler=_make_sampler(task["sampler"], task["kind"], task["seed"]), pruner=_pruner(),
    )
    return _run_trials(study, task)


def _run_trials(study: Any, task: dict[str, Any]) -> int:
    """Run ``task['n_trials']`` trials of ``study``; returns the study's number of trials."""
    import optuna

    kind, objective = task["kind"], task["objective"]
    tr, va = _split(task["df"])
    feats = task["features"]
    yv, wv = va[LABEL].to_numpy(), va[WEIGHT].to_numpy()
    grid = task["sampler"] == "grid"

    def run_trial(trial: optuna.Trial) -> float:
        params = {**task["base_params"], **suggest_params(trial, kind, grid=grid)}
        model = make_model(kind, feats, seed=task["seed"], n_threads=task["n_threads"],
                           **params)
        if kind == "nn" and task["pruning"]:
            def report(epoch: int, _loss: float, val_scores: np.ndarray) -> None:
                trial.report(objective_value(val_scores, wv, yv, objective), epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at epoch {epoch}")

            model.epoch_callback = report  # type: ignore[attr-defined]
        model.fit(tr, tr[LABEL], tr[WEIGHT], va, va[LABEL], va[WEIGHT])
        trial.set_user_attr("n_trees_or_epochs", model.training_info_.get(
            "n_trees", model.training_info_.get("n_epochs")))
        return objective_value(model.predict(va), wv, yv, objective)

    study.optimize(run_trial, n_trials=task["n_trials"], gc_after_trial=False)
    return len(study.trials)


def run_study(
    df: pd.DataFrame,
    kind: str,
    *,
    features: Sequence[str],
    n_trials: int = 20,
    sampler: str = "tpe",
    objective: str = "auc",
    storage: str | None = None,
    study_name: str | None = None,
    seed: int = 0,
    base_params: dict[str, Any] | None = None,
    pruning: bool = True,
    n_threads: int = 1,
    n_workers: int = 1,
    scheduler: str | Any | None = None,
) -> Any:
    """Optimise the hyper-parameters of ``kind`` on the ``train``/``valid`` sets of ``df``.

    Parameters
    ----------
    df
        Labelled events with a ``Set`` column (``train`` and ``valid`` are used).
    kind
        ``xgboost``, ``lightgbm``, ``hgb`` or ``nn``.
    features
        Feature columns.
    n_trials
        Total number of trials (a grid stops when exhausted).
    sampler
        ``tpe``, ``random`` or ``grid``.
    objective
        ``auc`` (weighted validation AUC, the default) or ``ams`` (best validation AMS; noisy
        on small validation sets, see docs/higgs-classifiers.md); maximised.
    storage
        SQLAlchemy URL (e.g. ``sqlite:///study.db``, ``postgresql://…``); ``None`` keeps the
        study in memory (single process only). An existing study of that name is resumed.
    study_name
        Default ``"{kind}-{objective}"``.
    seed
        Seed of the sampler and of every training.
    base_params
        Fixed hyper-parameters (e.g. ``{"n_estimators": 200}``) under the suggested ones.
    pruning
        Median pruning of network trials after each epoch.
    n_threads
        CPU threads per training.
    n_workers, scheduler
        Parallel workers sharing the study through ``storage`` (processes, or a dask cluster
        address), each running its share of the trials. Worker ``k`` seeds its sampler with
        ``seed + k``.

    Returns
    -------
    optuna.Study
    """
    import optuna

    if kind not in MODEL_KINDS:
        raise ConfigError(f"unknown model {kind!r}; choose one of {MODEL_KINDS}")
    if objective not in OBJECTIVES:
        raise ConfigError(f"objective {objective!r}: choose one of {OBJECTIVES}")
    if sampler not in SAMPLERS:
        raise ConfigError(f"sampler {sampler!r}: choose one of {SAMPLERS}")
    if n_trials < 1:
        raise ConfigError(f"n_trials must be >= 1, got {n_trials}")
    if (n_workers > 1 or scheduler is not None) and storage is None:
        raise ConfigError("parallel HPO workers share the study through storage: give a URL")
    _split(df)
    missing = [c for c in features if c not in df.columns]
    if missing:
        raise InputError(f"features {missing} are not in the events table", column=missing[0])
    name = study_name or f"{kind}-{objective}"
    study = optuna.create_study(
        study_name=name, storage=storage, direction="maximize", load_if_exists=True,
        sampler=_make_sampler(sampler, kind, seed), pruner=_pruner(),
    )
    study.set_user_attr("model", kind)
    study.set_user_attr("objective", objective)
    study.set_user_attr("features", list(features))
    cols = [*features, LABEL, WEIGHT, SET]
    task = {"df": df[cols], "kind": kind, "features": list(features), "objective": objective,
            "sampler": sampler, "storage": storage, "study_name": name,
            "base_params": dict(base_params or {}), "pruning": pruning,
            "n_threads": n_threads}
    if n_workers <= 1 and scheduler is None:
        _run_trials(study, {**task, "n_trials": n_trials, "seed": seed})
        return study
    from rediscovery.core.executor import map_tasks

    n = max(n_workers, 1)
    shares = [n_trials // n + (1 if k < n_trials % n else 0) for k in range(n)]
    tasks = [{**task, "n_trials": s, "seed": seed + k} for k, s in enumerate(shares) if s]
    map_tasks(_optimise, tasks, scheduler=scheduler, n_workers=n, desc="HPO workers")
    assert storage is not None  # checked above
    return optuna.load_study(study_name=name, storage=storage)


def write_study(
    study: Any,
    out: str | Path,
    *,
    plots: bool = True,
    model: str | None = None,
    features: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Write ``best_params.json``, ``trials.csv`` and the optuna plots into ``out``.

    ``best_params.json`` holds ``model``, ``objective``, ``best_value``, ``best_trial``,
    ``features`` and ``params`` (usable as ``rediscovery higgs train --params``).
    Plots: ``optimization_history.png`` and, with at least two completed trials and a
    varying parameter, ``param_importances.png``.
    """
    import optuna

    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        raise InputError("the study has no completed trial; nothing to write")
    paths = {
        "best_params": write_json(d / "best_params.json", {
            "model": model or study.user_attrs.get("model"),
            "objective": study.user_attrs.get("objective"),
            "best_value": study.best_value,
            "best_trial": study.best_trial.number,
            "features": list(features or study.user_attrs.get("features", [])),
            "params": study.best_params,
            "n_trials": len(study.trials),
            "n_pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
        }),
    }
    with atomic_path(d / "trials.csv") as tmp:
        study.trials_dataframe().to_csv(tmp, index=False)
    paths["trials"] = d / "trials.csv"
    if plots:
        paths.update(_plots(study, d, len(done)))
    return paths


def _plots(study: Any, d: Path, n_done: int) -> dict[str, Path]:
    import optuna
    from optuna.visualization import matplotlib as ovm

    from rediscovery.core.plotting import savefig

    out = {}
    with warnings.catch_warnings():
        # optuna marks its matplotlib backend experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        ax = ovm.plot_optimization_history(study)
        out["history"] = savefig(ax.figure, d / "optimization_history.png")
        varying = {k for t in study.trials if t.params for k in t.params
                   if len({str(u.params.get(k)) for u in study.trials if u.params}) > 1}
        if n_done >= 2 and varying:
            ax = ovm.plot_param_importances(study)
            out["importances"] = savefig(ax.figure, d / "param_importances.png")
    return out

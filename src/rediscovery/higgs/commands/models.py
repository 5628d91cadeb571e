"""``rediscovery higgs train`` / ``evaluate`` / ``hpo``: the classifier stages."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import typer

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.core.files import TABLE_FORMATS, check_output, output_format, read_json

app = typer.Typer()
logger = logging.getLogger(__name__)

_MODEL_HELP = "Classifier: xgboost, lightgbm, hgb (scikit-learn) or nn (torch MLP)."
_FEATURES_HELP = ("Features: 'pri' (17 PRI_), 'all' (PRI_ + DER_ + NEW_; DER_ computed if "
                  "absent) or a comma-separated list of columns.")


#: Arguments of a classifier that are options of their own, not hyper-parameters.
_RESERVED = {"seed": "--seed", "n_threads": "--threads", "features": "--features",
             "balance_classes": "--balance/--no-balance"}


def _parse_params(params: Path | None, param: list[str] | None) -> dict[str, Any]:
    """Hyper-parameters from a JSON file (e.g. hpo's best_params.json) and key=value pairs."""
    out: dict[str, Any] = {}
    if params is not None:
        data = read_json(params, what="JSON object of hyper-parameters (--params)")
        inner = data.get("params", data)
        if not isinstance(inner, dict):
            raise InputError("--params: 'params' must be a JSON object of hyper-parameters",
                             path=params)
        bad = sorted(set(inner) & set(_RESERVED))
        if bad:
            raise InputError(f"--params: {', '.join(bad)} are not hyper-parameters; use "
                             f"{', '.join(_RESERVED[k] for k in bad)}", path=params)
        out.update(inner)
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param {item!r}: expected KEY=VALUE, e.g. max_depth=4")
        if key.strip() in _RESERVED:
            raise ConfigError(f"--param {item!r}: {key.strip()} is not a hyper-parameter; use "
                              f"{_RESERVED[key.strip()]}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def _write_table(df: Any, path: Path, fmt: str = "parquet") -> None:
    from rediscovery.core.files import atomic_path

    with atomic_path(path) as tmp:
        if fmt == "csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)


def _check_model(model: str) -> None:
    from rediscovery.higgs.classifiers import MODEL_KINDS

    if model not in MODEL_KINDS:
        raise ConfigError(f"--model {model!r}: choose one of {', '.join(MODEL_KINDS)}")


@app.command("train")
def train(
    data: Path = typer.Option(..., "--data", help="Labelled events (Parquet or HiggsML CSV)."),
    model: str = typer.Option(..., "--model", help=_MODEL_HELP),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    features: str = typer.Option("pri", "--features", help=_FEATURES_HELP),
    params: Path | None = typer.Option(None, "--params",
                                       help="JSON file of hyper-parameters."),
    param: list[str] | None = typer.Option(None, "--param",
                                           help="Hyper-parameter KEY=VALUE (repeatable)."),
    balance: bool = typer.Option(True, "--balance/--no-balance",
                                 help="Class-balanced training weights."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of split, training and bootstrap."),
    bootstrap: int = typer.Option(100, "--bootstrap", min=2,
                                  help="Bootstrap replicas for errors (>= 2)."),
    threads: int = typer.Option(1, "--threads", min=1, help="CPU threads of the library."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write the PNG plots."),
) -> None:
    """Train a classifier; write the model, metrics.json, scores.parquet and plots.

    The data are split 1:1:1 (train/valid/test) unless they have a Set column; metrics are
    on the test split with the physics weights.
    """
    from rediscovery.core.files import write_json
    from rediscovery.higgs.classifiers import make_model
    from rediscovery.higgs.classifiers.workflow import train_classifier
    from rediscovery.higgs.events.io import read_events

    _check_model(model)
    check_output(out, "dir")
    hp = _parse_params(params, param)
    make_model(model, **hp)  # checks the hyper-parameters before reading and training
    df = read_events(data)
    result = train_classifier(df, model, features=features, params=hp, balance_classes=balance,
                              seed=seed, n_bootstrap=bootstrap, n_threads=threads)
    out.mkdir(parents=True, exist_ok=True)
    result.model.save(out / "model")
    result.metrics["data"] = str(data)
    write_json(out / "metrics.json", result.metrics)
    _write_table(result.scores, out / "scores.parquet")
    if plots:
        from rediscovery.higgs.classifiers.plots import plot_training_summary

        plot_training_summary(result, out)
    m = result.metrics
    typer.echo(f"{model}: test AUC = {m['auc']:.4f} ± {m['auc_err']:.4f}, best AMS = "
               f"{m['ams_best']:.3f} ± {m['ams_best_err']:.3f} (score ≥ "
               f"{m['ams_threshold']:.3f}); wrote {out}")


@app.command("evaluate")
def evaluate(
    model: Path = typer.Option(..., "--model", help="Model folder written by 'train'."),
    data: Path = typer.Option(..., "--data", help="Events to score (Parquet or CSV)."),
    out: Path = typer.Option(..., "--out", help="Output table (.parquet or .csv): EventId, "
                             "score, Weight, ..."),
    subset: str | None = typer.Option(None, "--set",
                                      help="Only events of this Set (e.g. test)."),
    threads: int = typer.Option(1, "--threads", min=1, help="CPU threads."),
) -> None:
    """Score events with a trained model; writes EventId, score and the Weight, Label,
    Process, Set columns that exist (input of 'rediscovery higgs fit --scores')."""
    from rediscovery.higgs.classifiers import load_model
    from rediscovery.higgs.classifiers.workflow import prepare_features, score_events
    from rediscovery.higgs.events.io import read_events
    from rediscovery.higgs.schema import SET

    check_output(out, "file", suffixes=TABLE_FORMATS)
    fmt = output_format(out)
    mdir = model / "model" if (model / "model" / "model.json").is_file() else model
    clf = load_model(mdir, n_threads=threads)
    df = read_events(data)
    if subset is not None:
        if SET not in df.columns:
            raise InputError(f"--set {subset}: the data have no Set column; drop --set",
                             path=data)
        present = sorted(df[SET].astype(str).unique())
        df = df[df[SET].astype(str) == subset]
        if df.empty:
            raise InputError(f"--set {subset}: no events with Set == {subset!r}; the data "
                             f"have {present}", path=data, column=SET)
    df, _ = prepare_features(df, list(clf.features_ or []))
    scores = score_events(clf, df)
    _write_table(scores, out, fmt)
    typer.echo(f"scored {len(scores)} events with the {clf.kind} model; wrote {out}")


@app.command("hpo")
def hpo(
    data: Path = typer.Option(..., "--data", help="Labelled events (Parquet or HiggsML CSV)."),
    model: str = typer.Option(..., "--model", help=_MODEL_HELP),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    trials: int = typer.Option(20, "--trials", min=1, help="Number of trials."),
    sampler: str = typer.Option("tpe", "--sampler", help="tpe, random or grid."),
    objective: str = typer.Option("auc", "--objective",
                                  help="Validation auc (default, low noise) or ams."),
    features: str = typer.Option("pri", "--features", help=_FEATURES_HELP),
    storage: str | None = typer.Option(
        None, "--storage",
        help="SQLAlchemy URL of the study (default sqlite:///OUT/study.db)."),
    study_name: str | None = typer.Option(None, "--study-name", help="Study name."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of split, sampler and training."),
    threads: int = typer.Option(1, "--threads", min=1, help="CPU threads per trial."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write optuna plots."),
) -> None:
    """Hyper-parameter search with optuna; writes best_params.json, trials.csv and plots."""
    from rediscovery.higgs.classifiers import hpo as hpo_mod
    from rediscovery.higgs.classifiers.workflow import prepare_features, split_if_needed
    from rediscovery.higgs.events.io import read_events

    _check_model(model)
    if sampler not in hpo_mod.SAMPLERS:
        raise ConfigError(f"--sampler {sampler!r}: choose one of {', '.join(hpo_mod.SAMPLERS)}")
    if objective not in hpo_mod.OBJECTIVES:
        raise ConfigError(f"--objective {objective!r}: choose one of "
                          f"{', '.join(hpo_mod.OBJECTIVES)}")
    check_output(out, "dir")
    if storage is not None:
        from sqlalchemy import create_engine
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            create_engine(storage).dispose()  # parses the URL and loads its driver; no connection
        except (ArgumentError, NoSuchModuleError, ValueError):
            raise ConfigError(f"--storage {storage!r}: expected an SQLAlchemy URL such as "
                              "sqlite:///study.db") from None
        except ImportError as exc:
            raise ConfigError(f"--storage {storage!r}: the database driver is not installed "
                              f"({exc.name or exc}); install it or use sqlite:///FILE") from None
    df = read_events(data)
    df, feats = prepare_features(df, features)
    df = split_if_needed(df, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    url = storage or f"sqlite:///{(out / 'study.db').resolve()}"
    study = hpo_mod.run_study(df, model, features=feats, n_trials=trials, sampler=sampler,
                              objective=objective, storage=url, study_name=study_name,
                              seed=seed, n_threads=threads)
    hpo_mod.write_study(study, out, plots=plots, model=model, features=feats)
    typer.echo(f"{model}: best validation {objective} = {study.best_value:.4f} after "
               f"{len(study.trials)} trials; wrote {out}")

"""``rediscovery higgs features`` / ``feature-study``: the feature-engineering stage."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.core.files import TABLE_FORMATS, check_output, output_format

app = typer.Typer()
log = logging.getLogger(__name__)


@app.command("features")
def features_cmd(
    inp: Path = typer.Argument(..., help="Events file (Parquet or HiggsML CSV)."),
    out: Path = typer.Argument(..., help="Output events file (.parquet, or .csv for HiggsML CSV)."),
    mmc: bool = typer.Option(True, "--mmc/--no-mmc", help="Compute DER_mass_MMC (slow part)."),
    new: bool = typer.Option(True, "--new/--no-new", help="Add the NEW_ features."),
    n_points: int = typer.Option(1024, min=1,
                                 help="Missing-mass integration points per event."),
    seed: int = typer.Option(20140512, min=0, help="Seed of the missing-mass integration points."),
) -> None:
    """Add the 13 DER_ features (and NEW_ ones) to an events file."""
    from rediscovery.higgs.events.io import read_events, write_events
    from rediscovery.higgs.features.derived import add_derived_features
    from rediscovery.higgs.features.new import add_new_features

    check_output(out, "file", option="OUT", suffixes=TABLE_FORMATS)
    fmt = output_format(out, option="OUT")
    df = read_events(inp)
    try:
        df = add_derived_features(df, mmc=mmc, n_points=n_points, seed=seed, progress=True)
        if new:
            df = add_new_features(df)
    except InputError as exc:
        raise InputError(str(exc), path=inp) from exc
    from rediscovery.core.checks import require_finite
    from rediscovery.higgs.schema import ALWAYS_DEFINED_DER

    for col in ALWAYS_DEFINED_DER:  # never write undefined values where every event has one
        if col in df.columns:
            require_finite(df[col], column=col, path=inp,
                           expected="a value for every event computed from its primaries")
    write_events(df, out, format=fmt)
    typer.echo(f"wrote {len(df)} events with {df.shape[1]} columns to {out}")


@app.command("feature-study")
def feature_study_cmd(
    out: Path = typer.Option(..., "--out", help="Output folder (table, rankings, plot, JSON)."),
    data: Path | None = typer.Option(None, "--data", help="Labelled, weighted events file."),
    simulate: int | None = typer.Option(
        None, "--simulate", help="Instead of --data, simulate this many events."),
    n_events: int = typer.Option(100_000, min=1, help="Events used (seeded subsample)."),
    n_folds: int = typer.Option(3, min=2, help="Cross-validation folds."),
    n_estimators: int = typer.Option(40, min=1, help="Trees per LightGBM model."),
    n_random: int = typer.Option(3, min=1, help="Random feature orderings averaged."),
    threads: int = typer.Option(1, min=1,
                                help="LightGBM threads per model (1: robust when shared)."),
    workers: int = typer.Option(2, min=1, help="Cross-validation folds trained in parallel."),
    seed: int = typer.Option(2014, min=0, help="Seed of subsampling, folds, permutations."),
) -> None:
    """Importance and selection study: table (CSV) and AUC/AMS-vs-features plot."""
    from rediscovery.core.files import write_json
    from rediscovery.core.plotting import savefig
    from rediscovery.higgs.events.io import read_events
    from rediscovery.higgs.features.plots import plot_selection_curves
    from rediscovery.higgs.features.selection import StudyConfig, feature_study

    if (data is None) == (simulate is None):
        raise ConfigError("give exactly one of --data PATH or --simulate N")
    if simulate is not None and simulate < 1:
        raise ConfigError(f"--simulate {simulate}: expected a number of events >= 1")
    check_output(out, "dir")
    if data is not None:
        df = read_events(data)
    else:
        from rediscovery.higgs.events.simulate import simulate_events

        df = simulate_events(int(simulate), seed=seed)  # type: ignore[arg-type]
    cfg = StudyConfig(n_events=n_events, n_folds=n_folds, n_estimators=n_estimators,
                      n_random=n_random, n_threads=threads, n_workers=workers,
                      seed=seed)
    res = feature_study(df, cfg)
    out.mkdir(parents=True, exist_ok=True)
    from rediscovery.core.files import atomic_path

    with atomic_path(out / "feature_study.csv") as tmp:
        res.table.to_csv(tmp, index=False, float_format="%.6g")
    with atomic_path(out / "feature_rankings.csv") as tmp:
        res.rankings.to_csv(tmp, index=False, float_format="%.6g")
    write_json(out / "feature_study.json", res.summary)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    plot_selection_curves(res.table, ax=axes)
    savefig(fig, out / "feature_study.png")
    s = res.summary
    if "der_gain_auc" in s:
        typer.echo(
            f"PRI only: AUC {s['PRI']['auc']:.4f} ± {s['PRI']['auc_err']:.4f}, "
            f"AMS {s['PRI']['ams']:.3f} ± {s['PRI']['ams_err']:.3f}; "
            f"PRI+DER: AUC {s['PRI+DER']['auc']:.4f} ± {s['PRI+DER']['auc_err']:.4f}, "
            f"AMS {s['PRI+DER']['ams']:.3f} ± {s['PRI+DER']['ams_err']:.3f}")
    typer.echo(f"wrote {out}/feature_study.csv, feature_rankings.csv, feature_study.png "
               f"({s['seconds_total']:.0f} s)")

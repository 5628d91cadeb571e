"""``rediscovery anomaly run``: score every event of a file with an outlier method."""

from __future__ import annotations

from pathlib import Path

import typer

from rediscovery.core.errors import ConfigError

app = typer.Typer()

#: IsolationForestConfig field -> the option that sets it (named in error messages)
_OPTIONS = {"n_estimators": "--trees", "max_samples": "--max-samples"}


@app.command("run")
def run_cmd(
    events: Path = typer.Argument(..., help="Events file (Parquet or HiggsML CSV)."),
    out: Path = typer.Option(..., "--out", help="Output folder (scores, JSON, plot)."),
    method: str = typer.Option("isolation-forest", "--method", help="isolation-forest"),
    n_estimators: int = typer.Option(200, "--trees", help="Trees of the isolation forest."),
    max_samples: int = typer.Option(256, "--max-samples", help="Events per tree."),
    features: str | None = typer.Option(
        None, "--features", help="Comma-separated columns (default: PRI_/DER_/NEW_ without φ)."
    ),
    seed: int = typer.Option(2019, min=0, help="Seed of the forest."),
) -> None:
    """Anomaly score of every event (higher = more anomalous); the top events first."""
    from rediscovery.anomaly.outliers import IsolationForestConfig, isolation_forest_scores
    from rediscovery.anomaly.plots import plot_score_distribution
    from rediscovery.core.errors import InputError
    from rediscovery.core.files import check_output, write_json, write_parquet
    from rediscovery.core.plotting import savefig
    from rediscovery.higgs.events.io import read_events

    if method != "isolation-forest":
        raise ConfigError(f"--method {method!r}: expected isolation-forest")
    check_output(out, "dir")
    try:
        cfg = IsolationForestConfig(n_estimators=n_estimators, max_samples=max_samples, seed=seed)
    except ConfigError as exc:
        msg = str(exc)
        for name, option in _OPTIONS.items():
            msg = msg.replace(name, option, 1) if msg.startswith(name) else msg
        raise ConfigError(msg) from exc
    cols = None
    if features is not None:
        cols = [c.strip() for c in features.split(",") if c.strip()]
        if not cols:
            raise ConfigError(f"--features {features!r}: expected comma-separated column names")
    df = read_events(events, require_primaries=False)
    try:
        res = isolation_forest_scores(df, cfg, features=cols)
    except InputError as exc:
        raise InputError(str(exc), path=events) from exc
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(res.scores, out / "scores.parquet")
    write_json(out / "anomaly.json", res.summary)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    plot_score_distribution(res.scores["anomaly_score"], ax=ax)
    savefig(fig, out / "scores.png")
    typer.echo(
        f"scored {len(df)} events on {len(res.summary['features'])} features "
        f"({res.summary['seconds']:.1f} s); wrote {out}/scores.parquet, anomaly.json, scores.png"
    )

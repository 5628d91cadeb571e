"""``rediscovery anomaly simulate|run|score``: the anomaly challenge's commands."""

from __future__ import annotations

from pathlib import Path

import typer

from rediscovery.core.errors import ConfigError

app = typer.Typer()

#: IsolationForestConfig field -> the option that sets it (named in error messages)
_OPTIONS = {"n_estimators": "--trees", "max_samples": "--max-samples"}


@app.command("simulate")
def simulate_cmd(
    out: Path = typer.Option(..., "--out", help="Output folder (data, reference, truth)."),
    seed: int = typer.Option(2019, min=0, help="Seed of everything (hidden mass included)."),
    signal: str = typer.Option("resonance", "--signal", help="resonance | outlier | none"),
    strength: float = typer.Option(2.0, "--strength", help="Inclusive S/sqrt(B) of the signal."),
    mass: float | None = typer.Option(
        None, "--mass", help="X mass in GeV (default: drawn, 300-800 for resonance)."
    ),
    lumi_factor: float = typer.Option(
        0.25, "--lumi-factor", help="Data luminosity / HiggsML's (0.25: ~103k SM events)."
    ),
    n_reference: int = typer.Option(
        100_000, "--reference-events", help="Events of the labelled SM reference MC."
    ),
    dataset: str = typer.Option(
        "tautau", "--dataset", help="tautau (the H->tautau simulator) | dijet (LHCO-like)."
    ),
    n_background: int = typer.Option(
        1_000_000, "--background-events", help="dijet: QCD events (LHCO R&D: 10^6)."
    ),
    s_over_b: float = typer.Option(
        0.006, "--s-over-b", help="dijet: S/B in the 3.3-3.7 TeV signal region (0: none)."
    ),
    mjj_correlation: float = typer.Option(
        0.0,
        "--mjj-correlation",
        help="dijet: jet masses shifted by this fraction of m_jj (CATHODE's study: 0.1).",
    ),
) -> None:
    """A Standard Model data set with hidden new physics (recorded only in truth.json)."""
    from rediscovery.anomaly.datasets import ChallengeConfig, simulate_challenge
    from rediscovery.core.files import check_output, write_json, write_parquet

    if dataset not in ("tautau", "dijet"):
        raise ConfigError(f"--dataset {dataset!r}: expected tautau or dijet")
    if dataset == "dijet":
        from rediscovery.anomaly.dijet import DijetConfig, simulate_dijet

        try:
            dcfg = DijetConfig(
                n_background=n_background,
                s_over_b=s_over_b,
                n_reference=0,
                mjj_correlation=mjj_correlation,
                seed=seed,
            )
        except ConfigError as exc:
            msg = str(exc).replace("n_background", "--background-events", 1)
            msg = msg.replace("mjj_correlation", "--mjj-correlation", 1)
            raise ConfigError(msg.replace("s_over_b", "--s-over-b", 1)) from exc
        check_output(out, "dir")
        data, _, truth = simulate_dijet(dcfg)
        out.mkdir(parents=True, exist_ok=True)
        write_parquet(data, out / "data.parquet")
        write_json(out / "truth.json", truth)
        typer.echo(
            f"wrote {out}/data.parquet ({len(data)} unlabelled dijet events), truth.json "
            "(hidden: do not read it before `anomaly score`)"
        )
        return

    try:
        cfg = ChallengeConfig(
            signal=signal,
            strength=strength,
            mass=mass,
            lumi_factor=lumi_factor,
            n_reference=n_reference,
            seed=seed,
        )
    except ConfigError as exc:
        msg = str(exc)
        for name, opt in (("n_reference", "--reference-events"), ("lumi_factor", "--lumi-factor")):
            msg = msg.replace(name, opt, 1) if msg.startswith(name) else msg
        raise ConfigError(f"--{msg}" if not msg.startswith("--") else msg) from exc
    check_output(out, "dir")
    ch = simulate_challenge(cfg)
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(ch.data, out / "data.parquet")
    write_parquet(ch.reference, out / "reference.parquet")
    write_json(out / "truth.json", ch.truth)
    typer.echo(
        f"wrote {out}/data.parquet ({len(ch.data)} unlabelled events), "
        f"reference.parquet ({len(ch.reference)} labelled SM events), truth.json "
        "(hidden: do not read it before `anomaly score`)"
    )


def _method(name: str, options: dict):
    from rediscovery.anomaly.registry import METHODS

    if name not in METHODS:
        raise ConfigError(f"--method {name!r}: expected one of {', '.join(METHODS)}")
    return METHODS[name](**options)


@app.command("run")
def run_cmd(
    events: Path = typer.Argument(..., help="Events file (Parquet or HiggsML CSV)."),
    out: Path = typer.Option(..., "--out", help="Output folder (scores, JSON, plot)."),
    method: str = typer.Option(
        "isolation-forest",
        "--method",
        help="isolation-forest | knn | autoencoder | cwola | cathode | parameterised | bumphunt",
    ),
    reference: Path | None = typer.Option(
        None,
        "--reference",
        help="Labelled SM reference MC (knn, autoencoder, parameterised; cwola, cathode: "
        "corrects the sculpting).",
    ),
    n_estimators: int = typer.Option(200, "--trees", help="Trees of the isolation forest."),
    max_samples: int = typer.Option(256, "--max-samples", help="Events per tree."),
    keep: float = typer.Option(
        0.1, "--keep", help="Top-scored fraction sent to the bump hunt (all but bumphunt)."
    ),
    features: str | None = typer.Option(
        None,
        "--features",
        help="Comma-separated columns (isolation forest; default: PRI_/DER_/NEW_ without φ).",
    ),
    seed: int = typer.Option(2019, min=0, help="Seed of the method."),
) -> None:
    """Anomaly score of every event (higher = more anomalous), and a bump hunt of the selected."""
    import numpy as np
    import pandas as pd

    from rediscovery.anomaly.outliers import IsolationForestConfig, isolation_forest_scores
    from rediscovery.anomaly.plots import plot_score_distribution, plot_spectrum
    from rediscovery.anomaly.registry import NEEDS_REFERENCE
    from rediscovery.core.errors import InputError
    from rediscovery.core.files import check_output, write_json, write_parquet
    from rediscovery.core.plotting import savefig
    from rediscovery.higgs.events.io import read_events
    from rediscovery.higgs.schema import EVENT_ID

    if not 0 < keep <= 1:
        raise ConfigError(f"--keep {keep}: expected a fraction in (0, 1]")
    try:
        cfg = IsolationForestConfig(n_estimators=n_estimators, max_samples=max_samples, seed=seed)
    except ConfigError as exc:
        msg = str(exc)
        for name, option in _OPTIONS.items():
            msg = msg.replace(name, option, 1) if msg.startswith(name) else msg
        raise ConfigError(msg) from exc
    options = {
        "isolation-forest": {"config": cfg, "keep": keep},
        "knn": {"keep": keep, "seed": seed},
        "autoencoder": {"keep": keep, "seed": seed},
        "cwola": {"keep": keep, "seed": seed, "progress": True},
        "cathode": {"keep": keep, "seed": seed, "progress": True},
        "parameterised": {"keep": keep, "seed": seed, "progress": True},
        "bumphunt": {},
    }
    impl = _method(method, options.get(method, {}))
    if method in NEEDS_REFERENCE and reference is None:
        raise ConfigError(
            f"--method {method} learns the Standard Model from a reference "
            "sample: give --reference FILE (reference.parquet of "
            "`rediscovery anomaly simulate`)"
        )
    check_output(out, "dir")
    cols = None
    if features is not None:
        cols = [c.strip() for c in features.split(",") if c.strip()]
        if not cols:
            raise ConfigError(f"--features {features!r}: expected comma-separated column names")
    df = read_events(events, require_primaries=False)
    ref = read_events(reference, require_primaries=False) if reference is not None else None
    try:
        if method == "isolation-forest" and cols is not None:
            res = isolation_forest_scores(df, cfg, features=cols)
            scores_arr, summary, bump = res.scores["anomaly_score"].to_numpy(), res.summary, None
        else:
            result = impl.fit_score(df, ref)
            scores_arr, summary, bump = result.scores, result.summary, result.bump
    except InputError as exc:
        raise InputError(str(exc), path=events) from exc
    order = np.argsort(-scores_arr, kind="stable")
    rank = np.empty(len(scores_arr), dtype=np.int64)
    rank[order] = np.arange(1, len(scores_arr) + 1)
    scores = pd.DataFrame({"anomaly_score": scores_arr, "rank": rank})
    if EVENT_ID in df.columns:
        scores.insert(0, EVENT_ID, df[EVENT_ID].to_numpy())
    summary = {**summary, "method": method, "n_events": len(df)}
    if bump is not None:
        summary["bump"] = bump.summary()
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(scores, out / "scores.parquet")
    write_json(out / "anomaly.json", summary)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    plot_score_distribution(scores["anomaly_score"], ax=ax)
    savefig(fig, out / "scores.png")
    written = "scores.parquet, anomaly.json, scores.png"
    if bump is not None:
        fig, ax = plt.subplots(figsize=(6.4, 4.8))
        plot_spectrum(bump, ax=ax)
        savefig(fig, out / "spectrum.png")
        written += ", spectrum.png"
        b = summary["bump"]
        typer.echo(
            f"bump hunt: local Z {b['z_local']:.2f} in [{b['window'][0]:.0f}, "
            f"{b['window'][1]:.0f}] GeV (mass estimate {b['mass']:.0f} GeV), global p "
            f"{b['p_global']:.3f}"
        )
    n_feat = len(summary.get("features", []))
    typer.echo(
        f"{method}: scored {len(df)} events"
        + (f" on {n_feat} features" if n_feat else "")
        + f" ({summary['seconds']:.1f} s); wrote {out}/{written}"
    )


@app.command("score")
def score_cmd(
    runs: list[Path] = typer.Argument(..., help="Output folders of `anomaly run`."),
    data: Path = typer.Option(..., "--data", help="data.parquet of `anomaly simulate`."),
    truth: Path = typer.Option(..., "--truth", help="truth.json of `anomaly simulate`."),
    out: Path | None = typer.Option(None, "--out", help="Write the table as CSV here."),
    idealised: bool = typer.Option(
        True, "--idealised/--no-idealised", help="Also train the idealised (supervised) detector."
    ),
) -> None:
    """Score methods against the hidden truth: SIC, AUC (and the idealised detector's), Z, mass."""
    import numpy as np
    import pandas as pd

    from rediscovery.anomaly.scoring import idealised_scores, score_method, sic_curve
    from rediscovery.core.errors import InputError
    from rediscovery.core.files import read_json_mapping, write_text
    from rediscovery.higgs.events.io import read_events
    from rediscovery.higgs.schema import EVENT_ID

    t = read_json_mapping(truth)
    if "signal_event_ids" not in t:
        raise InputError(
            "has no 'signal_event_ids'; expected truth.json of `rediscovery anomaly simulate`",
            path=truth,
        )
    df = read_events(data, require_primaries=False)
    is_signal = np.isin(df[EVENT_ID].to_numpy(), t["signal_event_ids"])
    if not is_signal.any():
        raise InputError(
            "no injected signal (signal 'none' or strength 0): nothing to score "
            "against; look at the bump hunt's p_global in anomaly.json instead",
            path=truth,
        )
    rows = []
    if idealised:
        s = idealised_scores(df, is_signal)
        c = sic_curve(s, is_signal)
        rows.append({"method": "idealised (supervised)", "auc": c.auc, "sic_max": c.sic_max})
    for run in runs:
        scores_path = run / "scores.parquet"
        if not scores_path.exists():
            raise InputError(
                "expected scores.parquet of `rediscovery anomaly run`", path=scores_path
            )
        sc = pd.read_parquet(scores_path)
        summary = read_json_mapping(run / "anomaly.json")
        if len(sc) != len(df) or not np.array_equal(
            sc[EVENT_ID].to_numpy(), df[EVENT_ID].to_numpy()
        ):
            raise InputError(
                f"{len(sc)} scored events whose EventId differ from the "
                f"{len(df)} events of {data}; expected a run on that file",
                path=scores_path,
            )
        rows.append(score_method(sc["anomaly_score"].to_numpy(), is_signal, summary, t))
    table = pd.DataFrame(rows)
    if out is not None:
        write_text(out, table.to_csv(index=False))
    typer.echo(
        f"hidden: {t['signal']} at {t.get('mass') or 0:.0f} GeV, {t['n_signal']} events "
        f"(inclusive S/sqrt(B) {t['inclusive_s_over_sqrt_b']:.2f})"
    )
    typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))

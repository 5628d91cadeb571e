"""``rediscovery higgs simulate`` / ``validate-sim``: the events stage."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.core.files import TABLE_FORMATS, check_output, output_format

app = typer.Typer()
log = logging.getLogger(__name__)


def _summary_table(df, title: str) -> Table:
    """Events and summed weights per process and per class."""
    from rediscovery.higgs.schema import LABEL, PROCESS, WEIGHT

    table = Table(title=title)
    table.add_column("process / class")
    table.add_column("events", justify="right")
    table.add_column("Σ weights", justify="right")
    if PROCESS in df.columns:
        for proc, group in df.groupby(PROCESS, observed=True):
            table.add_row(str(proc), f"{len(group):,}", f"{group[WEIGHT].sum():,.3f}")
    if LABEL in df.columns:
        for lab, name in ((1, "signal"), (0, "background")):
            sub = df[df[LABEL] == lab]
            table.add_row(f"[bold]{name}[/bold]", f"{len(sub):,}", f"{sub[WEIGHT].sum():,.3f}")
    table.add_row("[bold]total[/bold]", f"{len(df):,}", f"{df[WEIGHT].sum():,.3f}")
    return table


@app.command("simulate")
def simulate(
    out: Path = typer.Option(..., "--out", help="Output events file (.parquet or .csv)."),
    events: int = typer.Option(800_000, "--events", min=1, help="Number of selected events."),
    seed: int = typer.Option(..., "--seed", min=0, help="Random seed."),
    mu: float = typer.Option(1.0, "--mu", min=0.0, help="Signal strength (scales signal)."),
    fmt: str | None = typer.Option(
        None, "--format", help="parquet or csv (HiggsML CSV, -999.0 = undefined); "
        "default from the suffix."
    ),
    pseudo_data: bool = typer.Option(
        False, "--pseudo-data", help="Write unlabelled Poisson 'observed' data + truth.json."
    ),
    lumi: float | None = typer.Option(
        None, "--lumi", help="Luminosity factor of --pseudo-data (default 1 = HiggsML); only "
        "with --pseudo-data."
    ),
    nuisance: list[str] = typer.Option(
        [], "--nuisance", help="NAME=VALUE (tes, jes, soft_met, bkg_scale, ttbar_scale, "
        "diboson_scale); repeatable."
    ),
    draw_nuisances: bool = typer.Option(
        False, "--draw-nuisances", help="With --pseudo-data: draw hidden nuisance values from "
        "their priors (recorded only in truth.json)."
    ),
    threads: int | None = typer.Option(None, "--threads", min=1, help="Generation threads."),
) -> None:
    """Simulate H→ττ lepton-hadron events (HiggsML primary schema) or pseudo-data."""
    from rediscovery.core.files import write_json
    from rediscovery.higgs.events.io import write_events
    from rediscovery.higgs.events.simulate import simulate_events, simulate_pseudo_data

    check_output(out, "file", suffixes=TABLE_FORMATS)
    fmt = output_format(out, fmt)
    nuisances = _parse_nuisances(nuisance)
    console = Console()
    if lumi is not None and not pseudo_data:
        raise InputError(f"--lumi {lumi:g} is used only with --pseudo-data (labelled events "
                         "carry cross-section weights at the HiggsML luminosity: scale the "
                         "weights instead)")
    if pseudo_data:
        check_output(out.parent / "truth.json", "file", option="--out (truth.json beside it)")
        lumi = 1.0 if lumi is None else lumi
        if not (math.isfinite(lumi) and lumi > 0):
            raise ConfigError(f"--lumi {lumi:g}: expected a positive luminosity factor "
                              "(1 = HiggsML 2012)")
        if draw_nuisances and nuisances:
            raise ConfigError("--draw-nuisances and --nuisance exclude each other; give one")
        with console.status("simulating pseudo-data …"):
            df, truth = simulate_pseudo_data(
                lumi_factor=lumi, mu=mu, seed=seed, n_threads=threads,
                nuisances="draw" if draw_nuisances else nuisances,
            )
        write_events(df, out, format=fmt)
        truth_path = out.parent / "truth.json"
        write_json(truth_path, truth)
        # the per-process counts, μ and nuisances stay in truth.json: print nothing that
        # would unblind the analysis
        console.print(f"pseudo-data: {truth['n_events']:,} events (unit weights, no labels) "
                      f"written to {out}")
        console.print(f"truth (never read by the analysis): {truth_path}")
        return
    if draw_nuisances:
        raise ConfigError("--draw-nuisances needs --pseudo-data (labelled events are nominal "
                         "unless --nuisance is given)")
    with console.status(f"simulating {events:,} events …"):
        df = simulate_events(events, seed=seed, mu=mu, n_threads=threads, nuisances=nuisances)
    write_events(df, out, format=fmt)
    console.print(_summary_table(df, f"simulated events: {out}"))


def _parse_nuisances(items: list[str]) -> dict[str, float]:
    from rediscovery.higgs.events.simulate import check_nuisance

    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            number = float(value)
        except ValueError:
            raise InputError(f"--nuisance {item!r}: expected NAME=VALUE, e.g. tes=1.02") from None
        out[name.strip()] = check_nuisance(name.strip(), number, source="--nuisance")
    return out


def _default_reference() -> Path:
    root = os.environ.get("REDISCOVERY_REFERENCE_DATA")
    if not root:
        raise InputError(
            "no reference data: pass --reference DIR (the folder holding train_sml_sig.csv "
            "and train_sml_bg.csv) or set REDISCOVERY_REFERENCE_DATA"
        )
    return Path(root) / "higgsml"


@app.command("validate-sim")
def validate_sim(
    out: Path = typer.Option(..., "--out", help="Output folder for plots and tables."),
    events: int = typer.Option(200_000, "--events", min=1000, help="Simulated events."),
    seed: int = typer.Option(1, "--seed", min=0, help="Random seed of the simulation."),
    reference: Path | None = typer.Option(
        None, "--reference",
        help="Folder with train_sml_{sig,bg}.csv (default $REDISCOVERY_REFERENCE_DATA/higgsml).",
    ),
) -> None:
    """Compare the simulation with the real HiggsML sample (shapes, KS distances, jets)."""
    import matplotlib

    matplotlib.use("Agg")

    from rediscovery.core.files import atomic_path, write_json
    from rediscovery.core.plotting import savefig
    from rediscovery.higgs.events.plots import plot_validation_grid
    from rediscovery.higgs.events.simulate import simulate_events
    from rediscovery.higgs.events.validation import (
        compare_to_reference,
        jet_multiplicity_fractions,
        load_reference,
        peak_position,
        visible_mass,
    )
    from rediscovery.higgs.schema import LABEL, WEIGHT

    check_output(out, "dir")
    ref = load_reference(reference if reference is not None else _default_reference())
    console = Console()
    with console.status(f"simulating {events:,} events …"):
        sim = simulate_events(events, seed=seed)
    table = compare_to_reference(sim, ref)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "ks.csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.5g")
    jets_sim, jets_ref = jet_multiplicity_fractions(sim), jet_multiplicity_fractions(ref)
    peaks = {}
    for lab, name in ((1, "signal"), (0, "background")):
        s, r = sim[sim[LABEL] == lab], ref[ref[LABEL] == lab]
        peaks[name] = {
            "simulation": peak_position(visible_mass(s), s[WEIGHT]),
            "real": peak_position(visible_mass(r), r[WEIGHT]),
        }
    ks_by_class: dict[str, dict[str, float]] = {
        str(name): dict(zip(g["feature"], g["ks"], strict=True))
        for name, g in table.groupby("class")
    }
    summary = {
        "events": events,
        "seed": seed,
        "ks": ks_by_class,
        "jet_fractions": {
            "simulation": {k: [float(x) for x in v] for k, v in jets_sim.iterrows()},
            "real": {k: [float(x) for x in v] for k, v in jets_ref.iterrows()},
        },
        "mass_vis_peak_GeV": peaks,
    }
    write_json(out / "validation.json", summary)
    written = []
    for lab, name in ((1, "signal"), (0, "background")):
        fig = plot_validation_grid(sim, ref, lab, ks=ks_by_class[name])
        path = out / f"validation_{name}.png"
        savefig(fig, path, dpi=110, bbox_inches=None)
        written.append(path)

    rt = Table(title="weighted Kolmogorov–Smirnov distance, simulation vs HiggsML sample")
    rt.add_column("feature")
    rt.add_column("signal", justify="right")
    rt.add_column("background", justify="right")
    for feat, ks_sig in ks_by_class["signal"].items():
        rt.add_row(feat, f"{ks_sig:.3f}", f"{ks_by_class['background'][feat]:.3f}")
    console.print(rt)
    jt = Table(title="jet multiplicity fractions (weighted)")
    jt.add_column("class")
    for k in ("0", "1", "2", "≥3"):
        jt.add_column(k, justify="right")
    for name in ("signal", "background"):
        for src, frame in (("sim", jets_sim), ("real", jets_ref)):
            jt.add_row(f"{name} ({src})", *(f"{x:.3f}" for x in frame.loc[name]))
    console.print(jt)
    for name, pk in peaks.items():
        console.print(f"visible-mass peak, {name}: simulation {pk['simulation']:.1f} GeV, "
                      f"real {pk['real']:.1f} GeV")
    console.print("written: " + ", ".join(str(p) for p in [out / "ks.csv",
                                                           out / "validation.json", *written]))

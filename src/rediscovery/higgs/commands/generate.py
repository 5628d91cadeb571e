"""``rediscovery higgs generate train|sample|validate``: the generative fast simulation.

``train`` simulates events at a grid of detector settings and trains a conditional generator
(a flow folder, optionally registered in the model database with its card); ``sample``
generates an events table at given settings; ``validate`` compares generated with freshly
simulated events (per-process classifier two-sample AUC, 1-D KS p-values, plots).
"""

from __future__ import annotations

import itertools
import logging
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from rediscovery.core.errors import ConfigError
from rediscovery.core.files import check_output, write_json

if TYPE_CHECKING:
    from rediscovery.higgs.generate import EventFlow

app = typer.Typer()
generate_app = typer.Typer(
    help="Generative fast simulation: train a conditional generator of events on the "
    "simulator, sample it, validate it against the simulator.",
    no_args_is_help=True,
)
app.add_typer(generate_app, name="generate")
log = logging.getLogger(__name__)

_MODEL_HELP = (
    "A generator folder (flow.json + flow.pt, from 'higgs generate train') or the name of a "
    "generator in the model database ('rediscovery models list')."
)


def open_generator(model: str, registry: Path | None = None) -> EventFlow:
    """The :class:`~rediscovery.higgs.generate.EventFlow` of a generator folder or of a model
    database entry named ``model``.

    Raises
    ------
    ConfigError
        ``model`` is neither a generator folder nor a generator in the database.
    """
    from rediscovery.higgs.generate.io import FLOW_KIND, load_flow

    path = Path(model)
    if path.is_dir():
        return load_flow(path)
    from rediscovery.models import load

    entry = load(model, registry=registry)
    if entry.card.kind != FLOW_KIND:
        raise ConfigError(f"model {model!r} is a {entry.card.kind}, not an event generator")
    return entry.model


def _command_line(ctx: typer.Context) -> str:
    """The command as typed, rebuilt from its parsed parameters (for the model card)."""
    words = [ctx.command_path]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value is None or value == [] or param.param_type_name == "argument":
            if param.param_type_name == "argument" and value is not None:
                words.append(shlex.quote(str(value)))
            continue
        flag = param.opts[0]
        if isinstance(value, bool):
            flag = flag if value else (param.secondary_opts or [f"--no-{flag[2:]}"])[0]
            if value or param.secondary_opts:
                words.append(flag)
            continue
        for v in value if isinstance(value, (list, tuple)) else [value]:
            words += [flag, shlex.quote(str(v))]
    return " ".join(words)


def _nuisances(tes: float | None, jes: float | None, soft_met: float | None) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in (("tes", tes), ("jes", jes), ("soft_met", soft_met))
        if v is not None
    }


@generate_app.command("train")
def train_cmd(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Generator folder to write (flow.json, flow.pt)."),
    events: int = typer.Option(
        60_000, "--events", min=100, help="Simulated training events, split over the points."
    ),
    tes: list[float] = typer.Option(
        [0.97, 1.03], "--tes", help="τ energy scale of a training point (repeatable)."
    ),
    jes: list[float] = typer.Option([1.0], "--jes", help="Jet energy scale (repeatable)."),
    soft_met: list[float] = typer.Option(
        [0.0], "--soft-met", help="Soft MET width [GeV] (repeatable)."
    ),
    process: list[str] = typer.Option(
        [], "--process", help="Train on this process only (repeatable; default all)."
    ),
    architecture: str = typer.Option(
        "maf",
        "--architecture",
        "--arch",
        help="maf (affine flow) | nsf (spline flow) | fm (flow matching) | ddpm (diffusion) "
        "| cgan (conditional Wasserstein GAN).",
    ),
    epochs: int = typer.Option(40, "--epochs", min=1, help="Training epochs."),
    transforms: int = typer.Option(
        8,
        "--transforms",
        min=1,
        help="Coupling layers (nsf, maf) or hidden layers (fm, ddpm; cgan: of each network).",
    ),
    hidden: int = typer.Option(64, "--hidden", min=1, help="Width of the hidden layers."),
    met: str = typer.Option(
        "balance", "--met", help="E_T^miss learnt as balance (the total pT) | arc (tau-lepton arc)."
    ),
    reweight: bool = typer.Option(
        True,
        "--reweight/--no-reweight",
        help="Fit classifiers that weight the generated events like the simulated ones.",
    ),
    seed: int = typer.Option(1, "--seed", min=0, help="Seed of the simulation and training."),
    name: str | None = typer.Option(
        None, "--name", help="Also register the generator in the model database under this name."
    ),
    registry: Path | None = typer.Option(None, "--registry", help="Model database folder."),
    force: bool = typer.Option(False, "--force", help="Replace a registered model of that name."),
) -> None:
    """Simulate events at every combination of the --tes/--jes/--soft-met values and train a
    generator conditioned on the process and these nuisances."""
    from rediscovery.higgs.generate import FlowConfig, simulate_training_set, train_flow
    from rediscovery.higgs.generate.io import save_flow

    check_output(out, "dir")
    cfg = FlowConfig(
        architecture=architecture,
        epochs=epochs,
        transforms=transforms,
        hidden=hidden,
        seed=seed,
        met=met,
        reweight=reweight,
    )
    points = [
        {"tes": t, "jes": j, "soft_met": s} for t, j, s in itertools.product(tes, jes, soft_met)
    ]
    data = simulate_training_set(events, points, seed=seed, processes=process or None)
    flow = train_flow(data, cfg)
    save_flow(flow, out)
    info = flow.training_info_
    typer.echo(
        f"{architecture} generator trained on {info['n_train']} events at "
        f"{len(points)} point(s) in {info['seconds']:.0f} s (best epoch "
        f"{info['best_epoch']}): {out}"
    )
    if name is not None:
        from rediscovery.models import import_model

        entry = import_model(
            out, name=name, registry=registry, force=force, command=_command_line(ctx)
        )
        typer.echo(f"registered as {entry.card.name!r}: {entry.folder}")


@generate_app.command("sample")
def sample_cmd(
    model: str = typer.Argument(..., metavar="MODEL", help=_MODEL_HELP),
    out: Path = typer.Option(..., "--out", help="Events file (.parquet or .csv)."),
    events: int = typer.Option(100_000, "--events", min=1, help="Events to generate."),
    tes: float | None = typer.Option(None, "--tes", help="τ energy scale (default nominal)."),
    jes: float | None = typer.Option(None, "--jes", help="Jet energy scale (default nominal)."),
    soft_met: float | None = typer.Option(
        None, "--soft-met", help="Soft MET width [GeV] (default nominal)."
    ),
    seed: int = typer.Option(1, "--seed", min=0, help="Seed of the generation."),
    extrapolate: bool = typer.Option(
        False, "--extrapolate", help="Allow settings outside the training range."
    ),
    registry: Path | None = typer.Option(None, "--registry", help="Model database folder."),
) -> None:
    """Generate an events table (the simulator's columns; weights sum to each process's
    yield at these settings)."""
    from rediscovery.higgs.events.io import write_events

    check_output(out, "file")
    flow = open_generator(model, registry)
    df = flow.sample(
        events, seed=seed, nuisances=_nuisances(tes, jes, soft_met), extrapolate=extrapolate
    )
    write_events(df, out)
    typer.echo(f"{len(df)} events: {out}")


@generate_app.command("validate")
def validate_cmd(
    ctx: typer.Context,
    model: str = typer.Argument(..., metavar="MODEL", help=_MODEL_HELP),
    out: Path = typer.Option(..., "--out", help="Folder for validation.json, ks.csv and plots."),
    events: int = typer.Option(
        40_000, "--events", min=200, help="Simulated (and as many generated) events."
    ),
    tes: float | None = typer.Option(None, "--tes", help="τ energy scale (default nominal)."),
    jes: float | None = typer.Option(None, "--jes", help="Jet energy scale (default nominal)."),
    soft_met: float | None = typer.Option(
        None, "--soft-met", help="Soft MET width [GeV] (default nominal)."
    ),
    seed: int = typer.Option(
        2, "--seed", min=0, help="Seed of the simulation, generation and classifier."
    ),
    extrapolate: bool = typer.Option(
        False, "--extrapolate", help="Allow settings outside the training range."
    ),
    plots: bool = typer.Option(
        True, "--plots/--no-plots", help="Per-process feature plots (features_<process>.png)."
    ),
    registry: Path | None = typer.Option(None, "--registry", help="Model database folder."),
) -> None:
    """Two-sample tests of generated against simulated events, per process: the AUC of a
    gradient-boosted classifier separating them (0.5: indistinguishable), KS p-values per
    feature. Writes validation.json (read into the model card by 'models import' when it is
    in the generator folder), ks.csv and plots."""
    import numpy as np
    import pandas as pd

    from rediscovery.higgs.events.simulate import NUISANCE_DEFAULTS, simulate_events
    from rediscovery.higgs.generate.flow import equal_weight_count_shares
    from rediscovery.higgs.generate.validation import compare_processes, ks_table
    from rediscovery.higgs.schema import PRI_COLUMNS

    check_output(out, "dir")
    flow = open_generator(model, registry)
    given = _nuisances(tes, jes, soft_met)
    flow.nuisance_values(given, extrapolate=extrapolate)  # refuse before simulating
    point = {k: given.get(k, NUISANCE_DEFAULTS[k]) for k in ("tes", "jes", "soft_met")}
    sim = simulate_events(
        events,
        seed=np.random.default_rng([seed, 1]),
        nuisances=point,
        processes=flow.processes,
        count_shares=equal_weight_count_shares(flow.processes),  # one weight per process
    )
    shares = sim["Process"].astype(str).value_counts(normalize=True).to_dict()
    gen = flow.sample(events, seed=seed, nuisances=given, shares=shares, extrapolate=extrapolate)
    weighted = flow.reweighter_ is not None  # generated events of unequal weights
    table = compare_processes(sim, gen, seed=seed, weight_column="Weight" if weighted else None)
    ks = []
    for p in table["process"]:
        k = ks_table(sim[sim["Process"] == p], gen[gen["Process"] == p])
        k.insert(0, "process", p)
        ks.append(k)
    ks_all = pd.concat(ks, ignore_index=True)
    out.mkdir(parents=True, exist_ok=True)
    from rediscovery.core.files import atomic_path

    with atomic_path(out / "ks.csv") as tmp:
        ks_all.to_csv(tmp, index=False)
    result = {
        "nuisances": point,
        "events": events,
        "seed": seed,
        "architecture": flow.config.architecture,
        "weighted": weighted,
        "two_sample_auc": {r.process: round(r.auc, 4) for r in table.itertuples()},
        "two_sample_auc_err": {r.process: round(r.auc_err, 4) for r in table.itertuples()},
        "min_ks_pvalue": {r.process: r.min_ks_pvalue for r in table.itertuples()},
        "worst_feature": {r.process: r.worst_feature for r in table.itertuples()},
        "command": _command_line(ctx),
    }
    write_json(out / "validation.json", result)
    if plots:
        from rediscovery.core.plotting import savefig
        from rediscovery.higgs.generate.plots import plot_features

        for r in table.itertuples():
            fig = plot_features(
                sim[sim["Process"] == r.process],
                gen[gen["Process"] == r.process],
                [c for c in PRI_COLUMNS if c != "PRI_tau_phi"],
                title=f"{r.process} at tes={point['tes']:g}, jes={point['jes']:g}, "
                f"soft_met={point['soft_met']:g}: two-sample AUC {r.auc:.3f} ± {r.auc_err:.3f}",
                label=flow.config.architecture,
            )
            savefig(fig, out / f"features_{r.process}.png")
    for r in table.itertuples():
        typer.echo(
            f"{r.process:8s} n={r.n:6d}  AUC {r.auc:.3f} ± {r.auc_err:.3f}  "
            f"min KS p {r.min_ks_pvalue:.2g} ({r.worst_feature})"
        )
    typer.echo(f"written: {out / 'validation.json'}")

"""``rediscovery higgs alter``: the systematics stage's commands."""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from rediscovery.core.errors import ConfigError
from rediscovery.core.executor import check_scheduler
from rediscovery.core.files import (
    TABLE_FORMATS,
    atomic_path,
    check_output,
    output_format,
    read_json,
    write_json,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from rediscovery.higgs.systematics.training import ClassifierScorer

app = typer.Typer()
log = logging.getLogger(__name__)


@app.command("alter")
def alter(
    input_path: Path = typer.Argument(..., metavar="IN", help="Events file (Parquet or CSV)."),
    output_path: Path = typer.Argument(..., metavar="OUT",
                                       help="Altered events file (.parquet, or .csv)."),
    tes: float = typer.Option(1.0, "--tes", help="Tau energy scale factor."),
    jes: float = typer.Option(1.0, "--jes", help="Jet energy scale factor."),
    soft_met: float = typer.Option(0.0, "--soft-met", help="Soft MET term width per axis [GeV]."),
    ttbar_scale: float = typer.Option(None, "--ttbar-scale", help="ttbar weight factor."),
    diboson_scale: float = typer.Option(None, "--diboson-scale", help="Diboson weight factor."),
    bkg_scale: float = typer.Option(None, "--bkg-scale", help="All-background weight factor."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the soft-MET draws."),
    derived: bool = typer.Option(True, "--derived/--no-derived",
                                 help="Recompute the DER_/NEW_ columns present in IN."),
) -> None:
    """Apply systematic shifts to an events file (Fair Universe challenge conventions).

    Writes OUT and OUT.json beside it (values applied, events and jets removed by the
    re-applied selection).
    """
    from rediscovery.higgs.events.io import read_events, write_events
    from rediscovery.higgs.events.simulate import check_nuisance
    from rediscovery.higgs.systematics.variations import apply_systematics

    given = {"tes": tes, "jes": jes, "soft_met": soft_met, "ttbar_scale": ttbar_scale,
             "diboson_scale": diboson_scale, "bkg_scale": bkg_scale}
    for name, value in given.items():
        if value is not None:
            check_nuisance(name, value, source="--" + name.replace("_", "-"))
    check_output(output_path, "file", option="OUT", suffixes=TABLE_FORMATS)
    meta_path = output_path.with_name(output_path.name + ".json")
    check_output(meta_path, "file", option="OUT (its .json beside it)")
    fmt = output_format(output_path, option="OUT")
    df = read_events(input_path)
    out = apply_systematics(df, tes=tes, jes=jes, soft_met=soft_met, ttbar_scale=ttbar_scale,
                            diboson_scale=diboson_scale, bkg_scale=bkg_scale, seed=seed,
                            recompute_derived=derived)
    write_events(out, output_path, format=fmt)
    meta = {"input": str(input_path), "output": str(output_path), "seed": seed, **out.attrs}
    write_json(meta_path, meta)
    typer.echo(f"{output_path}: {len(out)} events ({out.attrs['n_removed']} removed by the "
               f"re-applied selection, {out.attrs['n_jets_removed']} jets dropped)")


def _save_fig(ax: Axes, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from rediscovery.core.plotting import savefig

    fig = ax.figure
    if not isinstance(fig, Figure):  # a SubFigure cannot be saved on its own
        raise TypeError(f"cannot save {path}: the axes are on a {type(fig).__name__}, "
                        "not a top-level Figure")
    fig.tight_layout()
    savefig(fig, path, dpi=120, bbox_inches=None)


def _scorer_for(model_dir: Path) -> tuple[ClassifierScorer, list[str]]:
    from rediscovery.higgs.classifiers import load_model
    from rediscovery.higgs.systematics.training import ClassifierScorer

    model = load_model(model_dir)
    feats = list(model.features_ or model.features or [])
    return ClassifierScorer(model=model, features=feats), feats


def _with_features(df: pd.DataFrame, feats: list[str]) -> pd.DataFrame:
    """Add the DER_/NEW_ columns a model needs (DER_mass_MMC only if it is one of them)."""
    from rediscovery.higgs.features.derived import add_derived_features
    from rediscovery.higgs.features.new import add_new_features

    need_der = [c for c in feats if c.startswith("DER_") and c not in df.columns]
    if need_der:
        df = add_derived_features(df, mmc="DER_mass_MMC" in need_der)
    need_new = [c for c in feats if c.startswith("NEW_") and c not in df.columns]
    if need_new:
        df = add_new_features(df, names=need_new)
    return df


@app.command("templates")
def templates_cmd(
    events: Path = typer.Option(..., "--events", help="Labelled, weighted MC events file."),
    model_dir: Path = typer.Option(..., "--model", help="Saved classifier directory."),
    out: Path = typer.Option(..., "--out", help="Output directory."),
    max_bins: int = typer.Option(10, "--max-bins", min=1, help="Maximum number of score bins."),
    min_bkg: float = typer.Option(100.0, "--min-bkg", min=0.0,
                                  help="Minimum expected background/bin."),
    nuisances: str = typer.Option("tes,jes,soft_met,ttbar_scale,diboson_scale,bkg_scale",
                                  "--nuisances", help="Comma-separated nuisances to carry."),
    weight_scale: float = typer.Option(1.0, "--weight-scale",
                                       help="Factor on MC weights (luminosity ratio)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the soft-MET terms."),
) -> None:
    """Score templates at shifted nuisances (±1σ and a grid) → templates.json and plots."""
    import numpy as np

    from rediscovery.core.errors import InputError
    from rediscovery.higgs.events.io import read_events
    from rediscovery.higgs.stats import choose_binning
    from rediscovery.higgs.systematics import build_templates
    from rediscovery.higgs.systematics import plots as plots_syst
    from rediscovery.higgs.systematics.templates import NORM_NUISANCES, SHAPE_NUISANCES

    if not (math.isfinite(weight_scale) and weight_scale > 0):
        raise InputError(f"--weight-scale {weight_scale}: expected a positive factor on the MC "
                         "weights (a luminosity ratio)")
    names = [n.strip() for n in nuisances.split(",") if n.strip()]
    known = (*SHAPE_NUISANCES, *NORM_NUISANCES)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"--nuisances {nuisances!r}: unknown {', '.join(unknown)}; choose "
                          f"among {', '.join(known)}")
    check_output(out, "dir")
    scorer, feats = _scorer_for(model_dir)
    df = _with_features(read_events(events), feats)
    s = scorer(df)
    sig = df["Label"].to_numpy() == 1
    w = df["Weight"].to_numpy() * weight_scale
    binning = choose_binning(s[sig], w[sig], s[~sig], w[~sig], min_bkg=min_bkg,
                             max_bins=max_bins, score_range=(0.0, 1.0))
    t = build_templates(df, scorer, binning.edges, nuisances=names, seed=seed,
                        weight_scale=weight_scale)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "templates.json", {**t.to_dict(), "model": str(model_dir),
                                        "events": str(events), "seed": seed,
                                        "z_asimov_no_syst": float(binning.z_asimov)})
    for n in t.shifted:
        for smp in ("signal", *t.backgrounds[:1]):
            _save_fig(plots_syst.plot_templates(t, n, smp), out / f"templates_{n}_{smp}.png")
    typer.echo(f"{out / 'templates.json'}: {binning.n_bins} bins, nuisances {list(t.nuisances)}"
               f", expected Z without systematics {binning.z_asimov:.2f}"
               f" (total signal {float(np.sum(t.nominal['signal'])):.1f})")


@app.command("syst-fit")
def syst_fit_cmd(
    templates: Path = typer.Option(..., "--templates", help="templates.json."),
    observed: Path = typer.Option(..., "--observed", help="Observed (pseudo-)data events."),
    model_dir: Path = typer.Option(..., "--model", help="Saved classifier directory."),
    out: Path = typer.Option(..., "--out", help="Output directory."),
    backend: str = typer.Option("minuit", "--backend", help="minuit or pyhf."),
    stat_only: bool = typer.Option(False, "--stat-only", help="Fit without nuisances."),
) -> None:
    """Fit μ with nuisance parameters: fit.json (pulls, impacts, breakdown) and plots."""
    import numpy as np

    from rediscovery.core.errors import InputError
    from rediscovery.higgs.events.io import read_events
    from rediscovery.higgs.stats import BACKENDS
    from rediscovery.higgs.systematics import Templates, build_model, fit_with_systematics
    from rediscovery.higgs.systematics import plots as plots_syst

    if backend not in BACKENDS:
        raise ConfigError(f"--backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    check_output(out, "dir")
    t_data = read_json(templates, what="templates.json (--templates)")
    try:
        t = Templates.from_dict(t_data)
    except InputError as exc:
        if exc.path is not None:
            raise
        raise InputError(f"{exc}; expected a templates.json written by 'rediscovery higgs "
                         "templates'", path=templates) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"not a templates.json written by 'rediscovery higgs templates' "
                         f"({type(exc).__name__}: {exc})", path=templates) from None
    scorer, feats = _scorer_for(model_dir)
    data = _with_features(read_events(observed), feats)
    s = scorer(data)
    w = data["Weight"].to_numpy() if "Weight" in data.columns else np.ones(len(data))
    idx = np.clip(np.searchsorted(t.edges, s, side="right") - 1, 0, t.edges.size - 2)
    counts = np.bincount(idx, weights=w, minlength=t.edges.size - 1)
    model = build_model(t, nuisances=() if stat_only else None)
    res = fit_with_systematics(model, counts, backend=backend)
    d = res.to_dict()
    d["observed"] = counts.tolist()
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "fit.json", d)
    if d["nuisances"]:
        _save_fig(plots_syst.plot_impacts(d), out / "impacts.png")
    lo, hi = d["mu_68"]
    typer.echo(f"mu_hat = {d['mu_hat']:.4f}  68% [{lo:.4f}, {hi:.4f}]  "
               f"stat [{d['mu_stat_68'][0]:.4f}, {d['mu_stat_68'][1]:.4f}]  "
               f"converged={d['converged']}")
    for k, v in sorted(d["breakdown"].items(), key=lambda kv: -kv[1]):
        typer.echo(f"  Δμ {k:>14s}: {v:.4f}")


@app.command("challenge")
def challenge_cmd(
    n_pseudo: int = typer.Option(1000, "--n-pseudo", help="Number of pseudo-experiments."),
    out: Path = typer.Option(..., "--out", help="Output directory."),
    methods: str = typer.Option(
        "nominal", "--method", "--training",
        help="Comma-separated inference methods: nominal (classifier on nominal MC), augmented "
             "(MC altered with prior draws), parameterised (f(x; α), Baldi et al. 2016: "
             "templates on an α grid, data re-scored at the profiled α), pivot (torch "
             "classifier with an adversary on the nuisances, Louppe et al. 2017), inferno "
             "(torch network with a softmax over the bins trained on the expected profiled "
             "variance of μ, de Castro & Dorigo 2019)."),
    n_train: int = typer.Option(50000, "--n-train", help="Simulated training events."),
    n_templates: int = typer.Option(500000, "--n-templates", help="Simulated template events."),
    n_pool: int = typer.Option(200000, "--n-pool", help="Simulated pseudo-data pool events."),
    lumi_factor: float = typer.Option(1.0, "--lumi-factor",
                                      help="Pseudo-data luminosity / HiggsML luminosity."),
    n_estimators: int = typer.Option(100, "--n-estimators", help="BDT trees."),
    pivot_lambda: float = typer.Option(10.0, "--pivot-lambda", min=0.0,
                                       help="pivot: weight λ of the adversary's loss."),
    pool_mc_stat: bool = typer.Option(False, "--pool-mc-stat/--no-pool-mc-stat",
                                      help="Model the pool's MC noise too (γ terms)."),
    morphing: str = typer.Option("code4p", "--morphing",
                                 help="Shape-template morphing: code4p (linear beyond ±1σ), "
                                      "code4 (per-bin factors, exponential beyond ±1σ) or "
                                      "spline (cubic through the templates at α = ±0.5 … ±2)."),
    control_channel: str = typer.Option(
        None, "--control-channel", metavar="FEATURE[,FEATURE]",
        help="nominal/augmented: fit a control channel too, the events of the lowest score "
             "bin(s) histogrammed in FEATURE (e.g. PRI_tau_pt, DER_pt_tot, PRI_met), "
             "nuisances shared; comma-separated features make a grid."),
    control_bins: int = typer.Option(10, "--control-bins", min=2,
                                     help="Bins of the control channel per feature."),
    control_score_bins: int = typer.Option(1, "--control-score-bins", min=1,
                                           help="Lowest score bins forming the control region."),
    seed: int = typer.Option(0, "--seed", min=0, help="Base seed."),
    scheduler: str = typer.Option(None, "--scheduler", help="dask scheduler tcp://HOST:PORT."),
    n_workers: int = typer.Option(None, "--n-workers", help="Local worker processes."),
) -> None:
    """Fair Universe-style evaluation: μ ~ U(0.1, 3), nuisances from priors, fits, score.

    Methods: nominal, augmented, parameterised, pivot, inferno (--method, comma-separated).
    """
    import warnings

    from rediscovery.higgs.stats.model import HISTOSYS_CODES
    from rediscovery.higgs.systematics import TemplateWarning
    from rediscovery.higgs.systematics import challenge as ch
    from rediscovery.higgs.systematics import plots as plots_syst
    from rediscovery.higgs.systematics.catalogue import METHODS

    if not (math.isfinite(lumi_factor) and lumi_factor > 0):
        raise ConfigError(f"--lumi-factor {lumi_factor}: expected a positive luminosity ratio")
    if morphing not in HISTOSYS_CODES:
        raise ConfigError(f"--morphing {morphing!r}: expected one of {', '.join(HISTOSYS_CODES)}")
    chosen = [m.strip() for m in methods.split(",") if m.strip()]
    bad = [m for m in chosen if m not in METHODS]
    if bad or not chosen:
        raise ConfigError(f"--method/--training {methods!r}: unknown method(s) "
                          f"{', '.join(bad) or '(none)'}; choose among {', '.join(METHODS)}")
    control_features = ([f.strip() for f in control_channel.split(",") if f.strip()]
                        if control_channel is not None else [])
    if control_channel is not None and not control_features:
        raise ConfigError(f"--control-channel {control_channel!r}: expected one or more "
                          "comma-separated feature columns")
    no_control = sorted(set(chosen) - {"nominal", "augmented"})
    if control_channel is not None and no_control:
        raise ConfigError(f"--control-channel is implemented for the nominal and augmented "
                          f"methods only, not {', '.join(no_control)}")
    for name, value in (("--n-pseudo", n_pseudo), ("--n-train", n_train),
                        ("--n-templates", n_templates), ("--n-pool", n_pool),
                        ("--n-estimators", n_estimators)):
        if value < 1:
            raise ConfigError(f"{name} {value}: expected an integer >= 1")
    if n_workers is not None and n_workers < 1:
        raise ConfigError(f"--n-workers {n_workers}: expected an integer >= 1")
    check_scheduler(scheduler)
    check_output(out, "dir")
    out.mkdir(parents=True, exist_ok=True)
    train, tmpl, pool = ch.simulated_sets(n_train, n_templates, n_pool, seed=seed)
    summaries, tables = {}, {}
    for method in chosen:
        opts: dict = ({"pivot_lambda": pivot_lambda} if method == "pivot"
                      else {} if method == "inferno"
                      else {"n_estimators": n_estimators, "max_depth": 4})
        if control_features:
            opts.update(control_channel=control_features, control_bins=control_bins,
                        control_score_bins=control_score_bins)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TemplateWarning)
            setup = ch.prepare_setup(train, tmpl, pool, method=method, seed=seed,
                                     lumi_factor=lumi_factor, **opts)
        setup.pool_mc_stat = pool_mc_stat
        if morphing != "code4p":
            setup = dataclasses.replace(setup, inference=dataclasses.replace(
                setup.inference, shape_interpolation=morphing))
        expected = ch.expected_breakdown(setup)
        res = ch.run_challenge(setup, n_pseudo, seed=seed, scheduler=scheduler,
                               n_workers=n_workers)
        with atomic_path(out / f"pseudo_experiments_{method}.csv") as tmp:
            res.table.to_csv(tmp, index=False)
        assert setup.templates is not None
        summaries[method] = {**res.summary, "n_bins": int(setup.templates.edges.size - 1),
                             "template_warnings": len(caught), "expected_breakdown": expected}
        tables[method] = res.table
        _save_fig(plots_syst.plot_mu_hat_vs_true(res.table, "syst"),
                  out / f"mu_hat_vs_true_{method}.png")
        s, st = res.summary["syst"], res.summary["stat"]
        typer.echo(f"{method:>13s}: width {s['width']:.3f} ± {s['width_err']:.3f} coverage "
                   f"{s['coverage']:.3f} ± {s['coverage_err']:.3f} pull {s['pull_mean']:+.2f}"
                   f" / {s['pull_std']:.2f} score {s['score']:.3f} | stat-only width "
                   f"{st['width']:.3f} (ratio {res.summary['width_ratio']:.2f}) | CPU "
                   f"{res.summary.get('cpu_s_per_pseudo', float('nan')):.2f} s/pseudo | failed "
                   f"fits {s['n_failed']} | expected Δμ (Asimov μ=1) total "
                   f"{expected['total']:.3f} stat {expected['stat']:.3f}")
    _save_fig(plots_syst.plot_interval_widths(tables), out / "interval_widths.png")
    write_json(out / "challenge.json", {"n_pseudo": n_pseudo, "seed": seed,
                                        "n_train": n_train, "n_templates": n_templates,
                                        "n_pool": n_pool, "lumi_factor": lumi_factor,
                                        "pool_mc_stat": pool_mc_stat,
                                        "pivot_lambda": pivot_lambda, "morphing": morphing,
                                        "control_channel": control_features or None,
                                        "control_bins": control_bins,
                                        "control_score_bins": control_score_bins,
                                        "results": summaries})

"""``rediscovery higgs fit`` and ``rediscovery higgs toys``: the statistics stage."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import typer

from rediscovery.core.errors import ConfigError, ConvergenceError, InputError
from rediscovery.core.executor import check_scheduler
from rediscovery.core.files import atomic_path, check_output, read_table, write_json
from rediscovery.core.plotting import savefig

app = typer.Typer()
log = logging.getLogger(__name__)


def _read_table(path: Path, what: str) -> pd.DataFrame:
    return read_table(path, what=f"{what} table")


def _check_binning(backend: str, min_bkg: float, max_bins: int) -> None:
    """Checks of the options alone, before any file is read."""
    from rediscovery.higgs.stats import BACKENDS

    if backend not in BACKENDS:
        raise ConfigError(f"--backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if not min_bkg > 0:  # also NaN
        raise ConfigError(f"--min-bkg {min_bkg:g}: expected a positive number of expected "
                          "background events per bin")
    if max_bins < 1:
        raise ConfigError(f"--max-bins {max_bins}: expected an integer >= 1")


def _check_unit_weights(data: pd.DataFrame, path: Path) -> None:
    """Observed events are counted: a Weight column other than 1 would be silently ignored."""
    import numpy as np

    if "Weight" not in data.columns:
        return
    w = pd.to_numeric(data["Weight"], errors="coerce").to_numpy(dtype=float)
    bad = ~(w == 1.0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"{int(bad.sum())} observed events have Weight != 1 (first: "
                         f"{float(w[row])!r} at row {row}); the fit counts observed events "
                         "(unit weights), so these weights would be ignored: pass unweighted "
                         "data (or drop the column if the weights are meaningless)", path=path,
                         column="Weight")


@app.command("fit")
def fit_command(
    scores: Path = typer.Option(..., "--scores", help="MC events: score, Weight, Label "
                                "[, Process] (Parquet or CSV)."),
    observed: Path = typer.Option(..., "--observed", help="Observed events with a 'score' "
                                  "column (Parquet or CSV), unit weights."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    backend: str = typer.Option("minuit", help="Fit back-end: minuit (own likelihood) or pyhf."),
    min_bkg: float = typer.Option(10.0, help="Minimum expected background per bin (events)."),
    max_bins: int = typer.Option(20, help="Maximum number of bins."),
    lumi_factor: float = typer.Option(
        1.0, "--lumi-factor", help="Factor on the MC weights so that they describe the "
        "observed data's luminosity (e.g. 0.01 for pseudo-data simulated with --lumi 0.01)."),
    cross_check: bool = typer.Option(True, help="Repeat μ̂ and q0 with the other back-end "
                                     "and record the agreement."),
    plots: bool = typer.Option(True, help="Write the PNG plots."),
    allow_duplicates: bool = typer.Option(
        False, "--allow-duplicates", help="Accept a repeated EventId (or a table that looks "
        "listed twice): each such row is then counted as a separate event."),
) -> None:
    """Binned likelihood fit of the classifier score: μ̂, intervals, significance, limit."""
    from rediscovery.higgs.stats import fit_scores, write_fit
    from rediscovery.higgs.stats.histograms import check_scores

    _check_binning(backend, min_bkg, max_bins)
    if not 0 < lumi_factor < float("inf"):
        raise ConfigError(f"--lumi-factor {lumi_factor:g}: expected a positive factor")
    check_output(out, "dir")
    mc = _read_table(scores, "scores")
    data = _read_table(observed, "observed")
    check_scores(mc, path=scores, allow_duplicates=allow_duplicates)
    check_scores(data, path=observed, weighted=False, allow_duplicates=allow_duplicates)
    _check_unit_weights(data, observed)
    ignored = [c for c in ("Label", "Process") if c in data.columns]
    if ignored:
        log.warning("%s: the observed events have %s column(s), which the fit ignores (is this "
                    "the MC?)", observed, ignored)
    if lumi_factor != 1.0 and "Weight" in mc.columns:
        mc = mc.assign(Weight=pd.to_numeric(mc["Weight"], errors="coerce") * lumi_factor)
    try:
        sf = fit_scores(mc, data, backend=backend, min_bkg=min_bkg, max_bins=max_bins,
                        cross_check=cross_check, source=scores)
    except InputError as exc:
        if exc.path is None:
            raise InputError(str(exc), path=observed) from exc
        raise
    write_fit(sf, out, plots=plots,
              extra={"inputs": {"scores": str(scores), "observed": str(observed),
                                "lumi_factor": lumi_factor}})
    res, ams = sf.result, sf.payload["ams_best"]
    if not res.converged:
        raise ConvergenceError(f"fit did not converge ({'; '.join(res.messages)}); "
                               f"flagged in {out / 'fit.json'}", messages=res.messages)
    typer.echo(f"mu = {res.mu_hat:.3f} +{res.mu_hi - res.mu_hat:.3f} "
               f"-{res.mu_hat - res.mu_lo:.3f}  Z_obs = {res.z_discovery:.2f}  "
               f"Z_exp = {res.z_expected:.2f}  AMS_best = {ams:.2f}  -> {out / 'fit.json'}")


@app.command("toys")
def toys_command(
    scores: Path = typer.Option(..., "--scores", help="MC events: score, Weight, Label "
                                "[, Process] (Parquet or CSV); defines the model."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    mu_true: float = typer.Option(1.0, "--mu-true", help="True signal strength of the toys."),
    n_toys: int = typer.Option(1000, "--n-toys", help="Number of pseudo-experiments."),
    seed: int = typer.Option(0, min=0, help="Root seed; toy number i uses element i of "
                             "SeedSequence(seed).spawn(n_toys)."),
    backend: str = typer.Option("minuit", help="Fit back-end for every toy."),
    scheduler: str | None = typer.Option(None, help="dask scheduler tcp://HOST:PORT "
                                         "(default: local processes)."),
    workers: int | None = typer.Option(None, help="Local worker processes."),
    min_bkg: float = typer.Option(10.0, help="Minimum expected background per bin (events)."),
    max_bins: int = typer.Option(20, help="Maximum number of bins."),
    allow_duplicates: bool = typer.Option(
        False, "--allow-duplicates", help="Accept a repeated EventId (or a table that looks "
        "listed twice)."),
) -> None:
    """Pseudo-experiments: coverage, bias, pulls, toy vs asymptotic significance."""
    from rediscovery.higgs.stats import model_from_scores, run_toys
    from rediscovery.higgs.stats import plots as plots_stat
    from rediscovery.higgs.stats.histograms import check_scores

    _check_binning(backend, min_bkg, max_bins)
    check_scheduler(scheduler)
    if n_toys < 2:
        raise ConfigError(f"--n-toys {n_toys}: expected an integer >= 2")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: expected an integer >= 1")
    check_output(out, "dir")
    mc = _read_table(scores, "scores")
    check_scores(mc, path=scores, allow_duplicates=allow_duplicates)
    try:
        model, _ = model_from_scores(mc, min_bkg=min_bkg, max_bins=max_bins)
    except InputError as exc:
        raise InputError(str(exc), path=scores) from exc
    res = run_toys(model, mu_true, n_toys, seed, backend, scheduler, n_workers=workers)
    out.mkdir(parents=True, exist_ok=True)
    summary = res.summary()
    write_json(out / "toys.json", summary)
    table = pd.DataFrame({"mu_hat": res.mu_hat, "mu_lo": res.mu_lo, "mu_hi": res.mu_hi,
                          "q0": res.q0, "converged": res.converged})
    with atomic_path(out / "toys.parquet") as tmp:
        table.to_parquet(tmp)
    savefig(plots_stat.plot_toy_pulls(res), out / "toy_pulls.png")
    cov, cov_e = res.coverage
    pw, pw_e = res.pull_width
    typer.echo(f"{res.n_converged}/{res.n_toys} toys: coverage {cov:.3f} ± {cov_e:.3f} "
               f"(nominal {summary['nominal_coverage']:.4f}), pull width {pw:.3f} ± {pw_e:.3f}"
               f" -> {out / 'toys.json'}")

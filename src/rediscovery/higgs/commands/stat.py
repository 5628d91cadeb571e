"""``rediscovery higgs fit`` and ``rediscovery higgs toys``: the statistics stage."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer

from rediscovery.core.errors import ConvergenceError, InputError
from rediscovery.core.files import atomic_path, write_json

app = typer.Typer()
log = logging.getLogger(__name__)


def _read_table(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"{what} file not found", path=path)
    suffix = "".join(path.suffixes[-2:]).lower()
    try:
        if suffix.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if suffix.endswith((".csv", ".csv.gz", ".txt")):
            return pd.read_csv(path)
    except Exception as exc:  # pyarrow/pandas parse errors -> one clear message
        raise InputError(f"cannot read {what} table: {exc}", path=path) from exc
    raise InputError(f"unknown {what} format {suffix!r}: expected .parquet or .csv", path=path)


def _nan_to_none(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


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
    cross_check: bool = typer.Option(True, help="Repeat μ̂ and q0 with the other back-end "
                                     "and record the agreement."),
    plots: bool = typer.Option(True, help="Write the PNG plots."),
) -> None:
    """Binned likelihood fit of the classifier score: μ̂, intervals, significance, limit."""
    from rediscovery.higgs import stat

    if backend not in stat.BACKENDS:
        raise InputError(f"--backend must be one of {stat.BACKENDS}, got {backend!r}")
    mc = _read_table(scores, "scores")
    data = _read_table(observed, "observed")
    if "score" not in data.columns:
        raise InputError(f"observed table lacks column 'score' (found {list(data.columns)})",
                         path=observed, column="score")
    try:
        model, binning = stat.model_from_scores(mc, min_bkg=min_bkg, max_bins=max_bins)
    except InputError as exc:
        raise InputError(str(exc), path=scores) from exc
    assert model.edges is not None
    try:
        counts = stat.histogram_observed(pd.to_numeric(data["score"], errors="coerce")
                                         .to_numpy(dtype=float), model.edges)
    except InputError as exc:
        raise InputError(str(exc), path=observed) from exc
    ams, ams_cut = stat.ams_best(mc["score"].to_numpy(float), mc["Weight"].to_numpy(float),
                                 mc["Label"].to_numpy())
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "workspace.json", stat.workspace(model, counts))
    res = stat.fit(model, counts, backend)  # type: ignore[arg-type]
    payload: dict[str, Any] = {
        "converged": res.converged,
        "messages": res.messages,
        "backend": backend,
        "n_bins": model.n_bins,
        "edges": model.edges,
        "n_observed": int(counts.sum()),
        "expected_signal": float(model.signal.sum()),
        "expected_background": float(model.background_total.sum()),
        "ams_best": ams,
        "ams_best_threshold": ams_cut,
        "z_asimov_binning": None if binning is None else binning.z_asimov,
        "inputs": {"scores": str(scores), "observed": str(observed)},
    }
    if res.converged:
        payload.update({
            "mu_hat": res.mu_hat,
            "mu_68": [res.mu_lo, res.mu_hi],
            "mu_stat_68": [res.mu_stat_lo, res.mu_stat_hi],
            "z_discovery_observed": res.z_discovery,
            "z_discovery_expected": res.z_expected,
            "cls_upper_limit_95": _nan_to_none(res.cls_upper_limit),
            "nuisances": {n: {"value": res.parameters[n], "error": res.errors.get(n),
                              "pull": res.pulls[n], "constraint": res.constraints[n],
                              "impact": list(res.impacts.get(n, (math.nan, math.nan)))}
                          for n in res.pulls},
        })
        if cross_check:
            other = "pyhf" if backend == "minuit" else "minuit"
            # μ̂ and q0 only (three fits): the interval agreement is covered by the tests
            # and benchmarks/toys.py --agreement, and costs a minute with pyhf on 20 bins
            chk = stat.fit(model, counts, other, interval=False, limit=False,  # type: ignore[arg-type]
                           nuisances=False, expected=False)
            payload["cross_check"] = {
                "backend": other, "converged": chk.converged, "mu_hat": chk.mu_hat,
                "z_discovery_observed": chk.z_discovery,
                "rel_diff_mu_hat": abs(chk.mu_hat - res.mu_hat) / max(abs(res.mu_hat), 1e-12),
                "rel_diff_z_discovery": abs(chk.z_discovery - res.z_discovery)
                / max(res.z_discovery, 1e-12),
            }
    else:
        for key in ("mu_hat", "mu_68", "mu_stat_68", "z_discovery_observed",
                    "z_discovery_expected", "cls_upper_limit_95"):
            payload[key] = None
    write_json(out / "fit.json", payload)
    if plots:
        _plots(stat, model, counts, res, out)
    if not res.converged:
        raise ConvergenceError(f"fit did not converge ({'; '.join(res.messages)}); "
                               f"flagged in {out / 'fit.json'}", messages=res.messages)
    typer.echo(f"mu = {res.mu_hat:.3f} +{res.mu_hi - res.mu_hat:.3f} "
               f"-{res.mu_hat - res.mu_lo:.3f}  Z_obs = {res.z_discovery:.2f}  "
               f"Z_exp = {res.z_expected:.2f}  AMS_best = {ams:.2f}  -> {out / 'fit.json'}")


def _plots(stat: Any, model: Any, counts: np.ndarray, res: Any, out: Path) -> None:
    from rediscovery.higgs import plots_stat

    _save(plots_stat.plot_stacked(model, counts, title="pre-fit"), out / "prefit.png")
    if not res.converged:
        return
    k = len(model.alpha_names)
    names = model.parameter_names
    alphas = {n: res.parameters[n] for n in names[1:1 + k]}
    gammas = np.array([res.parameters[n] for n in names[1 + k:]]) if model.has_staterror \
        else None
    _save(plots_stat.plot_stacked(model, counts, mu=res.mu_hat, alphas=alphas, gammas=gammas,
                                  title="post-fit"), out / "postfit.png")
    scan = stat.likelihood_scan(model, counts, backend=res.backend)
    _save(plots_stat.plot_likelihood_scan(scan, interval_68=(res.mu_lo, res.mu_hi)),
          out / "likelihood_scan.png")
    if res.pulls:
        _save(plots_stat.plot_pulls(res.pulls, res.constraints), out / "pulls.png")
    if res.impacts:
        _save(plots_stat.plot_impacts(res.impacts), out / "impacts.png")


@app.command("toys")
def toys_command(
    scores: Path = typer.Option(..., "--scores", help="MC events: score, Weight, Label "
                                "[, Process] (Parquet or CSV); defines the model."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    mu_true: float = typer.Option(1.0, "--mu-true", help="True signal strength of the toys."),
    n_toys: int = typer.Option(1000, "--n-toys", help="Number of pseudo-experiments."),
    seed: int = typer.Option(0, help="Root seed; toy number i uses element i of "
                             "SeedSequence(seed).spawn(n_toys)."),
    backend: str = typer.Option("minuit", help="Fit back-end for every toy."),
    scheduler: str | None = typer.Option(None, help="dask scheduler tcp://HOST:PORT "
                                         "(default: local processes)."),
    workers: int | None = typer.Option(None, help="Local worker processes."),
    min_bkg: float = typer.Option(10.0, help="Minimum expected background per bin (events)."),
    max_bins: int = typer.Option(20, help="Maximum number of bins."),
) -> None:
    """Pseudo-experiments: coverage, bias, pulls, toy vs asymptotic significance."""
    from rediscovery.higgs import plots_stat, stat

    if backend not in stat.BACKENDS:
        raise InputError(f"--backend must be one of {stat.BACKENDS}, got {backend!r}")
    if n_toys < 2:
        raise InputError(f"--n-toys must be >= 2, got {n_toys}")
    mc = _read_table(scores, "scores")
    try:
        model, _ = stat.model_from_scores(mc, min_bkg=min_bkg, max_bins=max_bins)
    except InputError as exc:
        raise InputError(str(exc), path=scores) from exc
    res = stat.run_toys(model, mu_true, n_toys, seed, backend, scheduler, n_workers=workers)
    out.mkdir(parents=True, exist_ok=True)
    summary = res.summary()
    write_json(out / "toys.json", summary)
    table = pd.DataFrame({"mu_hat": res.mu_hat, "mu_lo": res.mu_lo, "mu_hi": res.mu_hi,
                          "q0": res.q0, "converged": res.converged})
    with atomic_path(out / "toys.parquet") as tmp:
        table.to_parquet(tmp)
    _save(plots_stat.plot_toy_pulls(res), out / "toy_pulls.png")
    cov, cov_e = res.coverage
    pw, pw_e = res.pull_width
    typer.echo(f"{res.n_converged}/{res.n_toys} toys: coverage {cov:.3f} ± {cov_e:.3f} "
               f"(nominal {summary['nominal_coverage']:.4f}), pull width {pw:.3f} ± {pw_e:.3f}"
               f" -> {out / 'toys.json'}")

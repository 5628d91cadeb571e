"""``rediscovery higgs explore``: unsupervised exploration of an events file."""

from __future__ import annotations

from pathlib import Path

import typer

from rediscovery.core.errors import ConfigError

app = typer.Typer()

#: ExploreConfig field -> the option that sets it (named in error messages)
_OPTIONS = {
    "n_sample": "--n-sample",
    "n_clusters": "--k",
    "min_cluster_size": "--min-cluster-size",
    "perplexity": "--perplexity",
    "tsne_iter": "--tsne-iter",
    "n_neighbors": "--neighbors",
}


@app.command("explore")
def explore_cmd(
    events: Path = typer.Argument(..., help="Events file (Parquet or HiggsML CSV)."),
    out: Path = typer.Option(..., "--out", help="Output folder (JSON, CSV tables, PNG plots)."),
    n_sample: int = typer.Option(
        2000,
        "--n-sample",
        help="Events (seeded subsample) for t-SNE, UMAP and the clusterings; PCA uses all.",
    ),
    n_clusters: int | None = typer.Option(
        None, "--k", help="k of k-means (default: the number of processes, or 5)."
    ),
    min_cluster_size: int | None = typer.Option(
        None, "--min-cluster-size", help="HDBSCAN's smallest cluster (default: n_sample/100)."
    ),
    features: str | None = typer.Option(
        None,
        "--features",
        help="Comma-separated columns (default: PRI_/DER_/NEW_ without the *_phi angles).",
    ),
    perplexity: float = typer.Option(30.0, "--perplexity", help="t-SNE perplexity."),
    tsne_iter: int = typer.Option(500, "--tsne-iter", help="t-SNE iterations (>= 250)."),
    n_neighbors: int = typer.Option(15, "--neighbors", help="UMAP's n_neighbors."),
    tsne: bool = typer.Option(True, "--tsne/--no-tsne", help="Compute the t-SNE embedding."),
    umap: bool = typer.Option(True, "--umap/--no-umap", help="Compute the UMAP embedding."),
    log_transform: bool = typer.Option(
        True, "--log/--no-log", help="log(1+x) of non-negative long-tailed features."
    ),
    seed: int = typer.Option(2019, min=0, help="Seed of the subsample, k-means, t-SNE, UMAP."),
) -> None:
    """PCA, t-SNE/UMAP embeddings, k-means/HDBSCAN clusters, purity table, silhouettes."""
    from rediscovery.core.errors import InputError
    from rediscovery.core.files import check_output
    from rediscovery.higgs.events.io import read_events
    from rediscovery.higgs.explore.exploration import ExploreConfig, explore_events
    from rediscovery.higgs.explore.io import write_exploration
    from rediscovery.higgs.explore.plots import write_figures

    check_output(out, "dir")
    try:
        cfg = ExploreConfig(
            n_sample=n_sample,
            n_clusters=n_clusters,
            min_cluster_size=min_cluster_size,
            perplexity=perplexity,
            tsne_iter=tsne_iter,
            n_neighbors=n_neighbors,
            tsne=tsne,
            umap=umap,
            log_transform=log_transform,
            seed=seed,
        )
    except ConfigError as exc:  # name the options the user typed
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
        res = explore_events(df, cfg, features=cols)
    except InputError as exc:
        raise InputError(str(exc), path=events) from exc
    write_exploration(res, out)
    write_figures(res, out)
    s = res.summary
    cl = s["clusters"]

    def sil(name: str) -> str:
        value = cl[name]["silhouette"]
        return "n/a" if value is None else f"{value:.3f}"

    typer.echo(
        f"{s['n_sample']} of {s['n_events']} events, {len(s['features'])} features; PCA: "
        f"{s['pca']['n_components_90']} components hold 90 % of the variance; silhouette "
        f"k-means {sil('kmeans')} ({cl['kmeans']['n_clusters']} clusters), "
        f"HDBSCAN {sil('hdbscan')} ({cl['hdbscan']['n_clusters']} clusters, "
        f"{100 * cl['hdbscan']['noise_fraction']:.0f} % noise)"
    )
    typer.echo(
        f"wrote {out}/explore.json, purity.csv, pca.csv, loadings.csv, sample.csv, "
        f"*.png ({s['seconds']['total']:.0f} s)"
    )

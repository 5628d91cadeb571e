"""``rediscovery cosmo sn-images``: the pixel-level supernova survey simulator.

Thin wiring over :mod:`rediscovery.cosmo.sn.images`; docs/cosmo-sn-images.md describes the
files.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import typer

from rediscovery.core.errors import ConfigError
from rediscovery.core.files import check_output

app = typer.Typer()
log = logging.getLogger(__name__)


@app.command("sn-images")
def sn_images(
    out: Path = typer.Option(..., "--out", help="Output folder."),
    seed: int = typer.Option(0, "--seed", min=0,
                             help="Random seed (also draws the hidden cosmology)."),
    fields: int = typer.Option(4, "--fields", help="Number of fields (CCDs)."),
    epochs: int = typer.Option(16, "--epochs", help="Epochs per band over the season."),
    size: int = typer.Option(512, "--size", help="Image size in pixels (square)."),
    bands: str = typer.Option("griz", "--bands", help="Filter letters among griz."),
    pixel_scale: float = typer.Option(0.26, "--pixel-scale", help="Pixel scale, arcsec."),
    sne_per_field: int = typer.Option(5, "--sne-per-field", help="SNe Ia per field."),
    z_max: float = typer.Option(0.8, "--z-max", help="Largest SN redshift."),
    h0: float = typer.Option(None, "--h0", help="H0 in km/s/Mpc (hidden draw if omitted)."),
    om: float = typer.Option(None, "--om", help="Ωm (hidden draw if omitted)."),
    ol: float = typer.Option(None, "--ol", help="ΩΛ (hidden draw if omitted)."),
    flat: bool = typer.Option(False, "--flat", help="Hidden universe is flat (ΩΛ = 1 − Ωm)."),
    plot: bool = typer.Option(True, "--plot/--no-plot",
                              help="Write thumbnails.png (field00: reference, mid-season epoch, "
                                   "difference)."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace a survey written in --out before (its images "
                                        "that this run does not write are deleted)."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Simulate survey images (FITS), stars.csv, hosts.csv, survey.json; truth.json hidden.

    --out must be a new or empty folder, or (with --overwrite) one holding an earlier survey:
    a survey folder holds the files of one survey only.
    """
    from rediscovery.core.checks import require_memory
    from rediscovery.cosmo.sn.images import ImageSurvey, draw_scene, write_survey
    from rediscovery.cosmo.sn.images.io import remove_stale_images
    from rediscovery.cosmo.sn.simulate import draw_truth

    config = ImageSurvey(n_fields=fields, bands=bands, n_epochs=epochs, size=size,
                         pixel_scale=pixel_scale, sne_per_field=sne_per_field, z_max=z_max)
    require_memory(config.memory_bytes(), what=f"rendering {size}x{size}-pixel images",
                   hint="choose a smaller --size")
    check_output(out, "dir")
    if out.is_dir() and any(out.iterdir()):
        if not (out / "survey.json").is_file():
            raise ConfigError(f"--out {out}: the folder is not empty and holds no survey "
                              "(no survey.json); choose a new or empty folder")
        if not overwrite:
            raise ConfigError(f"--out {out}: holds a survey already; choose a new folder, or "
                              "add --overwrite to replace it")
    log.info("about %.0f MB of images to write", config.disk_bytes() / 1e6)
    start = time.perf_counter()
    truth = draw_truth(seed, h0, om, ol, flat=flat)
    scene = draw_scene(config, truth, seed=seed)
    summary = write_survey(out, scene, progress=progress)
    stale = remove_stale_images(out, set(scene.images["path"]))
    if stale:
        log.info("removed %d images of the earlier survey in %s", len(stale), out)
    if not plot:
        (out / "thumbnails.png").unlink(missing_ok=True)
    if plot:
        from rediscovery.core.plotting import savefig
        from rediscovery.cosmo.sn.images import list_survey, read_image
        from rediscovery.cosmo.sn.images.plots import plot_field_epoch

        files = next(iter(next(iter(list_survey(out).values())).values()))
        fig, _ = plot_field_epoch(read_image(files.reference),
                                  read_image(files.epochs[len(files.epochs) // 2]))
        savefig(fig, out / "thumbnails.png", dpi=110)
    typer.echo(f"{summary['n_images']} images ({fields} fields x {len(bands)} bands x "
               f"({epochs} epochs + reference), {size}x{size} px), {summary['n_sne']} SNe Ia, "
               f"{summary['n_stars']} stars, {summary['n_hosts']} galaxies in "
               f"{time.perf_counter() - start:.1f} s -> {out}/survey.json (truth "
               f"{'hidden' if truth.hidden else 'given'} in truth.json)")

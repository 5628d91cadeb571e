"""``rediscovery cosmo cmb-spectrum``: the TT power spectrum of a CMB map on the cut sky (and TE,
EE of I, Q, U maps).

Thin wiring over :mod:`rediscovery.cosmo.cmb.spectra`; file formats and measured figures in
docs/cosmo-cmb-spectrum.md.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import typer

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.core.executor import check_scheduler
from rediscovery.core.files import check_output

app = typer.Typer()
log = logging.getLogger(__name__)


def _fiducial_cl(path: Path | None, lmax: int) -> tuple[np.ndarray, str]:
    """C_ℓ (μK², ℓ = 0 … lmax) of a CSV with columns ell, dl (μK²), or CAMB at the Planck
    2018 best fit."""
    if path is None:
        from rediscovery.cosmo.cmb.theory import PLANCK2018_BEST_FIT
        from rediscovery.cosmo.cmb.tod import tt_cl

        return tt_cl(dict(PLANCK2018_BEST_FIT), lmax), "CAMB, Planck 2018 best fit"
    from rediscovery.core.files import read_table

    df = read_table(path, what="fiducial spectrum", format="csv")
    for col in ("ell", "dl"):
        if col not in df.columns:
            raise InputError(
                f"missing column {col!r}; expected columns ell, dl (D_ℓ in μK²)", path=path
            )
    ell = df["ell"].to_numpy(dtype=float)
    dl = df["dl"].to_numpy(dtype=float)
    bad = ~np.isfinite(dl) | (dl < 0) | ~np.isfinite(ell) | (ell < 0) | (ell != np.round(ell))
    if bad.any():
        raise InputError(
            f"row {int(np.argmax(bad))}: expected integer ell >= 0 and finite dl >= 0 μK²",
            path=path,
            column="dl",
        )
    cl = np.zeros(lmax + 1)
    e = ell.astype(int)
    keep = (e >= 2) & (e <= lmax)
    cl[e[keep]] = dl[keep] * 2 * math.pi / (e[keep] * (e[keep] + 1.0))
    return cl, str(path)


def _pol_spectra(sets, window, lmax: int, delta_ell: int, fwhm: float, pixwin: bool,
                 niter: int, sims: dict[str, Any]) -> dict:
    """TE and EE band powers of I, Q, U map sets with Monte-Carlo errors (``sims``: n_sims,
    seed, scheduler, n_workers, progress; Knox with n_sims = 0), the fiducial CAMB's Planck
    2018 best fit."""
    from rediscovery.cosmo.cmb.spectra import measure_pol_spectra, prepare_pol
    from rediscovery.cosmo.cmb.theory import PLANCK2018_BEST_FIT
    from rediscovery.cosmo.cmb.tod import iqu_cl

    setup = prepare_pol(window, lmax=lmax, delta_ell=delta_ell, fwhm_arcmin=fwhm,
                        pixwin=pixwin, niter=niter)
    fiducial = iqu_cl(dict(PLANCK2018_BEST_FIT), 3 * window.nside - 1)
    iqus = [s.iqu() for s in sets]
    return measure_pol_spectra([m for m, _ in iqus], [v for _, v in iqus], setup, fiducial,
                               **sims)


@app.command("cmb-spectrum")
def cmb_spectrum(
    map_path: Path = typer.Argument(
        ...,
        metavar="MAP",
        help="Map folder of cmb-mapmake (map/hits/variance.fits) or a map FITS file.",
    ),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    hits: Path = typer.Option(None, "--hits", help="Hit map FITS (default: beside MAP)."),
    variance: Path = typer.Option(
        None, "--variance", help="White-noise variance FITS, μK² (default: beside MAP)."
    ),
    mask: Path = typer.Option(None, "--mask", help="Mask FITS (0 masked, > 0 kept)."),
    splits: str = typer.Option(
        None,
        "--splits",
        help="Comma-separated map folders/files with independent noise "
        "(e.g. cmb-mapmake --split 1/2, 2/2): cross-spectra, no "
        "noise bias.",
    ),
    lmax: int = typer.Option(None, "--lmax", min=2, help="Largest multipole (default 2 nside)."),
    delta_ell: int = typer.Option(20, "--delta-ell", min=1, max=10_000, help="Band width."),
    apod_deg: float = typer.Option(
        2.0, "--apod-deg", min=0.0, max=90.0, help="Apodisation of the hit-map edge, degrees."
    ),
    apod_type: str = typer.Option("C1", "--apod-type", help="C1 or C2 (pspy)."),
    fwhm: float = typer.Option(
        None,
        "--fwhm",
        min=0.0,
        max=6000.0,
        help="Gaussian beam FWHM, arcmin (default: the TOD's, from mapmaking.json).",
    ),
    pixwin: bool = typer.Option(
        True,
        "--pixwin/--no-pixwin",
        help="Deconvolve the HEALPix pixel window (off for maps of "
        "cmb-simulate made at its own --nside).",
    ),
    fiducial: Path = typer.Option(
        None,
        "--fiducial",
        help="CSV ell, dl (μK²) for the simulations (default: CAMB at the Planck 2018 best fit).",
    ),
    n_sims: int = typer.Option(
        100, "--n-sims", min=0, max=100_000, help="Monte-Carlo simulations (0: Knox errors)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the simulations."),
    niter: int = typer.Option(
        0,
        "--niter",
        min=0,
        max=10,
        help="Jacobi iterations of the analysis (healpy map2alm's iter); 0 is accurate to "
        "3e-6 below 0.9 of 2 nside (docs/cosmo-cmb-spectrum.md).",
    ),
    subtract_mean: bool = typer.Option(
        False,
        "--subtract-mean/--no-subtract-mean",
        help="Remove the window-weighted mean of each map (for maps with an arbitrary offset; "
        "biases the lowest band).",
    ),
    noise_model: str = typer.Option(
        None,
        "--noise-model",
        help="Noise of the simulations: white (per-pixel variance) or splits (coloured to the "
        "spectrum of the splits' half-difference; default with --splits).",
    ),
    workers: int = typer.Option(None, "--workers", min=1, help="Local worker processes."),
    scheduler: str = typer.Option(None, "--scheduler", help="dask scheduler tcp://HOST:PORT."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write spectrum.png."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Pseudo-C_ℓ (MASTER) band powers with Monte-Carlo errors: spectrum.csv, covariance.npy,
    bands.csv, spectrum.json, window.fits, spectrum.png; for I, Q, U maps also
    spectrum_te.csv and spectrum_ee.csv (errors from the same simulations' I, Q, U skies) and
    their covariances."""
    from rediscovery.cosmo.cmb.spectra import (
        measure_spectrum,
        prepare,
        read_map_set,
        read_mask,
        window_from_hits,
        write_outputs,
        write_pol_outputs,
    )

    logging.getLogger("healpy").setLevel(max(logging.getLogger().level, logging.WARNING))
    check_scheduler(scheduler)
    check_output(out, "dir")
    main = read_map_set(map_path, hits=hits, variance=variance)
    nside = main.nside
    if splits:
        sets = [read_map_set(Path(s.strip())) for s in splits.split(",") if s.strip()]
        if len(sets) < 2:
            raise ConfigError(f"--splits {splits!r}: expected at least two maps")
        for s in sets:
            if s.nside != nside:
                raise InputError(
                    f"nside {s.nside}; MAP has nside {nside}; expected the same", path=s.source
                )
    else:
        sets = [main]
    if fwhm is None:
        fwhm = main.info.get("beam_fwhm_arcmin")
        if fwhm is None:
            raise ConfigError(
                "--fwhm is needed: MAP's mapmaking.json does not give the beam (beam_fwhm_arcmin)"
            )
    mask_arr = read_mask(mask, nside) if mask is not None else None
    window = window_from_hits(
        [main.hits] + [s.hits for s in sets], apod_deg, mask=mask_arr, apod_type=apod_type
    )
    lmax = 2 * nside if lmax is None else lmax
    setup = prepare(
        window,
        lmax=lmax,
        delta_ell=delta_ell,
        fwhm_arcmin=float(fwhm),
        pixwin=pixwin,
        niter=niter,
        subtract_mean=subtract_mean,
    )
    cl, fid_source = _fiducial_cl(fiducial, 3 * nside - 1)
    result = measure_spectrum(
        [s.map for s in sets],
        [s.variance for s in sets],
        setup,
        cl,
        n_sims=n_sims,
        seed=seed,
        scheduler=scheduler,
        n_workers=workers,
        progress=progress,
        noise_model=noise_model or ("splits" if splits else "white"),
    )
    pol = None
    if all(s.polarised for s in sets):
        pol = _pol_spectra(
            sets, window, lmax, delta_ell, float(fwhm), pixwin, niter,
            {"n_sims": n_sims, "seed": seed + 1, "scheduler": scheduler, "n_workers": workers,
             "progress": progress},
        )  # seed + 1: other skies than the temperature simulations
    elif any(s.polarised for s in sets):
        raise InputError("some maps are I, Q, U and some temperature only; expected the same "
                         "kind for MAP and all --splits", path=map_path)
    meta = {
        "map": str(map_path),
        "splits": [s.source for s in sets] if splits else [],
        "mask": None if mask is None else str(mask),
        "fwhm_arcmin": float(fwhm),
        "pixwin": pixwin,
        "fiducial": fid_source,
    }
    if pol is not None:
        meta["polarisation"] = {k: {"dl": r.dl.tolist(), "dl_err": r.dl_err.tolist(),
                                    "dl_err_knox": r.knox_err.tolist(),
                                    "expected": r.expected.tolist(),
                                    "mc_mean": None if r.sims is None else r.mc_mean.tolist(),
                                    **r.info}
                                for k, r in pol.items()}
    write_outputs(out, result, window, meta)
    if pol is not None:
        write_pol_outputs(out, pol)
    if plots:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from rediscovery.core.plotting import savefig
        from rediscovery.cosmo.cmb.spectra.plots import plot_errors, plot_spectrum

        ell = np.arange(2, lmax + 1)
        fig, axes = plt.subplots(2, 1, figsize=(7.5, 7), height_ratios=[2, 1], sharex=True)
        plot_spectrum(result, theory=(ell, ell * (ell + 1) / (2 * math.pi) * cl[ell]), ax=axes[0])
        axes[0].set_xlabel("")
        plot_errors(result, ax=axes[1])
        savefig(fig, out / "spectrum.png")
    msg = (
        f"{result.binning.n_bins} bands, ℓ {result.binning.ell_min[0]}-{result.binning.lmax}"
        f", f_sky,eff {window.fsky_eff:.3f}, {result.info['errors']} errors "
        f"({n_sims} simulations)"
    )
    bos = result.bias_over_sigma
    if bos is not None:
        ratio = result.dl_err / result.knox_err
        msg += (
            f"; σ_MC/σ_Knox {ratio.min():.2f}-{ratio.max():.2f}, max |bias|/σ "
            f"{np.abs(bos).max():.2f}"
        )
    if pol is not None:
        msg += (f"; TE, EE ({pol['ee'].info['errors']} errors) -> spectrum_te.csv, "
                "spectrum_ee.csv")
    typer.echo(f"{msg} -> {out}/spectrum.csv")

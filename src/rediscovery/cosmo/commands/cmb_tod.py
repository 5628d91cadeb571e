"""``rediscovery cosmo cmb-simulate | cmb-mapmake | cmb-map-check``: CMB time-ordered data
and map-making.

Thin wiring over :mod:`rediscovery.cosmo.cmb.tod` and :mod:`rediscovery.cosmo.cmb.mapmaking`;
file formats and figures in docs/cosmo-cmb-tod.md.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from rediscovery.core.errors import ConfigError
from rediscovery.core.files import check_output
from rediscovery.cosmo.cmb.mapmaking.streaming import STREAM_ABOVE_SAMPLES

app = typer.Typer()

_METHODS = ("binned", "destriped", "gls")


def _quiet_healpy() -> None:
    # healpy narrates every FITS read and beam at INFO
    logging.getLogger("healpy").setLevel(max(logging.getLogger().level, logging.WARNING))


@app.command("cmb-simulate")
def cmb_simulate(
    out: Path = typer.Option(..., "--out", help="Output folder (tod.h5 and the hidden truth/)."),
    seed: int = typer.Option(0, "--seed", min=0,
                             help="Random seed (sky, noise and the hidden cosmology)."),
    nside: int = typer.Option(256, "--nside", min=1, max=8192,
                              help="HEALPix nside of the simulated sky (power of 2)."),
    days: float = typer.Option(1.0, "--days", min=1e-4, max=400.0,
                               help="Observing time in days (school exercise: 9)."),
    sample_rate: float = typer.Option(10.0, "--sample-rate", min=0.01, max=1e4,
                                      help="Sampling frequency in Hz."),
    detectors: int = typer.Option(4, "--detectors", min=1, max=1000,
                                  help="Number of detectors (ring of 0.5° radius)."),
    net: float = typer.Option(300.0, "--net", min=0.0, max=1e6,
                              help="White noise σ per sample in μK."),
    fknee: float = typer.Option(1.0, "--fknee", min=0.0, max=1e3,
                                help="1/f knee frequency in Hz (0: white noise)."),
    alpha: float = typer.Option(1.0, "--alpha", min=0.1, max=4.0, help="1/f slope α."),
    fwhm: float = typer.Option(30.0, "--fwhm", min=0.1, max=600.0,
                               help="Gaussian beam FWHM in arcmin."),
    latitude: float = typer.Option(-22.96, "--latitude", min=-89.0, max=89.0,
                                   help="Site latitude in degrees."),
    elevation: float = typer.Option(50.0, "--elevation", min=1.0, max=89.0,
                                    help="Constant elevation of the sweeps in degrees."),
    az_half_width: float = typer.Option(45.0, "--az-half-width", min=0.1, max=180.0,
                                        help="Half amplitude of the azimuth sweep (degrees)."),
    az_speed: float = typer.Option(3.0, "--az-speed", min=0.01, max=360.0,
                                   help="Azimuth scan speed in deg/s."),
    angles: bool = typer.Option(True, "--angles/--no-angles",
                                help="Also store θ, φ (float32) beside the pixel indices."),
    polarised: bool = typer.Option(False, "--polarised/--temperature",
                                   help="Polarisation-sensitive detectors (angles 0°, 45°, "
                                        "90°, 135° in turn) observing an I, Q, U sky drawn "
                                        "from CAMB's TT, TE, EE; ψ stored per sample."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Simulate a hidden CMB sky and the TOD of a scanning telescope: tod.h5 + truth/."""
    from rediscovery.cosmo.cmb.tod import ScanStrategy, TODConfig, default_focal_plane
    from rediscovery.cosmo.cmb.tod.io import simulate_to_files

    _quiet_healpy()
    if nside & (nside - 1):
        raise ConfigError(f"--nside {nside}: expected a power of 2")
    check_output(out, "dir")
    config = TODConfig(
        detectors=tuple(default_focal_plane(detectors, net=net, fknee=fknee, alpha=alpha,
                                            polarised=polarised)),
        scan=ScanStrategy(site_latitude=latitude, elevation=elevation,
                          az_half_width=az_half_width, az_speed=az_speed),
        sample_rate=sample_rate, days=days, fwhm_arcmin=fwhm)
    info = simulate_to_files(out, config, seed, nside_sky=nside, angles=angles,
                             progress=progress)
    kind = "polarised" if polarised else "temperature"
    typer.echo(f"{info['n_detectors']} {kind} detectors × {info['n_samples_per_detector']} "
               f"samples = {info['n_samples_total']} -> {info['tod']} (hidden sky in "
               f"{out}/truth/)")


def _split_detectors(names: list[str], split: str | None) -> list[str]:
    """The detectors of split ``K/N`` (1-based): every N-th detector from the K-th."""
    if split is None:
        return names
    try:
        k, n = (int(x) for x in split.split("/"))
    except ValueError:
        raise ConfigError(f"--split {split!r}: expected K/N with integers, e.g. 1/2") from None
    if not 1 <= k <= n:
        raise ConfigError(f"--split {split!r}: expected 1 <= K <= N")
    if n > len(names):
        raise ConfigError(f"--split {split!r}: N = {n} splits of {len(names)} detectors; "
                          f"expected N <= {len(names)}")
    return names[k - 1 :: n]


@app.command("cmb-mapmake")
def cmb_mapmake(
    tod: Path = typer.Argument(..., help="TOD file (HDF5, from cmb-simulate)."),
    out: Path = typer.Option(..., "--out", help="Output folder for the FITS maps."),
    nside: int = typer.Option(256, "--nside", min=1, max=8192,
                              help="HEALPix nside of the map (power of 2)."),
    method: str = typer.Option("destriped", "--method", help="binned | destriped | gls."),
    baseline_seconds: float = typer.Option(1.0, "--baseline-seconds", min=1e-3, max=1e5,
                                           help="Destriper baseline length in seconds."),
    noise_prior: bool = typer.Option(True, "--noise-prior/--no-noise-prior",
                                     help="Destriper: 1/f prior on the baselines (MADAM)."),
    tol: float = typer.Option(1e-6, "--tol", min=1e-14, max=0.1,
                              help="CG tolerance on ‖r‖/‖b‖."),
    maxiter: int = typer.Option(300, "--maxiter", min=1, max=100_000,
                                help="Largest number of CG iterations."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write maps.png (and cg.png)."),
    split: str = typer.Option(None, "--split",
                              help="K/N: map only detectors K, K+N, K+2N, … (1-based), a data "
                                   "split with noise independent of the other N-1 splits."),
    stream: bool = typer.Option(None, "--stream/--in-memory",
                                help="Destriper: read the TOD from the file chunk by chunk at "
                                     "every CG iteration (memory: the baselines and maps) or "
                                     "load it (faster, ~57 bytes per sample). Default: stream "
                                     f"above {STREAM_ABOVE_SAMPLES:.0e} samples."),
) -> None:
    """Make a map from a TOD: map.fits, hits.fits, variance.fits, mapmaking.json.

    A TOD with polarisation-sensitive detectors (``psi`` in the file) gives I, Q, U maps (three
    columns in map.fits and variance.fits) with every method, streamed or in memory.
    Exits 3 (after writing the files) when CG did not reach --tol within --maxiter.
    """
    from rediscovery.cosmo.cmb.mapmaking import (
        bin_tod,
        bin_tod_iqu,
        destripe,
        destripe_file,
        destripe_file_iqu,
        destripe_iqu,
        detector_weights,
        gls_map,
        gls_map_iqu,
        load_tod,
        write_maps,
    )
    from rediscovery.cosmo.cmb.tod import TODFile

    _quiet_healpy()
    if method not in _METHODS:
        raise ConfigError(f"--method {method!r}: expected one of {', '.join(_METHODS)}")
    if nside & (nside - 1):
        raise ConfigError(f"--nside {nside}: expected a power of 2")
    check_output(out, "dir")
    with TODFile(tod) as f:
        if nside > f.nside_pointing:
            raise ConfigError(f"--nside {nside}: finer than the TOD's pointing resolution "
                              f"{f.nside_pointing}")
        names = _split_detectors([d.name for d in f.detectors], split)
        polarised = any(d.polarised for d in f.detectors if d.name in names)
        n_total = f.n_samples * len(names)
        if method == "binned":
            bin_map = bin_tod_iqu if polarised else bin_tod
            result = bin_map(f.iter_chunks(detectors=names), nside, f.nside_pointing,
                             detector_weights(f.detectors))
        elif method == "destriped" and (
                stream if stream is not None else n_total > STREAM_ABOVE_SAMPLES):
            length = max(1, round(baseline_seconds * f.sample_rate))
            destriper = destripe_file_iqu if polarised else destripe_file
            result, _ = destriper(f, nside, length, detectors=names, noise_prior=noise_prior,
                                  tol=tol, maxiter=maxiter)
        else:
            block = int(f.attrs.get("noise_block", f.n_samples))
            data = load_tod(f.iter_chunks(chunk=block, detectors=names), nside,
                            f.nside_pointing, f.detectors, f.sample_rate)
            if method == "destriped":
                length = max(1, round(baseline_seconds * f.sample_rate))
                destriper = destripe_iqu if polarised else destripe
                result, _ = destriper(data, length, noise_prior=noise_prior, tol=tol,
                                      maxiter=maxiter)
            else:
                gls = gls_map_iqu if polarised else gls_map
                result = gls(data, tol=tol, maxiter=maxiter)
    result.info["tod"] = str(tod)
    result.info["beam_fwhm_arcmin"] = f.fwhm_arcmin
    result.info["detectors"] = names
    if split:
        result.info["split"] = split
    write_maps(out, result)
    if plots:
        import matplotlib

        matplotlib.use("Agg")
        from rediscovery.core.plotting import savefig
        from rediscovery.cosmo.cmb.mapmaking.plots import plot_cg_convergence, plot_maps

        for k, suffix in enumerate(("", "_q", "_u") if polarised else ("",)):
            shown = result.stokes(k) if polarised else result
            savefig(plot_maps(shown), out / f"maps{suffix}.png")
        if "cg_history" in result.info:
            savefig(plot_cg_convergence({method: result.info}), out / "cg.png")
    msg = (f"{method} {'I, Q, U ' if polarised else ''}map, nside {nside}: "
           f"{result.info['n_pixels_seen']} pixels seen, ")
    if polarised:
        msg += f"{result.info['n_pixels_solved']} with Q, U solved, "
    msg += f"{result.info['n_samples']} samples"
    if "cg_iterations" in result.info:
        msg += (f"; CG {result.info['cg_iterations']} iterations, ‖r‖/‖b‖ = "
                f"{result.info['cg_residual']:.2e}")
    typer.echo(f"{msg} -> {out}/map.fits, hits.fits, variance.fits")
    if "cg_converged" in result.info and not result.info["cg_converged"]:
        typer.echo(f"warning: CG did not reach --tol {tol:g} in {maxiter} iterations", err=True)
        raise typer.Exit(3)


@app.command("cmb-map-check")
def cmb_map_check(
    maps: list[Path] = typer.Argument(..., help="Map folders (from cmb-mapmake)."),
    truth: Path = typer.Option(..., "--truth",
                               help="The simulation's truth/ folder (validation only)."),
    out: Path = typer.Option(..., "--out", help="Output folder: residuals.json, residuals.png."),
) -> None:
    """Validation (unblinding) of maps: residual power of map − beam-smoothed input sky
    against the white-noise level, per ℓ band (I, Q and U for I, Q, U maps)."""
    import healpy as hp
    import numpy as np
    from astropy.io import fits

    from rediscovery.core.errors import InputError
    from rediscovery.core.files import write_json
    from rediscovery.cosmo.cmb.mapmaking import IQUMapResult, read_maps, residual_spectrum

    _quiet_healpy()
    sky_file = truth / "truth_sky.fits"
    if not sky_file.is_file():
        raise InputError("missing truth_sky.fits; expected the truth/ folder written by "
                         "cmb-simulate", path=truth)
    check_output(out, "dir")
    with fits.open(sky_file) as hdul:
        truth_columns = [c.name for c in hdul[1].columns]
    spectra, summary = {}, {}
    checks = []
    for folder in maps:
        res = read_maps(folder)
        name = f"{res.info.get('method', '?')} ({folder.name})"
        if not isinstance(res, IQUMapResult):
            checks.append((name, res, "SKY_SMOOTHED"))
            continue
        for k, column in enumerate(("SKY_SMOOTHED", "Q_SMOOTHED", "U_SMOOTHED")):
            if column not in truth_columns:
                raise InputError(f"no column {column} in truth_sky.fits for the I, Q, U maps "
                                 f"of {folder}; expected a sky simulated with --polarised",
                                 path=sky_file)
            checks.append((f"{name} {'IQU'[k]}", res.stokes(k), column))
    skies = {}
    for name, res, column in checks:
        if column not in skies:
            skies[column] = hp.read_map(str(sky_file), field=truth_columns.index(column))
        spec = residual_spectrum(res, skies[column])
        spectra[name] = spec
        lmax = int(spec.ell[-1])
        bands = [(lo, min(hi, lmax)) for lo, hi in ((2, 30), (30, 100), (100, 300),
                                                    (300, lmax)) if lo < lmax]
        summary[name] = {
            "white_uK2": spec.white, "fsky": spec.fsky,
            "ratio_to_white": {f"{lo}-{hi}": spec.excess(lo, hi) + 1.0 for lo, hi in bands},
            "ratio_to_white_ell_gt_30": spec.excess(31, lmax) + 1.0 if lmax > 31 else None}
        typer.echo(f"{name}: residual/white " + ", ".join(
            f"ℓ {k}: {v:.2f}" for k, v in summary[name]["ratio_to_white"].items()))
    write_json(out / "residuals.json", summary)
    np.savetxt(out / "residual_cl.csv",
               np.column_stack([next(iter(spectra.values())).ell,
                                *[s.cl for s in spectra.values()]]),
               delimiter=",", header="ell," + ",".join(spectra), comments="")

    import matplotlib

    matplotlib.use("Agg")
    from rediscovery.core.plotting import savefig
    from rediscovery.cosmo.cmb.mapmaking.plots import plot_residual_spectra

    savefig(plot_residual_spectra(spectra), out / "residuals.png")

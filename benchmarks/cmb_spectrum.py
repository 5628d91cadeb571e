"""CMB power spectrum: bias and Monte-Carlo σ against Knox over simulations, and timings.

Usage::

    PYTHONPATH=src python benchmarks/cmb_spectrum.py [--nside 512] [--lmax 1000]
        [--n-sims 300] [--fsky 0.1,0.4,0.7] [--delta-ell 30] [--niter 0] [--workers 2]
        [--splits 2] [--timing-only] [--repeat 5]

For each sky fraction: a polar cap of that f_sky is observed with uniform hits (white noise
``--noise`` μK·arcmin, Gaussian beam ``--fwhm``, HEALPix pixel window), apodised over
``--apod-deg``; ``--n-sims`` simulations of CAMB's Planck 2018 best-fit TT spectrum go through
the estimator (cross-spectra of ``--splits`` noise splits, or one map with Monte-Carlo noise
bias for ``--splits 1``). Printed per f_sky: f_sky,eff = w₂²/w₄, the time of the coupling
matrix and of one spectrum (its transforms and cross-spectra), the simulations' wall time,
|bias|/σ per band (mean of the simulations − the fiducial through the band-power window, over
their σ; its own statistical error is 1/√n_sims) and σ_MC/σ_Knox (statistical error
1/√(2 n_sims)).

``--timing-only`` skips the simulations and times one spectrum (``--repeat`` times, the
median) against the plain-healpy baseline (``healpy.anafast`` of the windowed split maps
and ``iter`` = ``--niter``: the mean of ``anafast(map_i, map_j)`` over the pairs), then the
same binning and coupling inverse; the band powers of the two are compared.
"""

from __future__ import annotations

import argparse
import math
import time

import healpy as hp
import numpy as np

from rediscovery.cosmo.cmb.spectra import measure_spectrum, prepare, window_from_hits
from rediscovery.cosmo.cmb.theory import PLANCK2018_BEST_FIT
from rediscovery.cosmo.cmb.tod import tt_cl


def run(
    nside: int,
    lmax: int,
    n_sims: int,
    fsky: float,
    delta_ell: int,
    niter: int,
    workers: int,
    splits: int,
    noise_uk_arcmin: float,
    fwhm: float,
    apod_deg: float,
    cl: np.ndarray,
    timing_only: bool = False,
    repeat: int = 5,
) -> dict:
    npix = 12 * nside * nside
    theta, _ = hp.pix2ang(nside, np.arange(npix))
    cap = theta < math.acos(1.0 - 2.0 * fsky)
    hits = np.where(cap, 100, 0)
    pix_arcmin2 = hp.nside2pixarea(nside, degrees=True) * 3600.0
    var_total = noise_uk_arcmin**2 / pix_arcmin2
    variances = [np.where(cap, var_total * splits, 0.0)] * splits  # each split: 1/splits of data
    window = window_from_hits(hits, apod_deg)
    setup = prepare(window, lmax=lmax, delta_ell=delta_ell, fwhm_arcmin=fwhm, niter=niter)
    rng = np.random.default_rng(12345)
    ell, m = hp.Alm.getlm(3 * nside - 1)
    sd = np.sqrt(cl[ell]) * setup.transfer[ell]
    re, im = rng.standard_normal((2, ell.size))
    alm = np.where(m == 0, sd * re, sd * (re + 1j * im) / math.sqrt(2.0))
    sky = hp.alm2map(alm, nside, lmax=3 * nside - 1)
    maps = [np.where(cap, sky + rng.standard_normal(npix) * np.sqrt(v), 0.0) for v in variances]
    if timing_only:
        return _timing(maps, window, setup, niter, repeat)
    res = measure_spectrum(
        maps, variances, setup, cl, n_sims=n_sims, seed=2024, n_workers=workers, progress=True
    )
    t0 = time.perf_counter()  # one spectrum on its own: transforms + (cross-)spectra
    from rediscovery.cosmo.cmb.spectra import pseudo_alms, pseudo_cl

    pcl = pseudo_cl(pseudo_alms(maps, window, setup.lmax_work, niter=niter))
    setup.bandpowers(pcl)
    t_spec = time.perf_counter() - t0
    sigma = res.sims.std(axis=0, ddof=1)
    bos = np.abs(res.bias_over_sigma)
    ratio = sigma / res.knox_err
    return {
        "fsky": window.fsky,
        "fsky_eff": window.fsky_eff,
        "coupling_s": setup.coupling_seconds,
        "spectrum_s": t_spec,
        "sims_s": res.info["simulation_seconds"],
        "bos": bos,
        "ratio": ratio,
        "ell": res.binning.ell_eff,
        "n": n_sims,
    }


def _timing(maps, window, setup, niter: int, repeat: int) -> dict:
    """Median time of one spectrum, the package's and plain healpy's (anafast)."""
    from rediscovery.cosmo.cmb.spectra import pseudo_alms, pseudo_cl

    def ours() -> np.ndarray:
        return setup.bandpowers(pseudo_cl(pseudo_alms(maps, window, setup.lmax_work, niter=niter)))

    def plain() -> np.ndarray:  # a healpy user's cross-spectra: anafast(map1, map2)
        wm = [window.weights * m for m in maps]
        if len(wm) == 1:
            return setup.bandpowers(hp.anafast(wm[0], lmax=setup.lmax_work, iter=niter))
        pairs = [
            hp.anafast(wm[i], wm[j], lmax=setup.lmax_work, iter=niter)
            for i in range(len(wm))
            for j in range(i + 1, len(wm))
        ]
        return setup.bandpowers(np.mean(pairs, axis=0))

    times = {}
    out = {}
    for name, f in (("ours", ours), ("healpy", plain)):
        ts = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            out[name] = f()
            ts.append(time.perf_counter() - t0)
        times[name] = float(np.median(ts))
    diff = np.abs(out["ours"] / out["healpy"] - 1).max()
    return {
        "fsky": window.fsky,
        "fsky_eff": window.fsky_eff,
        "coupling_s": setup.coupling_seconds,
        "times": times,
        "maxrel": diff,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nside", type=int, default=512)
    ap.add_argument("--lmax", type=int, default=1000)
    ap.add_argument("--n-sims", type=int, default=300)
    ap.add_argument("--fsky", default="0.1,0.4,0.7")
    ap.add_argument("--delta-ell", type=int, default=30)
    ap.add_argument("--niter", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--splits", type=int, default=2)
    ap.add_argument("--noise", type=float, default=20.0, help="μK·arcmin (all data)")
    ap.add_argument("--fwhm", type=float, default=10.0, help="beam FWHM, arcmin")
    ap.add_argument("--apod-deg", type=float, default=5.0)
    ap.add_argument("--per-band", action="store_true", help="print every band")
    ap.add_argument("--timing-only", action="store_true", help="time one spectrum, no sims")
    ap.add_argument("--repeat", type=int, default=5, help="timing repetitions (median)")
    a = ap.parse_args()
    t0 = time.perf_counter()
    cl = tt_cl(dict(PLANCK2018_BEST_FIT), 3 * a.nside - 1)
    print(
        f"CAMB fiducial: {time.perf_counter() - t0:.1f} s; nside {a.nside}, ℓ_max {a.lmax}, "
        f"Δℓ {a.delta_ell}, {a.n_sims} sims, {a.splits} split(s), niter {a.niter}, "
        f"noise {a.noise} μK·arcmin, beam {a.fwhm}′, apodisation {a.apod_deg}°, "
        f"{a.workers} workers"
    )
    if a.timing_only:
        print(
            f"{'f_sky':>6} {'f_eff':>6} {'mcm s':>6} {'spectrum s':>10} {'anafast s':>10} "
            f"{'ratio':>6} {'max|rel diff|':>14}"
        )
    else:
        print(
            f"{'f_sky':>6} {'f_eff':>6} {'mcm s':>6} {'spec s':>7} {'sims s':>7} "
            f"{'max|b|/σ':>9} {'n>0.1σ':>7} {'σMC/σK min':>10} {'max':>6} {'mean':>6}"
        )
    for f in (float(x) for x in a.fsky.split(",")):
        r = run(
            a.nside,
            a.lmax,
            a.n_sims,
            f,
            a.delta_ell,
            a.niter,
            a.workers,
            a.splits,
            a.noise,
            a.fwhm,
            a.apod_deg,
            cl,
            a.timing_only,
            a.repeat,
        )
        if a.timing_only:
            t = r["times"]
            print(
                f"{r['fsky']:6.3f} {r['fsky_eff']:6.3f} {r['coupling_s']:6.1f} "
                f"{t['ours']:10.3f} {t['healpy']:10.3f} {t['healpy'] / t['ours']:6.1f} "
                f"{r['maxrel']:14.1e}",
                flush=True,
            )
            continue
        print(
            f"{r['fsky']:6.3f} {r['fsky_eff']:6.3f} {r['coupling_s']:6.1f} "
            f"{r['spectrum_s']:7.2f} {r['sims_s']:7.0f} {r['bos'].max():9.3f} "
            f"{int((r['bos'] > 0.1).sum()):3d}/{len(r['bos']):<3d} {r['ratio'].min():10.3f} "
            f"{r['ratio'].max():6.3f} {r['ratio'].mean():6.3f}",
            flush=True,
        )
        if a.per_band:
            for ell, b, q in zip(r["ell"], r["bos"], r["ratio"], strict=True):
                print(f"    ℓ {ell:7.1f}  |bias|/σ {b:6.3f}  σMC/σKnox {q:6.3f}")
    if a.timing_only:
        return
    print(
        f"statistical errors: |bias|/σ ± {1 / math.sqrt(a.n_sims):.3f}, "
        f"σ ratio ± {1 / math.sqrt(2 * a.n_sims):.3f}"
    )


if __name__ == "__main__":
    main()

"""CMB map-making: residuals against the input sky, destriper vs GLS, and throughput.

Usage::

    PYTHONPATH=src python benchmarks/cmb_mapmaking.py validate [--days 1] [--plot FILE]
    PYTHONPATH=src python benchmarks/cmb_mapmaking.py gls
    PYTHONPATH=src python benchmarks/cmb_mapmaking.py throughput [--samples 1e8] [--workdir D]

``validate``: simulates the default instrument (4 detectors, 10 Hz, 300 μK per sample,
f_knee = 1 Hz, α = 1, 30′ beam, nside 256; ``--days``), makes the binned and destriped maps
and prints C_ℓ(map − beam-smoothed sky)/N_ℓ^white in ℓ bands (the validation figure; the map
makers never see the sky).

``gls``: the small case (nside 64, 2 detectors, 6 h, noise only): residual rms and low-ℓ
(2 ≤ ℓ ≤ 24) excess power of the binned, destriped and exact GLS maps, for four seeds.

``throughput``: writes a noise-only TOD of ``--samples`` samples (4 detectors, no angles) to
``--workdir``, then times the streaming binned map, the destriper (reading + solving), and a
plain-numpy baseline of the same binning (``np.add.at``), printing samples/s and the ratios.
"""

from __future__ import annotations

import argparse
import itertools
import math
import tempfile
import time
from pathlib import Path

import healpy  # noqa: F401  (imported before the clocks start: ~1 s of imports)
import numpy as np

from rediscovery.cosmo.cmb.mapmaking import (
    bin_tod,
    destripe,
    detector_weights,
    gls_map,
    load_tod,
    residual_spectrum,
)
from rediscovery.cosmo.cmb.mapmaking.validation import band_average
from rediscovery.cosmo.cmb.tod import (
    TODConfig,
    TODFile,
    default_focal_plane,
    simulate_chunks,
    simulate_to_files,
    write_tod,
)

EDGES = np.array([2, 10, 30, 60, 100, 200, 300, 500, 768])


def validate(args: argparse.Namespace) -> None:
    import healpy as hp

    work = Path(args.workdir or tempfile.mkdtemp(prefix="cmbval_"))
    cfg = TODConfig(days=args.days, detectors=tuple(default_focal_plane(4, alpha=args.alpha,
                                                                        fknee=args.fknee)))
    t0 = time.perf_counter()
    simulate_to_files(work, cfg, args.seed, nside_sky=256, angles=False)
    print(f"simulated {cfg.n_samples * 4:.3g} samples in {time.perf_counter() - t0:.1f} s "
          f"-> {work}")
    sky = hp.read_map(str(work / "truth" / "truth_sky.fits"), field=0)
    spectra = {}
    with TODFile(work / "tod.h5") as f:
        spectra["binned"] = residual_spectrum(
            bin_tod(f.iter_chunks(), 256, f.nside_pointing, detector_weights(f.detectors)), sky)
        data = load_tod(f.iter_chunks(chunk=int(f.attrs["noise_block"])), 256,
                        f.nside_pointing, f.detectors, f.sample_rate)
    for secs in args.baselines:
        for prior in (True, False):
            res, _ = destripe(data, round(secs * 10), noise_prior=prior)
            name = f"destriped {secs:g} s{' +prior' if prior else ''}"
            spectra[name] = residual_spectrum(res, sky)
            print(f"{name}: CG {res.info['cg_iterations']} it, {res.info['seconds']:.1f} s")
    print("C_l(residual)/N_white in l bands " + " ".join(
        f"[{lo},{hi})" for lo, hi in itertools.pairwise(EDGES)))
    for name, s in spectra.items():
        print(f"{name:>24}: " + " ".join(f"{r:8.2f}" for r in band_average(s, EDGES)[1])
              + f"   (N_white = {s.white:.3g} uK^2, fsky {s.fsky:.3f}, "
              f"l>30: {s.excess(31, 767) + 1:.2f})")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from rediscovery.core.plotting import savefig
        from rediscovery.cosmo.cmb.mapmaking.plots import plot_residual_spectra

        savefig(plot_residual_spectra(spectra), args.plot)


def gls(args: argparse.Namespace) -> None:
    nside = 64
    cfg = TODConfig(detectors=tuple(default_focal_plane(2)), days=0.25)
    zero = np.zeros(12 * nside**2)
    print("seed | rms residual (uK): binned destriped GLS | excess 2<=l<=24: binned destriped "
          "GLS | destriped/GLS low-l power")
    for seed in args.seeds:
        data = load_tod(simulate_chunks(cfg, None, seed, angles=False), nside,
                        cfg.nside_pointing, list(cfg.detectors), cfg.sample_rate)
        b = bin_tod(simulate_chunks(cfg, None, seed, angles=False), nside, cfg.nside_pointing,
                    detector_weights(cfg.detectors))
        d, _ = destripe(data, 10)
        g = gls_map(data)
        seen = g.seen

        def rms(r, seen=seen):
            x = r.map[seen] - r.map[seen].mean()
            return float(np.sqrt(np.mean(x**2)))

        spec = [residual_spectrum(r, zero) for r in (b, d, g)]
        ex = [s.excess(2, 24) for s in spec]
        hi = [s.excess(31, 3 * nside - 1) + 1 for s in spec]
        print(f"{seed:4d} | {rms(b):7.1f} {rms(d):7.1f} {rms(g):7.1f} | {ex[0]:8.1f} "
              f"{ex[1]:6.1f} {ex[2]:6.1f} | {(ex[1] + 1) / (ex[2] + 1):.2f} | l>30 C_l/N_white:"
              f" {hi[0]:.2f} {hi[1]:.2f} {hi[2]:.2f}  (CG: destriper "
              f"{d.info['cg_iterations']}, GLS {g.info['cg_iterations']} it)")


def throughput(args: argparse.Namespace) -> None:
    work = Path(args.workdir or tempfile.mkdtemp(prefix="cmbthr_"))
    n_det = 4
    days = args.samples / n_det / 10.0 / 86400.0
    cfg = TODConfig(days=days, detectors=tuple(default_focal_plane(n_det)))
    n = cfg.n_samples * n_det
    path = work / "tod_throughput.h5"
    if not path.exists():
        t0 = time.perf_counter()
        write_tod(path, cfg, simulate_chunks(cfg, None, 1, angles=False), angles=False)
        print(f"simulated {n:.3g} samples in {time.perf_counter() - t0:.0f} s "
              f"({path.stat().st_size / 1e9:.2f} GB)")
    clock = {}

    def timed(name, func):
        w0, c0 = time.perf_counter(), time.process_time()
        out = func()
        clock[name] = (time.perf_counter() - w0, time.process_time() - c0)
        return out

    with TODFile(path) as f:
        w = detector_weights(f.detectors)
        nread = timed("read", lambda: sum(len(c.signal) for c in f.iter_chunks()))
        timed("binned", lambda: bin_tod(f.iter_chunks(), 256, f.nside_pointing, w))

        def naive():  # plain numpy baseline: the same streaming binning with np.add.at
            shift = 2 * round(math.log2(f.nside_pointing // 256))
            acc = np.zeros(12 * 256**2)
            hits = np.zeros(12 * 256**2)
            for c in f.iter_chunks():
                p = c.pixels >> shift
                np.add.at(acc, p, c.signal * w[c.detector])
                np.add.at(hits, p, w[c.detector])

        timed("numpy", naive)
        data = timed("load", lambda: load_tod(f.iter_chunks(chunk=int(f.attrs["noise_block"])),
                                              256, f.nside_pointing, f.detectors,
                                              f.sample_rate))
    res, _ = timed("destripe", lambda: destripe(data, 10, tol=args.tol))
    assert nread == n
    des = tuple(clock["load"][k] + clock["destripe"][k] for k in (0, 1))
    print(f"samples: {n:.3g}; wall / CPU seconds (CPU = wall on an idle core)")
    for _name, label, t in (("read", "read only (h5py, float32 + int32)", clock["read"]),
                           ("binned", "binned (streaming bincount)", clock["binned"]),
                           ("numpy", "plain numpy np.add.at binning", clock["numpy"]),
                           ("destriped", "destriped 1 s baselines + prior", des)):
        print(f"{label:>34}: {n / t[0]:.3g} samples/s wall, {n / t[1]:.3g} CPU "
              f"({t[0]:.1f} / {t[1]:.1f} s)")
    print(f"binned vs np.add.at: x{clock['numpy'][1] / clock['binned'][1]:.2f} (CPU); "
          f"destriped / binned time: x{des[1] / clock['binned'][1]:.1f} (CPU)")
    print(f"destriper: load {clock['load'][1]:.1f} s CPU, solve {clock['destripe'][1]:.1f} s "
          f"CPU, CG {res.info['cg_iterations']} iterations to {args.tol:g} "
          f"({clock['destripe'][1] / max(res.info['cg_iterations'], 1):.2f} s CPU/iteration)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate")
    v.add_argument("--days", type=float, default=1.0)
    v.add_argument("--fknee", type=float, default=1.0)
    v.add_argument("--alpha", type=float, default=1.0)
    v.add_argument("--seed", type=int, default=1)
    v.add_argument("--baselines", type=float, nargs="+", default=[1.0, 10.0])
    v.add_argument("--workdir", default=None)
    v.add_argument("--plot", default=None)
    g = sub.add_parser("gls")
    g.add_argument("--seeds", type=int, nargs="+", default=[6, 7, 8, 9])
    t = sub.add_parser("throughput")
    t.add_argument("--samples", type=float, default=1e8)
    t.add_argument("--workdir", default=None)
    t.add_argument("--tol", type=float, default=1e-6)
    args = ap.parse_args()
    {"validate": validate, "gls": gls, "throughput": throughput}[args.cmd](args)


if __name__ == "__main__":
    main()

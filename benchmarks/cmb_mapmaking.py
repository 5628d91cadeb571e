"""CMB map-making: residuals against the input sky, destriper vs GLS, and throughput.

Usage::

    PYTHONPATH=src python benchmarks/cmb_mapmaking.py validate [--days 1] [--plot FILE]
    PYTHONPATH=src python benchmarks/cmb_mapmaking.py gls
    PYTHONPATH=src python benchmarks/cmb_mapmaking.py throughput [--samples 1e8] [--workdir D]
    PYTHONPATH=src python benchmarks/cmb_mapmaking.py litebird [--days 0.25] [--nside 128]
    PYTHONPATH=src python benchmarks/cmb_mapmaking.py stream --samples 1e6 1e7 [--in-memory]
        [--polarised]

``validate``: simulates the default instrument (4 detectors, 10 Hz, 300 μK per sample,
f_knee = 1 Hz, α = 1, 30′ beam, nside 256; ``--days``; ``--sample-rate``, ``--az-speed`` and
``--net`` change it), makes the binned and destriped maps (``--gls``: and the exact GLS map)
and prints C_ℓ(map − beam-smoothed sky)/N_ℓ^white in ℓ bands (the validation figure; the map
makers never see the sky).

``gls``: the small case (nside 64, 2 detectors, 6 h, noise only): residual rms and low-ℓ
(2 ≤ ℓ ≤ 24) excess power of the binned, destriped and exact GLS maps, for four seeds.

``throughput``: writes a noise-only TOD of ``--samples`` samples (4 detectors, no angles) to
``--workdir``, then times the streaming binned map, the destriper (reading + solving), and a
plain-numpy baseline of the same binning (``np.add.at``), printing samples/s and the ratios.

``stream``: for each ``--samples`` size writes a noise-only TOD (4 detectors, no angles,
f_knee = 1 Hz) to ``--workdir`` (kept there for re-runs), then destripes it streamed from the
file (``destripe_file``, 1 s baselines + prior, nside 256) in a fresh process and prints
samples/s (wall and CPU), the CG iterations, the passes over the file and the process's peak
resident memory (``resource.getrusage``: ``ru_maxrss``) beside the same process's resident
memory before destriping; ``--in-memory`` also runs ``load_tod`` + ``destripe`` in another
fresh process for comparison. ``--polarised``: the 4 detectors are polarised (0°, 45°, 90°,
135°; ψ in the file) and the I, Q, U destripers run (``destripe_file_iqu``, ``destripe_iqu``).

``litebird``: a noise-only TOD (white + 1/f) through the package's destriper (without and
with its 1/f prior) and through litebird-sim's ``make_destriped_map`` with the same baseline
length (needs ``pip install litebird-sim``, the optional ``litebird`` extra); prints the rms
of each temperature map and of its difference from litebird-sim's, over the white-noise σ.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import healpy  # noqa: F401  (imported before the clocks start: ~1 s of imports)
import numpy as np

from rediscovery.cosmo.cmb.mapmaking import (
    bin_tod,
    destripe,
    destripe_file,
    destripe_file_iqu,
    destripe_iqu,
    detector_weights,
    gls_map,
    load_tod,
    residual_spectrum,
)
from rediscovery.cosmo.cmb.mapmaking.validation import band_average
from rediscovery.cosmo.cmb.tod import (
    ScanStrategy,
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
    cfg = TODConfig(
        days=args.days,
        detectors=tuple(
            default_focal_plane(4, alpha=args.alpha, fknee=args.fknee, net=args.net)
        ),
        sample_rate=args.sample_rate,
        scan=ScanStrategy(az_speed=args.az_speed),
    )
    # the scan's speed on the sky sets which multipole a TOD frequency lands on: ℓ ≈ 2π f / v
    v_sky = math.radians(args.az_speed * math.cos(math.radians(cfg.scan.elevation)))
    print(
        f"scan {v_sky * 180 / math.pi:.2f} deg/s on the sky: f_knee = {args.fknee:g} Hz "
        f"at l = {2 * math.pi * args.fknee / v_sky:.0f}; "
        f"l = 30 at {30 * v_sky / (2 * math.pi):.2f} Hz"
    )
    t0 = time.perf_counter()
    simulate_to_files(work, cfg, args.seed, nside_sky=256, angles=False)
    print(
        f"simulated {cfg.n_samples * 4:.3g} samples in {time.perf_counter() - t0:.1f} s -> {work}"
    )
    sky = hp.read_map(str(work / "truth" / "truth_sky.fits"), field=0)
    spectra = {}
    with TODFile(work / "tod.h5") as f:
        spectra["binned"] = residual_spectrum(
            bin_tod(f.iter_chunks(), 256, f.nside_pointing, detector_weights(f.detectors)), sky
        )
        data = load_tod(
            f.iter_chunks(chunk=int(f.attrs["noise_block"])),
            256,
            f.nside_pointing,
            f.detectors,
            f.sample_rate,
        )
    for secs in args.baselines:
        for prior in (True, False):
            res, _ = destripe(data, max(round(secs * cfg.sample_rate), 1), noise_prior=prior)
            name = f"destriped {secs:g} s{' +prior' if prior else ''}"
            spectra[name] = residual_spectrum(res, sky)
            print(f"{name}: CG {res.info['cg_iterations']} it, {res.info['seconds']:.1f} s")
    if args.gls:
        res = gls_map(data, tol=1e-6)
        spectra["GLS"] = residual_spectrum(res, sky)
        print(f"GLS: CG {res.info['cg_iterations']} it, {res.info['seconds']:.1f} s")
    print(
        "C_l(residual)/N_white in l bands "
        + " ".join(f"[{lo},{hi})" for lo, hi in itertools.pairwise(EDGES))
    )
    for name, s in spectra.items():
        print(
            f"{name:>24}: "
            + " ".join(f"{r:8.2f}" for r in band_average(s, EDGES)[1])
            + f"   (N_white = {s.white:.3g} uK^2, fsky {s.fsky:.3f}, "
            f"l>30: {s.excess(31, 767) + 1:.3f})"
        )
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
    print(
        "seed | rms residual (uK): binned destriped GLS | excess 2<=l<=24: binned destriped "
        "GLS | destriped/GLS low-l power"
    )
    for seed in args.seeds:
        data = load_tod(
            simulate_chunks(cfg, None, seed, angles=False),
            nside,
            cfg.nside_pointing,
            list(cfg.detectors),
            cfg.sample_rate,
        )
        b = bin_tod(
            simulate_chunks(cfg, None, seed, angles=False),
            nside,
            cfg.nside_pointing,
            detector_weights(cfg.detectors),
        )
        d, _ = destripe(data, 10)
        g = gls_map(data)
        seen = g.seen

        def rms(r, seen=seen):
            x = r.map[seen] - r.map[seen].mean()
            return float(np.sqrt(np.mean(x**2)))

        spec = [residual_spectrum(r, zero) for r in (b, d, g)]
        ex = [s.excess(2, 24) for s in spec]
        hi = [s.excess(31, 3 * nside - 1) + 1 for s in spec]
        print(
            f"{seed:4d} | {rms(b):7.1f} {rms(d):7.1f} {rms(g):7.1f} | {ex[0]:8.1f} "
            f"{ex[1]:6.1f} {ex[2]:6.1f} | {(ex[1] + 1) / (ex[2] + 1):.2f} | l>30 C_l/N_white:"
            f" {hi[0]:.2f} {hi[1]:.2f} {hi[2]:.2f}  (CG: destriper "
            f"{d.info['cg_iterations']}, GLS {g.info['cg_iterations']} it)"
        )


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
        print(
            f"simulated {n:.3g} samples in {time.perf_counter() - t0:.0f} s "
            f"({path.stat().st_size / 1e9:.2f} GB)"
        )
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
        data = timed(
            "load",
            lambda: load_tod(
                f.iter_chunks(chunk=int(f.attrs["noise_block"])),
                256,
                f.nside_pointing,
                f.detectors,
                f.sample_rate,
            ),
        )
    res, _ = timed("destripe", lambda: destripe(data, 10, tol=args.tol))
    assert nread == n
    des = tuple(clock["load"][k] + clock["destripe"][k] for k in (0, 1))
    print(f"samples: {n:.3g}; wall / CPU seconds (CPU = wall on an idle core)")
    for _name, label, t in (
        ("read", "read only (h5py, float32 + int32)", clock["read"]),
        ("binned", "binned (streaming bincount)", clock["binned"]),
        ("numpy", "plain numpy np.add.at binning", clock["numpy"]),
        ("destriped", "destriped 1 s baselines + prior", des),
    ):
        print(
            f"{label:>34}: {n / t[0]:.3g} samples/s wall, {n / t[1]:.3g} CPU "
            f"({t[0]:.1f} / {t[1]:.1f} s)"
        )
    print(
        f"binned vs np.add.at: x{clock['numpy'][1] / clock['binned'][1]:.2f} (CPU); "
        f"destriped / binned time: x{des[1] / clock['binned'][1]:.1f} (CPU)"
    )
    print(
        f"destriper: load {clock['load'][1]:.1f} s CPU, solve {clock['destripe'][1]:.1f} s "
        f"CPU, CG {res.info['cg_iterations']} iterations to {args.tol:g} "
        f"({clock['destripe'][1] / max(res.info['cg_iterations'], 1):.2f} s CPU/iteration)"
    )


def _rss_mb() -> float:
    """Peak resident memory of this process so far (MB; ru_maxrss is in kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _current_rss_mb() -> float:
    """Resident memory now (MB), from /proc/self/statm."""
    import os

    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def stream_one(args: argparse.Namespace) -> None:
    """One destriping of ``--tod`` in this (fresh) process; prints a JSON line."""
    from rediscovery.cosmo.cmb.mapmaking import kernels  # noqa: F401 (numba: ~100 MB)

    with TODFile(args.tod) as f:
        before = _current_rss_mb()
        w0, c0 = time.perf_counter(), _cpu()
        polarised = any(d.polarised for d in f.detectors)
        if args.mode == "stream":
            streamer = destripe_file_iqu if polarised else destripe_file
            res, _ = streamer(f, 256, 10, tol=args.tol)
        else:
            data = load_tod(f.iter_chunks(chunk=int(f.attrs["noise_block"])), 256,
                            f.nside_pointing, f.detectors, f.sample_rate)
            res, _ = (destripe_iqu if polarised else destripe)(data, 10, tol=args.tol)
        wall, cpu = time.perf_counter() - w0, _cpu() - c0
    print(json.dumps({"wall": wall, "cpu": cpu, "rss_before_mb": before, "peak_mb": _rss_mb(),
                      "n": res.info["n_samples"], "it": res.info["cg_iterations"],
                      "passes": res.info.get("passes"), "converged": res.info["cg_converged"],
                      "load1": __import__("os").getloadavg()[0]}))


def stream(args: argparse.Namespace) -> None:
    work = Path(args.workdir or tempfile.mkdtemp(prefix="cmbstream_"))
    work.mkdir(parents=True, exist_ok=True)
    n_det = 4
    print("samples | mode | wall s | CPU s | samples/s wall | samples/s CPU | CG it | passes | "
          "RSS before MB | peak RSS MB | load (1 min)")
    for total in args.samples:
        cfg = TODConfig(days=total / n_det / 10.0 / 86400.0,
                        detectors=tuple(default_focal_plane(n_det, polarised=args.polarised)))
        kind = "_pol" if args.polarised else ""
        path = work / f"tod{kind}_{cfg.n_samples * n_det:d}.h5"
        if not path.exists():
            t0 = time.perf_counter()
            write_tod(path, cfg, simulate_chunks(cfg, None, 1, angles=False), angles=False)
            print(f"simulated {cfg.n_samples * n_det:.3g} samples in "
                  f"{time.perf_counter() - t0:.0f} s -> {path}")
        for mode in ("stream", "memory") if args.in_memory else ("stream",):
            out = subprocess.run(
                [sys.executable, __file__, "stream-one", "--tod", str(path), "--mode", mode,
                 "--tol", str(args.tol)], check=True, capture_output=True, text=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{r['n']:.3g} | {mode} | {r['wall']:.1f} | {r['cpu']:.1f} | "
                  f"{r['n'] / r['wall']:.3g} | {r['n'] / r['cpu']:.3g} | {r['it']} | "
                  f"{r['passes'] if r['passes'] is not None else '-'} | "
                  f"{r['rss_before_mb']:.0f} | {r['peak_mb']:.0f} | {r['load1']:.1f}"
                  + ("" if r["converged"] else " (CG not converged)"))


#: litebird-sim's TODs are in K while its detector noise (``net_ukrts``) is in μK√s: the
#: destriper's weights are σ² = f_samp NET² in μK², and its stopping threshold (1e-7 by
#: default) is on residuals in those mixed units. The package's TOD (μK) is handed over in K.
UK_TO_K = 1e-6


def litebird(args: argparse.Namespace) -> None:
    """The same TOD through the package's destriper and litebird-sim's (``make_destriped_map``,
    Kurki-Suonio et al. 2009's destriper as LiteBIRD runs it)."""
    try:
        import litebird_sim as lbs
    except ImportError:
        raise SystemExit(
            "litebird-sim is not installed: pip install 'rediscovery[litebird]' "
            "(or pip install litebird-sim)"
        ) from None
    import healpy as hp

    nside = args.nside
    cfg = TODConfig(detectors=tuple(default_focal_plane(args.detectors)), days=args.days)
    chunks = list(simulate_chunks(cfg, None, args.seed, angles=True))  # noise only
    dets = list(cfg.detectors)
    n = cfg.n_samples
    print(
        f"{len(dets)} detectors × {n} samples (noise only: white + 1/f, f_knee "
        f"{dets[0].fknee} Hz), nside {nside}, baselines {args.baseline_s:g} s"
    )
    data = load_tod(iter(chunks), nside, cfg.nside_pointing, dets, cfg.sample_rate)
    base = round(args.baseline_s * cfg.sample_rate)
    ours = {}
    for prior in (False, True):
        t0 = time.perf_counter()
        res, offsets = destripe(data, base, noise_prior=prior)
        ours[prior] = (res, time.perf_counter() - t0, offsets)
    # litebird-sim: one Observation, pointings (θ, φ, ψ); it solves I, Q, U, so ψ is drawn
    # uniformly per sample (seeded): with T-only data Q and U come out as noise and I is the
    # temperature map. Output "Ecliptic" = no rotation of the given angles.
    rng = np.random.default_rng(args.seed)
    obs = lbs.Observation(
        detectors=[
            {"name": d.name, "net_ukrts": d.net / math.sqrt(cfg.sample_rate), "pol_angle_rad": 0.0}
            for d in dets
        ],
        n_samples_global=n,
        start_time_global=0.0,
        sampling_rate_hz=cfg.sample_rate,
    )
    pointings = np.empty((len(dets), n, 3))
    order = {d.name: i for i, d in enumerate(dets)}
    for c in chunks:
        i, sl = order[c.detector], slice(c.start, c.start + len(c.signal))
        obs.tod[i, sl] = c.signal * UK_TO_K
        pointings[i, sl, 0] = c.theta
        pointings[i, sl, 1] = c.phi
    pointings[..., 2] = rng.uniform(0.0, math.pi, (len(dets), n))
    params = lbs.DestriperParameters(
        output_coordinate_system=lbs.CoordinateSystem.Ecliptic,
        samples_per_baseline=base,
        iter_max=args.iter_max,
        threshold=args.threshold,
    )
    # litebird-sim 0.18's conjugate gradient reuses one array for the preconditioned residual
    # and the search direction, so it oscillates after a few steps (litebird_sim issue #322;
    # it keeps the best baselines seen). With --restarts N it is restarted from the current
    # solution: the baselines found so far are subtracted from the TOD and the destriper is
    # run again from zero (its public API cannot warm-start: given baselines it only
    # recycles them), ``--iter-max`` steps each time, until the largest baseline residual has
    # fallen by ``--rtol``.
    tod0 = obs.tod.copy()
    total = None
    history: list[float] = []
    t0 = time.perf_counter()
    n_runs = 0
    for _ in range(args.restarts):
        n_runs += 1
        lb = lbs.make_destriped_map(nside, obs, pointings=pointings, params=params, callback=None)
        if total is None:
            first = lb  # its binned map is the one of the original TOD
        steps = lb.history_of_stopping_factors
        history += steps if not history else steps[1:]
        b, lengths = lb.baselines[0], lb.baseline_lengths[0]
        total = b if total is None else total + b
        obs.tod[:] = tod0 - np.repeat(total, lengths, axis=1)
        if min(steps) < args.rtol * history[0]:
            break
    t_lb = time.perf_counter() - t0
    lb_map = np.asarray(lb.destriped_map[0], dtype=float) / UK_TO_K
    best = min(history)
    print(
        f"litebird-sim: {len(history) - 1} CG steps in {n_runs} run(s) of <= {args.iter_max}; "
        f"largest baseline residual {history[0]:.2g} -> {best:.2g} "
        f"(x{best / history[0]:.1e}; target x{args.rtol:g}); baselines rms "
        f"{np.std(total) / UK_TO_K:.3g} μK"
    )
    seen = ours[False][0].seen & np.isfinite(lb_map) & (lb_map != hp.UNSEEN)
    white = np.sqrt(np.median(ours[False][0].variance[seen]))

    def centred(m):
        return m[seen] - m[seen].mean()  # the monopole is free in both

    ref = centred(lb_map)
    lb_bin = np.asarray(first.binned_map[0], dtype=float) / UK_TO_K
    ours_bin = bin_tod(iter(chunks), nside, cfg.nside_pointing, detector_weights(dets))
    both = seen & ours_bin.seen
    print(
        f"binned maps (no destriping), ours − litebird-sim: rms "
        f"{np.std(ours_bin.map[both] - lb_bin[both]):.3g} μK over {int(both.sum())} pixels "
        f"(map rms {np.std(ours_bin.map[both]):.3g} μK)"
    )
    print(
        f"pixels seen by both: {int(seen.sum())}; white-noise σ per pixel (median) "
        f"{white:.2f} μK; litebird-sim {t_lb:.1f} s"
    )
    print(f"{'map':>28} {'rms (μK)':>9} {'rms(map − litebird)':>20} {'/ white σ':>9} {'s':>6}")
    print(f"{'litebird-sim destriper':>28} {ref.std():9.2f} {0.0:20.2f} {0.0:9.3f} {t_lb:6.1f}")
    for prior, (res, t, _) in ours.items():
        d = centred(res.map) - ref
        name = f"ours{' + 1/f prior' if prior else ''}"
        print(
            f"{name:>28} {centred(res.map).std():9.2f} {d.std():20.2f} "
            f"{d.std() / white:9.3f} {t:6.1f}"
        )
    # the maps also differ by litebird-sim's Q, U freedom; the offsets (1/f estimates) do not:
    # compare them sample by sample (detector-major order in both), up to a common constant
    theirs = np.repeat(total, lengths, axis=1).ravel() / UK_TO_K
    for prior, (_, _, offsets) in ours.items():
        d = np.repeat(offsets, base)[: theirs.size] - theirs
        print(
            f"offsets{' + 1/f prior' if prior else ''}, ours − litebird-sim: rms "
            f"{np.std(d):.3g} μK (litebird-sim's offsets: rms {np.std(theirs):.3g} μK)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate")
    v.add_argument("--days", type=float, default=1.0)
    v.add_argument("--fknee", type=float, default=1.0)
    v.add_argument("--alpha", type=float, default=1.0)
    v.add_argument("--seed", type=int, default=1)
    v.add_argument("--baselines", type=float, nargs="+", default=[1.0, 10.0])
    v.add_argument("--sample-rate", type=float, default=10.0, help="Hz")
    v.add_argument("--az-speed", type=float, default=3.0, help="deg/s in azimuth")
    v.add_argument("--net", type=float, default=300.0, help="white noise per sample, uK")
    v.add_argument("--gls", action="store_true", help="also the exact GLS map (holds the TOD)")
    v.add_argument("--workdir", default=None)
    v.add_argument("--plot", default=None)
    g = sub.add_parser("gls")
    g.add_argument("--seeds", type=int, nargs="+", default=[6, 7, 8, 9])
    t = sub.add_parser("throughput")
    t.add_argument("--samples", type=float, default=1e8)
    t.add_argument("--workdir", default=None)
    t.add_argument("--tol", type=float, default=1e-6)
    lb = sub.add_parser("litebird")
    lb.add_argument("--days", type=float, default=0.25)
    lb.add_argument("--detectors", type=int, default=2)
    lb.add_argument("--nside", type=int, default=128)
    lb.add_argument("--baseline-s", type=float, default=1.0)
    lb.add_argument("--seed", type=int, default=3)
    lb.add_argument("--iter-max", type=int, default=200, help="CG steps per run")
    lb.add_argument("--restarts", type=int, default=1, help="runs of litebird-sim's destriper")
    lb.add_argument(
        "--rtol", type=float, default=1e-6, help="stop when the residual has fallen by this"
    )
    lb.add_argument(
        "--threshold",
        type=float,
        default=1e-7,
        help="litebird-sim's stopping threshold: the largest baseline residual "
        "F^T C_w^-1 Z (y - F a), TOD in K and σ² in μK² (its conventions)",
    )
    st = sub.add_parser("stream")
    st.add_argument("--samples", type=float, nargs="+", default=[1e6, 1e7])
    st.add_argument("--workdir", default=None)
    st.add_argument("--tol", type=float, default=1e-6)
    st.add_argument("--in-memory", action="store_true",
                    help="also run the in-memory destriper on each TOD")
    st.add_argument("--polarised", action="store_true",
                    help="polarised detectors: the I, Q, U destripers")
    one = sub.add_parser("stream-one")
    one.add_argument("--tod", required=True)
    one.add_argument("--mode", choices=("stream", "memory"), default="stream")
    one.add_argument("--tol", type=float, default=1e-6)
    args = ap.parse_args()
    commands = {"validate": validate, "gls": gls, "throughput": throughput, "stream": stream,
                "stream-one": stream_one}
    commands["litebird"] = litebird
    commands[args.cmd](args)


if __name__ == "__main__":
    main()

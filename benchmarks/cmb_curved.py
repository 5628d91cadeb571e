"""The curved-universe CMB emulator: held-out accuracy, speed, and (h, Ωm, ΩΛ) inject-recover.

Usage::

    PYTHONPATH=src python benchmarks/cmb_curved.py accuracy --cache CACHE.h5 [--emulator FILE]
    PYTHONPATH=src python benchmarks/cmb_curved.py speed [--camb-calls 2]
    PYTHONPATH=src python benchmarks/cmb_curved.py inject [--draws 10] [--steps 3000]
    PYTHONPATH=src python benchmarks/cmb_curved.py hidden --out HIDDEN.h5 [--models 60]
    PYTHONPATH=src python benchmarks/cmb_curved.py corners [--camb-lmax 2500]
    PYTHONPATH=src python benchmarks/cmb_curved.py camb-sampling --cache CACHE.h5 [--models 2]
    PYTHONPATH=src python benchmarks/cmb_curved.py every-ell --cache CACHE.h5 --out EVERY.h5
    PYTHONPATH=src python benchmarks/cmb_curved.py every-ell-cost [--models 2]
    PYTHONPATH=src python benchmarks/cmb_curved.py lowl-cost --ref-dir DIR [--settings 0 3 5]
    PYTHONPATH=src python benchmarks/cmb_curved.py lowl-train --cache LOWL.h5 --ref-dir DIR

``accuracy``: the emulator against the held-out CAMB spectra of the training cache (``test``
group of ``cmb-emulator train-curved``), max / 99th percentile / median over spectra of
max |emu/CAMB − 1| for 30 < ℓ ≤ 1500, per ℓ range, and for closed, flat and open models.

``accuracy`` also prints the error of band powers (Δℓ = 30 from ℓ = 2, the uniform average
``cmb-fit`` uses), which is what a fit sees.

``hidden``: the emulator against CAMB (package settings, lensed, computed to ``--camb-lmax``
2500 and compared at ℓ ≤ 1500: CAMB's lensed spectrum is off by up to 0.9 % near its own lmax
in closed models) on ``--models``
universes drawn as the simulators draw hidden ones (H0 ~ U(60, 80), Ωm ~ U(0.2, 0.4),
ΩΛ ~ U(0.5, 0.9); n_s, A_s, τ uniform over the box), a design independent of the training and
held-out ones; the CAMB spectra go to a resumable cache (``--out``; ``--report-only`` reads it).

``corners``: the emulator against CAMB (computed to ``--camb-lmax``) at the four corners of
the hidden-universe range (n_s 0.965, ln10¹⁰A_s 3.05, τ 0.06), and CAMB computed only to ℓ =
1500 against the same references.

``camb-sampling``: the held-out models with the largest emulator error at 30 ≤ ℓ < 60
recomputed by CAMB with every multipole (``lSampleBoost=50``, minutes per curved model) and
with the package's settings (CAMB interpolates between sampled multipoles), both to
``--lmax-check``: how far CAMB's own interpolation and the emulator are from the exact
spectrum at ℓ ≤ 60.

``every-ell``: the emulator (and CAMB at its default ℓ sampling) against CAMB with every
multipole computed (``lSampleBoost=50``, lensed, ℓ ≤ ``--lmax``, the package's other
settings), on the four corners of the hidden-universe range and on the held-out models of the
training cache. The every-ℓ spectra go to a resumable HDF5 cache (``--out``; one spectrum is
written as soon as it is computed, so a stopped run loses at most one); ``--report-only``
prints what the cache holds without computing.

``every-ell-cost``: what an every-ℓ CAMB spectrum to ℓ = ``--lmax`` costs and how far cheaper
settings are from it (CAMB's default sampling, ``lSampleBoost=4``, lensing potential accuracy
0, unlensed), and the size of lensing there.

``lowl-cost``: cheap CAMB settings for ℓ ≤ 200 (LOWL_SETTINGS: unlensed, a smaller k range,
``lSampleBoost=4``) against every multipole, lensed, at the package's settings (cached per model
in ``--ref-dir``), on LOWL_MODELS: CPU seconds per model and max |x/ref − 1| per ℓ range, the
unlensed ones multiplied by the Planck 2018 best fit's lensing as it is and at ℓ/s.

``lowl-train``: low-ℓ spectra (the package's LOWL_ACCURACY, to ℓ = 150) of a held-out design and of
training blocks, in a resumable cache (``--fit-only`` fits what it holds), then the per-ℓ low-ℓ
component that ``cmb-emulator train-curved-lowl`` ships and the PCA fits of LOWL_FITS, with their
held-out errors next to the emulator's without the component.

``speed``: CAMB time per curved spectrum (the baseline: the package's CAMB settings, a closed
and an open model) and emulator time per spectrum, alone and in a batch of 32, with the ratios.

``inject``: hidden universes drawn as the school's simulators draw them (H0 ~ U(60, 80),
Ωm ~ U(0.2, 0.4), ΩΛ ~ U(0.5, 0.9); n_s, A_s, τ at Planck 2018), an unbinned spectrum
ℓ = 2 … 1200 from the emulator (or ``--camb-truth``: from CAMB) with Gaussian scatter of the
Knox variance (f_sky = 0.5, white noise of 20 μK·arcmin, 10′ beam), written in the three-column
format, read back with Δℓ = 30, and fitted with (h, Ωm, ΩΛ) free. Prints per-parameter pulls
(median − truth)/σ and 68 % coverage (expect mean 0, width 1, 0.68).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from rediscovery.cosmo.cmb.curved import (
    curved_accuracy_report,
    curved_design,
    load_curved_emulator,
    lowl_inputs,
)
from rediscovery.cosmo.cmb.curved_lowl import (
    LOWL_BLEND,
    LOWL_LMAX,
    LOWL_RANGES,
    SPURIOUS_STEP,
    fiducial_lensing,
    fit_lowl_component,
    generate_lowl_training_set,
    read_lowl_set,
    spurious_steps,
)
from rediscovery.cosmo.cmb.emulator import read_training_set
from rediscovery.cosmo.cmb.io import read_three_column
from rediscovery.cosmo.cmb.likelihood import fit_cmb_spectrum
from rediscovery.cosmo.cmb.theory import PARAM_DEFAULTS, camb_spectra, physical_params

FSKY = 0.5
NOISE_UK_ARCMIN = 20.0
BEAM_FWHM_ARCMIN = 10.0
LMAX_DATA = 1200
DELTA_ELL = 30


def accuracy(args: argparse.Namespace) -> None:
    emu = load_curved_emulator(args.emulator)
    te = read_training_set(args.cache, "test")
    good = np.isfinite(te["tt"][:, 0]) & emu.in_box(te["params"])
    p, tt = te["params"][good], te["tt"][good, : emu.lmax - 1]
    rep = curved_accuracy_report(emu, p, tt)
    print(
        f"{rep['n_test']} held-out CAMB spectra (Ωk {rep['Ok_range'][0]:+.2f} … "
        f"{rep['Ok_range'][1]:+.2f}), {emu.metadata.get('n_train')} training spectra"
    )
    print(
        f"max |emu/CAMB - 1|, 30<l<={emu.lmax}: max {rep['max_rel_err']:.2e}, 99th pct "
        f"{rep['p99_rel_err']:.2e}, median {rep['median_rel_err']:.2e}"
    )
    rel = np.abs(emu.predict(p) / tt - 1)
    hidden = np.abs(emu.derived(p)["Ok"]) <= 0.3  # the simulators' hidden universes
    print(
        f"per l range: median / max over spectra of the max error; max for the "
        f"{int(hidden.sum())} spectra with |Ωk| <= 0.3"
    )
    for lo, hi in (
        (2, 30),
        (30, 60),
        (60, 100),
        (100, 200),
        (200, 500),
        (500, 1000),
        (1000, emu.lmax + 1),
    ):
        per = rel[:, (emu.ell >= lo) & (emu.ell < hi)].max(axis=1)
        print(
            f"  l {lo:4d}-{hi - 1:4d}: {np.median(per):.2e} / {per.max():.2e}   "
            f"|Ωk|<=0.3: {per[hidden].max():.2e}"
        )
    for k, v in rep["max_rel_err_closed_open"].items():
        print(f"  {k}: max {'-' if v is None else f'{v:.2e}'}")
    # what a fit sees: bands of Δℓ = 30 from ℓ = 2 (uniform D_ℓ average, as cmb-fit bins)
    lo_b = np.arange(2, emu.lmax - DELTA_ELL + 2, DELTA_ELL)
    bmat = ((emu.ell >= lo_b[:, None]) & (emu.ell < lo_b[:, None] + DELTA_ELL)) / DELTA_ELL
    band = np.abs((emu.predict(p) @ bmat.T) / (tt @ bmat.T) - 1)
    print(f"bands of Δℓ = {DELTA_ELL}: median / max over spectra of the max |ΔD_b/D_b|")
    for lo, hi in ((2, 62), (62, 212), (212, 512), (512, emu.lmax + 1)):
        sel = (lo_b >= lo) & (lo_b < hi)
        per = band[:, sel].max(axis=1)
        print(
            f"  bands from l {lo:4d} to {hi - 1:4d}: {np.median(per):.2e} / {per.max():.2e}   "
            f"|Ωk|<=0.3: {per[hidden].max():.2e}"
        )


def hidden(args: argparse.Namespace) -> None:
    """The emulator against CAMB on universes drawn as the simulators draw hidden ones
    (H0 ~ U(60, 80), Ωm ~ U(0.2, 0.4), ΩΛ ~ U(0.5, 0.9); n_s, ln10¹⁰A_s, τ uniform over the
    emulator's box), the CAMB spectra (package settings, lensed) in a resumable cache."""
    from rediscovery.cosmo.cmb.curved import CURVED_LMAX, compute_curved_spectra

    emu = load_curved_emulator(args.emulator)
    rng = np.random.default_rng(args.seed)
    n = args.models
    rows = np.column_stack(
        [
            rng.uniform(0.60, 0.80, n),
            rng.uniform(0.2, 0.4, n),
            rng.uniform(0.5, 0.9, n),
            *(rng.uniform(*emu.box[k], n) for k in ("ns", "ln10As", "tau")),
        ]
    )
    if not args.report_only:
        compute_curved_spectra(
            args.out,
            {"hidden": rows},
            {"purpose": "hidden-universe check", "seed": int(args.seed), "n": int(n)},
            lmax=max(args.camb_lmax, CURVED_LMAX),
            n_workers=args.workers,
        )
    got = read_training_set(args.out, "hidden")
    ok = np.isfinite(got["tt"][:, 0])
    p, tt = got["params"][ok], got["tt"][ok, : emu.lmax - 1]
    rel = np.abs(emu.predict(p) / tt - 1)
    ok_k = emu.derived(p)["Ok"]
    print(
        f"{len(p)} hidden-universe models (seed {args.seed}; Ωk {ok_k.min():+.2f} … "
        f"{ok_k.max():+.2f}), emulator with {emu.metadata.get('n_train')} training spectra"
    )
    print("max |emu/CAMB - 1| per l range: median / 90th pct / max over models; max closed / open")
    for lo, hi in ((2, 30), (30, 100), (100, 500), (500, 1000), (1000, emu.lmax + 1)):
        per = rel[:, (emu.ell >= lo) & (emu.ell < hi)].max(axis=1)
        print(
            f"  l {lo:4d}-{hi - 1:4d}: {np.median(per):.2e} / {np.quantile(per, 0.9):.2e} / "
            f"{per.max():.2e}   closed {per[ok_k < 0].max(initial=0):.2e}  open "
            f"{per[ok_k >= 0].max(initial=0):.2e}"
        )
    worst = int(np.argmax(rel[:, emu.ell >= 30].max(axis=1)))
    print(
        "worst model (l >= 30): h, Om, OL, ns, ln10As, tau = "
        + ", ".join(f"{v:.4g}" for v in p[worst])
        + f" (Ωk {ok_k[worst]:+.3f}): {rel[worst, emu.ell >= 30].max():.2e} at l = "
        f"{int(emu.ell[emu.ell >= 30][np.argmax(rel[worst, emu.ell >= 30])])}"
    )


def corners(args: argparse.Namespace) -> None:
    """The emulator against CAMB (computed to ``--camb-lmax``, cut at the emulator's lmax) at
    the four corners of the hidden-universe range, max |emu/CAMB − 1| per ℓ range; and how far
    CAMB computed only to the emulator's lmax is from it."""
    from rediscovery.cosmo.cmb.theory import densities_to_physical

    emu = load_curved_emulator(args.emulator)
    ranges = ((2, 30), (30, 100), (100, 500), (500, 1000), (1000, emu.lmax + 1))
    cols = " | ".join(f"{a}-{b - 1}" for a, b in ranges)
    print(f"h, Om, OL (Ok): max |emu/CAMB - 1| in l {cols}")
    for h, om, ol, ns, ln10as, tau in CORNERS:
        p = {"h": h, "Om": om, "OL": ol, "ns": ns, "ln10As": ln10as, "tau": tau}
        cp = densities_to_physical(h, om, ol) | {k: p[k] for k in ("ns", "ln10As", "tau")}
        ref = camb_spectra(cp, lmax=args.camb_lmax).tt[: emu.lmax - 1]
        short = camb_spectra(cp, lmax=emu.lmax).tt
        for name, r in (("emulator", emu(p) / ref), (f"CAMB to l = {emu.lmax}", short / ref)):
            rel = np.abs(r - 1)
            print(
                f"  {h:.2f}, {om:.2f}, {ol:.2f} ({1 - om - ol:+.1f}) {name}: "
                + " | ".join(
                    f"{rel[(emu.ell >= a) & (emu.ell < b)].max():.2e}" for a, b in ranges
                ),
                flush=True,
            )


def camb_sampling(args: argparse.Namespace) -> None:
    """CAMB's own ℓ interpolation at low ℓ: the held-out models with the package's settings
    against every multipole computed (``lSampleBoost=50``), ℓ ≤ ``--lmax-check``, and the
    emulator against the latter."""
    from rediscovery.cosmo.cmb.theory import CAMB_ACCURACY, densities_to_physical

    emu = load_curved_emulator(args.emulator)
    te = read_training_set(args.cache, "test")
    good = np.isfinite(te["tt"][:, 0]) & emu.in_box(te["params"])
    p = te["params"][good]
    rel = np.abs(emu.predict(p) / te["tt"][good, : emu.lmax - 1] - 1)
    worst = np.argsort(-rel[:, (emu.ell >= 30) & (emu.ell < 60)].max(axis=1))[: args.models]
    n = 59  # ℓ = 2 … 60
    for i in worst:
        h, om, ol, ns, ln10as, tau = p[i]
        cp = densities_to_physical(h, om, ol, ombh2=emu.fixed["ombh2"], mnu=emu.fixed["mnu"])
        cp.update(ns=ns, ln10As=ln10as, tau=tau)
        t0 = time.perf_counter()
        exact = camb_spectra(
            cp, lmax=args.lmax_check, accuracy=CAMB_ACCURACY | {"lSampleBoost": 50}
        )
        t1 = time.perf_counter()
        default = camb_spectra(cp, lmax=args.lmax_check)
        t2 = time.perf_counter()
        d_camb = default.tt[:n] / exact.tt[:n] - 1
        d_emu = emu.predict(p[i : i + 1])[0, :n] / exact.tt[:n] - 1
        ell = np.arange(2, n + 2)
        band = (ell >= 32) & (ell <= 61)
        print(
            f"h={h:.3f} Om={om:.3f} OL={ol:.3f} (Ωk {1 - om - ol:+.2f}); CAMB every ℓ "
            f"{t1 - t0:.0f} s, default sampling {t2 - t1:.0f} s, ℓ <= 60:"
        )
        print(
            f"  CAMB default/every-ℓ - 1: max {np.abs(d_camb).max():.2e} at ℓ "
            f"{ell[np.argmax(np.abs(d_camb))]}; ℓ exactly computed by default: "
            f"{ell[np.abs(d_camb) < 1e-6].tolist()}"
        )
        print(
            f"  emulator/every-ℓ - 1:     max {np.abs(d_emu).max():.2e} at ℓ "
            f"{ell[np.argmax(np.abs(d_emu))]}; band 32-61 mean {d_emu[band].mean():+.2e} "
            f"(CAMB default {d_camb[band].mean():+.2e})"
        )


#: The four corners of the hidden-universe range (docs/cosmo-cmb.md), n_s, A_s, τ at Planck.
CORNERS = np.array(
    [
        [h, om, ol, 0.965, 3.05, 0.06]
        for h, om, ol in (
            (0.70, 0.30, 0.90),
            (0.60, 0.40, 0.90),
            (0.75, 0.20, 0.50),
            (0.80, 0.20, 0.50),
        )
    ]
)
EVERY_ELL = {"lSampleBoost": 50}  # CAMB computes every multipole (no interpolation)
ELL_RANGES = ((2, 30), (30, 60), (60, 100), (100, 151))


def _held_out(cache: str, emu) -> tuple[np.ndarray, np.ndarray]:
    te = read_training_set(cache, "test")
    good = np.isfinite(te["tt"][:, 0]) & emu.in_box(te["params"])
    return te["params"][good], te["tt"][good]


def every_ell(args: argparse.Namespace) -> None:
    from rediscovery.cosmo.cmb.curved import compute_curved_spectra

    emu = load_curved_emulator(args.emulator)
    p_test, tt_default = _held_out(args.cache, emu)
    designs = {"corners": CORNERS, "test": p_test}
    if not args.report_only:
        compute_curved_spectra(
            args.out,
            designs,
            {"reference": "every multipole, lensed"},
            lmax=args.lmax,
            accuracy=EVERY_ELL,
            n_workers=1,
            chunk_size=1,
            progress=True,
        )
    n = args.lmax - 1
    ell = np.arange(2, args.lmax + 1)
    for group in designs:
        ref = read_training_set(args.out, group)
        done = np.isfinite(ref["tt"][:, 0])
        p, exact = ref["params"][done], ref["tt"][done, :n]
        if not len(p):
            print(f"{group}: no every-ℓ spectrum yet")
            continue
        ok = emu.derived(p)["Ok"]
        d_emu = np.abs(emu.predict(p)[:, :n] / exact - 1)
        d_camb = None
        if group == "test":  # the same models at CAMB's default sampling, from the cache
            idx = [int(np.flatnonzero(np.all(p_test == row, axis=1))[0]) for row in p]
            d_camb = np.abs(tt_default[idx, :n] / exact - 1)
        print(f"{group}: {len(p)} models, max |x/CAMB_every-ℓ - 1| per ℓ range")
        head = "  ".join(f"{lo:3d}-{hi - 1:3d}" for lo, hi in ELL_RANGES)
        print(
            f"  {'h':>5s} {'Om':>5s} {'OL':>6s} {'Ωk':>6s}  emulator: {head}"
            + (f"   CAMB default: {head}" if d_camb is not None else "")
        )
        for i in range(len(p)):
            e = "  ".join(
                f"{d_emu[i, (ell >= lo) & (ell < hi)].max():7.2%}" for lo, hi in ELL_RANGES
            )
            c = ""
            if d_camb is not None:
                c = "   " + "  ".join(
                    f"{d_camb[i, (ell >= lo) & (ell < hi)].max():7.2%}" for lo, hi in ELL_RANGES
                )
            print(
                f"  {p[i, 0]:5.3f} {p[i, 1]:5.3f} {p[i, 2]:+6.3f} {ok[i]:+6.2f}            {e}{c}"
            )
        hidden = np.abs(ok) <= 0.3
        for name, d in (("emulator", d_emu), ("CAMB default", d_camb)):
            if d is None:
                continue
            per = [d[:, (ell >= lo) & (ell < hi)].max(axis=1) for lo, hi in ELL_RANGES]
            print(
                f"  {name:12s} median / max / max |Ωk|<=0.3 ({int(hidden.sum())}): "
                + "; ".join(
                    f"{lo}-{hi - 1}: {np.median(q):.2%} / {q.max():.2%} / "
                    + (f"{q[hidden].max():.2%}" if hidden.any() else "-")
                    for (lo, hi), q in zip(ELL_RANGES, per, strict=True)
                )
            )


def every_ell_cost(args: argparse.Namespace) -> None:
    """CAMB's cost for every multipole to ``--lmax`` and the error of cheaper settings."""
    import camb

    from rediscovery.cosmo.cmb.theory import camb_params, densities_to_physical

    emu = load_curved_emulator(args.emulator)
    models = [(0.556, 0.739, -0.425), (0.70, 0.30, 0.90), (0.75, 0.20, 0.50)][: args.models]
    settings = {
        "every ℓ, lensed (reference)": EVERY_ELL,
        "every ℓ, unlensed": EVERY_ELL | {"DoLensing": False},
        "every ℓ, lens_potential_accuracy 0": EVERY_ELL | {"lens_potential_accuracy": 0},
        "lSampleBoost 4, lensed": {"lSampleBoost": 4},
        "default sampling, lensed": {},
    }
    for h, om, ol in models:
        cp = densities_to_physical(h, om, ol, ombh2=emu.fixed["ombh2"], mnu=emu.fixed["mnu"])
        print(f"h={h} Om={om} OL={ol} (Ωk {1 - om - ol:+.2f}), ℓ <= {args.lmax}:")
        ref = ratio = None
        for name, acc in settings.items():
            t0 = time.perf_counter()
            res = camb.get_results(camb_params(cp, lmax=args.lmax, accuracy=acc))
            unl = res.get_unlensed_scalar_cls(lmax=args.lmax, CMB_unit="muK")[2:, 0]
            tt = (
                unl
                if acc.get("DoLensing", True) is False
                else res.get_lensed_scalar_cls(lmax=args.lmax, CMB_unit="muK")[2:, 0]
            )
            dt = time.perf_counter() - t0
            if ref is None:
                ref, ratio = tt, tt / unl
                print(f"  {name:36s} {dt:6.1f} s")
                continue
            d = np.abs(tt / ref - 1)
            print(f"  {name:36s} {dt:6.1f} s   max |x/ref - 1| {d.max():.2e} at ℓ {2 + d.argmax()}")
        ell = np.arange(2, args.lmax + 1)
        pick = [e for e in (30, 60, 100, 148) if e <= args.lmax]
        print(
            "  lensing, lensed/unlensed - 1 at ℓ "
            + ", ".join(f"{e}: {ratio[ell == e][0] - 1:+.2e}" for e in pick)
            + f"; max |.| for ℓ <= {args.lmax}: {np.abs(ratio - 1).max():.2e}"
        )


#: Models of ``lowl-cost``: closed, open and near-flat corners of the hidden-universe range and
#: the most open held-out model (h, Ωm, ΩΛ; n_s, A_s, τ at the corners' values).
LOWL_MODELS = ((0.70, 0.30, 0.90), (0.75, 0.20, 0.50), (0.68, 0.31, 0.69), (0.556, 0.739, -0.425))
#: Candidate cheap CAMB settings for a low-ℓ training set (overrides of CAMB_ACCURACY). With
#: ``lens_potential_accuracy=1`` CAMB raises k η_0 to ``lens_k_eta_reference`` (18000 by default,
#: for the lensing potential at high L); ℓ ≤ 200 needs far less.
_KETA = "lens_k_eta_reference"
LOWL_SETTINGS = {
    "every ℓ, unlensed": EVERY_ELL | {"DoLensing": False},
    "every ℓ, unlensed, kη ≤ 6000": EVERY_ELL | {"DoLensing": False, _KETA: 6000.0},
    "every ℓ, unlensed, kη ≤ 3000": EVERY_ELL | {"DoLensing": False, _KETA: 3000.0},
    "lSampleBoost 4, unlensed": {"lSampleBoost": 4, "DoLensing": False},
    "every ℓ, lensed, kη ≤ 3000": EVERY_ELL | {_KETA: 3000.0},
    "lSampleBoost 4, lensed, kη ≤ 3000": {"lSampleBoost": 4, _KETA: 3000.0},
}


def _lowl_tt(cp: dict, lmax: int, acc: dict) -> np.ndarray:
    """Lensed (or, with ``DoLensing`` False, unlensed) D_ℓ^TT, ℓ = 2 … lmax, of one CAMB run."""
    import camb

    from rediscovery.cosmo.cmb.theory import camb_params

    res = camb.get_results(camb_params(cp, lmax=lmax, accuracy=acc))
    if acc.get("DoLensing", True) is False:
        return res.get_unlensed_scalar_cls(lmax=lmax, CMB_unit="muK")[2:, 0]
    return res.get_lensed_scalar_cls(lmax=lmax, CMB_unit="muK")[2:, 0]


def lowl_cost(args: argparse.Namespace) -> None:
    """Cost and error of cheap CAMB settings for ℓ ≤ ``--lmax`` against every multipole,
    lensed, at the package's settings (the reference, cached per model in ``--ref-dir``).

    Unlensed settings are multiplied by the lensing of the Planck 2018 flat best fit
    (lensed/unlensed, every ℓ), either as it is or taken at ℓ/s (s the model's acoustic scale
    relative to Planck's: lensing smooths the acoustic shape, which moves with ℓ_A). Times are
    CPU seconds of this process (run it with OMP_NUM_THREADS=1): on a shared machine the wall
    time is longer."""
    from rediscovery.cosmo.cmb.theory import densities_to_physical

    emu = load_curved_emulator(args.emulator)
    ref_dir = Path(args.ref_dir)
    ref_dir.mkdir(parents=True, exist_ok=True)
    ell = np.arange(2, args.lmax + 1)
    l_fid = 2 * args.lmax  # the fiducial lensing at ℓ/s needs ℓ/s_min ≈ 1.8 lmax
    fid = ref_dir / f"fiducial_lensing_l{l_fid}.npy"
    if not fid.exists():  # lensed/unlensed of the Planck 2018 flat best fit, every ℓ
        np.save(fid, _lowl_tt({}, l_fid, EVERY_ELL) / _lowl_tt(
            {}, l_fid, EVERY_ELL | {"DoLensing": False}))
    lens_fid = np.load(fid)
    settings = {k: v for i, (k, v) in enumerate(LOWL_SETTINGS.items()) if i in args.settings}
    ranges = ((2, 30), (30, 60), (60, 100), (100, args.lmax_check + 1),
              (args.lmax_check + 1, args.lmax + 1))
    for h, om, ol in (LOWL_MODELS[i] for i in args.models):
        row = np.array([[h, om, ol, 0.965, 3.05, 0.06]])
        cp = densities_to_physical(h, om, ol, ombh2=emu.fixed["ombh2"], mnu=emu.fixed["mnu"])
        cp.update(ns=0.965, ln10As=3.05, tau=0.06)
        path = ref_dir / f"ref_l{args.lmax}_{h}_{om}_{ol}.npy"
        if not path.exists():
            t0 = time.process_time()
            np.save(path, _lowl_tt(cp, args.lmax, EVERY_ELL))
            print(f"  (reference computed in {time.process_time() - t0:.0f} s)", flush=True)
        ref = np.load(path)
        s_model = float(emu.derived(row)["scale"][0])
        lens_resc = np.interp(ell / s_model, np.arange(2, l_fid + 1), lens_fid)
        d_emu = np.abs(emu.predict(row)[0, : len(ell)] / ref - 1)
        head = "  ".join(f"{lo:3d}-{hi - 1:3d}" for lo, hi in ranges)
        print(f"h={h} Om={om} OL={ol} (Ωk {1 - om - ol:+.2f}, s {s_model:.3f}), "
              f"max |x/ref - 1| per ℓ range:\n  {'':46s} {'CPU':>7s}  {head}", flush=True)
        rows = {"emulator (for comparison)": (None, d_emu)}
        for name, acc in settings.items():
            t0 = time.process_time()
            tt = _lowl_tt(cp, args.lmax, acc)
            dt = time.process_time() - t0
            if acc.get("DoLensing", True) is False:
                rows[name + " x fid. lensing"] = (dt, np.abs(tt * lens_fid[: len(ell)] / ref - 1))
                rows[name + " x fid. lensing(ℓ/s)"] = (dt, np.abs(tt * lens_resc / ref - 1))
            else:
                rows[name] = (dt, np.abs(tt / ref - 1))
            for key in list(rows)[-2 if acc.get("DoLensing", True) is False else -1:]:
                t, d = rows[key]
                print(f"  {key:46s} {t:6.1f}s  " + "  ".join(
                    f"{d[(ell >= lo) & (ell < hi)].max():7.3%}" for lo, hi in ranges), flush=True)
        t, d = rows["emulator (for comparison)"]
        print(f"  {'emulator (for comparison)':46s} {'':7s}  " + "  ".join(
            f"{d[(ell >= lo) & (ell < hi)].max():7.3%}" for lo, hi in ranges), flush=True)


def _fiducial_lensing(ref_dir: Path) -> np.ndarray:
    """The package's fiducial lensing ratio (``curved_lowl.fiducial_lensing``), cached."""
    path = ref_dir / f"fiducial_lensing_l{2 * LOWL_LMAX}.npy"
    if not path.exists():
        ref_dir.mkdir(parents=True, exist_ok=True)
        np.save(path, fiducial_lensing(2 * LOWL_LMAX))
    return np.load(path)


#: PCA fits compared with the shipped per-ℓ component (``lowl-train``): (target, extra input,
#: number of PCA components, blend). "residual": ln D_ℓ,CAMB − ln D_ℓ,emulator; "direct":
#: ln D_ℓ − (ln 10¹⁰A_s − 2τ), both on the emulator's regression inputs, optionally with
#: max(Ωk, 0) as a 7th input; the result is blended out linearly over the blend's ℓ range.
LOWL_FITS = (
    ("residual", False, 16, (100, 150)),
    ("direct", True, 12, (50, 90)),
)
_PCA_KEYS = ("mean", "basis", "exponents", "poly_coef", "x_train", "gp_alpha", "gp_inv_ls2")


def _step_17_18(tt: np.ndarray) -> np.ndarray:
    """|Δ ln D at ℓ = 17 → 18 minus the mean of its two neighbours| per spectrum (ℓ from 2)."""
    d1 = np.diff(np.log(tt[:, :20]), axis=1)  # d1[k]: ℓ = k + 2 → k + 3
    return np.abs(d1[:, 15] - 0.5 * (d1[:, 14] + d1[:, 16]))


def lowl_train(args: argparse.Namespace) -> None:
    """Low-ℓ training and held-out spectra (the package's ``generate_lowl_training_set``,
    resumable), then the per-ℓ component (``fit_lowl_component``, what ``cmb-emulator
    train-curved-lowl`` ships) and, for comparison, PCA fits (LOWL_FITS), with their held-out
    errors next to the emulator's without the component."""
    from rediscovery.cosmo.cmb.emulator import fit_pca_gp, predict_pca_gp

    emu = load_curved_emulator(args.emulator)
    emu = emu.without_low_ell()  # compare with the emulator without its low-ℓ component
    if not args.fit_only:
        generate_lowl_training_set(
            args.cache,
            args.blocks,
            block_size=args.block_size,
            n_test=args.test_samples,
            seed=args.seed,
            n_workers=args.workers,
            progress=True,
        )
    lens_fid = _fiducial_lensing(Path(args.ref_dir))
    p, tt = read_lowl_set(args.cache, "train", emu, lens_fid)
    pt, ttt = read_lowl_set(args.cache, "test", emu, lens_fid)
    tt, ttt = tt[:, :149], ttt[:, :149]  # the held-out check runs to ℓ = 150
    if args.max_train:
        p, tt = p[: args.max_train], tt[: args.max_train]
    n = ttt.shape[1]
    ok_t = emu.derived(pt)["Ok"]
    hidden = np.abs(ok_t) <= 0.3
    step = _step_17_18(ttt)
    print(f"{len(p)} training and {len(pt)} held-out low-ℓ spectra ({int(hidden.sum())} with "
          f"|Ωk| <= 0.3); CAMB's step at ℓ 17 → 18, median / max: open (Ωk > 0.02) "
          f"{np.median(step[ok_t > 0.02]):.2%} / {step[ok_t > 0.02].max():.2%}, others "
          f"{np.median(step[ok_t <= 0.02]):.2%} / {step[ok_t <= 0.02].max():.2%}")
    ell = np.arange(2, n + 2)
    base, base_tr = emu.predict(pt)[:, :n], emu.predict(p)[:, :n]
    amp, amp_t = p[:, 4] - 2 * p[:, 5], pt[:, 4] - 2 * pt[:, 5]

    clean = spurious_steps(ttt) <= SPURIOUS_STEP

    def report(name: str, pred: np.ndarray) -> None:
        rel = np.abs(pred / ttt - 1)
        for sel, what in ((np.ones_like(clean), "all"), (clean, "no spurious step")):
            print(f"  {name + ' (' + what + ')':52s} " + "  ".join(
                f"{np.median(q[sel]):.2%} / {q[sel].max():.2%} / {q[sel & hidden].max():.2%}"
                for lo, hi in LOWL_RANGES
                for q in [rel[:, (ell >= lo) & (ell < hi)].max(axis=1)]
            ), flush=True)

    print(f"{len(pt) - int(clean.sum())} held-out spectra have a spurious step above "
          f"{SPURIOUS_STEP:.1%} at ℓ >= 20")
    print(f"  {'median / max / max |Ωk| <= 0.3':52s} "
          + "  ".join(f"{f'ℓ {lo}-{hi - 1}':^22s}" for lo, hi in LOWL_RANGES))
    report("emulator without the component", base)
    t0 = time.perf_counter()
    new = fit_lowl_component(emu, p, tt, gp_subsample=args.gp_subsample, progress=True)
    fit_s = time.perf_counter() - t0
    blend = f"{LOWL_BLEND[0]}-{LOWL_BLEND[1]}"
    report(f"per-ℓ GP, blend {blend} ({fit_s:.0f} s)", new.predict(pt)[:, :n])
    ok_scale = float(new.arrays["lowl_ok_scale"])
    for target, open_input, n_pca, (b0, b1) in LOWL_FITS:
        y = np.log(tt / base_tr) if target == "residual" else np.log(tt) - amp[:, None]

        def inputs(x: np.ndarray, open_input: bool = open_input) -> np.ndarray:
            u = emu.regression_inputs(x)
            return lowl_inputs(u, emu.derived(x)["Ok"], ok_scale) if open_input else u

        f = fit_pca_gp(inputs(p), y, n_pca=n_pca, progress=False)
        f.pop("metadata")
        r = predict_pca_gp(inputs(pt), *(f[k] for k in _PCA_KEYS))
        w = np.clip((b1 - ell) / (b1 - b0), 0.0, 1.0)  # 1 below the blend, 0 above
        if target == "residual":
            pred = base * np.exp(w * r)
        else:
            pred = np.exp(w * (r + amp_t[:, None]) + (1 - w) * np.log(base))
        report(f"PCA {target}{' + Ωk+' if open_input else ''}, {n_pca}, blend {b0}-{b1}", pred)


def _noise_dl(ell: np.ndarray) -> np.ndarray:
    """White-noise D_ℓ of the instrument (μK²), beam-deconvolved."""
    arcmin = np.pi / 180 / 60
    nl = (NOISE_UK_ARCMIN * arcmin) ** 2
    sigma_b = BEAM_FWHM_ARCMIN * arcmin / np.sqrt(8 * np.log(2))
    return ell * (ell + 1) / (2 * np.pi) * nl * np.exp(ell * (ell + 1) * sigma_b**2)


def speed(args: argparse.Namespace) -> None:
    emu = load_curved_emulator(args.emulator)
    models = [(0.7, 0.3, 0.9), (0.75, 0.2, 0.5), (0.68, 0.32, 0.68)][: args.camb_calls]
    t_camb = []
    for h, om, ol in models:
        t0 = time.perf_counter()
        camb_spectra(physical_params({"h": h, "Om": om, "OL": ol}), lmax=emu.lmax)
        t_camb.append(time.perf_counter() - t0)
        print(f"CAMB, h={h} Om={om} OL={ol} (Ωk = {1 - om - ol:+.2f}): {t_camb[-1]:.1f} s")
    x = curved_design(100, seed=args.seed)[:32]
    with threadpool_limits(limits=1):
        emu.predict(x[:1])
        n_rep = 100
        t0 = time.perf_counter()
        for i in range(n_rep):
            emu.predict(x[i % len(x)][None, :])
        t_one = (time.perf_counter() - t0) / n_rep
        t0 = time.perf_counter()
        for _ in range(n_rep // 10):
            emu.predict(x)
        t_batch = (time.perf_counter() - t0) / (n_rep // 10) / len(x)
    tc = float(np.median(t_camb))
    print(f"emulator, one spectrum   : {1e3 * t_one:8.3f} ms (x{tc / t_one:,.0f} vs CAMB)")
    print(
        f"emulator, batch of 32    : {1e3 * t_batch:8.3f} ms / spectrum "
        f"(x{tc / t_batch:,.0f} vs CAMB)"
    )


def inject(args: argparse.Namespace) -> None:
    emu = load_curved_emulator(args.emulator)
    rng = np.random.default_rng(args.seed)
    names = ["h", "Om", "OL"]
    pulls: dict[str, list[float]] = {k: [] for k in names}
    cover = {k: 0 for k in names}
    ell = np.arange(2, LMAX_DATA + 1)
    nl = _noise_dl(ell)
    knox = 2.0 / ((2 * ell + 1) * FSKY)
    fixed = {k: PARAM_DEFAULTS[k] for k in ("ns", "ln10As", "tau")}
    n_done = 0
    for i in range(args.draws):
        truth = {
            "h": rng.uniform(0.6, 0.8),
            "Om": rng.uniform(0.2, 0.4),
            "OL": rng.uniform(0.5, 0.9),
        }
        if args.camb_truth:
            dl = camb_spectra(physical_params(truth | fixed), lmax=LMAX_DATA).tt
        else:
            dl = emu(truth | fixed)[: LMAX_DATA - 1]
        sig_tot = np.sqrt(knox) * (dl + nl)
        obs = dl + sig_tot * rng.standard_normal(len(ell))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "spectrum.txt"
            np.savetxt(
                path,
                np.column_stack([ell, obs, np.sqrt(knox) * nl]),
                fmt=["%d", "%.8g", "%.8g"],
                header="ell Dl sigma_noise",
            )
            data = read_three_column(path, fsky=FSKY, delta_ell=DELTA_ELL, lmin=30)
        t0 = time.perf_counter()
        fit = fit_cmb_spectrum(
            data, params=names, seed=args.seed + i, n_walkers=32, n_steps=args.steps, progress=False
        )
        summ = fit.summary()
        line = []
        for k in names:
            s = summ[k]
            sigma = 0.5 * (s["hi68"] - s["lo68"])
            pulls[k].append((s["median"] - truth[k]) / sigma)
            cover[k] += int(s["lo68"] <= truth[k] <= s["hi68"])
            line.append(f"{k} {truth[k]:.3f}->{s['median']:.3f}±{sigma:.3f}")
        n_done += 1
        print(
            f"draw {i}: {'  '.join(line)}  Ωk {summ['derived']['Ok']['median']:+.3f}  "
            f"P(ΩΛ>0) {summ['P_OL_positive']:.3f}  conv {fit.result.converged}  "
            f"{time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    print(
        f"{n_done} draws ({'CAMB' if args.camb_truth else 'emulator'} truth, f_sky {FSKY}, "
        f"l 30-{LMAX_DATA}, dl {DELTA_ELL}):"
    )
    for k in names:
        p = np.array(pulls[k])
        print(
            f"  {k:3s} pull mean {p.mean():+.2f} ± {p.std(ddof=1) / np.sqrt(len(p)):.2f}, "
            f"width {p.std(ddof=1):.2f}, 68% coverage {cover[k] / n_done:.2f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("accuracy")
    a.add_argument("--cache", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--camb-calls", type=int, default=2)
    s.add_argument("--seed", type=int, default=0)
    j = sub.add_parser("inject")
    j.add_argument("--draws", type=int, default=10)
    j.add_argument("--steps", type=int, default=3000)
    j.add_argument("--seed", type=int, default=0)
    j.add_argument("--camb-truth", action="store_true")
    for p in (a, s, j):
        p.add_argument("--emulator", default=None)
    hd = sub.add_parser("hidden", help="emulator vs CAMB on hidden-universe draws")
    hd.add_argument("--out", required=True, help="HDF5 cache of the CAMB spectra (resumable)")
    hd.add_argument("--models", type=int, default=60)
    hd.add_argument("--seed", type=int, default=9000)
    hd.add_argument("--workers", type=int, default=2)
    hd.add_argument(
        "--camb-lmax",
        type=int,
        default=2500,
        help="CAMB's lmax (its lensed spectrum is off by up to 0.9 %% near its own lmax in "
        "closed models: compute beyond the emulator's 1500)",
    )
    hd.add_argument("--report-only", action="store_true")
    hd.add_argument("--emulator", default=None)
    co = sub.add_parser("corners", help="emulator vs CAMB at the hidden range's corners")
    co.add_argument("--camb-lmax", type=int, default=2500)
    co.add_argument("--emulator", default=None)
    c = sub.add_parser("camb-sampling", help="CAMB's low-ℓ interpolation vs every ℓ computed")
    c.add_argument("--cache", required=True)
    c.add_argument("--emulator", default=None)
    c.add_argument("--models", type=int, default=2)
    c.add_argument("--lmax-check", type=int, default=300)
    e = sub.add_parser("every-ell", help="emulator and CAMB default vs every ℓ computed")
    e.add_argument("--cache", required=True, help="training cache with the held-out models")
    e.add_argument("--out", required=True, help="HDF5 cache of the every-ℓ spectra")
    e.add_argument("--lmax", type=int, default=150)
    e.add_argument("--report-only", action="store_true")
    e.add_argument("--emulator", default=None)
    k = sub.add_parser("every-ell-cost", help="CAMB cost of every ℓ and of cheaper settings")
    k.add_argument("--models", type=int, default=2)
    k.add_argument("--lmax", type=int, default=150)
    k.add_argument("--emulator", default=None)
    lc = sub.add_parser("lowl-cost", help="cost and error of cheap CAMB settings at low ℓ")
    lc.add_argument("--models", type=int, nargs="*", default=list(range(len(LOWL_MODELS))),
                    help="indices into LOWL_MODELS (default: all)")
    lc.add_argument("--lmax", type=int, default=200)
    lc.add_argument("--lmax-check", type=int, default=150)
    lc.add_argument("--ref-dir", required=True, help="folder caching the every-ℓ references")
    lc.add_argument("--settings", type=int, nargs="*", default=list(range(len(LOWL_SETTINGS))),
                    help="indices into LOWL_SETTINGS (default: all)")
    lc.add_argument("--emulator", default=None)
    t = sub.add_parser("lowl-train", help="low-ℓ spectra, the low-ℓ component, its errors")
    t.add_argument("--cache", required=True, help="HDF5 cache of the low-ℓ spectra (resumable)")
    t.add_argument("--ref-dir", required=True, help="folder caching the fiducial lensing")
    t.add_argument("--blocks", type=int, default=8)
    t.add_argument("--block-size", type=int, default=100)
    t.add_argument("--test-samples", type=int, default=60)
    t.add_argument("--seed", type=int, default=7000)
    t.add_argument("--workers", type=int, default=2)
    t.add_argument("--fit-only", action="store_true", help="fit what the cache holds")
    t.add_argument("--emulator", default=None)
    t.add_argument("--gp-subsample", type=int, default=400)
    t.add_argument("--max-train", type=int, default=0, help="use the first N training spectra")
    args = ap.parse_args()
    commands = {"accuracy": accuracy, "speed": speed, "inject": inject}
    commands["camb-sampling"] = camb_sampling
    commands["hidden"] = hidden
    commands["corners"] = corners
    commands["every-ell"] = every_ell
    commands["every-ell-cost"] = every_ell_cost
    commands["lowl-cost"] = lowl_cost
    commands["lowl-train"] = lowl_train
    commands[args.cmd](args)


if __name__ == "__main__":
    main()

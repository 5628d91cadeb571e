"""``rediscovery cosmo cmb-emulator train`` and ``rediscovery cosmo cmb-fit``: the CMB stage."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import typer

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.core.executor import check_scheduler
from rediscovery.core.files import check_output

app = typer.Typer()
emulator_app = typer.Typer(
    help="Train the CAMB emulator of D_ℓ^TT and measure its accuracy on held-out CAMB spectra.",
    no_args_is_help=True,
)
app.add_typer(emulator_app, name="cmb-emulator")

log = logging.getLogger(__name__)


def _parse_assignments(
    items: list[str] | None, option: str, form: str, example: str
) -> dict[str, list[float]]:
    """``NAME=V[,V…]`` items of a repeatable option as {NAME: [finite floats]}."""
    out: dict[str, list[float]] = {}
    for item in items or []:
        try:
            name, text = item.split("=", 1)
            values = [float(v) for v in text.split(",")]
        except ValueError as exc:
            raise ConfigError(f"{option} expects {form} (e.g. {example}), got {item!r}") from exc
        if len(values) != form.count(",") + 1:
            raise ConfigError(f"{option} expects {form} (e.g. {example}), got {item!r}")
        if not all(math.isfinite(v) for v in values):
            raise ConfigError(f"{option} {item!r}: the values must be finite")
        out[name.strip()] = values
    return out


def _parse_box(items: list[str] | None) -> dict[str, tuple[float, float]] | None:
    from rediscovery.cosmo.cmb.emulator import DEFAULT_BOX

    if not items:
        return None
    box = dict(DEFAULT_BOX)
    for name, (lo, hi) in _parse_assignments(
        items, "--box", "NAME=LO,HI", "omk=-0.05,0.05"
    ).items():
        if not lo < hi:
            raise ConfigError(f"--box {name}={lo},{hi}: expected finite LO < HI")
        box[name] = (lo, hi)
    return box


def _check_training_options(
    counts: dict[str, int],
    non_negative: dict[str, int],
    workers: int | None,
    scheduler: str | None,
    out: Path,
    cache: Path | None,
) -> Path:
    """The checks both training commands make; returns the cache path (default OUT.h5)."""
    for name, value in counts.items():
        if value < 1:
            raise ConfigError(f"{name} {value}: expected an integer >= 1")
    for name, value in non_negative.items():
        if value < 0:
            raise ConfigError(f"{name} {value}: expected an integer >= 0")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: expected an integer >= 1")
    check_scheduler(scheduler)
    check_output(out, "file", suffixes=(".npz",))
    check_output(out.with_suffix(".json"), "file")
    cache = cache or out.with_suffix(".h5")
    check_output(cache, "file", option="--cache", suffixes=(".h5", ".hdf5"))
    return cache


def _save_emulator(emu: Any, out: Path, header: dict[str, Any]) -> None:
    """The emulator file and, beside it, its JSON card (``header`` + metadata)."""
    from rediscovery.core.files import write_json

    emu.save(out)
    write_json(out.with_suffix(".json"), {**header, **emu.metadata})
    typer.echo(f"wrote {out}")


@emulator_app.command("train")
def train(
    samples: int = typer.Option(1200, "--samples", help="Training CAMB spectra (Latin hypercube)."),
    out: Path = typer.Option(..., "--out", help="Emulator file to write (.npz)."),
    test_samples: int = typer.Option(
        100, "--test-samples", help="Held-out CAMB spectra for the accuracy figures."
    ),
    cache: Path = typer.Option(
        None,
        "--cache",
        help="HDF5 cache of spectra (default: OUT with .h5); re-running resumes from it.",
    ),
    seed: int = typer.Option(2018, "--seed", min=0, help="Seed of the design."),
    box: list[str] = typer.Option(
        None,
        "--box",
        help="Override a range, NAME=LO,HI (repeatable); new names (omk, mnu) extend the box.",
    ),
    n_pca: int = typer.Option(24, "--n-pca", help="Principal components of ln D_ℓ kept."),
    degree: int = typer.Option(1, "--degree", help="Degree of the polynomial trend under the GP."),
    gp_subsample: int = typer.Option(
        600,
        "--gp-subsample",
        help="Spectra used to optimise the GP hyper-parameters (all are used for the weights).",
    ),
    fit_only: bool = typer.Option(
        False,
        "--fit-only",
        help="Skip CAMB: fit on the spectra already in the cache (if "
        "the test group is empty, the last --test-samples "
        "training spectra are held out instead).",
    ),
    scheduler: str = typer.Option(None, "--scheduler", help="dask scheduler tcp://HOST:PORT."),
    workers: int = typer.Option(None, "--workers", help="Local worker processes."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Compute CAMB spectra on a Latin hypercube (resumable) and fit the emulator."""
    from rediscovery.cosmo.cmb.emulator import (
        accuracy_report,
        fit_emulator,
        generate_training_set,
        read_training_set,
    )

    cache = _check_training_options(
        {"--samples": samples, "--n-pca": n_pca, "--gp-subsample": gp_subsample},
        {"--test-samples": test_samples, "--degree": degree},
        workers,
        scheduler,
        out,
        cache,
    )
    box_ranges = _parse_box(box)
    if not fit_only:
        generate_training_set(
            cache,
            samples,
            n_test=test_samples,
            box=box_ranges,
            seed=seed,
            scheduler=scheduler,
            n_workers=workers,
            progress=progress,
        )
    tr = read_training_set(cache, "train")
    x, tt = tr["params"], tr["tt"]
    te = None
    if test_samples > 0:
        try:
            te = read_training_set(cache, "test")
        except InputError:
            te = None
        if te is None or len(te["tt"]) == 0:
            if len(tt) <= 2 * test_samples:
                raise ConfigError(
                    f"only {len(tt)} spectra in {cache}: too few to hold out {test_samples}"
                )
            te = {"params": x[-test_samples:], "tt": tt[-test_samples:]}
            x, tt = x[:-test_samples], tt[:-test_samples]
            log.info(
                "held out the last %d cached training spectra for the accuracy test", test_samples
            )
    emu = fit_emulator(
        x,
        tt,
        names=tr["names"],
        box=tr["box"],
        fixed=tr["fixed"],
        ell=tr["ell"],
        n_pca=n_pca,
        degree=degree,
        gp_subsample=gp_subsample,
        seed=seed,
        progress=progress,
    )
    emu.metadata.update(
        {
            "seed": seed,
            "design_samples": samples,
            "cache_spectra": len(tr["tt"]),
            "camb_accuracy": _camb_accuracy(),
        }
    )
    if te is not None:
        emu.metadata["held_out"] = accuracy_report(emu, te["params"], te["tt"])
        emu.metadata["held_out"]["max_rel_err_per_ell_bin"] = _per_ell(emu, te)
        typer.echo(
            f"held-out accuracy ({test_samples} CAMB spectra, 30<ℓ<2000): "
            f"max |ΔD/D| = {emu.metadata['held_out']['max_rel_err']:.2e}, "
            f"99th pct = {emu.metadata['held_out']['p99_rel_err']:.2e}"
        )
    _save_emulator(emu, out, {"names": emu.names, "box": emu.box, "fixed": emu.fixed})


@emulator_app.command("train-curved")
def train_curved(
    out: Path = typer.Option(..., "--out", help="Emulator file to write (.npz)."),
    blocks: int = typer.Option(
        8,
        "--blocks",
        help="Training designs of --block-size candidate points each "
        "(any prefix of whole blocks is space-filling).",
    ),
    block_size: int = typer.Option(100, "--block-size", help="Candidate points per block."),
    test_samples: int = typer.Option(
        40, "--test-samples", help="Candidate held-out points (computed first)."
    ),
    cache: Path = typer.Option(
        None,
        "--cache",
        help="HDF5 cache of spectra (default: OUT with .h5); re-running resumes from it.",
    ),
    seed: int = typer.Option(2026, "--seed", min=0, help="Seed of the design."),
    n_pca: int = typer.Option(32, "--n-pca", help="Principal components kept."),
    degree: int = typer.Option(2, "--degree", help="Degree of the polynomial trend."),
    gp_subsample: int = typer.Option(
        400, "--gp-subsample", help="Spectra used to optimise the GP hyper-parameters."
    ),
    fit_only: bool = typer.Option(
        False, "--fit-only", help="Skip CAMB: fit on the spectra already in the cache."
    ),
    scheduler: str = typer.Option(None, "--scheduler", help="dask scheduler tcp://HOST:PORT."),
    workers: int = typer.Option(None, "--workers", help="Local worker processes."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Train the curved-universe emulator over (h, Ωm, ΩΛ, n_s, A_s, τ) (CAMB, resumable)."""
    import numpy as np

    from rediscovery.cosmo.cmb.curved import (
        CURVED_LMAX,
        camb_acoustic_scale,
        curved_accuracy_report,
        curved_design,
        fit_curved_emulator,
        fit_scale_correction,
        generate_curved_training_set,
    )
    from rediscovery.cosmo.cmb.emulator import read_training_set

    cache = _check_training_options(
        {
            "--blocks": blocks,
            "--block-size": block_size,
            "--n-pca": n_pca,
            "--gp-subsample": gp_subsample,
        },
        {"--test-samples": test_samples, "--degree": degree},
        workers,
        scheduler,
        out,
        cache,
    )
    if not fit_only:
        generate_curved_training_set(
            cache,
            blocks,
            block_size=block_size,
            n_test=test_samples,
            seed=seed,
            scheduler=scheduler,
            n_workers=workers,
            progress=progress,
        )
    tr = read_training_set(cache, "train")
    # CAMB's θ* (background + recombination only, ~0.1 s each) on the training models and an
    # independent design: the polynomial that maps the fast background ℓ_A onto it
    extra = curved_design(300, seed + 2000)
    xs = np.concatenate([tr["params"], extra])
    exps, coef, corr = fit_scale_correction(xs, camb_acoustic_scale(xs, progress=progress))
    typer.echo(
        f"acoustic-scale correction: residual rms {corr['rms']:.1e}, max "
        f"{corr['max']:.1e} over {corr['n_points']} CAMB θ*"
    )
    emu = fit_curved_emulator(
        tr["params"],
        tr["tt"],
        n_pca=n_pca,
        degree=degree,
        gp_subsample=gp_subsample,
        scale_correction=(exps, coef),
        seed=seed,
        progress=progress,
    )
    emu.metadata["scale_correction"] = corr
    emu.metadata.update(
        {
            "seed": seed,
            "blocks": blocks,
            "block_size": block_size,
            "camb_accuracy": _camb_accuracy(),
        }
    )
    try:
        te = read_training_set(cache, "test")
    except InputError:
        te = None
    if te is not None and len(te["tt"]):
        good = np.isfinite(te["tt"][:, 0]) & emu.in_box(te["params"])
        rep = curved_accuracy_report(emu, te["params"][good], te["tt"][good, : CURVED_LMAX - 1])
        emu.metadata["held_out"] = rep
        typer.echo(
            f"held-out accuracy ({rep['n_test']} CAMB spectra, 30<ℓ<{CURVED_LMAX}): "
            f"max |ΔD/D| = {rep['max_rel_err']:.2e}, 99th pct = {rep['p99_rel_err']:.2e}"
            f", median = {rep['median_rel_err']:.2e}"
        )
    _save_emulator(
        emu,
        out,
        {"names": emu.names, "box": emu.box, "derived_box": emu.derived_box, "fixed": emu.fixed},
    )


@emulator_app.command("train-curved-lowl")
def train_curved_lowl(
    out: Path = typer.Option(..., "--out", help="Emulator file to write (.npz)."),
    emulator: Path = typer.Option(
        None, "--emulator", help="Curved emulator to add the component to (default: shipped)."
    ),
    blocks: int = typer.Option(
        8, "--blocks", help="Training designs of --block-size candidate points each."
    ),
    block_size: int = typer.Option(100, "--block-size", help="Candidate points per block."),
    test_samples: int = typer.Option(
        60, "--test-samples", help="Candidate held-out points (computed first)."
    ),
    cache: Path = typer.Option(
        None,
        "--cache",
        help="HDF5 cache of low-ℓ spectra (default: OUT with .h5); re-running resumes from it.",
    ),
    seed: int = typer.Option(7000, "--seed", min=0, help="Seed of the design."),
    gp_subsample: int = typer.Option(
        400, "--gp-subsample", help="Spectra used to optimise each GP's hyper-parameters."
    ),
    fit_only: bool = typer.Option(
        False, "--fit-only", help="Skip CAMB: fit on the spectra already in the cache."
    ),
    scheduler: str = typer.Option(None, "--scheduler", help="dask scheduler tcp://HOST:PORT."),
    workers: int = typer.Option(None, "--workers", help="Local worker processes."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Add the low-ℓ component (one GP per multipole, ℓ < 100) to a curved emulator."""
    import numpy as np

    from rediscovery.cosmo.cmb.curved import load_curved_emulator
    from rediscovery.cosmo.cmb.curved_lowl import (
        LOWL_ACCURACY,
        LOWL_BLEND,
        SPURIOUS_STEP,
        fiducial_lensing,
        fit_lowl_component,
        generate_lowl_training_set,
        lowl_accuracy,
        read_lowl_set,
        spurious_steps,
    )

    cache = _check_training_options(
        {"--blocks": blocks, "--block-size": block_size, "--gp-subsample": gp_subsample},
        {"--test-samples": test_samples},
        workers,
        scheduler,
        out,
        cache,
    )
    emu = load_curved_emulator(emulator)
    if not fit_only:
        generate_lowl_training_set(
            cache,
            blocks,
            block_size=block_size,
            n_test=test_samples,
            seed=seed,
            scheduler=scheduler,
            n_workers=workers,
            progress=progress,
        )
    lens_fid = fiducial_lensing()
    p, tt = read_lowl_set(cache, "train", emu, lens_fid)
    if len(p) < 20:
        raise ConfigError(f"only {len(p)} training spectra in {cache}: compute more (--blocks)")
    new = fit_lowl_component(emu, p, tt, gp_subsample=gp_subsample, seed=seed, progress=progress)
    new.metadata["lowl"] |= {
        "seed": seed,
        "blocks": blocks,
        "block_size": block_size,
        "camb_accuracy": _camb_accuracy() | LOWL_ACCURACY,
    }
    try:
        pt, ttt = read_lowl_set(cache, "test", emu, lens_fid)
    except InputError:
        pt = np.zeros((0, 6))
    if len(pt):
        clean = spurious_steps(ttt) <= SPURIOUS_STEP
        # "before": the PCA regression alone, also when --emulator already has a component
        before = lowl_accuracy(emu.without_low_ell(), pt, ttt)
        after = lowl_accuracy(new, pt, ttt)
        after_clean = lowl_accuracy(new, pt[clean], ttt[clean])
        new.metadata["lowl"]["held_out"] = {
            "n_test": len(pt),
            "before": before,
            "after": after,
            "n_test_without_spurious_step": int(clean.sum()),
            "after_without_spurious_step": after_clean,
        }
        typer.echo(
            f"held-out low-ℓ accuracy ({len(pt)} CAMB spectra, {len(pt) - int(clean.sum())} "
            f"with a spurious step above {SPURIOUS_STEP:.1%}; median / max / max for "
            f"|Ωk| <= 0.3 of max |emu/CAMB - 1|; blend {LOWL_BLEND[0]}-{LOWL_BLEND[1]}):"
        )
        for name, rep in (("PCA", before), ("after", after), ("after*", after_clean)):
            typer.echo(
                f"  {name:7s} "
                + "  ".join(
                    f"ℓ {r}: " + " / ".join(f"{v:.2%}" for v in q.values())
                    for r, q in rep.items()
                )
            )
        typer.echo("  (PCA: the emulator's PCA regression alone; *: without the held-out "
                   "spectra that have a spurious step)")
    _save_emulator(
        new,
        out,
        {"names": new.names, "box": new.box, "derived_box": new.derived_box, "fixed": new.fixed},
    )


def _camb_accuracy() -> dict[str, float]:
    from rediscovery.cosmo.cmb.theory import CAMB_ACCURACY

    return dict(CAMB_ACCURACY)


def _per_ell(emu: Any, te: dict[str, Any]) -> dict[str, float]:
    import numpy as np

    rel = np.abs(emu.predict(te["params"]) / te["tt"] - 1)
    out = {}
    for lo, hi in ((2, 30), (30, 500), (500, 1000), (1000, 2000), (2000, 2509)):
        m = (emu.ell >= lo) & (emu.ell < hi)
        out[f"{lo}-{hi - 1}"] = float(rel[:, m].max())
    return out


def _parse_prior(text: str | None, name: str) -> Any:
    from rediscovery.cosmo.mcmc import Gaussian

    if text is None or text.lower() == "none":
        return None
    try:
        mu, sigma = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise ConfigError(
            f"--{name}-prior expects MEAN,SIGMA (e.g. 0.054,0.007) or 'none', got {text!r}"
        ) from exc
    if not (math.isfinite(mu) and math.isfinite(sigma) and sigma > 0):
        raise ConfigError(f"--{name}-prior {text!r}: expected a finite MEAN and SIGMA > 0")
    return Gaussian(mu, sigma)


def _parse_fix(items: list[str] | None) -> dict[str, float]:
    parsed = _parse_assignments(items, "--fix", "NAME=VALUE", "ns=0.965")
    return {name: values[0] for name, values in parsed.items()}


@app.command("cmb-fit")
def cmb_fit(
    spectrum: Path = typer.Argument(..., help="Spectrum file (μK²)."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    fmt: str = typer.Option(
        "csv",
        "--format",
        help="csv | planck-binned | three-column (ℓ, D_ℓ, σ_noise per multipole).",
    ),
    params: str = typer.Option(
        "H0,ombh2,omch2,ns,ln10As,tau",
        "--params",
        help="Free parameters, comma separated: H0,ombh2,omch2,ns,ln10As,"
        "tau (flat) or h (or H0),Om,OL (curvature free, Ωk derived) "
        "plus any of ns,ln10As,tau; others fixed at the Planck 2018 "
        "best fit or by --fix.",
    ),
    fix: list[str] = typer.Option(None, "--fix", help="Fix a parameter, NAME=VALUE (repeatable)."),
    fsky: float = typer.Option(
        None, "--fsky", help="Sky fraction for the Knox sample variance (three-column)."
    ),
    delta_ell: int = typer.Option(None, "--delta-ell", help="Bin width (three-column)."),
    theory: str = typer.Option("emulator", "--theory", help="emulator | camb."),
    emulator: Path = typer.Option(
        None,
        "--emulator",
        help="Emulator file (default: the shipped flat one, or the curved one for h,Om,OL).",
    ),
    fallback_camb: bool = typer.Option(
        False,
        "--fallback-camb",
        help="Call CAMB outside the emulator's box instead of rejecting the point.",
    ),
    tau_prior: str = typer.Option(
        "0.054,0.007", "--tau-prior", help="Gaussian τ prior MEAN,SIGMA (Planck 2018 lowE) or none."
    ),
    cov: Path = typer.Option(None, "--cov", help="Covariance of the bins (.npy or text, μK⁴)."),
    errors: str = typer.Option("average", "--errors", help="Asymmetric errors: average | split."),
    binning: str = typer.Option(
        None,
        "--binning",
        help="planck | uniform (default: planck for planck-binned files, uniform otherwise).",
    ),
    lmin: int = typer.Option(None, "--lmin", help="Drop bins below this ℓ."),
    lmax: int = typer.Option(None, "--lmax", help="Drop bins above this ℓ."),
    walkers: int = typer.Option(32, "--walkers", help="emcee walkers."),
    steps: int = typer.Option(
        12000,
        "--steps",
        help="Steps per walker (12000 converge the 6-parameter Planck "
        "TT fit: N > 50τ and split-R̂ − 1 < 0.01).",
    ),
    burn: int = typer.Option(None, "--burn"),
    seed: int = typer.Option(0, "--seed", min=0),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Fit cosmological parameters to a TT spectrum by MCMC (emcee)."""
    import numpy as np

    from rediscovery.cosmo.cmb.io import read_spectrum
    from rediscovery.cosmo.cmb.likelihood import DENSITY_PARAMS, fit_cmb_spectrum
    from rediscovery.cosmo.cmb.theory import DENSITY_NAMES, PLANCK2018_BEST_FIT
    from rediscovery.cosmo.mcmc import check_sampler, write_posterior

    if fmt not in ("csv", "planck-binned", "three-column"):
        raise ConfigError(f"--format must be csv, planck-binned or three-column, got {fmt!r}")
    if fmt != "three-column" and (fsky is not None or delta_ell is not None):
        raise ConfigError("--fsky and --delta-ell apply to --format three-column only")
    if theory not in ("emulator", "camb"):
        raise ConfigError(f"--theory must be emulator or camb, got {theory!r}")
    if errors not in ("average", "split"):
        raise ConfigError(f"--errors must be average or split, got {errors!r}")
    if binning is not None and binning not in ("planck", "uniform"):
        raise ConfigError(f"--binning must be planck or uniform, got {binning!r}")
    if lmin is not None and lmax is not None and lmin > lmax:
        raise ConfigError(f"--lmin {lmin} is above --lmax {lmax}")
    free = [p.strip() for p in params.split(",") if p.strip()]
    if not free:
        raise ConfigError(f"--params {params!r}: give at least one free parameter")
    fixed = _parse_fix(fix)
    density = bool(set(free) & set(DENSITY_NAMES)) or bool({"Om", "OL"} & set(fixed))
    allowed = DENSITY_PARAMS if density else tuple(PLANCK2018_BEST_FIT)
    unknown = [p for p in free if p not in allowed]
    if unknown or len(set(free)) < len(free):
        what = f"unknown {', '.join(unknown)}" if unknown else "a parameter given twice"
        raise ConfigError(
            f"--params {params!r}: {what}; choose among {', '.join(allowed)}"
            + (" (Ωk and Ωc h² are derived from h, Om, OL)" if density else "")
        )
    bad_fix = [k for k in fixed if k not in allowed or k in free]
    if bad_fix:
        k = bad_fix[0]
        why = "it is also in --params" if k in free else f"choose among {', '.join(allowed)}"
        raise ConfigError(f"--fix {k}={fixed[k]}: {why}")
    check_sampler(walkers, steps, len(free), walkers_name="--walkers", steps_name="--steps")
    if burn is not None and not 0 <= burn < steps:
        raise ConfigError(f"--burn {burn}: expected 0 <= burn < --steps ({steps})")
    tp = _parse_prior(tau_prior, "tau")
    check_output(out, "dir")
    data = read_spectrum(spectrum, fmt, cov=cov, fsky=fsky, delta_ell=delta_ell)
    if data.kind != "TT":
        raise ConfigError(f"cmb-fit fits TT spectra; {spectrum} holds {data.kind}")
    keep = np.ones(data.n_bins, dtype=bool)
    if lmin is not None:
        keep &= data.ell_min >= lmin
    if lmax is not None:
        keep &= data.ell_max <= lmax
    if not keep.any():
        raise ConfigError(f"no bins left in ℓ range [{lmin}, {lmax}]")
    data = data.select(keep)
    if theory == "camb":
        log.warning("--theory camb: every likelihood call runs CAMB (~1-20 s); expect hours")
    fit = fit_cmb_spectrum(
        data,
        params=free,
        fixed=fixed,
        theory=theory,
        emulator=None if emulator is None else str(emulator),
        fallback_camb=fallback_camb,
        tau_prior=None if tp is None else (tp.mu, tp.sigma),
        errors=errors,
        weighting=binning or ("planck" if fmt == "planck-binned" else "uniform"),
        seed=seed,
        n_walkers=walkers,
        n_steps=steps,
        burn=burn,
        progress=progress,
    )
    out.mkdir(parents=True, exist_ok=True)
    summary = fit.summary()
    extra = {k: summary[k] for k in ("best_fit", "chi2_best", "n_bins", "dof", "fixed", "theory")}
    for k in ("derived", "P_OL_positive"):
        if k in summary:
            extra[k] = summary[k]
    extra["data"] = str(spectrum)
    extra["priors"] = {"tau": repr(tp)} if tp is not None and "tau" in free else {}
    if fmt == "three-column":
        extra["binning"] = {"fsky": fsky, "delta_ell": delta_ell}
    write_posterior(fit.result, out / "cmb_posterior.json", extra=extra)
    _plots(fit, data, out)
    res = fit.result
    for k in free:
        s = summary[k]
        typer.echo(
            f"{k:>7s} = {s['median']:.5g}  +{s['hi68'] - s['median']:.2g} "
            f"-{s['median'] - s['lo68']:.2g}"
        )
    for k, s in summary.get("derived", {}).items():
        typer.echo(f"{k:>7s} = {s['median']:.4g}  ± {s['std']:.2g} (derived)")
    if "P_OL_positive" in summary:
        typer.echo(f"P(ΩΛ > 0) = {summary['P_OL_positive']:.4f}")
    typer.echo(
        f"χ²_best = {fit.chi2_best:.1f} for {summary['dof']} dof; converged: "
        f"{res.converged} (τ_max = {np.nanmax(res.autocorr_tau):.1f}, "
        f"max R̂−1 = {np.nanmax(res.rhat) - 1:.3g})"
    )
    typer.echo(f"wrote {out / 'cmb_posterior.json'}")


def _plots(fit: Any, data: Any, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")

    from rediscovery.core.plotting import savefig
    from rediscovery.cosmo.cmb.plots import plot_spectrum_fit
    from rediscovery.cosmo.plots import plot_trace, triangle_plot

    lk = fit.likelihood
    dl = lk.theory_spectrum(fit.best_fit)
    figs = {
        "cmb_fit.png": plot_spectrum_fit(
            data,
            lk.theory.ell,
            dl,
            lk.bmat @ dl,
            label=f"best fit ({getattr(lk.theory, 'name', '')})",
        ),
        "cmb_triangle.png": triangle_plot(fit.result, title_fmt=".4g"),
        "cmb_trace.png": plot_trace(fit.result),
    }
    for name, fig in figs.items():
        savefig(fig, out / name, dpi=110)

"""The low-ℓ component of the curved emulator: one Gaussian process per multipole below ℓ = 100.

The curved emulator (:mod:`rediscovery.cosmo.cmb.curved`) regresses the whole spectrum on a few
dozen principal components. Below ℓ ≈ 60 that reaches only 1-4 % against CAMB over its box, for
two reasons measured on CAMB 2.0.5 (docs/cosmo-cmb.md, "The low-ℓ component"):

* **CAMB's open models have a step between ℓ = 17 and 18** (with every ℓ computed, at any k or
  time accuracy): Δ ln D of −0.2 % at Ωk = 0.01 to −7 % at Ωk ≈ 0.5, none for Ωk ≤ 0. Its size
  is a smooth function of the parameters on the open side (a Gaussian process predicts it to
  5 × 10⁻⁵ in cross-validation), but PCA spreads a feature at one ℓ whose size varies over many
  components. Here every multipole is a regression of its own (``fit_pca_gp(pca=False)``), with
  max(Ωk, 0) as a seventh input so that the step can switch on at Ωk = 0.
* **Some CAMB spectra carry a spurious step** at one ℓ between ~24 and ~60 that decays by
  ℓ ≈ 150: at the package's settings 50 of the 702 training models of the design have a kink
  above 0.5 % at ℓ ≥ 20 (16 above 1 %, up to 10 %), all but one open. They are numerical: the
  51 held-out models of the design computed with ``TimeStepBoost = 5`` have no kink above
  0.05 % (6 above 0.4 % at the package's settings; ``AccuracyBoost = 2`` agrees with
  ``TimeStepBoost = 5`` to 0.01 % where compared), but ``TimeStepBoost = 3`` is no cure, it
  moves the steps to
  other models (``TimeStepBoost = 3`` gives one held-out model a 1.7 % step at ℓ ≈ 60 that the
  default and ``TimeStepBoost = 5`` do not have). Such spectra are not a smooth function of the
  parameters, so :func:`spurious_steps` finds them and the fit leaves them out
  (:data:`SPURIOUS_STEP`); the training spectra are otherwise at the package's settings, like
  the emulator's own.

The training spectra are unlensed (no margin above ℓ_max, seconds per model) with CAMB's ℓ
sampling 4× denser than its default, and the lensing is put back as the ratio lensed/unlensed of
the Planck 2018 best fit taken at ℓ/s (s the model's acoustic scale relative to Planck's:
lensing smooths the acoustic shape, which moves with ℓ_A); against CAMB lensed with every ℓ
computed this is within 0.09 % at ℓ ≤ 150 on the corners of the box.

The component replaces the emulator's prediction for ℓ < ``blend[0]`` and is blended into it
linearly in ln D up to ``blend[1]`` (:data:`LOWL_BLEND`).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.cmb.curved import (
    CurvedEmulator,
    compute_curved_spectra,
    curved_design,
    lowl_inputs,
)

__all__ = [
    "LOWL_ACCURACY",
    "LOWL_BLEND",
    "LOWL_GP_EDGES",
    "LOWL_LMAX",
    "LOWL_RANGES",
    "LOWL_SEED",
    "SPURIOUS_STEP",
    "fiducial_lensing",
    "fit_lowl_component",
    "generate_lowl_training_set",
    "lens_at_scale",
    "lowl_accuracy",
    "read_lowl_set",
    "spurious_steps",
]

log = logging.getLogger(__name__)

#: CAMB settings of the low-ℓ training spectra: unlensed, ℓ sampling 4× denser than CAMB's
#: default (within 0.07 % of every ℓ at ℓ ≤ 150), otherwise the package's.
LOWL_ACCURACY: dict[str, float] = {"lSampleBoost": 4, "DoLensing": False}

#: CAMB lmax of the low-ℓ training spectra (the held-out check runs to ℓ = 150).
LOWL_LMAX = 200

#: A training spectrum whose ln D_ℓ has a kink larger than this at 20 ≤ ℓ ≤ 150 (a jump of
#: ln D against the mean of its neighbours, :func:`spurious_steps`) is left out of the fit: the
#: median spectrum's largest kink is 0.04 % and 80 % stay below 0.17 %, CAMB's spurious steps
#: reach 10 % (70 of the 702 training spectra of the design are above this).
SPURIOUS_STEP = 0.004

#: The low-ℓ component alone below the first ℓ, blended into the emulator up to the second.
LOWL_BLEND = (80, 100)

#: Multipoles whose Gaussian processes share hyper-parameters (those of the middle ℓ of each
#: range; edges in ℓ, the last one is LOWL_BLEND[1] + 1): prediction then evaluates one kernel
#: per range instead of one per ℓ. The ranges are narrow where the spectrum's dependence on
#: the parameters changes fast with ℓ (the Sachs-Wolfe plateau, the open-model step, which
#: starts a range at ℓ = 18).
LOWL_GP_EDGES: tuple[int, ...] = (2, 4, 7, 11, 15, 18, 22, 28, 36, 46, 58, 72, 86, 101)

#: Seed of the low-ℓ design (training blocks seed, seed + 1, …; held-out points seed + 1000).
LOWL_SEED = 7000

#: ℓ ranges of the held-out report.
LOWL_RANGES: tuple[tuple[int, int], ...] = ((2, 30), (30, 60), (60, 100), (100, 151))

# CAMB computes every multipole with this ℓ sampling (no interpolation).
_EVERY_ELL = {"lSampleBoost": 50}


def generate_lowl_training_set(
    cache: str | os.PathLike[str],
    n_blocks: int,
    *,
    block_size: int = 100,
    n_test: int = 60,
    seed: int = LOWL_SEED,
    scheduler: str | Any | None = None,
    n_workers: int | None = None,
    progress: bool = True,
) -> Path:
    """Unlensed low-ℓ CAMB spectra (:data:`LOWL_ACCURACY`, ℓ ≤ :data:`LOWL_LMAX`) of the
    held-out design (``n_test`` candidates, seed ``seed + 1000``, computed first) and of
    ``n_blocks`` training blocks of ``block_size`` candidates (seeds ``seed``, ``seed + 1``, …)
    in a resumable HDF5 cache (any prefix of whole blocks is space-filling)."""
    designs = {
        "test": curved_design(n_test, seed + 1000),
        "train": np.concatenate([curved_design(block_size, seed + b) for b in range(n_blocks)]),
    }
    meta = {
        "seed": int(seed),
        "blocks": int(n_blocks),
        "block_size": int(block_size),
        "test_samples": int(n_test),
        "purpose": "low-ell component",
    }
    return compute_curved_spectra(
        cache,
        designs,
        meta,
        lmax=LOWL_LMAX,
        accuracy=LOWL_ACCURACY,
        scheduler=scheduler,
        n_workers=n_workers,
        chunk_size=2 * (n_workers or 1),
        progress=progress,
    )


def fiducial_lensing(lmax: int = 2 * LOWL_LMAX) -> np.ndarray:
    """Lensed/unlensed D_ℓ^TT of the Planck 2018 flat best fit, every ℓ, ℓ = 2 … ``lmax``
    (two CAMB runs, ~10-30 s)."""
    from rediscovery.cosmo.cmb.theory import camb_spectra

    lensed = camb_spectra({}, lmax=lmax, accuracy=_EVERY_ELL).tt
    unlensed = camb_spectra({}, lmax=lmax, accuracy=_EVERY_ELL | {"DoLensing": False}).tt
    return lensed / unlensed


def lens_at_scale(scale: np.ndarray, unlensed: np.ndarray, lens_fid: np.ndarray) -> np.ndarray:
    """Unlensed spectra (n, n_ell from ℓ = 2) times the fiducial lensing ratio ``lens_fid``
    (from ℓ = 2) taken at ℓ/s of each model (``scale`` (n,))."""
    ell = np.arange(2, unlensed.shape[1] + 2)
    lf = np.arange(2, len(lens_fid) + 2)
    if ell[-1] / np.min(scale) > lf[-1]:
        raise ConfigError(
            f"the fiducial lensing ends at ℓ = {lf[-1]}, but ℓ/s reaches "
            f"{ell[-1] / np.min(scale):.0f}: compute it to a higher lmax"
        )
    return unlensed * np.interp(ell[None, :] / np.asarray(scale)[:, None], lf, lens_fid)


def spurious_steps(tt: np.ndarray, ell_min: int = 20, ell_max: int = 150) -> np.ndarray:
    """Largest kink of ln D_ℓ at ``ell_min`` ≤ ℓ ≤ ``ell_max`` per spectrum (rows of ``tt``
    from ℓ = 2): the jump Δ ln D from ℓ to ℓ + 1 minus the mean of the jumps before and after
    it. CAMB's open-model step at ℓ = 17 → 18 lies below the default ``ell_min``."""
    d1 = np.diff(np.log(tt[:, : ell_max - 1]), axis=1)  # d1[k]: ℓ = k + 2 → k + 3
    kink = d1[:, 1:-1] - 0.5 * (d1[:, :-2] + d1[:, 2:])  # kink[j]: ℓ = j + 3 → j + 4
    return np.abs(kink[:, max(ell_min - 3, 0) :]).max(axis=1)


def read_lowl_set(cache: str | os.PathLike[str], group: str, emu: CurvedEmulator,
                  lens_fid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The models of ``group`` in a low-ℓ cache that CAMB computed and that lie in ``emu``'s
    box, and their lensed spectra (:func:`lens_at_scale` with ``lens_fid``, from ℓ = 2)."""
    from rediscovery.cosmo.cmb.emulator import read_training_set

    d = read_training_set(cache, group)
    ok = np.isfinite(d["tt"][:, 0]) & (d["tt"][:, 0] > 0) & emu.in_box(d["params"])
    p = d["params"][ok]
    return p, lens_at_scale(emu.derived(p)["scale"], d["tt"][ok], lens_fid)


def fit_lowl_component(
    emu: CurvedEmulator,
    params: np.ndarray,
    lensed: np.ndarray,
    *,
    blend: Sequence[int] = LOWL_BLEND,
    max_step: float | None = SPURIOUS_STEP,
    gp_edges: Sequence[int] | None = LOWL_GP_EDGES,
    gp_subsample: int = 400,
    seed: int = 0,
    progress: bool = True,
) -> CurvedEmulator:
    """The emulator ``emu`` with a low-ℓ component fitted on ``lensed`` spectra.

    Parameters
    ----------
    emu
        The curved emulator (its regression inputs and box are used; a component it already
        has is replaced).
    params
        (n, 6) rows in ``emu.names`` order, inside its box.
    lensed
        Lensed D_ℓ^TT in μK² from ℓ = 2 to at least ``blend[1]`` (n, n_ell).
    blend
        (b0, b1): the component alone for ℓ < b0, blended into the emulator up to b1.
    max_step
        Spectra with a kink above this at 20 ≤ ℓ ≤ 150 (:func:`spurious_steps`) are left out;
        None keeps all.
    gp_edges
        ℓ edges of the ranges that share GP hyper-parameters (:data:`LOWL_GP_EDGES`; ranges
        beyond ``blend[1]`` are cut there); None: every ℓ its own.
    gp_subsample, seed, progress
        As in :func:`~rediscovery.cosmo.cmb.emulator.fit_pca_gp`.
    """
    from rediscovery.cosmo.cmb.emulator import fit_pca_gp

    b0, b1 = (int(blend[0]), int(blend[1]))
    if not 2 < b0 < b1 <= emu.lmax:
        raise ConfigError(f"low-ℓ blend {tuple(blend)}: expected 2 < start < end <= {emu.lmax}")
    params = np.atleast_2d(np.asarray(params, dtype=float))
    lensed = np.asarray(lensed, dtype=float)
    if lensed.shape[1] < b1 - 1:
        raise ConfigError(f"the low-ℓ spectra end at ℓ = {lensed.shape[1] + 1} < {b1}")
    emu.check_in_box(params)
    n_all = len(params)
    if max_step is not None:
        keep = spurious_steps(lensed) <= max_step
        params, lensed = params[keep], lensed[keep]
        log.info("left out %d of %d spectra with a spurious step", n_all - len(params), n_all)
    n = b1 - 1  # ℓ = 2 … b1
    amp = params[:, emu.names.index("ln10As")] - 2.0 * params[:, emu.names.index("tau")]
    y = np.log(lensed[:, :n]) - amp[:, None]
    ok_scale = 1.0 - emu.box["Om"][0] - emu.box["OL"][0]  # the largest Ωk of the box
    u = lowl_inputs(emu.regression_inputs(params), emu.derived(params)["Ok"], ok_scale)
    groups = None
    if gp_edges is not None:
        edges = sorted({max(min(int(e), b1 + 1), 2) for e in gp_edges} | {2, b1 + 1})
        groups = [(lo - 2, hi - 2) for lo, hi in itertools.pairwise(edges)]
    fitted = fit_pca_gp(
        u,
        y,
        pca=False,
        degree=1,
        gp_subsample=gp_subsample,
        seed=seed,
        progress=progress,
        groups=groups,
    )
    fitted.pop("metadata")
    arrays = dict(emu.without_low_ell().arrays)
    arrays |= {f"lowl_{k}": v for k, v in fitted.items()}
    arrays["lowl_blend"] = np.array([b0, b1])
    arrays["lowl_ok_scale"] = np.array(ok_scale)
    meta = dict(emu.metadata)
    meta["lowl"] = {
        "n_train": len(params),
        "n_left_out_spurious_step": n_all - len(params),
        "max_step": max_step,
        "blend": [b0, b1],
        "inputs": "regression inputs + max(Ok, 0)",
        "gp_edges": None if gp_edges is None else [int(e) for e in gp_edges],
        "gp_subsample": int(gp_subsample),
    }
    return dataclasses.replace(emu, arrays=arrays, metadata=meta)


def lowl_accuracy(
    emu: CurvedEmulator,
    params: np.ndarray,
    lensed: np.ndarray,
    *,
    ranges: Sequence[tuple[int, int]] = LOWL_RANGES,
    ok_max: float = 0.3,
) -> dict[str, Mapping[str, float]]:
    """Held-out error of ``emu`` against ``lensed`` spectra (from ℓ = 2): per ℓ range, the
    median and max over models of max |emu/CAMB − 1| in that range, and the max over the
    models with |Ωk| ≤ ``ok_max`` (the simulators' hidden universes)."""
    n = lensed.shape[1]
    ell = np.arange(2, n + 2)
    rel = np.abs(emu.predict(params)[:, :n] / lensed - 1.0)
    hidden = np.abs(emu.derived(params)["Ok"]) <= ok_max
    out: dict[str, Mapping[str, float]] = {}
    for lo, hi in ranges:
        q = rel[:, (ell >= lo) & (ell < hi)].max(axis=1)
        out[f"{lo}-{hi - 1}"] = {
            "median": float(np.median(q)),
            "max": float(q.max()),
            f"max_abs_Ok_le_{ok_max:g}": float(q[hidden].max()) if hidden.any() else float("nan"),
        }
    return out

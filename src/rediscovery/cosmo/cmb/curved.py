"""An emulator of CAMB's lensed D_ℓ^TT for curved universes, over the densities (h, Ωm, ΩΛ).

The school exercise fits (h, Ωm, ΩΛ) with Ωk = 1 − Ωm − ΩΛ free, over a box wide enough for
any hidden universe (:data:`CURVED_BOX`: h 0.4-1.0, Ωm 0.1-0.9, ΩΛ −0.5-1.2). Emulating D_ℓ
directly on that box would need thousands of CAMB spectra (a curved model costs 10-20 s of
CAMB on this machine): the acoustic peaks move by a factor ~3 in ℓ across it. Instead the
emulator uses the **geometric degeneracy** of the CMB (Bond, Efstathiou & Tegmark 1997,
MNRAS 291, L33; Zaldarriaga, Spergel & Seljak 1997, ApJ 488, 1):

* above ℓ ≈ 30 the spectrum is, to the level of CMB lensing and the late ISW effect, a function
  of the early-universe physics (ω_b, ω_c, n_s, A_s e^{-2τ}) stretched in ℓ by the acoustic
  scale :math:`\\ell_A = \\pi D_M(z_*)/r_s(z_*)`;
* so the emulated target is :math:`y(x) = \\ln D_{\\ell = s x} - (\\ln 10^{10}A_s - 2\\tau)` on a
  fixed grid of the rescaled multipole :math:`x = \\ell/s`, with
  :math:`s = \\ell_A/\\ell_{A,\\rm ref}` computed exactly from background distances (no CAMB:
  z* from Hu & Sugiyama 1996, r_s and D_M by quadrature,
  :func:`rediscovery.cosmo.cosmology.cmb_distances`);
* the Gaussian process then only learns how the rescaled shape depends on
  (ln ω_c, s, h, n_s, ln 10¹⁰A_s, τ): strongly on ω_c, weakly (lensing, ISW) on the geometry.

Training points are drawn in those coordinates (a Latin hypercube per block, see
:func:`curved_design`) and mapped to (h, Ωm, ΩΛ) by solving ℓ_A(ΩΛ) = s ℓ_A,ref; points outside
the user box are dropped. The emulator is valid where *both* boxes hold: (h, Ωm, ΩΛ, …) inside
:data:`CURVED_BOX` and (ω_c, s) inside :data:`CURVED_DERIVED_BOX`; elsewhere
:class:`~rediscovery.cosmo.cmb.emulator.OutOfBoxError` names the parameter and the range.

The PCA + polynomial + Gaussian-process regression is the one of
:mod:`rediscovery.cosmo.cmb.emulator` (:func:`~rediscovery.cosmo.cmb.emulator.fit_pca_gp`);
the file is ``.npz`` + JSON metadata, no pickle.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.cosmo.cmb.emulator import (
    DEFAULT_BOX,
    compute_spectra_cache,
    latin_hypercube,
)
from rediscovery.cosmo.cmb.emulator_files import (
    OutOfBoxError,
    check_rows_in_box,
    read_emulator_file,
    rows_in_box,
    write_emulator_file,
)
from rediscovery.cosmo.cmb.theory import (
    CAMB_ACCURACY,
    PLANCK2018_BEST_FIT,
    densities_to_physical,
    omega_nu,
)

__all__ = [
    "BLEND_ELL",
    "CURVED_BOX",
    "CURVED_DERIVED_BOX",
    "CURVED_EMULATOR_KIND",
    "CURVED_EMULATOR_PATH",
    "CURVED_FIXED",
    "CURVED_LMAX",
    "CurvedEmulator",
    "acoustic_scale",
    "camb_acoustic_scale",
    "compute_curved_spectra",
    "curved_accuracy_report",
    "curved_design",
    "fit_curved_emulator",
    "fit_scale_correction",
    "generate_curved_training_set",
    "load_curved_emulator",
    "lowl_inputs",
]

log = logging.getLogger(__name__)

#: The user-facing box: the densities of the school exercise, wide enough for every hidden
#: universe the simulators draw (H0 60-80, Ωm 0.2-0.4, ΩΛ 0.5-0.9; ``cosmo.sn.simulate``) and
#: for the CMB-only degeneracy line through them; n_s, A_s, τ as in the flat emulator's box.
CURVED_BOX: dict[str, tuple[float, float]] = {
    "h": (0.4, 1.0),
    "Om": (0.1, 0.9),
    "OL": (-0.5, 1.2),
    "ns": DEFAULT_BOX["ns"],
    "ln10As": DEFAULT_BOX["ln10As"],
    "tau": DEFAULT_BOX["tau"],
}

#: The box in the emulator's own coordinates: the physical CDM density ω_c and the acoustic
#: scale s = ℓ_A/ℓ_A,ref. It holds every hidden universe of the simulators (ω_c 0.049-0.233,
#: s 0.58-1.78 for H0 60-80, Ωm 0.2-0.4, ΩΛ 0.5-0.9 at ω_b = 0.022383) with a margin.
CURVED_DERIVED_BOX: dict[str, tuple[float, float]] = {
    "omch2": (0.044, 0.25),
    "scale": (0.55, 1.85),
}

#: Parameters held fixed in the curved emulator (Planck 2018 best fit).
CURVED_FIXED: dict[str, float] = {
    "ombh2": PLANCK2018_BEST_FIT["ombh2"],
    "mnu": PLANCK2018_BEST_FIT["mnu"],
}

#: Highest multipole of the curved emulator (the school's simulated spectra end near ℓ = 1000;
#: Planck's binned TT to ℓ = 2508 is the flat emulator's job).
CURVED_LMAX = 1500

#: Multipoles where the emulated spectrum passes from ln D_ℓ emulated directly (below; the late
#: ISW effect and the Sachs-Wolfe plateau do not scale with ℓ_A) to the rescaled shape (above),
#: blended linearly in between.
BLEND_ELL = (40, 80)

#: Highest multipole CAMB computes for a training model: ``min(CURVED_LMAX s/s_min, this)``.
_CAMB_LMAX_CAP = 3000

#: The emulator that ships inside the package (see docs/cosmo-cmb.md for how it was trained).
CURVED_EMULATOR_PATH = Path(__file__).parent / "data" / "emulator_tt_curved.npz"

#: The ``kind`` in the metadata of a curved TT emulator file.
CURVED_EMULATOR_KIND = "rediscovery.cosmo.cmb.curved/TT"
_FORMAT_VERSION = 1
_GRID_NAMES = ("ln_omch2", "scale", "h", "ns", "ln10As", "tau")
_TAIL_OVERLAP = 40  # rescaled multipoles where the head and the tail regressions are blended
#: The arrays of one regression (:func:`~rediscovery.cosmo.cmb.emulator.fit_pca_gp`), in the
#: order :func:`~rediscovery.cosmo.cmb.emulator.predict_pca_gp` takes them.
_PCA_ARRAYS = ("mean", "basis", "exponents", "poly_coef", "x_train", "gp_alpha", "gp_inv_ls2")
# ranges of the regression inputs (the design box), mapped to [-1, 1]
_G_LO = np.array(
    [
        math.log(CURVED_DERIVED_BOX["omch2"][0]),
        CURVED_DERIVED_BOX["scale"][0],
        CURVED_BOX["h"][0],
        CURVED_BOX["ns"][0],
        CURVED_BOX["ln10As"][0],
        CURVED_BOX["tau"][0],
    ]
)
_G_HI = np.array(
    [
        math.log(CURVED_DERIVED_BOX["omch2"][1]),
        CURVED_DERIVED_BOX["scale"][1],
        CURVED_BOX["h"][1],
        CURVED_BOX["ns"][1],
        CURVED_BOX["ln10As"][1],
        CURVED_BOX["tau"][1],
    ]
)


def acoustic_scale(
    h: np.ndarray | float,
    Om: np.ndarray | float,
    OL: np.ndarray | float,
    *,
    ombh2: float = CURVED_FIXED["ombh2"],
) -> np.ndarray:
    """The acoustic multipole ℓ_A = π D_M(z*)/r_s(z*) (NaN where there is no Big Bang).

    Background only (no CAMB): z* from Hu & Sugiyama (1996, eq. E1), the sound horizon and the
    transverse comoving distance by quadrature
    (:func:`rediscovery.cosmo.cosmology.cmb_distances`; Ωm includes massive neutrinos, counted as
    matter, which is exact enough for a coordinate).
    """
    from rediscovery.cosmo.cosmology import cmb_distances  # background distances, no CAMB

    h, Om, OL = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (h, Om, OL)))
    with np.errstate(invalid="ignore"):
        d = cmb_distances(100.0 * h, Om, OL, ombh2)
    return np.pi * d["D_M"] / d["r_s"]


def _reference_scale(ombh2: float) -> float:
    p = PLANCK2018_BEST_FIT
    h = p["H0"] / 100.0
    om = (p["ombh2"] + p["omch2"]) / h**2 + omega_nu(p["mnu"]) / h**2
    return float(acoustic_scale(h, om, 1.0 - om, ombh2=ombh2))


def _solve_ol(
    h: np.ndarray, Om: np.ndarray, target: np.ndarray, lo: float, hi: float, ombh2: float
) -> np.ndarray:
    """ΩΛ with ℓ_A(h, Ωm, ΩΛ) = target on [lo, hi] (vectorised grid + bisection; NaN if none)."""
    grid = np.linspace(lo, hi, 121)
    la = acoustic_scale(h[:, None], Om[:, None], grid[None, :], ombh2=ombh2)
    f = la - target[:, None]
    cross = (f[:, :-1] > 0) & (f[:, 1:] <= 0)  # ℓ_A falls as ΩΛ grows (curvature wins)
    ok = cross.any(axis=1)
    j = np.argmax(cross, axis=1)
    a, b = grid[j], grid[j + 1]
    for _ in range(40):
        m = 0.5 * (a + b)
        fm = acoustic_scale(h, Om, m, ombh2=ombh2) - target
        above = fm > 0
        a = np.where(above, m, a)
        b = np.where(above, b, m)
    return np.where(ok, 0.5 * (a + b), np.nan)


def _derived_coordinates(
    x: np.ndarray,
    names: Sequence[str],
    fixed: Mapping[str, float],
    scale_ref: float,
    correction: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ω_c, s, regression inputs (n, 6)) of parameter rows in ``names`` order.

    ``correction`` = (exponents, coefficients) of the polynomial in the first three scaled
    inputs that maps the background-code ℓ_A onto CAMB's π/θ* (:func:`fit_scale_correction`).
    """
    col = {k: x[:, j] for j, k in enumerate(names)}
    h, om, ol = col["h"], col["Om"], col["OL"]
    omch2 = om * h * h - fixed["ombh2"] - omega_nu(fixed["mnu"])
    s = acoustic_scale(h, om, ol, ombh2=fixed["ombh2"]) / scale_ref
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.column_stack([np.log(omch2), s, h, col["ns"], col["ln10As"], col["tau"]])
    if correction is not None:
        from rediscovery.cosmo.cmb.emulator import design_matrix

        u3 = 2.0 * (g[:, :3] - _G_LO[:3]) / (_G_HI[:3] - _G_LO[:3]) - 1.0
        s = s * np.exp(design_matrix(u3, correction[0]) @ correction[1])
        g[:, 1] = s
    return omch2, s, g


def camb_acoustic_scale(x: np.ndarray, *, progress: bool = True) -> np.ndarray:
    """CAMB's acoustic multipole π/θ* for parameter rows ``x`` (n, 6) in :data:`CURVED_BOX`
    order, from CAMB's background and recombination only (~0.1-0.2 s per model, no spectra)."""
    from rediscovery.core.progress import progress_bar
    from rediscovery.cosmo.cmb.theory import camb_params, import_camb, physical_params

    camb = import_camb()
    out = np.empty(len(x))
    fx = dict(CURVED_FIXED)
    with progress_bar(enabled=progress) as prog:
        bar = prog.add_task("CAMB θ*", total=len(x))
        for i, row in enumerate(np.asarray(x, dtype=float)):
            p = dict(zip(CURVED_BOX, (float(v) for v in row), strict=True)) | fx
            bg = camb.get_background(camb_params(physical_params(p), lmax=100), no_thermo=False)
            out[i] = np.pi / (bg.get_derived_params()["thetastar"] / 100.0)
            prog.advance(bar)
    return out


def fit_scale_correction(
    x: np.ndarray,
    la_camb: np.ndarray,
    *,
    degree: int = 5,
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Least-squares polynomial (in scaled ln ω_c, s, h) of ln(ℓ_A,CAMB / ℓ_A,background).

    The background code's ℓ_A (Hu & Sugiyama z*, massive neutrinos counted as matter) differs
    from CAMB's θ* by 0.15-0.35 %, smoothly; a degree-5 polynomial fitted on a few hundred
    background-only CAMB runs leaves 1e-5 (measured on independent points), i.e. a shift
    of 0.015 at ℓ = 1500.

    Returns (exponents, coefficients, {"rms", "max"} of the fit residual).
    """
    from rediscovery.cosmo.cmb.emulator import design_matrix, monomials

    fx = dict(CURVED_FIXED)
    ref = _reference_scale(fx["ombh2"])
    _, s, g = _derived_coordinates(np.asarray(x, dtype=float), list(CURVED_BOX), fx, ref)
    u3 = 2.0 * (g[:, :3] - _G_LO[:3]) / (_G_HI[:3] - _G_LO[:3]) - 1.0
    target = np.log(np.asarray(la_camb) / (s * ref))
    ok = np.isfinite(target) & np.all(np.isfinite(u3), axis=1)
    exps = monomials(3, degree)
    a = design_matrix(u3[ok], exps)
    coef, *_ = np.linalg.lstsq(a, target[ok], rcond=None)
    r = target[ok] - a @ coef
    return (
        exps,
        coef,
        {"rms": float(r.std()), "max": float(np.abs(r).max()), "n_points": int(ok.sum())},
    )


def curved_design(
    n: int,
    seed: int,
    *,
    box: Mapping[str, tuple[float, float]] | None = None,
    derived_box: Mapping[str, tuple[float, float]] | None = None,
    fixed: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Design points (m, 6) in :data:`CURVED_BOX` order, m ≤ n, for training or testing.

    A Latin hypercube of ``n`` points in (ln ω_c, s, h, n_s, ln 10¹⁰A_s, τ) over
    :data:`CURVED_DERIVED_BOX` × the h, n_s, A_s, τ ranges of :data:`CURVED_BOX`; each point is
    mapped to (h, Ωm, ΩΛ) with Ωm = (ω_b + ω_c + ω_ν)/h² and ΩΛ solving ℓ_A = s ℓ_A,ref, and
    kept if it lies in :data:`CURVED_BOX` (the others fall outside the user box, or have no Big
    Bang). Deterministic for a seed.
    """
    box = dict(CURVED_BOX if box is None else box)
    dbox = dict(CURVED_DERIVED_BOX if derived_box is None else derived_box)
    fx = dict(CURVED_FIXED if fixed is None else fixed)
    lhs_box = {
        "ln_omch2": (math.log(dbox["omch2"][0]), math.log(dbox["omch2"][1])),
        "scale": dbox["scale"],
        "h": box["h"],
        "ns": box["ns"],
        "ln10As": box["ln10As"],
        "tau": box["tau"],
    }
    u = latin_hypercube(lhs_box, n, seed)
    h = u[:, 2]
    om = (np.exp(u[:, 0]) + fx["ombh2"] + omega_nu(fx["mnu"])) / h**2
    ref = _reference_scale(fx["ombh2"])
    ol = _solve_ol(h, om, u[:, 1] * ref, box["OL"][0] - 0.01, box["OL"][1] + 0.01, fx["ombh2"])
    x = np.column_stack([h, om, ol, u[:, 3], u[:, 4], u[:, 5]])
    keep = np.isfinite(ol)
    for j, k in enumerate(box):
        keep &= (x[:, j] >= box[k][0]) & (x[:, j] <= box[k][1])
    return x[keep]


def _to_camb(fixed: Mapping[str, float]) -> Any:
    def to_camb(row: Mapping[str, float]) -> dict[str, float]:
        p = densities_to_physical(
            row["h"], row["Om"], row["OL"], ombh2=fixed["ombh2"], mnu=fixed["mnu"]
        )
        p.update({k: row[k] for k in ("ns", "ln10As", "tau")})
        return p

    return to_camb


def _camb_lmax(x: np.ndarray, fixed: Mapping[str, float], lmax: int, smin: float) -> np.ndarray:
    _, s, _ = _derived_coordinates(x, list(CURVED_BOX), fixed, _reference_scale(fixed["ombh2"]))
    return np.minimum(np.ceil(lmax * s / smin) + 20, _CAMB_LMAX_CAP).astype(int)


def compute_curved_spectra(
    cache: str | os.PathLike[str],
    designs: Mapping[str, np.ndarray],
    meta: Mapping[str, Any],
    *,
    lmax: int,
    lmax_per_point: Mapping[str, np.ndarray] | None = None,
    accuracy: Mapping[str, float] | None = None,
    scheduler: str | Any | None = None,
    n_workers: int | None = None,
    chunk_size: int | None = None,
    progress: bool = True,
) -> Path:
    """CAMB spectra of curved models into a resumable HDF5 cache.

    Parameters
    ----------
    cache
        HDF5 file (the layout of :func:`~rediscovery.cosmo.cmb.emulator.compute_spectra_cache`,
        read back with :func:`~rediscovery.cosmo.cmb.emulator.read_training_set`).
    designs
        ``{group: rows (n, 6) in CURVED_BOX order}``, computed in the given order.
    meta
        Attributes that identify the design (a cache made with others is refused); the box,
        the fixed parameters, ``lmax`` and ``accuracy`` are added here.
    lmax, lmax_per_point
        Width of the stored spectra, and CAMB's lmax per point (optional).
    accuracy
        Overrides of :data:`~rediscovery.cosmo.cmb.theory.CAMB_ACCURACY`, e.g.
        ``{"lSampleBoost": 50}`` for every multipole computed (CAMB otherwise computes ℓ ≤ 19,
        the odd ℓ to 37, then every fifth ℓ or wider, and interpolates).
    scheduler, n_workers, chunk_size, progress
        As in :func:`~rediscovery.cosmo.cmb.emulator.compute_spectra_cache`.
    """
    fixed = dict(CURVED_FIXED)
    full_meta = {
        "box": json.dumps({k: list(v) for k, v in CURVED_BOX.items()}),
        "derived_box": json.dumps({k: list(v) for k, v in CURVED_DERIVED_BOX.items()}),
        "fixed": json.dumps(fixed),
        "lmax": int(lmax),
        "accuracy": json.dumps(CAMB_ACCURACY | dict(accuracy or {})),
        "kind": CURVED_EMULATOR_KIND,
    } | dict(meta)
    return compute_spectra_cache(
        cache,
        designs,
        names=list(CURVED_BOX),
        to_camb=_to_camb(fixed),
        meta=full_meta,
        lmax=int(lmax),
        lmax_per_point=lmax_per_point,
        accuracy=accuracy,
        scheduler=scheduler,
        n_workers=n_workers,
        chunk_size=chunk_size,
        progress=progress,
    )


def generate_curved_training_set(
    cache: str | os.PathLike[str],
    n_blocks: int,
    *,
    block_size: int = 100,
    n_test: int = 40,
    seed: int = 0,
    scheduler: str | Any | None = None,
    n_workers: int | None = None,
    progress: bool = True,
) -> Path:
    """CAMB spectra for the curved emulator, in a resumable HDF5 cache.

    The held-out ``test`` group (a design of ``n_test`` candidate points, seed ``seed + 1000``)
    is computed first, then the ``train`` group: ``n_blocks`` designs of ``block_size``
    candidates each (seeds ``seed``, ``seed + 1``, …), so that any prefix of whole blocks is a
    union of Latin hypercubes and an interrupted run leaves a usable, space-filling set. Each
    model is computed to ℓ = min(CURVED_LMAX s/s_min + 20, 3000) (the ℓ range its rescaled
    spectrum must cover), stored padded with NaN to ℓ = 3000.
    """
    fixed = dict(CURVED_FIXED)
    test = curved_design(n_test, seed + 1000)
    train = np.concatenate([curved_design(block_size, seed + b) for b in range(n_blocks)])
    designs = {"test": test, "train": train}
    smin = CURVED_DERIVED_BOX["scale"][0]
    meta = {
        "seed": int(seed),
        "n_blocks": int(n_blocks),
        "block_size": int(block_size),
        "n_test": int(n_test),
    }
    lmaxes = {g: _camb_lmax(d, fixed, CURVED_LMAX, smin) for g, d in designs.items()}
    log.info("curved design: %d test and %d training models", len(test), len(train))
    return compute_curved_spectra(
        cache,
        designs,
        meta,
        lmax=_CAMB_LMAX_CAP,
        lmax_per_point=lmaxes,
        scheduler=scheduler,
        n_workers=n_workers,
        progress=progress,
    )


# ----------------------------------------------------------------------------- emulator


def _catmull_rom(y: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Cubic (Catmull-Rom) interpolation of rows ``y`` (n, m) at fractional indices ``pos``
    (n, k); indices are clipped to the grid."""
    m = y.shape[1]
    j = np.clip(np.floor(pos).astype(np.int64), 1, m - 3)
    t = pos - j
    p0, p1, p2, p3 = (np.take_along_axis(y, j + o, axis=1) for o in (-1, 0, 1, 2))
    return p1 + 0.5 * t * (
        p2 - p0 + t * (2 * p0 - 5 * p1 + 4 * p2 - p3 + t * (3 * (p1 - p2) + p3 - p0))
    )


def _omega_k(x: np.ndarray) -> np.ndarray:
    """Ωk = 1 − Ωm − ΩΛ − Ω_r of rows (h, Om, OL, …) (radiation: photons and neutrinos)."""
    from rediscovery.cosmo.cosmology import omega_radiation

    return 1.0 - x[:, 1] - x[:, 2] - omega_radiation(100.0) / x[:, 0] ** 2


def lowl_inputs(u: np.ndarray, ok: np.ndarray, ok_scale: float) -> np.ndarray:
    """Inputs of the low-ℓ component: the emulator's regression inputs ``u`` (n, 6, in
    [-1, 1]) and max(Ωk, 0) mapped from [0, ``ok_scale``] to [-1, 1]. CAMB's open models
    carry a step in D_ℓ between ℓ = 17 and 18 whose size grows from 0 at Ωk = 0 (closed and
    flat models have none): a feature that starts at Ωk = 0, which this input lets the Gaussian
    processes switch on there."""
    return np.column_stack([u, 2.0 * np.maximum(ok, 0.0) / ok_scale - 1.0])


@dataclass
class CurvedEmulator:
    """Emulated lensed D_ℓ^TT (μK²) on ℓ = 2 … :data:`CURVED_LMAX` over (h, Ωm, ΩΛ, n_s, A_s, τ).

    Same interface as :class:`~rediscovery.cosmo.cmb.emulator.CMBEmulator`: ``emu(params)``
    with a dict (``h`` or ``H0``, ``Om``, ``OL``, ``ns``, ``ln10As``, ``tau``; ``ombh2`` and
    ``mnu`` must equal :attr:`fixed`), or ``emu.predict(X)`` with rows in :attr:`names` order.

    Attributes
    ----------
    names
        ``["h", "Om", "OL", "ns", "ln10As", "tau"]``.
    box, derived_box
        The user box and the box of (``omch2``, ``scale``) where the emulator is valid.
    fixed
        ``ombh2`` and ``mnu`` of the training spectra.
    ell
        Multipoles (2 … lmax).
    x_grid
        Rescaled multipoles x = ℓ/s of the emulated target (uniform, step 1).
    scale_ref
        ℓ_A of the reference (Planck 2018 flat) cosmology.
    g_lo, g_hi
        Ranges of the regression inputs (ln ω_c, s, h, n_s, ln 10¹⁰A_s, τ), mapped to [-1, 1].
    arrays
        The PCA + polynomial + GP arrays (:func:`~rediscovery.cosmo.cmb.emulator.fit_pca_gp`)
        of the target: ln D_ℓ − (ln 10¹⁰A_s − 2τ) at ℓ = 2 … ``blend[1]``, then y(x) on
        :attr:`x_grid`; optionally (``lowl_*``, :mod:`~rediscovery.cosmo.cmb.curved_lowl`) a
        low-ℓ component, one Gaussian process per multipole, that replaces the prediction
        below ``lowl_blend[0]`` and is blended into it up to ``lowl_blend[1]``.
    blend
        ℓ range where the direct and the rescaled parts are blended.
    """

    names: list[str]
    box: dict[str, tuple[float, float]]
    derived_box: dict[str, tuple[float, float]]
    fixed: dict[str, float]
    ell: np.ndarray
    x_grid: np.ndarray
    scale_ref: float
    g_lo: np.ndarray
    g_hi: np.ndarray
    arrays: dict[str, np.ndarray]  # the arrays of fit_pca_gp
    blend: tuple[int, int] = BLEND_ELL
    metadata: dict[str, Any] = field(default_factory=dict)

    name = "emulator (curved)"

    @property
    def lmax(self) -> int:
        return int(self.ell[-1])

    def derived(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """ω_c, the acoustic scale s and Ωk of parameter rows ``x`` (n, 6)."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        omch2, s, _ = _derived_coordinates(
            x, self.names, self.fixed, self.scale_ref, self._correction()
        )
        return {"omch2": omch2, "scale": s, "Ok": _omega_k(x)}

    def without_low_ell(self) -> CurvedEmulator:
        """The same emulator without its low-ℓ component (the PCA regression alone)."""
        arrays = {k: v for k, v in self.arrays.items() if not k.startswith("lowl_")}
        return dataclasses.replace(self, arrays=arrays)

    def regression_inputs(self, x: np.ndarray) -> np.ndarray:
        """The regression inputs (ln ω_c, s, h, n_s, ln 10¹⁰A_s, τ) of rows ``x`` (n, 6),
        mapped to [-1, 1] over :attr:`g_lo` … :attr:`g_hi`."""
        return self._scale_and_inputs(np.atleast_2d(np.asarray(x, dtype=float)))[1]

    def _scale_and_inputs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        _, s, g = _derived_coordinates(
            x, self.names, self.fixed, self.scale_ref, self._correction()
        )
        return s, 2.0 * (g - self.g_lo) / (self.g_hi - self.g_lo) - 1.0

    def _correction(self) -> tuple[np.ndarray, np.ndarray] | None:
        if "scale_corr_coef" not in self.arrays:
            return None
        return self.arrays["scale_corr_exponents"], self.arrays["scale_corr_coef"]

    def in_box(self, x: np.ndarray) -> np.ndarray:
        """Boolean mask (n,) of rows inside both boxes."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        ok = rows_in_box(x, self.names, self.box)
        d = self.derived(x)
        for k, (lo, hi) in self.derived_box.items():
            with np.errstate(invalid="ignore"):
                ok &= (d[k] >= lo) & (d[k] <= hi)
        return ok

    def check_in_box(self, x: np.ndarray) -> None:
        """Raise :class:`OutOfBoxError` naming the first parameter outside the box."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        check_rows_in_box(
            x,
            self.names,
            self.box,
            what="curved emulator's box",
            hint=f" (box: {self._box_text()}); use --fallback-camb (fall back to CAMB there) "
            "or --theory camb",
        )
        d = self.derived(x)
        what = {
            "omch2": "Ωc h² = Ωm h² − Ωb h² − Ων h² (from h and Om)",
            "scale": "the acoustic scale ℓ_A/ℓ_A,Planck (from h, Om, OL)",
        }
        for k, (lo, hi) in self.derived_box.items():
            with np.errstate(invalid="ignore"):
                bad = ~((d[k] >= lo) & (d[k] <= hi))
            if np.any(bad):
                i = int(np.flatnonzero(bad)[0])
                row = dict(zip(self.names, x[i], strict=True))
                val = d[k][i]
                txt = "undefined (no Big Bang)" if not np.isfinite(val) else f"{val:.4g}"
                raise OutOfBoxError(
                    f"{what[k]} is {txt} at h = {row['h']:.4g}, Om = {row['Om']:.4g}, "
                    f"OL = {row['OL']:.4g}, outside the curved emulator's range [{lo}, {hi}] "
                    f"(box: {self._box_text()}); use --fallback-camb or --theory camb",
                    column=k,
                )

    def _box_text(self) -> str:
        parts = [f"{k} {lo:g}..{hi:g}" for k, (lo, hi) in self.box.items()]
        parts += [f"{k} {lo:g}..{hi:g}" for k, (lo, hi) in self.derived_box.items()]
        return ", ".join(parts)

    def predict(self, x: np.ndarray, *, check: bool = True) -> np.ndarray:
        """D_ℓ^TT in μK² for parameter rows ``x`` (n, 6) → (n, n_ell)."""
        from rediscovery.cosmo.cmb.emulator import predict_pca_gp

        x = np.atleast_2d(np.asarray(x, dtype=float))
        if x.shape[1] != len(self.names):
            raise InputError(
                f"expected {len(self.names)} parameter columns {self.names}, got {x.shape[1]}"
            )
        if check:
            self.check_in_box(x)
        s, u = self._scale_and_inputs(x)
        a = self.arrays
        y = predict_pca_gp(
            u,
            a["mean"],
            a["basis"],
            a["exponents"],
            a["poly_coef"],
            a["x_train"],
            a["gp_alpha"],
            a["gp_inv_ls2"],
        )
        la, lb = self.blend
        if "n_head" in a:  # the high-x tail of small-s (closed) models, blended over the overlap
            nh = int(a["n_head"])
            t = predict_pca_gp(u, *(a[f"tail_{k}"] for k in _PCA_ARRAYS))
            w = np.linspace(0.0, 1.0, _TAIL_OVERLAP)
            head = y[:, lb - 1 :]
            join = (1.0 - w) * head[:, nh - _TAIL_OVERLAP :] + w * t[:, :_TAIL_OVERLAP]
            y = np.concatenate(
                [y[:, : lb - 1 + nh - _TAIL_OVERLAP], join, t[:, _TAIL_OVERLAP:]], axis=1
            )
        nd = lb - 1  # direct part: ℓ = 2 … lb
        pos = (self.ell[None, :] / s[:, None] - self.x_grid[0]) / (self.x_grid[1] - self.x_grid[0])
        resc = _catmull_rom(y[:, nd:], pos)
        w = np.clip((self.ell - la) / (lb - la), 0.0, 1.0)
        direct = np.zeros_like(resc)
        direct[:, :nd] = y[:, :nd]
        amp = x[:, self.names.index("ln10As")] - 2.0 * x[:, self.names.index("tau")]
        lnd = (1.0 - w) * direct + w * resc + amp[:, None]
        if "lowl_mean" in a:
            lnd = self._with_low_ell(x, u, lnd, amp)
        return np.exp(lnd)

    def _with_low_ell(
        self, x: np.ndarray, u: np.ndarray, lnd: np.ndarray, amp: np.ndarray
    ) -> np.ndarray:
        """ln D_ℓ with the low-ℓ component (``curved_lowl``) blended in: one Gaussian process
        per multipole ℓ = 2 … ``lowl_blend[1]`` on the regression inputs plus max(Ωk, 0)."""
        from rediscovery.cosmo.cmb.emulator import predict_pca_gp

        a = self.arrays
        ul = lowl_inputs(u, _omega_k(x), float(a["lowl_ok_scale"]))
        yl = predict_pca_gp(ul, *(a[f"lowl_{k}"] for k in _PCA_ARRAYS)) + amp[:, None]
        b0, b1 = (int(v) for v in a["lowl_blend"])
        n = yl.shape[1]
        wl = np.clip((self.ell[:n] - b0) / (b1 - b0), 0.0, 1.0)  # 0: low-ℓ component only
        out = lnd.copy()
        out[:, :n] = (1.0 - wl) * yl + wl * lnd[:, :n]
        return out

    def params_vector(self, params: Mapping[str, float]) -> np.ndarray:
        """The row vector of a parameter dict (``H0`` accepted for ``h``; ``ombh2``/``mnu``
        must equal :attr:`fixed`; n_s, A_s, τ default to the Planck 2018 best fit)."""
        p = dict(params)
        if "H0" in p:
            if "h" in p and not math.isclose(p["H0"] / 100.0, p["h"], rel_tol=1e-9):
                raise InputError(
                    f"both h = {p['h']} and H0 = {p['H0']} given and they differ", column="H0"
                )
            p["h"] = p.pop("H0") / 100.0
        extra = set(p) - set(self.names) - set(self.fixed)
        if extra:
            raise InputError(
                f"the curved emulator does not know parameter(s) {sorted(extra)}; "
                f"it emulates {self.names} (Ωk = 1 − Om − OL derived)",
                column=sorted(extra)[0],
            )
        for k, v in p.items():
            if k in self.fixed and not math.isclose(
                float(v), self.fixed[k], rel_tol=1e-9, abs_tol=1e-12
            ):
                raise OutOfBoxError(
                    f"the curved emulator was trained with {k} fixed at "
                    f"{self.fixed[k]}, got {v}; use --theory camb",
                    column=k,
                )
        missing = [k for k in ("h", "Om", "OL") if k not in p]
        if missing:
            raise InputError(
                f"the curved emulator needs h (or H0), Om and OL; missing {missing}",
                column=missing[0],
            )
        return np.array([float(p[k]) if k in p else PLANCK2018_BEST_FIT[k] for k in self.names])

    def __call__(self, params: Mapping[str, float]) -> np.ndarray:
        return self.predict(self.params_vector(params)[None, :])[0]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the emulator as a compressed ``.npz`` (arrays + JSON metadata, no pickle)."""
        meta = {
            "format_version": _FORMAT_VERSION,
            "kind": CURVED_EMULATOR_KIND,
            "names": self.names,
            "box": {k: list(v) for k, v in self.box.items()},
            "derived_box": {k: list(v) for k, v in self.derived_box.items()},
            "fixed": self.fixed,
            "scale_ref": self.scale_ref,
            "blend": list(self.blend),
            "metadata": self.metadata,
        }
        # float32 PCA bases: 1e-7 relative, far below the emulator's error; halves the file
        arrays = {
            k: (v.astype(np.float32) if k in ("basis", "tail_basis", "lowl_basis") else v)
            for k, v in self.arrays.items()
        }
        arrays |= {"ell": self.ell, "x_grid": self.x_grid, "g_lo": self.g_lo, "g_hi": self.g_hi}
        return write_emulator_file(path, meta, arrays)


def load_curved_emulator(path: str | os.PathLike[str] | None = None) -> CurvedEmulator:
    """Load a curved emulator file (default: the one shipped in the package).

    Raises
    ------
    ModelFileError
        If the file is missing, not a curved emulator, or of another format version.
    """
    meta, arrays = read_emulator_file(
        Path(CURVED_EMULATOR_PATH if path is None else path),
        kind=CURVED_EMULATOR_KIND,
        version=_FORMAT_VERSION,
        missing="curved emulator file not found; train one with `rediscovery cosmo "
        "cmb-emulator train-curved --out FILE` or use --theory camb",
        wrong_kind=f"not a curved emulator (expected {CURVED_EMULATOR_KIND!r}); flat files "
        "load with load_emulator",
    )
    skip = {"ell", "x_grid", "g_lo", "g_hi"}
    pca = {
        k: (v.astype(np.float64) if v.dtype == np.float32 else v)
        for k, v in arrays.items()
        if k not in skip
    }
    return CurvedEmulator(
        names=list(meta["names"]),
        box={k: (float(v[0]), float(v[1])) for k, v in meta["box"].items()},
        derived_box={k: (float(v[0]), float(v[1])) for k, v in meta["derived_box"].items()},
        fixed={k: float(v) for k, v in meta["fixed"].items()},
        ell=arrays["ell"],
        x_grid=arrays["x_grid"],
        scale_ref=float(meta["scale_ref"]),
        g_lo=arrays["g_lo"],
        g_hi=arrays["g_hi"],
        arrays=pca,
        blend=(int(meta["blend"][0]), int(meta["blend"][1])),
        metadata=meta.get("metadata", {}),
    )


def _rescaled_targets(
    tt: np.ndarray,
    s: np.ndarray,
    amp: np.ndarray,
    x_grid: np.ndarray,
) -> np.ndarray:
    """y_i(x) = ln D_i(ℓ = s_i x) − amp_i on ``x_grid`` for NaN-padded CAMB spectra (ℓ from 2);
    NaN where the spectrum does not reach ℓ = s_i x (beyond its CAMB lmax)."""
    from scipy.interpolate import CubicSpline

    n = len(tt)
    ell = np.arange(2, tt.shape[1] + 2, dtype=float)
    lnd = np.log(np.where(tt > 0, tt, np.nan))
    ltop = 2 + np.sum(np.isfinite(lnd), axis=1) - 1  # last finite ℓ (spectra are prefixes)
    y = np.full((n, len(x_grid)), np.nan)
    for i in range(n):  # one cubic spline per training spectrum (a few hundred)
        lq = s[i] * x_grid
        ok = lq <= ltop[i]
        y[i, ok] = CubicSpline(ell[: ltop[i] - 1], lnd[i, : ltop[i] - 1])(np.maximum(lq[ok], 2.0))
        y[i, ok] -= amp[i]
    return y


def fit_curved_emulator(
    params: np.ndarray,
    tt: np.ndarray,
    *,
    fixed: Mapping[str, float] | None = None,
    lmax: int = CURVED_LMAX,
    n_pca: int = 32,
    degree: int = 2,
    gp_subsample: int = 400,
    blend: tuple[int, int] = BLEND_ELL,
    scale_correction: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
    progress: bool = True,
) -> CurvedEmulator:
    """Fit the curved emulator to CAMB spectra.

    Parameters
    ----------
    params
        (n, 6) rows in :data:`CURVED_BOX` order (h, Om, OL, ns, ln10As, tau).
    tt
        CAMB D_ℓ^TT in μK² from ℓ = 2, (n, n_ell), NaN-padded beyond each model's CAMB lmax;
        rows with no finite value (CAMB failures) are dropped.
    fixed
        ``ombh2`` and ``mnu`` of the spectra (default :data:`CURVED_FIXED`).
    lmax
        Highest multipole emulated.
    blend
        ℓ range of the passage from the directly emulated ln D_ℓ to the rescaled shape.
    scale_correction
        (exponents, coefficients) from :func:`fit_scale_correction`: the acoustic scale then
        matches CAMB's θ* to ~1e-5 (without it, to ~0.1 %, which blurs the peaks at high ℓ).
    n_pca, degree, gp_subsample, seed, progress
        As in :func:`~rediscovery.cosmo.cmb.emulator.fit_pca_gp`.
    """
    from rediscovery.cosmo.cmb.emulator import fit_pca_gp

    la, lb = (int(blend[0]), int(blend[1]))
    if not 2 <= la < lb <= lmax:
        raise ConfigError(f"blend {blend}: expected 2 <= start < end <= lmax")
    fx = dict(CURVED_FIXED if fixed is None else fixed)
    params = np.asarray(params, dtype=float)
    tt = np.asarray(tt, dtype=float)
    good = np.isfinite(tt[:, 0]) & np.all(np.isfinite(params), axis=1)
    if (~good).any():
        log.info("dropping %d training models CAMB could not compute", int((~good).sum()))
    params, tt = params[good], tt[good]
    names = list(CURVED_BOX)
    scale_ref = _reference_scale(fx["ombh2"])
    _, s, g = _derived_coordinates(params, names, fx, scale_ref, scale_correction)
    dbox = dict(CURVED_DERIVED_BOX)
    x_grid = np.arange(max(la / dbox["scale"][1] - 2.0, 0.0), lmax / dbox["scale"][0] + 3.0, 1.0)
    amp = params[:, 4] - 2.0 * params[:, 5]  # ln10As - 2 tau
    direct = np.log(tt[:, : lb - 1]) - amp[:, None]  # ℓ = 2 … lb
    yr = _rescaled_targets(tt, s, amp, x_grid)
    # head: the x range every training spectrum covers; tail: the rest, fitted on the spectra
    # that cover it (small s), which are the only models that need it (ℓ ≤ lmax means
    # x ≤ lmax/s); no spectrum is ever extrapolated
    covered = np.all(np.isfinite(yr), axis=0)
    n_head = int(np.argmin(covered)) if not covered.all() else len(x_grid)
    if n_head < _TAIL_OVERLAP + 4:
        raise ConfigError(
            "the training spectra do not cover the rescaled ℓ range; compute "
            "them to a higher CAMB lmax"
        )
    lhs_lo, lhs_hi = _G_LO.copy(), _G_HI.copy()
    u = 2.0 * (g - lhs_lo) / (lhs_hi - lhs_lo) - 1.0
    head = np.concatenate([direct, yr[:, :n_head]], axis=1)
    fitted = fit_pca_gp(
        u, head, n_pca=n_pca, degree=degree, gp_subsample=gp_subsample, seed=seed, progress=progress
    )
    if n_head < len(x_grid):
        tail_cols = slice(n_head - _TAIL_OVERLAP, len(x_grid))
        full = np.all(np.isfinite(yr[:, tail_cols]), axis=1)
        if full.sum() < 20:
            raise ConfigError(
                f"only {int(full.sum())} training spectra cover the high-ℓ tail "
                "of the closed models; compute more"
            )
        tail = fit_pca_gp(
            u[full],
            yr[full][:, tail_cols],
            n_pca=n_pca,
            degree=degree,
            gp_subsample=gp_subsample,
            seed=seed,
            progress=progress,
        )
        tmeta = tail.pop("metadata")
        fitted.update({f"tail_{k}": v for k, v in tail.items()})
        fitted["n_head"] = np.array(n_head)
        log.info(
            "tail fitted on %d spectra (PCA max |Δy| %.2e)",
            int(full.sum()),
            tmeta["pca_max_abs_dlnD_train"],
        )
    if scale_correction is not None:
        fitted["scale_corr_exponents"] = np.asarray(scale_correction[0])
        fitted["scale_corr_coef"] = np.asarray(scale_correction[1])
    meta = dict(fitted.pop("metadata"))
    meta.update({"n_train": len(params), "regression_inputs": list(_GRID_NAMES)})
    return CurvedEmulator(
        names=names,
        box=dict(CURVED_BOX),
        derived_box=dbox,
        fixed=fx,
        ell=np.arange(2, lmax + 1),
        x_grid=x_grid,
        scale_ref=scale_ref,
        g_lo=lhs_lo,
        g_hi=lhs_hi,
        arrays=fitted,
        blend=(la, lb),
        metadata=meta,
    )


def curved_accuracy_report(
    emu: CurvedEmulator,
    params: np.ndarray,
    tt: np.ndarray,
) -> dict[str, Any]:
    """Held-out accuracy of a curved emulator against CAMB spectra ``tt`` (n, n_ell) on
    ``emu.ell`` at ``params`` (n, 6): the max / 99th percentile / median over spectra of the
    max |emu/CAMB − 1| for ℓ > 30, the max per ℓ range, and the max for closed, nearly flat and
    open models."""
    rel = np.abs(emu.predict(params) / tt - 1)
    m = emu.ell > 30
    per = rel[:, m].max(axis=1)
    ok = emu.derived(params)["Ok"]
    out: dict[str, Any] = {
        "n_test": len(tt),
        "ell_range": [30, int(emu.lmax)],
        "max_rel_err": float(per.max()),
        "p99_rel_err": float(np.percentile(per, 99)),
        "median_rel_err": float(np.median(per)),
        "Ok_range": [float(ok.min()), float(ok.max())],
        "max_rel_err_per_ell_bin": {
            f"{lo}-{hi - 1}": float(rel[:, (emu.ell >= lo) & (emu.ell < hi)].max())
            for lo, hi in ((2, 30), (30, 500), (500, 1000), (1000, int(emu.lmax) + 1))
        },
        "max_rel_err_closed_open": {
            "Ok<-0.05": float(per[ok < -0.05].max()) if (ok < -0.05).any() else None,
            "|Ok|<=0.05": float(per[abs(ok) <= 0.05].max()) if (abs(ok) <= 0.05).any() else None,
            "Ok>0.05": float(per[ok > 0.05].max()) if (ok > 0.05).any() else None,
        },
    }
    return out

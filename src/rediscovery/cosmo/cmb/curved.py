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
  :func:`rediscovery.cosmo.joint.cmb_distances`);
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

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError, InputError, ModelFileError
from rediscovery.core.files import atomic_path
from rediscovery.cosmo.cmb.emulator import (
    DEFAULT_BOX,
    OutOfBoxError,
    compute_spectra_cache,
    latin_hypercube,
)
from rediscovery.cosmo.cmb.theory import (
    CAMB_ACCURACY,
    PLANCK2018_BEST_FIT,
    densities_to_physical,
    omega_nu,
)

__all__ = [
    "CURVED_BOX",
    "CURVED_DERIVED_BOX",
    "CURVED_EMULATOR_PATH",
    "CURVED_FIXED",
    "CURVED_LMAX",
    "CurvedEmulator",
    "acoustic_scale",
    "curved_design",
    "fit_curved_emulator",
    "generate_curved_training_set",
    "load_curved_emulator",
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
CURVED_FIXED: dict[str, float] = {"ombh2": PLANCK2018_BEST_FIT["ombh2"],
                                  "mnu": PLANCK2018_BEST_FIT["mnu"]}

#: Highest multipole of the curved emulator (the school's simulated spectra end near ℓ = 1000;
#: Planck's binned TT to ℓ = 2508 is the flat emulator's job).
CURVED_LMAX = 1500

#: Highest multipole CAMB computes for a training model: ``min(CURVED_LMAX s/s_min, this)``.
_CAMB_LMAX_CAP = 3000

#: The emulator that ships inside the package (see docs/cosmo-cmb.md for how it was trained).
CURVED_EMULATOR_PATH = Path(__file__).parent / "data" / "emulator_tt_curved.npz"

_KIND = "rediscovery.cosmo.cmb.curved/TT"
_FORMAT_VERSION = 1
_GRID_NAMES = ("ln_omch2", "scale", "h", "ns", "ln10As", "tau")


def acoustic_scale(h: np.ndarray | float, Om: np.ndarray | float, OL: np.ndarray | float, *,
                   ombh2: float = CURVED_FIXED["ombh2"]) -> np.ndarray:
    """The acoustic multipole ℓ_A = π D_M(z*)/r_s(z*) (NaN where there is no Big Bang).

    Background only (no CAMB): z* from Hu & Sugiyama (1996, eq. E1), the sound horizon and the
    transverse comoving distance by quadrature
    (:func:`rediscovery.cosmo.joint.cmb_distances`; Ωm includes massive neutrinos, counted as
    matter, which is exact enough for a coordinate).
    """
    from rediscovery.cosmo.joint import cmb_distances  # background distances, no CAMB

    h, Om, OL = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (h, Om, OL)))
    with np.errstate(invalid="ignore"):
        d = cmb_distances(100.0 * h, Om, OL, ombh2)
    return np.pi * d["D_M"] / d["r_s"]


def _reference_scale(ombh2: float) -> float:
    p = PLANCK2018_BEST_FIT
    h = p["H0"] / 100.0
    om = (p["ombh2"] + p["omch2"]) / h**2 + omega_nu(p["mnu"]) / h**2
    return float(acoustic_scale(h, om, 1.0 - om, ombh2=ombh2))


def _solve_ol(h: np.ndarray, Om: np.ndarray, target: np.ndarray, lo: float, hi: float,
              ombh2: float) -> np.ndarray:
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


def _derived_coordinates(x: np.ndarray, names: Sequence[str], fixed: Mapping[str, float],
                         scale_ref: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ω_c, s, grid coordinates (n, 6)) of parameter rows in ``names`` order."""
    col = {k: x[:, j] for j, k in enumerate(names)}
    h, om, ol = col["h"], col["Om"], col["OL"]
    omch2 = om * h * h - fixed["ombh2"] - omega_nu(fixed["mnu"])
    s = acoustic_scale(h, om, ol, ombh2=fixed["ombh2"]) / scale_ref
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.column_stack([np.log(omch2), s, h, col["ns"], col["ln10As"], col["tau"]])
    return omch2, s, g


def curved_design(n: int, seed: int, *, box: Mapping[str, tuple[float, float]] | None = None,
                  derived_box: Mapping[str, tuple[float, float]] | None = None,
                  fixed: Mapping[str, float] | None = None) -> np.ndarray:
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
    lhs_box = {"ln_omch2": (math.log(dbox["omch2"][0]), math.log(dbox["omch2"][1])),
               "scale": dbox["scale"], "h": box["h"], "ns": box["ns"],
               "ln10As": box["ln10As"], "tau": box["tau"]}
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
        p = densities_to_physical(row["h"], row["Om"], row["OL"], ombh2=fixed["ombh2"],
                                  mnu=fixed["mnu"])
        p.update({k: row[k] for k in ("ns", "ln10As", "tau")})
        return p
    return to_camb


def _camb_lmax(x: np.ndarray, fixed: Mapping[str, float], lmax: int, smin: float) -> np.ndarray:
    _, s, _ = _derived_coordinates(x, list(CURVED_BOX), fixed, _reference_scale(fixed["ombh2"]))
    return np.minimum(np.ceil(lmax * s / smin) + 20, _CAMB_LMAX_CAP).astype(int)


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
        "box": json.dumps({k: list(v) for k, v in CURVED_BOX.items()}),
        "derived_box": json.dumps({k: list(v) for k, v in CURVED_DERIVED_BOX.items()}),
        "fixed": json.dumps(fixed),
        "seed": int(seed),
        "n_blocks": int(n_blocks),
        "block_size": int(block_size),
        "n_test": int(n_test),
        "lmax": int(_CAMB_LMAX_CAP),
        "accuracy": json.dumps(CAMB_ACCURACY),
        "kind": _KIND,
    }
    lmaxes = {g: _camb_lmax(d, fixed, CURVED_LMAX, smin) for g, d in designs.items()}
    log.info("curved design: %d test and %d training models", len(test), len(train))
    return compute_spectra_cache(cache, designs, names=list(CURVED_BOX), to_camb=_to_camb(fixed),
                                 meta=meta, lmax=_CAMB_LMAX_CAP, lmax_per_point=lmaxes,
                                 scheduler=scheduler, n_workers=n_workers, progress=progress)

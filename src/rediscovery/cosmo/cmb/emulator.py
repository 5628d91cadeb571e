"""A fast emulator of CAMB's lensed D_ℓ^TT: PCA of log D_ℓ + polynomial + Gaussian process.

One CAMB call costs 1-3 s and an MCMC needs 10⁴-10⁵ spectra, so the likelihood uses this
emulator inside a documented prior box (:data:`DEFAULT_BOX`). Construction:

1. **Training set** (:func:`generate_training_set`): a Latin hypercube (McKay, Beckman &
   Conover 1979; :class:`scipy.stats.qmc.LatinHypercube`) of CAMB spectra over the box, run in
   parallel through :func:`rediscovery.core.executor.map_tasks` (local processes or dask) and
   appended to an HDF5 cache chunk by chunk, so an interrupted run resumes where it stopped.
2. **Compression**: the target is :math:`y_\\ell = \\ln D_\\ell - (\\ln 10^{10}A_s - 2\\tau)`
   (the amplitude A_s e^{-2τ} that scales the spectrum above ℓ ≈ 30 removed analytically),
   reduced to its first ``n_pca`` principal components (SVD).
3. **Regression** of each PCA coefficient on the parameters scaled to [-1, 1]: a least-squares
   polynomial (degree 3) captures the smooth trend and a Gaussian process with an anisotropic
   squared-exponential kernel (Rasmussen & Williams 2006, ch. 2 and 5; hyper-parameters by
   maximum marginal likelihood in scikit-learn) interpolates the residual.

Prediction is plain NumPy (kernel vector times stored weights), so the saved file is an
``.npz`` of arrays plus JSON metadata: no pickle. This is in the spirit of CosmoPower
(Spurio Mancini et al. 2022, MNRAS 511, 1771), which uses PCA + neural networks on ~10⁵
spectra; with the few hundred CAMB spectra affordable here a GP is the better interpolator
(measured: 0.05 % held-out max error from 286 spectra, see docs/cosmo-cmb.md).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.cosmo.cmb.emulator_files import (
    OutOfBoxError,
    check_rows_in_box,
    read_emulator_file,
    rows_in_box,
    write_emulator_file,
)
from rediscovery.cosmo.cmb.theory import (
    CAMB_ACCURACY,
    DEFAULT_LMAX,
    PLANCK2018_BEST_FIT,
    camb_spectra,
    import_camb,
)

__all__ = [
    "DEFAULT_BOX",
    "DEFAULT_EMULATOR_PATH",
    "EMULATOR_KIND",
    "CMBEmulator",
    "OutOfBoxError",
    "accuracy_report",
    "compute_spectra_cache",
    "design_matrix",
    "fit_emulator",
    "fit_pca_gp",
    "generate_training_set",
    "latin_hypercube",
    "load_emulator",
    "monomials",
    "predict_pca_gp",
    "read_training_set",
]

log = logging.getLogger(__name__)

#: The prior box of the shipped emulator: flat ΛCDM with Σmν = 0.06 eV, each range about ±6σ of
#: the Planck 2018 TT+lowE constraints (Planck 2018 VI, Table 2, first column: H0 66.88 ± 0.92,
#: ωb 0.02212 ± 0.00022, ωc 0.1206 ± 0.0021, ns 0.9626 ± 0.0057, ln10¹⁰As 3.040 ± 0.016,
#: τ 0.0522 ± 0.0080) widened to contain the full TT,TE,EE+lensing best fit comfortably.
DEFAULT_BOX: dict[str, tuple[float, float]] = {
    "H0": (61.0, 74.0),
    "ombh2": (0.0208, 0.0240),
    "omch2": (0.108, 0.133),
    "ns": (0.925, 1.005),
    "ln10As": (2.94, 3.15),
    "tau": (0.02, 0.10),
}

#: The emulator that ships inside the package (trained with ``rediscovery cosmo cmb-emulator
#: train``; see docs/cosmo-cmb.md for the command and its measured accuracy).
DEFAULT_EMULATOR_PATH = Path(__file__).parent / "data" / "emulator_tt.npz"

_FORMAT_VERSION = 1
#: The ``kind`` in the metadata of a flat-ΛCDM TT emulator file.
EMULATOR_KIND = "rediscovery.cosmo.cmb.emulator/TT"


# ----------------------------------------------------------------------------- design


def latin_hypercube(box: Mapping[str, tuple[float, float]], n: int, seed: int) -> np.ndarray:
    """``n`` points of a Latin hypercube over ``box``; shape (n, len(box)), columns in box order.

    Uses scipy's optimised LHS (``optimization="random-cd"``, centred-discrepancy improvement),
    deterministic for a given seed.
    """
    from scipy.stats import qmc

    if n < 1:
        raise ConfigError(f"the number of samples must be >= 1, got {n}")
    lo = np.array([b[0] for b in box.values()], dtype=float)
    hi = np.array([b[1] for b in box.values()], dtype=float)
    if np.any(hi <= lo):
        raise ConfigError(f"every box range needs lo < hi, got {dict(box)}")
    sampler = qmc.LatinHypercube(
        d=len(lo), optimization="random-cd", rng=np.random.default_rng(seed)
    )
    return np.asarray(qmc.scale(sampler.random(n), lo, hi))


# ----------------------------------------------------------------------------- training set


@dataclass(frozen=True)
class _Task:
    index: int
    params: dict[str, float]
    lmax: int
    accuracy: dict[str, float]


def _camb_task(task: _Task) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    # module level so that process pools and dask workers can import it; a model CAMB rejects
    # (e.g. no Big Bang) comes back as NaN spectra, so that one bad corner does not stop a run
    try:
        s = camb_spectra(task.params, lmax=task.lmax, accuracy=task.accuracy)
    except InputError as exc:
        log.warning("CAMB failed for %s: %s", task.params, exc)
        nan = np.full(task.lmax - 1, np.nan)
        return task.index, nan, nan, nan
    return task.index, s.tt, s.te, s.ee


def _box_json(box: Mapping[str, tuple[float, float]]) -> str:
    return json.dumps({k: [float(v[0]), float(v[1])] for k, v in box.items()})


def generate_training_set(
    cache: str | os.PathLike[str],
    n_train: int,
    *,
    n_test: int = 0,
    box: Mapping[str, tuple[float, float]] | None = None,
    fixed: Mapping[str, float] | None = None,
    seed: int = 0,
    lmax: int = DEFAULT_LMAX,
    scheduler: str | Any | None = None,
    n_workers: int | None = None,
    chunk_size: int | None = None,
    progress: bool = True,
) -> Path:
    """Compute CAMB spectra on a Latin hypercube and append them to an HDF5 cache (resumable).

    The design is fixed by ``(box, n_train, n_test, seed)``: the training points are an LHS with
    ``seed``, the held-out test points an independent LHS with ``seed + 1``. Spectra are written
    after every chunk of tasks; re-running with the same design computes only the missing ones.

    Parameters
    ----------
    cache
        HDF5 file (created if absent). Groups ``train`` and ``test`` hold datasets ``index``,
        ``params`` (n, p), ``tt``, ``te``, ``ee`` (n, lmax - 1) in μK².
    n_train, n_test
        Number of training and held-out spectra.
    box
        Parameter ranges (default :data:`DEFAULT_BOX`); names as in
        :mod:`rediscovery.cosmo.cmb.theory` (``omk`` or ``mnu`` allowed).
    fixed
        Values of parameters outside the box (default: Planck 2018 best fit).
    seed
        Seed of the design.
    lmax
        Highest multipole.
    scheduler, n_workers
        Passed to :func:`~rediscovery.core.executor.map_tasks` (dask address or local processes).
    chunk_size
        Tasks per chunk between cache writes (default 4 per worker).
    progress
        Show a rich progress bar.

    Returns
    -------
    Path
        The cache file.
    """
    box = dict(DEFAULT_BOX if box is None else box)
    fixed_full = {k: v for k, v in PLANCK2018_BEST_FIT.items() if k not in box}
    fixed_full.update(dict(fixed or {}))
    designs = {"train": latin_hypercube(box, n_train, seed)}
    if n_test > 0:
        designs["test"] = latin_hypercube(box, n_test, seed + 1)
    meta = {
        "box": _box_json(box),
        "fixed": json.dumps(fixed_full),
        "seed": int(seed),
        "n_train": int(n_train),
        "n_test": int(n_test),
        "lmax": int(lmax),
        "accuracy": json.dumps(CAMB_ACCURACY),
    }

    def to_camb(row: Mapping[str, float]) -> dict[str, float]:
        p = dict(fixed_full)
        p.update(row)
        return p

    return compute_spectra_cache(
        cache,
        designs,
        names=list(box),
        to_camb=to_camb,
        meta=meta,
        lmax=lmax,
        scheduler=scheduler,
        n_workers=n_workers,
        chunk_size=chunk_size,
        progress=progress,
    )


def compute_spectra_cache(
    cache: str | os.PathLike[str],
    designs: Mapping[str, np.ndarray],
    *,
    names: Sequence[str],
    to_camb: Any,
    meta: Mapping[str, Any],
    lmax: int,
    lmax_per_point: Mapping[str, np.ndarray] | None = None,
    scheduler: str | Any | None = None,
    n_workers: int | None = None,
    chunk_size: int | None = None,
    accuracy: Mapping[str, float] | None = None,
    progress: bool = True,
) -> Path:
    """Run CAMB on given design points and append the spectra to an HDF5 cache (resumable).

    The engine behind :func:`generate_training_set` and
    :func:`rediscovery.cosmo.cmb.curved.generate_curved_training_set`.

    Parameters
    ----------
    cache
        HDF5 file; groups named like ``designs`` with datasets ``index``, ``params`` (n, p),
        ``tt``, ``te``, ``ee`` (n, lmax - 1) in μK² (NaN beyond a point's own lmax, and for a
        model CAMB rejected).
    designs
        ``{group: points (n, len(names))}``; groups are computed in the given order.
    names
        Column names of the design points (stored in ``meta["box"]`` by the caller).
    to_camb
        Function ``{name: value} -> CAMB parameter dict`` (see
        :mod:`rediscovery.cosmo.cmb.theory`).
    meta
        Attributes that identify the design; a cache made with other values is refused.
    lmax
        Width of the stored spectra (highest multipole).
    lmax_per_point
        Optional ``{group: (n,) int}``: CAMB's lmax per point (<= ``lmax``), to save time.
    accuracy
        Overrides of :data:`~rediscovery.cosmo.cmb.theory.CAMB_ACCURACY` (e.g.
        ``{"lSampleBoost": 50}``: every multipole computed); the caller records them in
        ``meta``.
    scheduler, n_workers, chunk_size, progress
        As in :func:`generate_training_set`.
    """
    import h5py

    from rediscovery.core.executor import default_workers, map_tasks

    import_camb()
    names = list(names)
    path = Path(cache)
    path.parent.mkdir(parents=True, exist_ok=True)
    nell = lmax - 1
    with h5py.File(path, "a") as h5:
        if "box" in h5.attrs:
            old = {k: h5.attrs.get(k) for k in meta}
            diff = [k for k in meta if str(old[k]) != str(meta[k])]
            if diff:
                raise ConfigError(
                    f"{path}: cache was made with a different design ({', '.join(diff)} differ); "
                    "use the same --samples/--test-samples/--seed/box or another --cache file"
                )
        else:
            h5.attrs.update(dict(meta))
        for group in designs:
            g = h5.require_group(group)
            if "index" not in g:
                g.create_dataset("index", shape=(0,), maxshape=(None,), dtype="i8")
                g.create_dataset(
                    "params", shape=(0, len(names)), maxshape=(None, len(names)), dtype="f8"
                )
                for s in ("tt", "te", "ee"):
                    g.create_dataset(
                        s,
                        shape=(0, nell),
                        maxshape=(None, nell),
                        dtype="f8",
                        chunks=(16, nell),
                        compression="gzip",
                        compression_opts=4,
                    )
        todo: list[tuple[str, np.ndarray, _Task]] = []
        for group, design in designs.items():
            done = set(h5[group]["index"][:].tolist())
            lmaxes = None if lmax_per_point is None else lmax_per_point.get(group)
            for i, row in enumerate(design):
                if i in done:
                    continue
                p = to_camb(dict(zip(names, (float(v) for v in row), strict=True)))
                lm = int(lmax) if lmaxes is None else min(int(lmaxes[i]), int(lmax))
                todo.append(
                    (group, row, _Task(i, p, lm, dict(CAMB_ACCURACY) | dict(accuracy or {})))
                )
        n_total = sum(len(d) for d in designs.values())
        log.info(
            "%s: %d of %d spectra cached, %d to compute",
            path,
            n_total - len(todo),
            n_total,
            len(todo),
        )
        if not todo:
            return path
        workers = default_workers() if n_workers is None else int(n_workers)
        size = chunk_size or max(4, 4 * workers)
        from rediscovery.core.progress import progress_bar

        with progress_bar(enabled=progress, transient=False) as prog:
            bar = prog.add_task("CAMB spectra", total=n_total, completed=n_total - len(todo))
            for start in range(0, len(todo), size):
                chunk = todo[start : start + size]
                results = map_tasks(
                    _camb_task,
                    [t for _, _, t in chunk],
                    scheduler=scheduler,
                    n_workers=workers,
                    progress=False,
                )
                for (group, row, _task), (idx, tt, te, ee) in zip(chunk, results, strict=True):
                    g = h5[group]
                    n = g["index"].shape[0]
                    for name in ("index", "params", "tt", "te", "ee"):
                        g[name].resize(n + 1, axis=0)
                    g["index"][n] = idx
                    g["params"][n] = row
                    for name, spec in (("tt", tt), ("te", te), ("ee", ee)):
                        full = np.full(nell, np.nan)
                        full[: len(spec)] = spec
                        g[name][n] = full
                h5.flush()
                prog.advance(bar, len(chunk))
    return path


def read_training_set(cache: str | os.PathLike[str], group: str = "train") -> dict[str, Any]:
    """Read one group of a training cache.

    Returns ``{"names", "box", "fixed", "params", "tt", "te", "ee", "ell"}``.
    """
    import h5py

    path = Path(cache)
    if not path.is_file():
        raise InputError("training cache not found", path=path)
    with h5py.File(path, "r") as h5:
        if group not in h5:
            raise InputError(f"no {group!r} group in the training cache", path=path)
        g = h5[group]
        order = np.argsort(g["index"][:])
        box = {k: tuple(v) for k, v in json.loads(h5.attrs["box"]).items()}
        lmax = int(h5.attrs["lmax"])
        return {
            "names": list(box),
            "box": box,
            "fixed": json.loads(h5.attrs["fixed"]),
            "params": g["params"][:][order],
            "tt": g["tt"][:][order],
            "te": g["te"][:][order],
            "ee": g["ee"][:][order],
            "ell": np.arange(2, lmax + 1),
        }


# ----------------------------------------------------------------------------- emulator


def monomials(n_dim: int, degree: int) -> np.ndarray:
    """Exponent matrix (n_terms, n_dim) of all monomials up to ``degree``."""
    rows = []
    for d in range(degree + 1):
        for combo in itertools.combinations_with_replacement(range(n_dim), d):
            e = np.zeros(n_dim, dtype=np.int64)
            for c in combo:
                e[c] += 1
            rows.append(e)
    return np.array(rows)


def design_matrix(u: np.ndarray, exponents: np.ndarray) -> np.ndarray:
    # u: (n, d) in [-1, 1]; returns (n, n_terms)
    return np.prod(u[:, None, :] ** exponents[None, :, :], axis=2)


def predict_pca_gp(
    u: np.ndarray,
    mean: np.ndarray,
    basis: np.ndarray,
    exponents: np.ndarray,
    poly_coef: np.ndarray,
    x_train: np.ndarray,
    gp_alpha: np.ndarray,
    gp_inv_ls2: np.ndarray,
) -> np.ndarray:
    """Evaluate a PCA + polynomial + GP regression (from :func:`fit_pca_gp`) at inputs ``u``.

    ``u`` (n, d) are inputs scaled like the training ones; returns the target (n, n_out).
    """
    coef = design_matrix(u, exponents) @ poly_coef  # (n, k)
    # GP residual: k_j(u, X) = exp(-0.5 Σ_d (u_d - X_d)² / l_jd²), per component j
    diff2 = (u[:, None, :] - x_train[None, :, :]) ** 2  # (n, m, d)
    uniq, which = np.unique(gp_inv_ls2, axis=0, return_inverse=True)
    if len(uniq) < len(gp_inv_ls2):
        # components sharing length scales (fit_pca_gp's groups): one kernel per group; the
        # loop runs over the few groups, not over data
        for g, inv in enumerate(uniq):
            sel = np.flatnonzero(which.ravel() == g)
            coef[:, sel] += np.exp(-0.5 * (diff2 @ inv)) @ gp_alpha[sel].T
    else:
        kern = np.exp(-0.5 * np.einsum("nmd,jd->njm", diff2, gp_inv_ls2))
        coef += np.einsum("njm,jm->nj", kern, gp_alpha)
    return mean + coef @ basis


def fit_pca_gp(
    u: np.ndarray,
    y: np.ndarray,
    *,
    n_pca: int = 24,
    degree: int = 1,
    gp_subsample: int = 600,
    seed: int = 0,
    progress: bool = True,
    pca: bool = True,
    groups: Sequence[tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """Fit the regression of a vector target ``y`` (n, n_out) on inputs ``u`` (n, d) in [-1, 1].

    PCA (SVD) of ``y`` to ``n_pca`` components (with ``pca=False`` none: every output column
    is a component of its own, ``n_pca`` is ignored and the basis is the identity; for targets
    with features that PCA spreads over many components, such as a step at one ℓ whose size
    depends on the parameters); ``groups`` (ranges [a, b) of components covering all once)
    share the Gaussian-process hyper-parameters of their middle component, so that prediction
    evaluates one kernel per group (:func:`predict_pca_gp`); per component a least-squares
    polynomial of
    ``degree`` (lowered while it has more than n/10 terms) plus a Gaussian process with an
    anisotropic squared-exponential kernel and a white-noise term (Rasmussen & Williams 2006,
    ch. 2 and 5), hyper-parameters by maximum marginal likelihood (scikit-learn) on
    ``gp_subsample`` points, weights on all points.

    Returns
    -------
    dict
        ``mean, basis, exponents, poly_coef, x_train, gp_alpha, gp_inv_ls2`` (the arguments of
        :func:`predict_pca_gp`) and ``metadata``.
    """
    from scipy.linalg import cho_factor, cho_solve
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    n, d = u.shape
    while degree > 0 and len(monomials(d, degree)) > n // 10:
        # a polynomial with too many terms for the data would interpolate, not smooth
        degree -= 1
        log.info("polynomial degree lowered to %d for %d training points", degree, n)
    exponents = monomials(d, degree)
    mean = y.mean(axis=0)
    if pca:
        _, sv, vt = np.linalg.svd(y - mean, full_matrices=False)
        n_pca = min(n_pca, len(sv))
        basis = vt[:n_pca]
    else:
        sv = np.zeros(0)
        n_pca = y.shape[1]
        basis = np.eye(n_pca)
    coef = (y - mean) @ basis.T  # (n, k)
    recon = np.abs(mean + coef @ basis - y).max()
    log.info("PCA with %d components: max |Δ y| on the training set %.2e", n_pca, recon)
    phi = design_matrix(u, exponents)
    poly, *_ = np.linalg.lstsq(phi, coef, rcond=None)
    resid = coef - phi @ poly
    rng = np.random.default_rng(seed)
    sub = rng.choice(n, size=min(gp_subsample, n), replace=False)
    alpha = np.zeros((n_pca, n))
    inv_ls2 = np.zeros((n_pca, d))
    from rich.progress import Progress

    diff2 = (u[:, None, :] - u[None, :, :]) ** 2  # (n, n, d)
    if groups is None:
        groups = [(j, j + 1) for j in range(n_pca)]
    else:
        groups = [(int(a), int(b)) for a, b in groups]
        covered = sorted(j for a, b in groups for j in range(a, b))
        if covered != list(range(n_pca)):
            raise ValueError(f"groups {groups} must cover the components 0 … {n_pca - 1} once")
    with Progress(disable=not progress, transient=True) as prog:
        bar = prog.add_task("GP per component group", total=len(groups))
        for a, b in groups:
            j = (a + b - 1) // 2  # the hyper-parameters of the middle component serve the group
            r = resid[:, j]
            scale = r.std() or 1.0
            kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(np.ones(d), (1e-2, 1e3)) + WhiteKernel(
                1e-4, (1e-10, 1e-1)
            )
            gp = GaussianProcessRegressor(kernel, normalize_y=False, random_state=seed)
            with warnings.catch_warnings():
                # a length scale at its upper bound just means "linear in that direction"
                warnings.simplefilter("ignore", ConvergenceWarning)
                gp.fit(u[sub], r[sub] / scale)
            k = gp.kernel_
            amp2 = float(k.k1.k1.constant_value)
            ls = np.atleast_1d(k.k1.k2.length_scale).astype(float)
            noise = float(k.k2.noise_level)
            inv_ls2[a:b] = 1.0 / ls**2
            kmat = amp2 * np.exp(-0.5 * diff2 @ inv_ls2[j]) + noise * np.eye(n)
            factor = cho_factor(kmat, lower=True)
            scales = resid[:, a:b].std(axis=0)
            scales[scales == 0] = 1.0
            # every component of the group: its own weights, the group's kernel (in units of
            # each component's own spread)
            alpha[a:b] = (amp2 * scales * cho_solve(factor, resid[:, a:b] / scales)).T
            log.debug(
                "components %d-%d: amplitude %.3g, length scales %s, noise %.2e",
                a,
                b - 1,
                amp2,
                np.round(ls, 3),
                noise,
            )
            prog.advance(bar)
    return {
        "mean": mean,
        "basis": basis,
        "exponents": exponents,
        "poly_coef": poly,
        "x_train": u,
        "gp_alpha": alpha,
        "gp_inv_ls2": inv_ls2,
        "metadata": {
            "n_pca": int(n_pca),
            "degree": int(degree),
            "pca_max_abs_dlnD_train": float(recon),
            "singular_values": sv[: n_pca + 4].tolist(),
        },
    }


def _amplitude(names: Sequence[str], x: np.ndarray, fixed: Mapping[str, float]) -> np.ndarray:
    ln10as = x[:, names.index("ln10As")] if "ln10As" in names else fixed["ln10As"]
    tau = x[:, names.index("tau")] if "tau" in names else fixed["tau"]
    return np.asarray(ln10as - 2.0 * np.asarray(tau)) * np.ones(len(x))


@dataclass
class CMBEmulator:
    """Emulated lensed D_ℓ^TT (μK²) on ℓ = 2 … lmax inside a parameter box.

    Build one with :func:`fit_emulator`, load one with :func:`load_emulator`. Call it like
    :class:`~rediscovery.cosmo.cmb.theory.CAMBTheory`: ``emu(params_dict) -> D_ℓ`` or
    ``emu.predict(X)`` for a batch of parameter vectors (columns in :attr:`names` order).

    Attributes
    ----------
    names
        Emulated parameters, in column order.
    box
        Training ranges ``{name: (lo, hi)}``; evaluation outside raises :class:`OutOfBoxError`.
    fixed
        Values of the other CAMB parameters used for training.
    ell
        Multipoles, shape (n_ell,).
    metadata
        Training provenance and the measured held-out accuracy.
    """

    names: list[str]
    box: dict[str, tuple[float, float]]
    fixed: dict[str, float]
    ell: np.ndarray
    mean_: np.ndarray  # (n_ell,) mean of y
    basis_: np.ndarray  # (n_pca, n_ell)
    exponents_: np.ndarray  # (n_terms, d)
    poly_coef_: np.ndarray  # (n_terms, n_pca)
    x_train_: np.ndarray  # (n, d) scaled to [-1, 1]
    gp_alpha_: np.ndarray  # (n_pca, n) weights (already multiplied by the amplitude)
    gp_inv_ls2_: np.ndarray  # (n_pca, d) 1 / length_scale²
    metadata: dict[str, Any] = field(default_factory=dict)

    name = "emulator"

    @property
    def lmax(self) -> int:
        return int(self.ell[-1])

    def to_unit_box(self, x: np.ndarray) -> np.ndarray:
        """Parameters mapped linearly from the emulator's box to [-1, 1] (the GP's inputs)."""
        lo = np.array([self.box[k][0] for k in self.names])
        hi = np.array([self.box[k][1] for k in self.names])
        return 2.0 * (x - lo) / (hi - lo) - 1.0

    def in_box(self, x: np.ndarray) -> np.ndarray:
        """Boolean mask (n,) of rows of ``x`` (n, d) inside the training box."""
        return rows_in_box(x, self.names, self.box)

    def check_in_box(self, x: np.ndarray) -> None:
        """Raise :class:`OutOfBoxError` naming the first parameter outside the box."""
        check_rows_in_box(
            x,
            self.names,
            self.box,
            what="emulator's training range",
            hint="; use --theory camb (or fall_back=True) or retrain the emulator with a wider box",
        )

    def predict(self, x: np.ndarray, *, check: bool = True) -> np.ndarray:
        """D_ℓ^TT in μK² for parameter rows ``x`` (n, d) → (n, n_ell)."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if x.shape[1] != len(self.names):
            raise InputError(
                f"expected {len(self.names)} parameter columns {self.names}, got {x.shape[1]}"
            )
        if check:
            self.check_in_box(x)
        y = predict_pca_gp(
            self.to_unit_box(x),
            self.mean_,
            self.basis_,
            self.exponents_,
            self.poly_coef_,
            self.x_train_,
            self.gp_alpha_,
            self.gp_inv_ls2_,
        )
        amp = _amplitude(self.names, x, self.fixed)
        return np.exp(y + amp[:, None])

    def params_vector(self, params: Mapping[str, float]) -> np.ndarray:
        """The row vector for a parameter dict (missing names take :attr:`fixed` values)."""
        extra = set(params) - set(self.names) - set(self.fixed)
        if extra:
            raise InputError(
                f"the emulator does not know parameter(s) {sorted(extra)}; it "
                f"emulates {self.names}",
                column=sorted(extra)[0],
            )
        for k, v in params.items():
            if (
                k in self.fixed
                and k not in self.names
                and not math.isclose(float(v), self.fixed[k], rel_tol=1e-9, abs_tol=1e-12)
            ):
                raise OutOfBoxError(
                    f"the emulator was trained with {k} fixed at "
                    f"{self.fixed[k]}, got {v}; use --theory camb",
                    column=k,
                )
        missing = [k for k in self.names if k not in params]
        vals = [float(params[k]) if k in params else PLANCK2018_BEST_FIT[k] for k in self.names]
        if missing:
            log.debug("emulator parameters %s not given; Planck best fit used", missing)
        return np.array(vals)

    def __call__(self, params: Mapping[str, float]) -> np.ndarray:
        return self.predict(self.params_vector(params)[None, :])[0]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the emulator as a compressed ``.npz`` (arrays + JSON metadata, no pickle)."""
        meta = {
            "format_version": _FORMAT_VERSION,
            "kind": EMULATOR_KIND,
            "names": self.names,
            "box": {k: list(v) for k, v in self.box.items()},
            "fixed": self.fixed,
            "metadata": self.metadata,
        }
        arrays = {
            "ell": self.ell,
            "mean": self.mean_.astype(np.float64),
            "basis": self.basis_.astype(np.float64),
            "exponents": self.exponents_,
            "poly_coef": self.poly_coef_,
            "x_train": self.x_train_,
            "gp_alpha": self.gp_alpha_,
            "gp_inv_ls2": self.gp_inv_ls2_,
        }
        return write_emulator_file(path, meta, arrays)


def load_emulator(path: str | os.PathLike[str] | None = None) -> CMBEmulator:
    """Load an emulator file (default: the one shipped in the package).

    Raises
    ------
    ModelFileError
        If the file is missing, not an emulator, or of another format version.
    """
    meta, arrays = read_emulator_file(
        Path(DEFAULT_EMULATOR_PATH if path is None else path),
        kind=EMULATOR_KIND,
        version=_FORMAT_VERSION,
        missing="emulator file not found; train one with `rediscovery cosmo cmb-emulator "
        "train --samples 1200 --out FILE` or use --theory camb",
        wrong_kind="not a flat-ΛCDM emulator; a curved emulator is for --params h,Om,OL "
        "(load_curved_emulator)",
        default_kind=EMULATOR_KIND,
    )
    return CMBEmulator(
        names=list(meta["names"]),
        box={k: (float(v[0]), float(v[1])) for k, v in meta["box"].items()},
        fixed={k: float(v) for k, v in meta["fixed"].items()},
        ell=arrays["ell"],
        mean_=arrays["mean"],
        basis_=arrays["basis"],
        exponents_=arrays["exponents"],
        poly_coef_=arrays["poly_coef"],
        x_train_=arrays["x_train"],
        gp_alpha_=arrays["gp_alpha"],
        gp_inv_ls2_=arrays["gp_inv_ls2"],
        metadata=meta.get("metadata", {}),
    )


def fit_emulator(
    params: np.ndarray,
    tt: np.ndarray,
    *,
    names: Sequence[str],
    box: Mapping[str, tuple[float, float]],
    fixed: Mapping[str, float],
    ell: np.ndarray,
    n_pca: int = 24,
    degree: int = 3,
    gp_subsample: int = 600,
    seed: int = 0,
    progress: bool = True,
) -> CMBEmulator:
    """Fit PCA + polynomial + GP to training spectra.

    Parameters
    ----------
    params
        Training parameters (n, d), columns in ``names`` order, inside ``box``.
    tt
        Training D_ℓ^TT in μK² (n, n_ell), positive.
    names, box, fixed, ell
        Parameter names, training box, fixed parameters, multipoles of ``tt``.
    n_pca
        Principal components kept.
    degree
        Degree of the polynomial trend.
    gp_subsample
        Training points used to optimise each GP's hyper-parameters (all points are used for
        the final weights); the hyper-parameter fit is O(n³) per step.
    seed
        Seed of the subsample choice.
    progress
        Show a progress bar over the components.
    """
    params = np.asarray(params, dtype=float)
    tt = np.asarray(tt, dtype=float)
    names = list(names)
    if np.any(tt <= 0) or not np.all(np.isfinite(tt)):
        raise InputError("training spectra must be positive and finite to take their log")
    n = len(params)
    emu = CMBEmulator(
        names=names,
        box={k: (float(box[k][0]), float(box[k][1])) for k in names},
        fixed=dict(fixed),
        ell=np.asarray(ell),
        mean_=np.empty(0),
        basis_=np.empty((0, 0)),
        exponents_=np.empty(0),
        poly_coef_=np.empty(0),
        x_train_=np.empty(0),
        gp_alpha_=np.empty(0),
        gp_inv_ls2_=np.empty(0),
    )
    u = emu.to_unit_box(params)
    y = np.log(tt) - _amplitude(names, params, fixed)[:, None]
    fitted = fit_pca_gp(
        u, y, n_pca=n_pca, degree=degree, gp_subsample=gp_subsample, seed=seed, progress=progress
    )
    emu.mean_, emu.basis_, emu.poly_coef_ = fitted["mean"], fitted["basis"], fitted["poly_coef"]
    emu.x_train_, emu.gp_alpha_ = fitted["x_train"], fitted["gp_alpha"]
    emu.gp_inv_ls2_, emu.exponents_ = fitted["gp_inv_ls2"], fitted["exponents"]
    emu.metadata.update({"n_train": int(n), **fitted["metadata"]})
    return emu


def accuracy_report(
    emu: CMBEmulator,
    params: np.ndarray,
    tt: np.ndarray,
    *,
    ell_range: tuple[int, int] = (30, 2000),
    binned_sigma: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Held-out accuracy of an emulator against CAMB spectra.

    Parameters
    ----------
    emu
        The emulator.
    params, tt
        Held-out parameters (n, d) and CAMB D_ℓ^TT (n, n_ell) on ``emu.ell``.
    ell_range
        Exclusive multipole range of the relative-error figures.
    binned_sigma
        Optional ``(B, sigma)``: a binning matrix (n_bins, n_ell) on ``emu.ell`` and the data
        errors (n_bins,) in μK²; adds the max and 99th percentile of |ΔD_b|/σ_b.

    Returns
    -------
    dict
        ``max_rel_err``, ``p99_rel_err`` (over spectra of the per-spectrum max), ``rms_rel_err``,
        ``n_test`` and, with ``binned_sigma``, ``max_err_over_sigma``, ``p99_err_over_sigma``.
    """
    pred = emu.predict(params)
    rel = pred / tt - 1.0
    m = (emu.ell > ell_range[0]) & (emu.ell < ell_range[1])
    per = np.abs(rel[:, m]).max(axis=1)
    out: dict[str, Any] = {
        "n_test": len(tt),
        "ell_range": list(ell_range),
        "max_rel_err": float(per.max()),
        "p99_rel_err": float(np.percentile(per, 99)),
        "median_rel_err": float(np.median(per)),
        "rms_rel_err": float(np.sqrt(np.mean(rel[:, m] ** 2))),
    }
    if binned_sigma is not None:
        bmat, sigma = binned_sigma
        dev = np.abs((pred - tt) @ np.asarray(bmat).T) / np.asarray(sigma)
        per_s = dev.max(axis=1)
        out["max_err_over_sigma"] = float(per_s.max())
        out["p99_err_over_sigma"] = float(np.percentile(per_s, 99))
    return out

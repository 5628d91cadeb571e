"""Gaussian likelihood of a binned CMB TT spectrum, and the MCMC fit built on it.

.. math::

    -2 \\ln L(\\theta) = (\\hat D - B D(\\theta))^T C^{-1} (\\hat D - B D(\\theta)),

with :math:`\\hat D` the binned data (μK²), :math:`D(\\theta)` the unbinned theory D_ℓ^TT on
ℓ = 2 … lmax (CAMB or the emulator), :math:`B` the binning operator and :math:`C` the data
covariance: the given covariance or, by default, diagonal errors.

Binning operators (:func:`binning_matrix`):

* ``"planck"``: the Planck 2018 high-ℓ binning (Planck 2018 V, arXiv:1907.12875, §3.4):
  :math:`C_b = \\sum_{\\ell\\in b} w_\\ell C_\\ell` with :math:`w_\\ell \\propto \\ell(\\ell+1)`,
  reported as :math:`D_b = \\ell_{\\rm eff}(\\ell_{\\rm eff}+1) C_b / 2\\pi` at the
  ℓ(ℓ+1)-weighted :math:`\\ell_{\\rm eff}`. It reproduces the "BestFit" column of
  ``COM_PowerSpect_CMB-TT-binned_R3.01.txt`` from the unbinned best-fit theory to 10⁻⁶
  (tested);
* ``"uniform"``: the plain mean of D_ℓ over the bin (what a simulated-spectrum stage writes).

Asymmetric errors (σ₋ ≠ σ₊, e.g. Planck's low-ℓ bins): ``errors="average"`` (default) uses
(σ₋ + σ₊)/2; ``errors="split"`` uses σ₊ where the model is above the data and σ₋ below (a
split normal, continuous in the likelihood value). Planck's binned TT at ℓ ≥ 30 is symmetric,
so the choice matters only for other inputs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.cosmo.cmb.io import BinnedSpectrum
from rediscovery.cosmo.cmb.theory import (
    DENSITY_NAMES,
    PARAM_DEFAULTS,
    PARAM_LABELS,
    PLANCK2018_BEST_FIT,
)
from rediscovery.cosmo.mcmc import Prior, interval_summary

__all__ = [
    "DENSITY_PARAMS",
    "PLANCK2018_TAU_PRIOR",
    "CMBFit",
    "CMBLikelihood",
    "binning_matrix",
    "find_start",
    "fit_cmb",
    "fit_cmb_spectrum",
]

log = logging.getLogger(__name__)

#: Gaussian prior on τ from Planck 2018 lowE (Planck 2018 VI, arXiv:1807.06209, eq. 19 /
#: Table 2: τ = 0.054 ± 0.007 for the combined likelihood), as (mean, sigma).
PLANCK2018_TAU_PRIOR = (0.054, 0.007)

#: Starting-ball widths for the MCMC (about the Planck TT 1σ, Planck 2018 VI Table 2).
_STEP = {"H0": 1.0, "ombh2": 2.2e-4, "omch2": 2e-3, "ns": 6e-3, "ln10As": 0.016, "tau": 0.007,
         "omk": 0.01, "mnu": 0.05, "h": 0.01, "Om": 0.01, "OL": 0.01}

#: Names allowed (free or fixed) in the density parametrisation: Ωk, ω_c are derived.
DENSITY_PARAMS = ("h", "H0", "Om", "OL", "ombh2", "mnu", "ns", "ln10As", "tau")


def binning_matrix(ell_min: np.ndarray, ell_max: np.ndarray, ell: np.ndarray,
                   weighting: str = "planck") -> np.ndarray:
    """Matrix B (n_bins, n_ell) such that binned D = B @ D_ℓ on the multipoles ``ell``.

    Parameters
    ----------
    ell_min, ell_max
        Inclusive bin edges.
    ell
        Multipoles of the unbinned theory (contiguous, e.g. 2 … lmax).
    weighting
        ``"planck"`` or ``"uniform"`` (see module docstring).
    """
    ell = np.asarray(ell)
    ell_min = np.asarray(ell_min, dtype=int)
    ell_max = np.asarray(ell_max, dtype=int)
    if ell_max.max() > ell[-1] or ell_min.min() < ell[0]:
        raise InputError(f"the spectrum spans ℓ = {ell_min.min()}-{ell_max.max()} but the theory "
                         f"covers only ℓ = {ell[0]}-{ell[-1]}; restrict the ℓ range "
                         "(--lmin/--lmax) or compute the theory to higher ℓ")
    if weighting not in ("planck", "uniform"):
        raise ConfigError(f"unknown binning weighting {weighting!r}; expected 'planck' or "
                          "'uniform'")
    bmat = np.zeros((len(ell_min), len(ell)))
    for b, (lo, hi) in enumerate(zip(ell_min, ell_max, strict=True)):
        m = (ell >= lo) & (ell <= hi)
        ll = ell[m].astype(float)
        if weighting == "uniform":
            bmat[b, m] = 1.0 / m.sum()
        else:
            w = ll * (ll + 1)
            leff = np.sum(w * ll) / np.sum(w)
            # D_b = ℓeff(ℓeff+1)/2π Σ w C_ℓ / Σ w and C_ℓ = 2π D_ℓ / ℓ(ℓ+1) = 2π D_ℓ / w
            bmat[b, m] = leff * (leff + 1) / np.sum(w)
    return bmat


#: Largest condition number accepted for a bandpower covariance: beyond it the inverse is
#: dominated by rounding (float64 keeps ~16 digits; 1e12 leaves ~4 for the χ²).
MAX_COVARIANCE_CONDITION = 1e12


def _inverse_covariance(spectrum: BinnedSpectrum) -> np.ndarray:
    """The inverse of ``spectrum.cov``; InputError for a covariance that is not symmetric
    positive definite or too ill-conditioned to invert (e.g. estimated from fewer simulations
    than bands), which would otherwise freeze a chain on its near-null directions."""
    c = np.asarray(spectrum.cov, dtype=float)
    if c.shape != (spectrum.n_bins, spectrum.n_bins) or not np.all(np.isfinite(c)):
        raise InputError(f"the spectrum's covariance must be a finite {spectrum.n_bins}×"
                         f"{spectrum.n_bins} matrix; got shape {c.shape}",
                         path=spectrum.source or None)
    eig = np.linalg.eigvalsh(0.5 * (c + c.T))
    if eig[0] <= 0 or eig[-1] / eig[0] > MAX_COVARIANCE_CONDITION:
        raise InputError(
            f"the spectrum's covariance is singular or ill-conditioned (eigenvalues "
            f"{eig[0]:.3g} … {eig[-1]:.3g} μK⁴, condition number above "
            f"{MAX_COVARIANCE_CONDITION:.0e}); a covariance estimated from fewer simulations "
            f"than bands is singular: use more simulations, or drop the covariance "
            f"(diagonal errors)", path=spectrum.source or None)
    return np.linalg.inv(c)


class CMBLikelihood:
    """Gaussian log-likelihood of a binned TT spectrum for a theory (emulator or CAMB).

    Parameters
    ----------
    spectrum
        The binned data.
    theory
        :class:`~rediscovery.cosmo.cmb.emulator.CMBEmulator` or
        :class:`~rediscovery.cosmo.cmb.theory.CAMBTheory` (anything with ``ell`` and
        ``__call__(params) -> D_ℓ``; ``predict``/``names`` enable batched evaluation).
    free
        Names of the sampled parameters.
    fixed
        Values of the other parameters (default: the Planck 2018 best fit).
    errors
        ``"average"`` or ``"split"`` for asymmetric errors (ignored with a covariance).
    weighting
        Binning operator, ``"planck"`` or ``"uniform"``.
    fallback
        A second theory (typically CAMB) used for points outside the emulator's box; without
        it such points raise :class:`~rediscovery.cosmo.cmb.emulator.OutOfBoxError`
        (:meth:`log_like`) or get -inf (:meth:`log_like_many`, for samplers).
    """

    def __init__(self, spectrum: BinnedSpectrum, theory: Any, *, free: Sequence[str],
                 fixed: Mapping[str, float] | None = None, errors: str = "average",
                 weighting: str = "planck", fallback: Any = None) -> None:
        if errors not in ("average", "split"):
            raise ConfigError(f"errors must be 'average' or 'split', got {errors!r}")
        self.spectrum = spectrum
        self.theory = theory
        self.free = list(free)
        if not self.free:
            raise ConfigError("at least one free parameter is needed")
        fixed = {k: float(v) for k, v in (fixed or {}).items()}
        #: True when the fit uses the densities (h or H0, Om, OL) with Ωk derived
        self.density = bool(set(self.free) & set(DENSITY_NAMES)) or bool({"Om", "OL"} & set(fixed))
        allowed = DENSITY_PARAMS if self.density else tuple(PLANCK2018_BEST_FIT)
        for what, names in (("free", self.free), ("fixed", list(fixed))):
            unknown = [p for p in names if p not in allowed]
            if unknown:
                why = (" (in the (h, Om, OL) parametrisation Ωc h² and Ωk are derived)"
                       if self.density else "")
                raise ConfigError(f"unknown parameter(s) {unknown} ({what}){why}; expected "
                                  f"some of {list(allowed)}")
        if len(set(self.free)) < len(self.free):
            raise ConfigError(f"a free parameter is given twice: {self.free}")
        if self.density:
            base = {k: PARAM_DEFAULTS[k] for k in ("h", "Om", "OL", "ombh2", "mnu", "ns",
                                                   "ln10As", "tau")}
            if "H0" in self.free or "H0" in fixed:
                if "h" in self.free or "h" in fixed:
                    raise ConfigError("give h or H0, not both")
                base.pop("h")
        else:
            base = dict(PLANCK2018_BEST_FIT)
        self.fixed = {k: v for k, v in base.items() if k not in self.free}
        self.fixed.update(fixed)
        self.errors = errors
        self.fallback = fallback
        self.bmat = binning_matrix(spectrum.ell_min, spectrum.ell_max, theory.ell, weighting)
        # sparse copy (≈ one non-zero per ℓ) for batched evaluation: a dense product costs more
        # than the emulator itself
        from scipy import sparse

        self._bsp = sparse.csr_matrix(self.bmat)
        self._cinv = None if spectrum.cov is None else _inverse_covariance(spectrum)
        # the emulator's parameter vector: free ones from theta, the rest from `fixed`
        self._names = list(getattr(theory, "names", []))
        if self._names:
            for k in self.free:
                if k not in self._names and not (k == "H0" and "h" in self._names):
                    raise ConfigError(f"parameter {k!r} is not emulated ({self._names}); use "
                                      "--theory camb to free it")
            # raises if the emulator was trained with another value of a fixed parameter
            theory.params_vector(self.params([PARAM_DEFAULTS[k] for k in self.free]))
            if fallback is None:
                self._check_fixed_in_box(theory)

    def _check_fixed_in_box(self, theory: Any) -> None:
        """A fixed parameter outside the emulator's box can never be evaluated: say so now."""
        from rediscovery.cosmo.cmb.emulator import OutOfBoxError

        box = dict(getattr(theory, "box", {}))
        for k, v in self.fixed.items():
            name, val = ("h", v / 100.0) if k == "H0" and "h" in box else (k, v)
            if name in box and not box[name][0] <= val <= box[name][1]:
                lo, hi = box[name]
                raise OutOfBoxError(
                    f"fixed {k} = {v:g} is outside the emulator's box: {name} in [{lo:g}, "
                    f"{hi:g}] (box: {', '.join(f'{n} {a:g}..{b:g}' for n, (a, b) in box.items())}"
                    "); use --fallback-camb or --theory camb", column=k)

    def _column(self, k: str, thetas: np.ndarray) -> np.ndarray | float:
        """Values of the emulator input ``k`` for a batch of free-parameter vectors."""
        if k in self.free:
            return thetas[:, self.free.index(k)]
        if k == "h" and "H0" in self.free:
            return thetas[:, self.free.index("H0")] / 100.0
        if k in self.fixed:
            return self.fixed[k]
        if k == "h" and "H0" in self.fixed:
            return self.fixed["H0"] / 100.0
        return PARAM_DEFAULTS[k]

    def params(self, theta: Sequence[float] | np.ndarray) -> dict[str, float]:
        """The full parameter dict of a free-parameter vector."""
        p = dict(self.fixed)
        p.update(dict(zip(self.free, (float(t) for t in theta), strict=True)))
        return p

    def binned_theory(self, theta: Sequence[float] | np.ndarray) -> np.ndarray:
        """Binned model D_b (μK²) at ``theta``."""
        return self.bmat @ self.theory_spectrum(self.params(theta))

    def theory_spectrum(self, p: Mapping[str, float]) -> np.ndarray:
        """Unbinned theory D_ℓ (μK², on ``theory.ell``) at the parameters ``p``, from the
        emulator, or from the fallback theory outside the emulator's box when one is set."""
        from rediscovery.cosmo.cmb.emulator import OutOfBoxError

        try:
            return self.theory(p)
        except OutOfBoxError:
            if self.fallback is None:
                raise
            log.debug("outside the emulator box, falling back to %s", self.fallback.name)
            return self.fallback(p)

    def chi2_binned(self, model: np.ndarray) -> np.ndarray:
        """χ² of binned models (n, n_bins) or (n_bins,) against the data."""
        r = self.spectrum.dl - np.atleast_2d(model)
        if self._cinv is not None:
            return np.einsum("ni,ij,nj->n", r, self._cinv, r)
        s = self.spectrum
        if self.errors == "split":
            sig = np.where(r < 0, s.dl_err_hi, s.dl_err_lo)  # model above data: σ₊
        else:
            sig = s.dl_err
        return np.sum((r / sig) ** 2, axis=1)

    def log_like(self, theta: Sequence[float] | np.ndarray) -> float:
        """ln L = −χ²/2 at one free-parameter vector (raises outside the emulator box)."""
        return float(-0.5 * self.chi2_binned(self.binned_theory(theta))[0])

    def log_like_many(self, thetas: np.ndarray) -> np.ndarray:
        """ln L for a batch (n, n_free); -inf where the emulator cannot evaluate (no fallback)."""
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        if not self._names:
            return np.array([self._safe_one(t) for t in thetas])
        x = np.empty((len(thetas), len(self._names)))
        for j, k in enumerate(self._names):
            x[:, j] = self._column(k, thetas)
        out = np.full(len(thetas), -np.inf)
        ok = self.theory.in_box(x)
        if ok.any():
            model = (self._bsp @ self.theory.predict(x[ok], check=False).T).T
            out[ok] = -0.5 * self.chi2_binned(model)
        if self.fallback is not None and (~ok).any():
            out[~ok] = [self._safe_one(t) for t in thetas[~ok]]
        return out

    def _safe_one(self, theta: np.ndarray) -> float:
        try:
            return -0.5 * float(self.chi2_binned(self.bmat @ self._fallback_or_theory(theta))[0])
        except InputError:
            return -np.inf

    def _fallback_or_theory(self, theta: np.ndarray) -> np.ndarray:
        p = self.params(theta)
        if self._names and self.fallback is not None:
            return self.fallback(p)
        return self.theory_spectrum(p)


@dataclass
class CMBFit:
    """Result of :func:`fit_cmb`: the MCMC result plus the likelihood and best-fit model."""

    result: Any  # rediscovery.cosmo.mcmc.MCMCResult
    likelihood: CMBLikelihood
    best_fit: dict[str, float]
    chi2_best: float
    n_bins: int

    def summary(self) -> dict[str, Any]:
        """Posterior summary (``cmb_posterior.json`` contract) with derived Ωm and the fit χ²."""
        out = self.result.summary()
        out["best_fit"] = self.best_fit
        out["chi2_best"] = self.chi2_best
        out["n_bins"] = self.n_bins
        out["dof"] = self.n_bins - len(self.likelihood.free)
        out["fixed"] = self.likelihood.fixed
        th = self.likelihood.theory
        out["theory"] = getattr(th, "name", type(th).__name__)
        if self.likelihood.density:
            dd = self.derived_density()
            out["derived"] = {k: interval_summary(v) for k, v in dd.items()}
            if "OL" in self.likelihood.free:
                out["P_OL_positive"] = float(np.mean(self._column("OL") > 0))
            return out
        om = self.derived_omega_m()
        if om is not None:
            out["derived"] = {"Om": interval_summary(om)}
        return out

    def _column(self, k: str) -> np.ndarray:
        lk = self.likelihood
        s = self.result.samples
        col = lk._column(k, s) if k != "H0" else (
            s[:, lk.free.index("H0")] if "H0" in lk.free else 100.0 * lk._column("h", s))
        return np.broadcast_to(np.asarray(col, dtype=float), (len(s),))

    def derived_density(self) -> dict[str, np.ndarray]:
        """Samples of the derived quantities of a (h, Om, OL) fit: ``Ok`` = 1 − Ωm − ΩΛ − Ω_r,
        ``omch2`` = Ωm h² − ωb − ων, and ``H0`` or ``h`` (whichever was not sampled)."""
        from rediscovery.cosmo.cmb.theory import omega_nu
        from rediscovery.cosmo.cosmology import omega_radiation

        lk = self.likelihood
        h = self._column("h") if "H0" not in lk.free and "H0" not in lk.fixed else \
            self._column("H0") / 100.0
        om, ol = self._column("Om"), self._column("OL")
        out = {"Ok": 1.0 - om - ol - omega_radiation(100.0) / h**2,
               "omch2": om * h**2 - lk.fixed.get("ombh2", PARAM_DEFAULTS["ombh2"])
               - omega_nu(lk.fixed.get("mnu", PARAM_DEFAULTS["mnu"]))}
        if "h" in lk.free:
            out["H0"] = 100.0 * h
        elif "H0" in lk.free:
            out["h"] = h
        return out

    def derived_omega_m(self) -> np.ndarray | None:
        """Samples of Ωm = (ωb + ωc + ων)/h² (None if none of H0, ωb, ωc is free)."""
        from rediscovery.cosmo.cmb.theory import omega_m

        lk = self.likelihood
        if lk.density or not {"H0", "ombh2", "omch2"} & set(lk.free):
            return None
        s = self.result.samples
        cols = {k: (s[:, lk.free.index(k)] if k in lk.free else lk.fixed[k])
                for k in ("H0", "ombh2", "omch2", "mnu")}
        return np.asarray(omega_m(cols))


def fit_cmb(
    likelihood: CMBLikelihood,
    *,
    seed: int,
    priors: Mapping[str, Any] | None = None,
    n_walkers: int = 32,
    n_steps: int = 4000,
    burn: int | None = None,
    progress: bool = True,
    start: Mapping[str, float] | None = None,
    max_steps: int | None = None,
) -> CMBFit:
    """Sample the posterior of ``likelihood.free`` with :func:`rediscovery.cosmo.mcmc.run_mcmc`.

    Parameters
    ----------
    likelihood
        The likelihood.
    seed
        Seed of the sampler.
    priors
        ``{name: Prior}``; free parameters without one get a Uniform prior over the emulator's
        box (or a wide physical range with CAMB).
    n_walkers, n_steps, burn, progress
        Passed to :func:`~rediscovery.cosmo.mcmc.run_mcmc`.
    start
        Centre of the starting ball (default: Planck 2018 best fit).
    max_steps
        Extend an unconverged chain up to this many steps
        (:func:`~rediscovery.cosmo.mcmc.run_mcmc`).
    """
    from rediscovery.cosmo.mcmc import Uniform, run_mcmc

    free = likelihood.free
    pri: dict[str, Any] = dict(priors or {})
    box = getattr(likelihood.theory, "box", {})
    box = dict(box)
    if "h" in box and "H0" not in box:
        box["H0"] = (100.0 * box["h"][0], 100.0 * box["h"][1])
    wide = {"H0": (20.0, 120.0), "ombh2": (0.005, 0.1), "omch2": (0.001, 0.99), "ns": (0.5, 1.5),
            "h": (0.2, 1.2), "Om": (0.01, 1.5), "OL": (-1.0, 2.0),
            "ln10As": (1.6, 4.0), "tau": (0.01, 0.8), "omk": (-0.3, 0.3), "mnu": (0.0, 5.0)}
    for k in free:
        lo, hi = box.get(k, wide[k])
        if k in pri:
            # keep the user's prior, but never let walkers leave the emulator's box
            if k in box and likelihood.fallback is None:
                user = pri[k]
                pri[k] = _Truncated(user, lo, hi)
        else:
            pri[k] = Uniform(lo, hi)
    center = np.array([(start or {}).get(k, PARAM_DEFAULTS[k]) for k in free])
    scale = np.array([_STEP[k] for k in free]) * 0.3
    labels = [PARAM_LABELS[k].split(" [")[0].strip("$") for k in free]
    geo = _Geometric.of(free)
    # the batched linear algebra is small: one BLAS thread is fastest and fair to other jobs
    # (threadpoolctl comes with scikit-learn, a declared dependency)
    with _one_blas_thread():
        if geo is None:
            # log_like_many batches the emulator and, with CAMB, turns failed points into -inf
            res = run_mcmc(likelihood.log_like_many,
                           center, scale, names=free, seed=seed, n_walkers=n_walkers,
                           n_steps=n_steps, burn=burn, progress=progress, priors=pri,
                           vectorize=True, labels=labels, desc="CMB MCMC",
                           max_steps=max_steps)
        else:
            res = geo.run(likelihood, pri, center, scale, run_mcmc, seed=seed,
                          n_walkers=n_walkers, n_steps=n_steps, burn=burn, progress=progress,
                          labels=labels, max_steps=max_steps)
    # best fit = the post-burn-in sample of highest posterior
    s = res.samples
    i = int(np.argmax(res.log_prob))
    best = dict(zip(free, (float(v) for v in s[i]), strict=True))
    chi2 = -2.0 * likelihood.log_like([best[k] for k in free])
    return CMBFit(res, likelihood, likelihood.params([best[k] for k in free]), float(chi2),
                  likelihood.spectrum.n_bins)


def find_start(likelihood: CMBLikelihood, *, seed: int, n_draws: int = 4000,
               batch: int = 500) -> dict[str, float]:
    """A starting point for the sampler: the best of ``n_draws`` uniform draws over the box of
    the free parameters, polished by Nelder-Mead on −ln L.

    The (h, Ωm, ΩΛ) posterior of a CMB spectrum is a thin curved ridge (the geometric
    degeneracy) that can lie far from the Planck best fit; walkers started at the ridge
    converge in a few hundred steps where walkers started elsewhere may not find it.
    """
    from scipy.optimize import minimize

    box = dict(getattr(likelihood.theory, "box", {}))
    if "h" in box:
        box.setdefault("H0", (100.0 * box["h"][0], 100.0 * box["h"][1]))
    lo = np.array([box.get(k, (PARAM_DEFAULTS[k] - 5 * _STEP[k],))[0] for k in likelihood.free])
    hi = np.array([box.get(k, (0.0, PARAM_DEFAULTS[k] + 5 * _STEP[k]))[1]
                   for k in likelihood.free])
    rng = np.random.default_rng(seed)
    draws = rng.uniform(lo, hi, size=(n_draws, len(lo)))
    with _one_blas_thread():
        ll = np.concatenate([likelihood.log_like_many(draws[i:i + batch])
                             for i in range(0, n_draws, batch)])
        if not np.isfinite(ll).any():
            return {k: PARAM_DEFAULTS[k] for k in likelihood.free}
        x0 = draws[int(np.argmax(ll))]
        span = hi - lo

        def nll(z: np.ndarray) -> float:
            v = likelihood.log_like_many((lo + z * span)[None, :])[0]
            return float(-v) if np.isfinite(v) else 1e300

        res = minimize(nll, (x0 - lo) / span, method="Nelder-Mead",
                       options={"xatol": 1e-6, "fatol": 1e-3, "maxiter": 4000})
    best = lo + res.x * span if res.fun < -ll.max() else x0
    return dict(zip(likelihood.free, (float(v) for v in best), strict=True))


def fit_cmb_spectrum(
    spectrum: BinnedSpectrum,
    *,
    params: Sequence[str] = ("h", "Om", "OL"),
    fixed: Mapping[str, float] | None = None,
    theory: str | Any = "emulator",
    emulator: str | None = None,
    fallback_camb: bool = False,
    tau_prior: tuple[float, float] | None = PLANCK2018_TAU_PRIOR,
    errors: str = "average",
    weighting: str = "uniform",
    seed: int = 0,
    n_walkers: int = 32,
    n_steps: int = 6000,
    burn: int | None = None,
    progress: bool = True,
    start: Mapping[str, float] | str | None = "search",
) -> CMBFit:
    """Fit cosmological parameters to a binned TT spectrum: the one call a pipeline needs.

    Parameters
    ----------
    spectrum
        The binned data (:func:`~rediscovery.cosmo.cmb.io.read_spectrum` or
        :func:`~rediscovery.cosmo.cmb.io.read_three_column`).
    params
        Free parameters: the densities ``h`` (or ``H0``), ``Om``, ``OL`` (Ωk derived; the
        curved emulator) and/or ``ns, ln10As, tau``; or the physical ``H0, ombh2, omch2, …``
        (the flat emulator).
    fixed
        Values of other parameters (default: the Planck 2018 best fit and its h, Ωm, ΩΛ).
    theory
        ``"emulator"``, ``"camb"`` or a theory object (anything with ``ell`` and
        ``__call__(params) -> D_ℓ``).
    emulator
        Emulator file (default: the shipped flat or curved one, by ``params``).
    fallback_camb
        Use CAMB for points outside the emulator's box instead of rejecting them.
    tau_prior
        Gaussian (mean, sigma) prior on τ when it is free (default Planck 2018 lowE).
    errors, weighting
        Passed to :class:`CMBLikelihood`.
    seed, n_walkers, n_steps, burn, progress
        Passed to :func:`fit_cmb`.
    start
        Sampler start: a dict, ``None`` (Planck 2018 best fit) or ``"search"`` (default:
        :func:`find_start`).

    Returns
    -------
    CMBFit
        ``summary()`` holds the posterior, and for (h, Om, OL) fits the derived Ωk, ω_c and
        ``P_OL_positive`` = P(ΩΛ > 0 | data).
    """
    from rediscovery.cosmo.cmb.theory import CAMBTheory
    from rediscovery.cosmo.mcmc import Gaussian

    free = list(params)
    density = bool(set(free) & set(DENSITY_NAMES)) or bool({"Om", "OL"} & set(fixed or {}))
    lmax_data = int(np.max(spectrum.ell_max))
    if isinstance(theory, str):
        if theory == "emulator":
            if density:
                from rediscovery.cosmo.cmb.curved import load_curved_emulator

                th: Any = load_curved_emulator(emulator)
            else:
                from rediscovery.cosmo.cmb.emulator import load_emulator

                th = load_emulator(emulator)
            fb = CAMBTheory(lmax=th.lmax) if fallback_camb else None
        elif theory == "camb":
            th, fb = CAMBTheory(lmax=max(lmax_data, 100)), None
        else:
            raise ConfigError(f"theory must be 'emulator' or 'camb', got {theory!r}")
    else:
        th, fb = theory, None
    lk = CMBLikelihood(spectrum, th, free=free, fixed=fixed, errors=errors,
                       weighting=weighting, fallback=fb)
    priors: dict[str, Any] = {}
    if tau_prior is not None and "tau" in free:
        priors["tau"] = Gaussian(*tau_prior)
    if isinstance(start, str):
        if start != "search":
            raise ConfigError(f"start must be a dict, None or 'search', got {start!r}")
        if getattr(th, "names", None):  # an emulator: thousands of evaluations are cheap
            lk.fallback = None  # the search stays inside the box (no CAMB calls)
            try:
                start = find_start(lk, seed=seed)
            finally:
                lk.fallback = fb
            log.info("sampler start from the search: %s", start)
        else:
            start = None
    return fit_cmb(lk, seed=seed, priors=priors, n_walkers=n_walkers, n_steps=n_steps,
                   burn=burn, progress=progress, start=start)


@dataclass(frozen=True)
class _Geometric:
    """Sampling (h, Ωm, ΩΛ) in the coordinates (h, ω_m = Ωm h², ω_k = (1 − Ωm − ΩΛ) h²).

    A CMB spectrum fixes ω_m and the acoustic scale, and D_M(z*) depends on the physical
    densities, mostly ω_m and ω_k: the (h, Ωm, ΩΛ) posterior is a thin *curved* ridge (Ωm ∝
    1/h²) along which emcee's stretch move mixes in ~600 steps; in these coordinates the ridge
    is nearly straight and axis-aligned. The priors stay those of (h, Ωm, ΩΛ): the density
    carries the Jacobian |∂(Ωm, ΩΛ)/∂(ω_m, ω_k)| = h⁻⁴. The returned chain is in (h, Ωm, ΩΛ);
    τ and R̂ are those of the sampled coordinates.
    """

    ih: int
    iom: int
    iol: int
    hscale: float  # 1 for h, 100 for H0

    @classmethod
    def of(cls, free: Sequence[str]) -> _Geometric | None:
        hn = "h" if "h" in free else "H0" if "H0" in free else None
        if hn is None or "Om" not in free or "OL" not in free:
            return None
        return cls(free.index(hn), free.index("Om"), free.index("OL"),
                   1.0 if hn == "h" else 100.0)

    def to_sampler(self, t: np.ndarray) -> np.ndarray:
        t = np.array(t, dtype=float, copy=True)
        h2 = (t[..., self.ih] / self.hscale) ** 2
        om, ol = t[..., self.iom].copy(), t[..., self.iol].copy()
        t[..., self.iom] = om * h2
        t[..., self.iol] = (1.0 - om - ol) * h2
        return t

    def to_density(self, t: np.ndarray) -> np.ndarray:
        t = np.array(t, dtype=float, copy=True)
        h2 = (t[..., self.ih] / self.hscale) ** 2
        wm, wk = t[..., self.iom].copy(), t[..., self.iol].copy()
        t[..., self.iom] = wm / h2
        t[..., self.iol] = 1.0 - (wm + wk) / h2
        return t

    def run(self, likelihood: CMBLikelihood, priors: Mapping[str, Any], center: np.ndarray,
            scale: np.ndarray, run_mcmc: Any, **kw: Any) -> Any:
        import dataclasses

        free = likelihood.free

        def log_prob(ts: np.ndarray) -> np.ndarray:
            t = self.to_density(ts)
            lp = -4.0 * np.log(np.abs(t[:, self.ih] / self.hscale))
            for j, k in enumerate(free):
                lp = lp + priors[k].log_prob(t[:, j])
            out = np.full(len(t), -np.inf)
            ok = np.isfinite(lp)
            if ok.any():
                out[ok] = lp[ok] + likelihood.log_like_many(t[ok])
            return out

        h = center[self.ih] / self.hscale
        sc = np.array(scale, dtype=float, copy=True)
        sc[self.iom] = 0.3 * 2e-3  # ω_m: about the Planck TT error
        sc[self.iol] = 0.3 * 5e-3 * h * h
        names = [("omh2" if j == self.iom else "okh2" if j == self.iol else k)
                 for j, k in enumerate(free)]
        res = run_mcmc(log_prob, self.to_sampler(center), sc, names=names, vectorize=True,
                       desc="CMB MCMC (h, ωm, ωk)", **kw)
        chain = self.to_density(res.chain)
        lp = res.log_prob_chain + 4.0 * np.log(np.abs(chain[..., self.ih] / self.hscale))
        return dataclasses.replace(res, names=list(free), chain=chain, log_prob_chain=lp)


def _one_blas_thread() -> Any:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with scikit-learn
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


@dataclass(frozen=True)
class _Truncated(Prior):
    """A prior restricted to [lo, hi] (the emulator's box); same interface as mcmc priors."""

    prior: Any
    lo: float
    hi: float

    def log_prob(self, x: np.ndarray | float) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        inside = (x >= self.lo) & (x <= self.hi)
        return np.where(inside, self.prior.log_prob(x), -np.inf)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.clip(self.prior.sample(rng, size), self.lo, self.hi)

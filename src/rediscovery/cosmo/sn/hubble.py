r"""From SALT2 parameters to a Hubble diagram, and from a Hubble diagram to (Ω_m, Ω_Λ, w).

Tripp standardisation
---------------------
The distance modulus of a SN Ia from its SALT2 peak magnitude :math:`m_B`, stretch :math:`x_1`
and colour :math:`c` (Tripp 1998, A&A 331, 815; Betoule et al. 2014, eq. 4):

.. math:: \mu = m_B - M + \alpha x_1 - \beta c .

:func:`fit_tripp` fits α, β, the intrinsic dispersion σ_int and the offset :math:`\mathcal{M}`
(absolute magnitude plus 5 log10 of the Hubble constant, degenerate with each other) by
maximum likelihood with iminuit, with a flat ΛCDM Ω_m as nuisance parameter and the
hierarchical (latent x1, c) likelihood of March et al. 2011 that avoids the regression
dilution of α and β by the x1 and c errors (see :func:`fit_tripp`). :func:`standardise` then
applies α, β with a *calibrated* absolute magnitude M (the distance-ladder input; only H0
depends on it), with the error

.. math::

    \sigma_\mu^2 = V_{m_B} + \alpha^2 V_{x_1} + \beta^2 V_c + 2\alpha V_{m_B x_1}
                 - 2\beta V_{m_B c} - 2\alpha\beta V_{x_1 c} + \sigma_\mathrm{pec}^2
                 + \sigma_\mathrm{int}^2 .

The fitted α and β are shared by every supernova, so their uncertainty makes the μ_i
correlated: :func:`standardised_covariance` adds :math:`J V_{\alpha\beta} J^T`,
:math:`J_i = (x_{1,i}, -c_i)`, to the diagonal above (linear propagation of the Hesse
covariance of (α, β), as for any calibration shared by all SNe, e.g. Conley et al. 2011 §4).
Leaving it out makes the cosmology errors too small by an amount that grows with the
spread of x1 and c with redshift.

Cosmology fit and the M–H0 degeneracy
-------------------------------------
For a Hubble table (μ_i, C) the model is :math:`\mu_\mathrm{th} = 5\log_{10}\hat d_L(z;\theta)
+ 25 + 5\log_{10}(c/H_0) + \delta M`. The offset :math:`\Delta = \delta M - 5\log_{10}(H_0/70)`
enters linearly, so it is marginalised analytically with a flat prior (Goliath et al. 2001,
A&A 380, 6; Conley et al. 2011, appendix C): with :math:`r = \mu - \mu_{70}(\theta)`,
:math:`A = r^T C^{-1} r`, :math:`B = \mathbf 1^T C^{-1} r`,
:math:`E = \mathbf 1^T C^{-1} \mathbf 1`,

.. math:: \chi^2_\mathrm{marg}(\theta) = A - B^2/E .

Only (Ω_m, Ω_Λ) or (Ω_m, w) are sampled. H0 follows *if* the table's μ use a calibrated M
(as ``hubble.csv`` from :func:`standardise` does, and Union2.1/JLA with their h = 0.7
convention do not): for each sample Δ is drawn from its conditional N(B/E, 1/E) and
:math:`H_0 = 70\cdot 10^{-\Delta/5}` km/s/Mpc, reported as ``H0_if_calibrated``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.constants import C_KM_S
from rediscovery.core.errors import ConfigError, ConvergenceError, InputError
from rediscovery.cosmo.cosmology import DistanceGrid
from rediscovery.cosmo.mcmc import MCMCResult, Uniform, interval_summary, run_mcmc
from rediscovery.cosmo.profile import ProfileInterval, profile_interval
from rediscovery.cosmo.sn.io import HubbleTable

__all__ = [
    "H0_REF",
    "MODELS",
    "SIGMA_PEC_KMS",
    "HubbleLikelihood",
    "SNFitResult",
    "TrippResult",
    "fit_hubble",
    "fit_tripp",
    "model_params",
    "salt2_covariance",
    "standardise",
    "standardised_covariance",
]

log = logging.getLogger(__name__)

#: Reference Hubble constant (km/s/Mpc) for the marginalised offset: μ_70 uses H0 = 70.
H0_REF = 70.0
#: Peculiar-velocity dispersion (km/s) added to the distance-modulus error (Conley et al. 2011).
SIGMA_PEC_KMS = 300.0
_LN10 = np.log(10.0)

#: Cosmological models: sampled parameters, their flat priors and plot labels.
MODELS: dict[str, dict[str, Any]] = {
    "flat-lcdm": {"names": ["Om"], "priors": [Uniform(0.0, 1.0)], "labels": [r"\Omega_m"],
                  "p0": [0.3]},
    "lcdm": {"names": ["Om", "OL"], "priors": [Uniform(0.0, 1.5), Uniform(-1.0, 2.5)],
             "labels": [r"\Omega_m", r"\Omega_\Lambda"], "p0": [0.3, 0.7]},
    "flat-wcdm": {"names": ["Om", "w"], "priors": [Uniform(0.0, 1.0), Uniform(-3.0, 0.0)],
                  "labels": [r"\Omega_m", "w"], "p0": [0.3, -1.0]},
}


def _model_spec(model: str) -> dict[str, Any]:
    if model not in MODELS:
        raise ConfigError(f"unknown cosmological model {model!r}; expected one of {list(MODELS)}")
    return MODELS[model]


def model_params(model: str, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Ω_m, Ω_Λ, w) arrays from sampled parameters ``theta`` (..., ndim) of ``model``."""
    theta = np.asarray(theta, dtype=float)
    om = theta[..., 0]
    if model == "flat-lcdm":
        return om, 1.0 - om, np.full_like(om, -1.0)
    if model == "lcdm":
        return om, theta[..., 1], np.full_like(om, -1.0)
    if model == "flat-wcdm":
        return om, 1.0 - om, theta[..., 1]
    raise ConfigError(f"unknown cosmological model {model!r}; expected one of {list(MODELS)}")


class HubbleLikelihood:
    """χ² of a Hubble table with the magnitude offset marginalised analytically.

    Parameters
    ----------
    table
        The distance moduli and their covariance.

    Notes
    -----
    Vectorised: :meth:`chi2` takes (Ω_m, Ω_Λ, w) arrays of any common shape (P,) and returns
    (P,); the covariance is whitened once by its Cholesky factor (diagonal tables skip it).
    """

    def __init__(self, table: HubbleTable) -> None:
        self.table = table
        self.grid = DistanceGrid(table.z)
        self._w: np.ndarray | None
        self._linv: np.ndarray | None
        if table.is_diagonal:
            self._w = 1.0 / np.sqrt(np.diag(table.cov))
            self._linv = None
        else:
            lower = np.linalg.cholesky(table.cov)
            self._linv = np.linalg.solve(lower, np.eye(table.n))  # C^-1 = L^-T L^-1
            self._w = None
        self._one_w = self._whiten(np.ones(table.n))
        self.E = float(self._one_w @ self._one_w)

    def _whiten(self, r: np.ndarray) -> np.ndarray:
        if self._linv is None:
            return r * self._w
        return r @ self._linv.T

    def mu70(self, om, ol, w=-1.0) -> np.ndarray:
        """Model distance modulus for H0 = 70 km/s/Mpc, shape (..., n)."""
        dl = self.grid.hubble_free_dl(om, ol, w)
        with np.errstate(invalid="ignore", divide="ignore"):
            return 5.0 * np.log10(dl * (C_KM_S / H0_REF)) + 25.0

    def terms(self, om, ol, w=-1.0) -> tuple[np.ndarray, np.ndarray]:
        """(A, B) of the marginalisation (module notes); NaN for unphysical models."""
        r = self.table.mu - self.mu70(om, ol, w)
        rw = self._whiten(r)
        return np.sum(rw * rw, axis=-1), rw @ self._one_w

    def chi2(self, om, ol, w=-1.0) -> np.ndarray:
        """Marginalised χ² = A − B²/E (∞ where the model has no valid distances)."""
        a, b = self.terms(om, ol, w)
        c2 = a - b * b / self.E
        return np.where(np.isfinite(c2), c2, np.inf)

    def offset(self, om, ol, w=-1.0) -> tuple[np.ndarray, float]:
        """Best-fit offset Δ = B/E (mag) and its conditional error 1/√E."""
        _, b = self.terms(om, ol, w)
        return b / self.E, float(1.0 / np.sqrt(self.E))


@dataclass
class SNFitResult:
    """Outcome of :func:`fit_hubble`.

    Attributes
    ----------
    model, table, mcmc
        The model name, the data and the MCMC result.
    best_fit
        Minimum-χ² parameters (scipy), with ``chi2`` and ``dof``.
    no_dark_energy
        Best fit with Ω_Λ = 0 (Ω_m free, curvature 1 − Ω_m): ``Om`` and ``chi2``.
    delta_chi2_no_de
        χ²(Ω_Λ = 0) − χ²(best fit) (≥ 0); ~ the square of the significance of dark energy.
    p_lambda_positive, p_accelerating
        Posterior probabilities of Ω_Λ > 0 and q0 < 0 (q0 = Ω_m/2 + (1+3w)/2 Ω_DE).
    h0_samples
        H0 per sample for a calibrated table (see the module notes).
    profile
        Profile-likelihood 68 % intervals of the cosmological parameters
        (:mod:`rediscovery.cosmo.profile`): prior-independent, unlike the credible intervals.
    """

    model: str
    table: HubbleTable
    mcmc: MCMCResult
    best_fit: dict[str, float]
    no_dark_energy: dict[str, float]
    delta_chi2_no_de: float
    p_lambda_positive: float
    p_accelerating: float
    h0_samples: np.ndarray
    derived: dict[str, np.ndarray] = field(default_factory=dict)
    profile: dict[str, ProfileInterval] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """``sn_posterior.json`` content: the MCMC summary plus derived and evidence numbers."""
        s = self.mcmc.summary()
        n = self.mcmc.samples.shape[0]
        for name, x in self.derived.items():
            s[name] = {**interval_summary(x), "derived": True}
        s["model"] = self.model
        s["data"] = {"source": self.table.source, "n": self.table.n,
                     "diagonal_covariance": self.table.is_diagonal,
                     "z_min": float(self.table.z.min()), "z_max": float(self.table.z.max())}
        s["best_fit"] = self.best_fit
        if self.profile:
            s["profile68"] = {k: v.to_dict() for k, v in self.profile.items()}
            for k, v in self.profile.items():
                s[k]["profile_lo68"], s[k]["profile_hi68"] = v.lo, v.hi
        s["offset_marginalised"] = True
        s["dark_energy_evidence"] = {
            "p_omega_lambda_positive": self.p_lambda_positive,
            "p_omega_lambda_positive_lower_bound": 1.0 - 1.0 / n if self.p_lambda_positive == 1
            else None,
            "p_accelerating_q0_negative": self.p_accelerating,
            "chi2_best": self.best_fit["chi2"],
            "chi2_no_dark_energy": self.no_dark_energy["chi2"],
            "om_no_dark_energy": self.no_dark_energy["Om"],
            "delta_chi2": self.delta_chi2_no_de,
            "sigma_equivalent_1dof": float(np.sqrt(max(self.delta_chi2_no_de, 0.0))),
        }
        return s


def _minimise(fun, x0, bounds):
    from scipy.optimize import minimize

    best = None
    for start in x0:
        res = minimize(fun, start, method="Nelder-Mead",
                       options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 4000})
        if best is None or res.fun < best.fun:
            best = res
    if best is None or not np.isfinite(best.fun):
        raise ConvergenceError("no finite chi2 found while minimising", bounds=bounds)
    return best


def fit_hubble(table: HubbleTable, model: str = "flat-lcdm", *, seed: int = 0,
               n_walkers: int = 32, n_steps: int = 6000, progress: bool = True,
               rhat_threshold: float = 0.01) -> SNFitResult:
    """Fit a cosmological model to a Hubble table by MCMC, offset marginalised.

    Parameters
    ----------
    table
        Distance moduli and covariance.
    model
        ``"flat-lcdm"`` (Ω_m), ``"lcdm"`` (Ω_m, Ω_Λ) or ``"flat-wcdm"`` (Ω_m, w).
    seed, n_walkers, n_steps, progress, rhat_threshold
        Passed to :func:`~rediscovery.cosmo.mcmc.run_mcmc`.

    Returns
    -------
    SNFitResult
    """
    spec = _model_spec(model)
    like = HubbleLikelihood(table)

    def log_like(theta: np.ndarray) -> np.ndarray:
        om, ol, w = model_params(model, theta)
        return -0.5 * like.chi2(om, ol, w)

    def chi2_of(x: np.ndarray) -> float:
        lp = sum(float(p.log_prob(v)) for p, v in zip(spec["priors"], x, strict=True))
        if not np.isfinite(lp):
            return 1e30
        c = float(-2 * log_like(np.asarray(x)[None, :])[0])
        return c if np.isfinite(c) else 1e30

    starts = [np.array(spec["p0"])] + [np.array(spec["p0"]) + d for d in
                                       ([0.1] * len(spec["p0"]), [-0.1] * len(spec["p0"]))]
    best = _minimise(chi2_of, starts, None)
    ndim = len(spec["names"])
    best_fit = {n: float(v) for n, v in zip(spec["names"], best.x, strict=True)}
    best_fit["chi2"] = float(best.fun)
    best_fit["dof"] = int(table.n - ndim - 1)
    off, off_err = like.offset(*model_params(model, best.x[None, :]))
    best_fit["offset_mag"] = float(off[0])
    best_fit["offset_err_mag"] = off_err

    # null hypothesis: no dark energy (Ω_Λ = 0), Ω_m free, curvature 1 − Ω_m
    def chi2_nde(x: np.ndarray) -> float:
        if not 0.0 <= x[0] <= 3.0:
            return 1e30
        c = float(like.chi2(np.array([x[0]]), np.array([0.0]))[0])
        return c if np.isfinite(c) else 1e30

    nde = _minimise(chi2_nde, [np.array([0.3]), np.array([1.0])], None)
    no_de = {"Om": float(nde.x[0]), "chi2": float(nde.fun)}
    dchi2 = float(nde.fun - best.fun)

    scale = np.full(ndim, 0.02)
    res = run_mcmc(log_like, best.x, scale, names=spec["names"], seed=seed,
                   n_walkers=n_walkers, n_steps=n_steps, progress=progress,
                   priors=spec["priors"], vectorize=True, labels=spec["labels"],
                   rhat_threshold=rhat_threshold, desc=f"SN {model} MCMC")
    s = res.samples
    om, ol, w = model_params(model, s)
    q0 = 0.5 * om + 0.5 * (1.0 + 3.0 * w) * ol
    rng = np.random.default_rng([seed, 1])
    mean_off, sd_off = like.offset(om, ol, w)
    delta = mean_off + sd_off * rng.standard_normal(mean_off.shape)
    h0 = H0_REF * 10.0 ** (-delta / 5.0)
    derived: dict[str, np.ndarray] = {"q0": q0, "H0_if_calibrated": h0}
    if model != "lcdm":
        derived["OL"] = ol
    if model == "lcdm":
        derived["Ok"] = 1.0 - om - ol
    bounds = [(p.lo, p.hi) for p in spec["priors"]]
    profile = profile_intervals(chi2_of, best.x, spec["names"], bounds, s)
    return SNFitResult(
        model=model, table=table, mcmc=res, best_fit=best_fit, no_dark_energy=no_de,
        delta_chi2_no_de=dchi2, p_lambda_positive=float(np.mean(ol > 0)),
        p_accelerating=float(np.mean(q0 < 0)), h0_samples=h0, derived=derived,
        profile=profile,
    )


def profile_intervals(m2ll, x_best: np.ndarray, names: list[str],
                      bounds: list[tuple[float, float]], samples: np.ndarray
                      ) -> dict[str, ProfileInterval]:
    """Profile-likelihood 68 % intervals of the first ``len(names)`` parameters (the
    cosmology), scanned from ``x_best`` in steps of half the posterior width of ``samples``."""
    out = {}
    for i, name in enumerate(names):
        step = 0.5 * max(float(np.std(samples[:, i])), 1e-4 * (bounds[i][1] - bounds[i][0]))
        out[name] = profile_interval(m2ll, x_best, i, bounds, step=step, name=name)
    return out


# ------------------------------------------------------------------------------- Tripp fit
@dataclass
class TrippResult:
    """Fitted standardisation: α, β, σ_int (mag), offset 𝓜 (mag, for H0 = 70), with errors."""

    alpha: float
    beta: float
    sigma_int: float
    offset: float
    errors: dict[str, float]
    om_nuisance: float
    n_sne: int
    sigma_pec_kms: float = SIGMA_PEC_KMS
    population: dict[str, float] = field(default_factory=dict)
    #: Covariance of (α, β) from the Hesse matrix (None for results made without it).
    cov_alpha_beta: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "beta": self.beta, "sigma_int": self.sigma_int,
                "offset_h70": self.offset, "errors": self.errors,
                "om_nuisance_flat_lcdm": self.om_nuisance, "n_sne": self.n_sne,
                "sigma_pec_kms": self.sigma_pec_kms, "population": self.population}


_SALT_COLS = ("z", "mb", "x1", "c", "mb_err", "x1_err", "c_err", "cov_mb_x1", "cov_mb_c",
              "cov_x1_c")


def _check_salt_table(fits: pd.DataFrame) -> None:
    missing = [c for c in _SALT_COLS if c not in fits.columns]
    if missing:
        raise InputError(f"SALT2 fit table lacks column(s) {missing}; expected {list(_SALT_COLS)}")
    if len(fits) < 5:
        raise InputError(f"only {len(fits)} supernovae passed the quality cuts; the Tripp fit "
                         "needs at least 5")


def _tripp_var(fits: pd.DataFrame, alpha: float, beta: float, sigma_pec: float) -> np.ndarray:
    z = fits["z"].to_numpy()
    v = (fits["mb_err"] ** 2 + alpha**2 * fits["x1_err"] ** 2 + beta**2 * fits["c_err"] ** 2
         + 2 * alpha * fits["cov_mb_x1"] - 2 * beta * fits["cov_mb_c"]
         - 2 * alpha * beta * fits["cov_x1_c"]).to_numpy()
    v_pec = (5.0 / _LN10 * sigma_pec / (C_KM_S * z)) ** 2
    return v + v_pec


def salt2_covariance(fits: pd.DataFrame) -> np.ndarray:
    """Per-SN measurement covariance of (m_B, x1, c), shape (n, 3, 3), from a SALT2 fit table
    (columns checked: InputError naming the missing ones)."""
    _check_salt_table(fits)
    n = len(fits)
    c = np.empty((n, 3, 3))
    c[:, 0, 0] = fits["mb_err"].to_numpy() ** 2
    c[:, 1, 1] = fits["x1_err"].to_numpy() ** 2
    c[:, 2, 2] = fits["c_err"].to_numpy() ** 2
    c[:, 0, 1] = c[:, 1, 0] = fits["cov_mb_x1"].to_numpy()
    c[:, 0, 2] = c[:, 2, 0] = fits["cov_mb_c"].to_numpy()
    c[:, 1, 2] = c[:, 2, 1] = fits["cov_x1_c"].to_numpy()
    return c


def fit_tripp(fits: pd.DataFrame, *, sigma_pec_kms: float = SIGMA_PEC_KMS) -> TrippResult:
    r"""Fit α, β, σ_int and the offset 𝓜 with a hierarchical model of the SALT2 population.

    The naive χ² fit of the Tripp relation is biased low in α and β by the measurement
    errors of x1 and c (regression dilution; March et al. 2011, MNRAS 418, 2308). Following
    March et al., the true stretch and colour are latent variables with Gaussian populations
    x1* ~ N(x̄1, R_x²), c* ~ N(c̄, R_c²), marginalised analytically: the observed
    d_i = (m_B, x1, c) is Gaussian with mean (μ_70(z_i; Ω_m) + 𝓜 − α x̄1 + β c̄, x̄1, c̄) and
    covariance C_i + A Σ Aᵀ + diag(σ_pec,i², 0, 0), with A = [[1, −α, β], [0, 1, 0],
    [0, 0, 1]], Σ = diag(σ_int², R_x², R_c²). −2 ln L = Σ_i rᵢᵀ Sᵢ⁻¹ rᵢ + ln det Sᵢ is
    minimised with iminuit (flat ΛCDM Ω_m is a nuisance parameter).

    Parameters
    ----------
    fits
        SALT2 results with columns ``z, mb, x1, c, mb_err, x1_err, c_err, cov_mb_x1, cov_mb_c,
        cov_x1_c`` (one row per SN passing the quality cuts).
    sigma_pec_kms
        Peculiar-velocity dispersion added to m_B in quadrature (km/s).
    """
    from iminuit import Minuit

    _check_salt_table(fits)
    z = fits["z"].to_numpy(dtype=float)
    grid = DistanceGrid(z)
    d = fits[["mb", "x1", "c"]].to_numpy(dtype=float)
    cmeas = salt2_covariance(fits)
    cmeas[:, 0, 0] += (5.0 / _LN10 * sigma_pec_kms / (C_KM_S * z)) ** 2

    def nll2(alpha: float, beta: float, log_sigma_int: float, offset: float, om: float,
             x1_mean: float, log_rx: float, c_mean: float, log_rc: float) -> float:
        mu = 5.0 * np.log10(grid.hubble_free_dl(om, 1.0 - om) * (C_KM_S / H0_REF)) + 25.0
        if not np.all(np.isfinite(mu)):
            return 1e30
        si2, rx2, rc2 = np.exp(2 * log_sigma_int), np.exp(2 * log_rx), np.exp(2 * log_rc)
        pop = np.array([[si2 + alpha**2 * rx2 + beta**2 * rc2, -alpha * rx2, beta * rc2],
                        [-alpha * rx2, rx2, 0.0], [beta * rc2, 0.0, rc2]])
        cov = cmeas + pop
        r = d - np.column_stack([mu + offset - alpha * x1_mean + beta * c_mean,
                                 np.full_like(mu, x1_mean), np.full_like(mu, c_mean)])
        sign, logdet = np.linalg.slogdet(cov)
        if np.any(sign <= 0):
            return 1e30
        sol = np.linalg.solve(cov, r[:, :, None])[:, :, 0]
        return float(np.sum(np.einsum("ij,ij->i", r, sol) + logdet))

    offset0 = float(np.median(d[:, 0] - 5.0 * np.log10(grid.hubble_free_dl(0.3, 0.7)
                                                        * (C_KM_S / H0_REF)) - 25.0))
    m = Minuit(nll2, alpha=0.14, beta=3.0, log_sigma_int=np.log(0.1), offset=offset0, om=0.3,
               x1_mean=float(np.mean(d[:, 1])), log_rx=np.log(max(np.std(d[:, 1]), 0.1)),
               c_mean=float(np.mean(d[:, 2])), log_rc=np.log(max(np.std(d[:, 2]), 0.01)))
    m.errordef = Minuit.LEAST_SQUARES
    m.limits["om"] = (0.0, 1.0)
    m.limits["log_sigma_int"] = (np.log(1e-3), np.log(2.0))
    m.limits["log_rx"] = (np.log(1e-2), np.log(10.0))
    m.limits["log_rc"] = (np.log(1e-3), np.log(2.0))
    m.limits["alpha"] = (-1.0, 1.0)
    m.limits["beta"] = (-2.0, 8.0)
    m.migrad()
    if not m.valid:
        raise ConvergenceError("Tripp standardisation fit did not converge", fmin=str(m.fmin))
    m.hesse()
    p = m.values
    sig = float(np.exp(p["log_sigma_int"]))
    errs = {"alpha": float(m.errors["alpha"]), "beta": float(m.errors["beta"]),
            "sigma_int": float(sig * m.errors["log_sigma_int"]),
            "offset": float(m.errors["offset"]), "om": float(m.errors["om"])}
    log.info("Tripp fit: alpha=%.3f±%.3f beta=%.2f±%.2f sigma_int=%.3f", p["alpha"],
             errs["alpha"], p["beta"], errs["beta"], sig)
    return TrippResult(alpha=float(p["alpha"]), beta=float(p["beta"]), sigma_int=sig,
                       offset=float(p["offset"]), errors=errs, om_nuisance=float(p["om"]),
                       n_sne=len(fits), sigma_pec_kms=sigma_pec_kms,
                       population={"x1_mean": float(p["x1_mean"]),
                                   "x1_sigma": float(np.exp(p["log_rx"])),
                                   "c_mean": float(p["c_mean"]),
                                   "c_sigma": float(np.exp(p["log_rc"]))},
                       cov_alpha_beta=np.array([[m.covariance[a, b] for b in ("alpha", "beta")]
                                                for a in ("alpha", "beta")]))


def standardised_covariance(fits: pd.DataFrame, tripp: TrippResult) -> np.ndarray:
    """Covariance (mag², shape (n, n)) of the distance moduli of :func:`standardise`.

    The diagonal ``mu_err²`` plus the term shared through the fitted (α, β) (module notes):
    ``J V_αβ Jᵀ`` with ``J = [x1, −c]``. Raises :class:`ConfigError` when ``tripp`` carries
    no (α, β) covariance.
    """
    _check_salt_table(fits)
    if tripp.cov_alpha_beta is None:
        raise ConfigError("the Tripp result has no (alpha, beta) covariance; fit it with "
                          "fit_tripp")
    var = _tripp_var(fits, tripp.alpha, tripp.beta, tripp.sigma_pec_kms) + tripp.sigma_int**2
    jac = np.column_stack([fits["x1"].to_numpy(dtype=float), -fits["c"].to_numpy(dtype=float)])
    cov = jac @ np.asarray(tripp.cov_alpha_beta, dtype=float) @ jac.T
    cov[np.diag_indices_from(cov)] += var
    return cov


def standardise(fits: pd.DataFrame, tripp: TrippResult, abs_mag: float) -> pd.DataFrame:
    """Hubble table from SALT2 fits: μ = m_B − M + α x1 − β c with its error (mag).

    ``mu_err`` includes the SALT2 covariance propagated with α, β, σ_int and the
    peculiar-velocity term. Columns: ``sn_id, z, mu, mu_err, mb, x1, c`` (+ ``mb_err,
    x1_err, c_err``).

    Parameters
    ----------
    abs_mag
        Calibrated absolute magnitude M (rest-frame B, AB; the distance-ladder input).
    """
    _check_salt_table(fits)
    var = _tripp_var(fits, tripp.alpha, tripp.beta, tripp.sigma_pec_kms) + tripp.sigma_int**2
    mu = (fits["mb"] - abs_mag + tripp.alpha * fits["x1"] - tripp.beta * fits["c"]).to_numpy()
    out = pd.DataFrame({
        "sn_id": fits["sn_id"].astype(str).to_numpy() if "sn_id" in fits else np.arange(len(fits)),
        "z": fits["z"].to_numpy(), "mu": mu, "mu_err": np.sqrt(var)})
    for k in ("mb", "x1", "c", "mb_err", "x1_err", "c_err"):
        out[k] = fits[k].to_numpy()
    return out

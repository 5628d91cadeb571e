r"""The JLA sample from its light-curve parameters: Tripp standardisation and cosmology together.

Betoule et al. 2014 (A&A 568, A22, arXiv:1401.4064), eq. 4-5: the distance modulus of a SN
from its SALT2 peak magnitude :math:`m_B`, stretch :math:`x_1`, colour :math:`c` and the
stellar mass :math:`M_*` of its host is

.. math::

    \mu = m_B - (M_B - \alpha x_1 + \beta c), \qquad
    M_B = M_B^1 + \Delta_M \,[\log_{10} M_*/M_\odot \ge 10] .

:class:`JLALikelihood` compares it with the model
:math:`\mu_\mathrm{th} = 5 \log_{10}[(1 + z_\mathrm{hel}) D_M(z_\mathrm{cmb}) / 10\,\mathrm{pc}]`
(the JLA likelihood code's convention: comoving distance at the CMB-frame redshift, the
(1 + z) of the luminosity distance at the heliocentric one) for H0 = 70 km/s/Mpc, so
:math:`M_B^1` is quoted for h = 0.7 as in Betoule et al. The covariance is the **diagonal**
part of Betoule et al. eq. 11-13 (the systematic blocks C_sys and the off-diagonal C_stat are
not in ``jla_lcparams.txt``):

.. math::

    \sigma_i^2 = \sigma_{m_B}^2 + \alpha^2 \sigma_{x_1}^2 + \beta^2 \sigma_c^2
    + 2\alpha C_{m_B x_1} - 2\beta C_{m_B c} - 2\alpha\beta C_{x_1 c}
    + \sigma_\mathrm{int}^2 + (0.055 z)^2
    + \left(\frac{5}{\ln 10}\frac{150\ \mathrm{km/s}}{c z}\right)^2 ,

with the lensing term of Betoule et al. §5.5 (σ_lens = 0.055 z, Jönsson et al. 2010) and the
peculiar-velocity term of the JLA release (150 km/s). Betoule et al. use one coherent
dispersion σ_coh per sub-sample; here one σ_int is fitted for all.

**The public ``jla_lcparams.txt`` already folds σ_coh, σ_lens and σ_pec into ``dmb``** (the
CosmoMC JLA data set accordingly adds no intrinsic or peculiar-velocity term). The file shows
it: in the low-z sub-sample (``set`` 3) a straight-line fit of dmb² against
σ_pec² = ((5/ln 10)·150/(c z))² has slope 0.95 and intercept 0.0190 mag² ≈ 0.134² (σ_coh of
the low-z sample) + 0.03² (measurement), and no SN has dmb below its sub-sample's σ_coh. So by
default (``dmb_includes_dispersion=True``) the last three terms are left out and σ_int is an
*extra* dispersion on top of JLA's (it fits to 0: χ²/dof < 1 without it). With
``dmb_includes_dispersion=False`` (a file whose dmb is the light-curve fit error only) σ_lens and
σ_pec are added and σ_int plays the role of σ_coh.

Fit (:func:`fit_jla`), following the JLA convention (Conley et al. 2011 §4.4; Betoule et al.
§5.5): χ² = Σ r_i² / σ_i² is minimised over (α, β, M_B^1, Δ_M, cosmology) *without* the
ln det term (which biases β upward when α, β enter the variance), with σ_int set so that
χ²_min per degree of freedom is 1. Its quoted error is the range of σ_int over which χ²_min
moves by ±√(2 dof), the standard deviation of a χ² with dof degrees of freedom.
:func:`sample_jla` then samples exp(−χ²/2) with emcee at that σ_int (as the CosmoMC JLA
module does with its fixed σ_coh).
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
from rediscovery.cosmo.mcmc import MCMCResult, Uniform, run_mcmc
from rediscovery.cosmo.sn.hubble import H0_REF, MODELS, model_params

__all__ = [
    "BETOULE2014",
    "HOST_MASS_STEP_LOG10",
    "JLA_NUISANCE",
    "SIGMA_LENS_PER_Z",
    "SIGMA_PEC_JLA_KMS",
    "JLAFitResult",
    "JLALikelihood",
    "fit_jla",
    "sample_jla",
]

log = logging.getLogger(__name__)

#: Host stellar mass of the step, log10(M*/M_sun) (Betoule et al. 2014, eq. 5).
HOST_MASS_STEP_LOG10 = 10.0
#: Lensing dispersion per unit redshift, mag (Betoule et al. 2014 §5.5; Jönsson et al. 2010).
SIGMA_LENS_PER_Z = 0.055
#: Peculiar-velocity dispersion of the JLA release's ``sigma_mu`` term, km/s.
SIGMA_PEC_JLA_KMS = 150.0
#: Published JLA fit, flat ΛCDM with the full C_stat + C_sys covariance: (value, error).
#: Betoule et al. 2014, A&A 568, A22, Table 10 (M_B^1 for h = 0.7).
BETOULE2014: dict[str, tuple[float, float]] = {
    "alpha": (0.141, 0.006),
    "beta": (3.101, 0.075),
    "M": (-19.05, 0.02),
    "delta_M": (-0.070, 0.023),
    "Om": (0.295, 0.034),
}
#: Standardisation parameters with their flat priors for :func:`sample_jla`.
JLA_NUISANCE: dict[str, Uniform] = {
    "alpha": Uniform(-1.0, 1.0),
    "beta": Uniform(-2.0, 8.0),
    "M": Uniform(-22.0, -17.0),
    "delta_M": Uniform(-1.0, 1.0),
}
_LN10 = np.log(10.0)
_NUIS = tuple(JLA_NUISANCE)


class JLALikelihood:
    """χ² of the JLA light-curve parameters for (α, β, M_B^1, Δ_M) and a cosmology.

    Parameters
    ----------
    lcparams
        Output of :func:`rediscovery.cosmo.sn.io.read_jla_lcparams` (columns ``zcmb, zhel,
        mb, dmb, x1, dx1, color, dcolor, 3rdvar, cov_m_s, cov_m_c, cov_s_c``).
    dmb_includes_dispersion
        ``dmb`` already contains σ_coh, σ_lens and σ_pec (the public JLA file; module notes):
        do not add the lensing and peculiar-velocity terms again.
    sigma_pec_kms, sigma_lens_per_z
        The peculiar-velocity and lensing terms of the variance, used only when
        ``dmb_includes_dispersion`` is False.

    Notes
    -----
    Vectorised: every method takes parameter arrays of one common shape (P,) (or scalars) and
    returns (P,) (or (P, n) for per-SN quantities).
    """

    def __init__(self, lcparams: pd.DataFrame, *, dmb_includes_dispersion: bool = True,
                 sigma_pec_kms: float = SIGMA_PEC_JLA_KMS,
                 sigma_lens_per_z: float = SIGMA_LENS_PER_Z) -> None:
        d = lcparams
        self.n = len(d)
        self.names = d["name"].astype(str).to_numpy()
        self.zcmb = d["zcmb"].to_numpy(dtype=float)
        self.zhel = d["zhel"].to_numpy(dtype=float)
        self.mb = d["mb"].to_numpy(dtype=float)
        self.x1 = d["x1"].to_numpy(dtype=float)
        self.c = d["color"].to_numpy(dtype=float)
        self.high_mass = (d["3rdvar"].to_numpy(dtype=float) >= HOST_MASS_STEP_LOG10)
        self.v_mb = d["dmb"].to_numpy(dtype=float) ** 2
        self.v_x1 = d["dx1"].to_numpy(dtype=float) ** 2
        self.v_c = d["dcolor"].to_numpy(dtype=float) ** 2
        self.c_m_s = d["cov_m_s"].to_numpy(dtype=float)
        self.c_m_c = d["cov_m_c"].to_numpy(dtype=float)
        self.c_s_c = d["cov_s_c"].to_numpy(dtype=float)
        self.dmb_includes_dispersion = bool(dmb_includes_dispersion)
        if self.dmb_includes_dispersion:
            self.v_extra = np.zeros(self.n)
        else:
            self.v_extra = ((sigma_lens_per_z * self.zcmb) ** 2
                            + (5.0 / _LN10 * sigma_pec_kms / (C_KM_S * self.zcmb)) ** 2)
        self.sigma_pec_kms = sigma_pec_kms
        self.sigma_lens_per_z = sigma_lens_per_z
        self.grid = DistanceGrid(self.zcmb)
        self._hel = np.log10(1.0 + self.zhel)

    def mu_model(self, om, ol, w=-1.0) -> np.ndarray:
        """μ_th(z_cmb, z_hel) for H0 = 70 km/s/Mpc, shape (..., n); NaN where undefined."""
        dm = self.grid.transverse_dimensionless(om, ol, w)
        with np.errstate(invalid="ignore", divide="ignore"):
            return 5.0 * (np.log10(dm * (C_KM_S / H0_REF)) + self._hel) + 25.0

    def mu_obs(self, alpha, beta, M, delta_M) -> np.ndarray:
        """Standardised μ = m_B − (M − α x1 + β c + Δ_M [host ≥ 10^10 M_sun]), (..., n)."""
        a, b, m, dm = (np.asarray(v, dtype=float)[..., None] for v in (alpha, beta, M, delta_M))
        return self.mb - (m - a * self.x1 + b * self.c + dm * self.high_mass)

    def variance(self, alpha, beta, sigma_int) -> np.ndarray:
        """Diagonal variance of μ (module notes), mag², shape (..., n)."""
        a, b, s = (np.asarray(v, dtype=float)[..., None] for v in (alpha, beta, sigma_int))
        return (self.v_mb + a**2 * self.v_x1 + b**2 * self.v_c + 2 * a * self.c_m_s
                - 2 * b * self.c_m_c - 2 * a * b * self.c_s_c + s**2 + self.v_extra)

    def chi2(self, alpha, beta, M, delta_M, sigma_int, om, ol, w=-1.0) -> np.ndarray:
        """χ² = Σ (μ − μ_th)² / σ² (∞ where the model has no distances or σ² ≤ 0)."""
        r = self.mu_obs(alpha, beta, M, delta_M) - self.mu_model(om, ol, w)
        v = self.variance(alpha, beta, sigma_int)
        with np.errstate(invalid="ignore", divide="ignore"):
            c2 = np.sum(r * r / v, axis=-1)
        ok = np.isfinite(c2) & np.all(v > 0, axis=-1)
        return np.where(ok, c2, np.inf)

    def hubble_table(self, alpha: float, beta: float, M: float, delta_M: float,
                     sigma_int: float) -> pd.DataFrame:
        """Standardised Hubble table ``sn_id, z, mu, mu_err`` (+ ``zhel, high_mass``), mag."""
        return pd.DataFrame({
            "sn_id": self.names, "z": self.zcmb, "mu": self.mu_obs(alpha, beta, M, delta_M),
            "mu_err": np.sqrt(self.variance(alpha, beta, sigma_int)), "zhel": self.zhel,
            "high_mass": self.high_mass})


@dataclass
class JLAFitResult:
    """Outcome of :func:`fit_jla`: best-fit values and Hesse errors at the chosen σ_int.

    Attributes
    ----------
    model
        Cosmological model (a key of :data:`rediscovery.cosmo.sn.hubble.MODELS`).
    values, errors
        ``alpha, beta, M, delta_M`` and the model's parameters (``Om`` [, ``OL`` | ``w``]).
    sigma_int, sigma_int_range, sigma_int_err
        Intrinsic dispersion (mag) with χ²_min/dof = 1 (0 if χ²_min/dof < 1 without it), the
        range of σ_int for χ²_min = dof ± √(2 dof), and half that range.
    dmb_includes_dispersion
        How the variance was built (:class:`JLALikelihood`).
    chi2, dof, n_sne, n_high_mass
        χ² at the best fit, its degrees of freedom, the sample size and the SNe with a host
        of log10 M* ≥ 10.
    covariance
        Hesse covariance of the fitted parameters (``names`` order).
    """

    model: str
    values: dict[str, float]
    errors: dict[str, float]
    sigma_int: float
    sigma_int_range: tuple[float, float]
    sigma_int_err: float
    chi2: float
    dof: int
    n_sne: int
    n_high_mass: int
    names: list[str]
    covariance: np.ndarray
    dmb_includes_dispersion: bool = True
    chi2_no_sigma_int: float = float("nan")
    sigma_pec_kms: float = SIGMA_PEC_JLA_KMS
    sigma_lens_per_z: float = SIGMA_LENS_PER_Z
    extra: dict[str, Any] = field(default_factory=dict)

    def compare_published(self) -> dict[str, dict[str, float]]:
        """Differences from Betoule et al. 2014 (:data:`BETOULE2014`) in units of the quadrature
        sum of both errors, for the parameters both report."""
        out = {}
        for k, (val, err) in BETOULE2014.items():
            if k in self.values:
                sig = float(np.hypot(err, self.errors[k]))
                out[k] = {"ours": self.values[k], "ours_err": self.errors[k],
                          "published": val, "published_err": err,
                          "pull": (self.values[k] - val) / sig}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "values": self.values, "errors": self.errors,
                "sigma_int": self.sigma_int, "sigma_int_err": self.sigma_int_err,
                "sigma_int_range": list(self.sigma_int_range),
                "sigma_int_method": "chi2/dof = 1 (JLA convention)",
                "chi2_no_sigma_int": self.chi2_no_sigma_int,
                "dmb_includes_dispersion": self.dmb_includes_dispersion,
                "chi2": self.chi2, "dof": self.dof, "n_sne": self.n_sne,
                "n_high_mass": self.n_high_mass, "host_mass_step_log10": HOST_MASS_STEP_LOG10,
                "sigma_pec_kms": None if self.dmb_includes_dispersion else self.sigma_pec_kms,
                "sigma_lens_per_z": (None if self.dmb_includes_dispersion
                                     else self.sigma_lens_per_z),
                "covariance": "diagonal (dmb, dx1, dcolor and their covariances)",
                "h0_for_M": H0_REF, "names": self.names,
                "hesse_covariance": self.covariance.tolist(),
                "published_betoule2014": self.compare_published(), **self.extra}


def _names(model: str) -> list[str]:
    if model not in MODELS:
        raise ConfigError(f"unknown cosmological model {model!r}; expected one of {list(MODELS)}")
    return [*_NUIS, *MODELS[model]["names"]]


def _chi2_of(like: JLALikelihood, model: str, theta: np.ndarray,
             sigma_int: float) -> np.ndarray:
    """χ² for parameter rows ``theta`` (P, 4 + ncosmo) in :func:`_names` order."""
    theta = np.atleast_2d(theta)
    om, ol, w = model_params(model, theta[:, 4:])
    return like.chi2(theta[:, 0], theta[:, 1], theta[:, 2], theta[:, 3], sigma_int, om, ol, w)


def _fit_fixed_sigma(like: JLALikelihood, model: str, sigma_int: float,
                     start: np.ndarray) -> Any:
    from iminuit import Minuit

    names = _names(model)
    spec = MODELS[model]

    def f(*p: float) -> float:
        c = float(_chi2_of(like, model, np.asarray(p)[None, :], sigma_int)[0])
        return c if np.isfinite(c) else 1e30

    m = Minuit(f, *start, name=names)
    m.errordef = Minuit.LEAST_SQUARES
    for n, prior in zip(names, [*JLA_NUISANCE.values(), *spec["priors"]], strict=True):
        m.limits[n] = (prior.lo, prior.hi)
    m.migrad()
    if not m.valid:
        m.migrad()
    if not m.valid:
        raise ConvergenceError(f"JLA {model} fit at sigma_int = {sigma_int:.4f} did not "
                               "converge", fmin=str(m.fmin))
    return m


def fit_jla(lcparams: pd.DataFrame, model: str = "flat-lcdm", *,
            sigma_int: float | None = None, dmb_includes_dispersion: bool = True,
            sigma_pec_kms: float = SIGMA_PEC_JLA_KMS,
            sigma_lens_per_z: float = SIGMA_LENS_PER_Z) -> JLAFitResult:
    """Fit α, β, M_B^1, Δ_M and the cosmology to the JLA light-curve parameters.

    Parameters
    ----------
    lcparams
        From :func:`~rediscovery.cosmo.sn.io.read_jla_lcparams`.
    model
        ``"flat-lcdm"`` (Ω_m), ``"lcdm"`` (Ω_m, Ω_Λ) or ``"flat-wcdm"`` (Ω_m, w).
    sigma_int
        Fixed intrinsic dispersion (mag); default: solved for χ²_min/dof = 1 (module notes).
    dmb_includes_dispersion, sigma_pec_kms, sigma_lens_per_z
        How the variance is built (:class:`JLALikelihood`).

    Returns
    -------
    JLAFitResult
        Best fit (iminuit Migrad) with Hesse errors at the final σ_int.
    """
    from scipy.optimize import brentq

    names = _names(model)
    if len(lcparams) <= len(names) + 1:
        raise InputError(f"{len(lcparams)} supernovae for {len(names)} parameters and "
                         "sigma_int: too few")
    like = JLALikelihood(lcparams, dmb_includes_dispersion=dmb_includes_dispersion,
                         sigma_pec_kms=sigma_pec_kms, sigma_lens_per_z=sigma_lens_per_z)
    dof = like.n - len(names)
    start = np.array([0.14, 3.1, -19.05, -0.05, *MODELS[model]["p0"]])
    cache: dict[float, Any] = {}

    def chi2_min(s: float) -> float:
        if s not in cache:
            cache[s] = _fit_fixed_sigma(like, model, s, start)
        return float(cache[s].fval)

    def solve(target: float, lo: float = 0.0, hi: float = 0.5) -> float:
        if chi2_min(lo) <= target:
            return lo
        if chi2_min(hi) > target:
            raise ConvergenceError(f"chi2_min/dof > {target / dof:.2f} even with sigma_int = "
                                   f"{hi}: the errors do not describe this sample",
                                   chi2=chi2_min(hi), dof=dof)
        return float(brentq(lambda s: chi2_min(s) - target, lo, hi, xtol=1e-5))

    if sigma_int is None:
        sig = solve(float(dof))
        half = np.sqrt(2.0 * dof)
        s_lo, s_hi = solve(dof + half), solve(dof - half)
    else:
        if not 0 <= sigma_int < 2:
            raise ConfigError(f"sigma_int {sigma_int}: expected a dispersion in [0, 2) mag")
        sig = s_lo = s_hi = float(sigma_int)
    m = _fit_fixed_sigma(like, model, sig, start)
    m.hesse()
    values = {n: float(m.values[n]) for n in names}
    errors = {n: float(m.errors[n]) for n in names}
    log.info("JLA %s: alpha=%.3f±%.3f beta=%.3f±%.3f Om=%.3f±%.3f sigma_int=%.3f", model,
             values["alpha"], errors["alpha"], values["beta"], errors["beta"], values["Om"],
             errors["Om"], sig)
    return JLAFitResult(model=model, values=values, errors=errors, sigma_int=sig,
                        sigma_int_range=(float(s_lo), float(s_hi)),
                        sigma_int_err=0.5 * float(s_hi - s_lo), chi2=float(m.fval), dof=int(dof),
                        n_sne=like.n, n_high_mass=int(like.high_mass.sum()), names=names,
                        covariance=np.array(m.covariance),
                        dmb_includes_dispersion=like.dmb_includes_dispersion,
                        chi2_no_sigma_int=chi2_min(0.0), sigma_pec_kms=sigma_pec_kms,
                        sigma_lens_per_z=sigma_lens_per_z)


def sample_jla(lcparams: pd.DataFrame, fit: JLAFitResult, *, seed: int = 0,
               n_walkers: int = 32, n_steps: int = 6000, progress: bool = True,
               rhat_threshold: float = 0.01) -> MCMCResult:
    """Sample exp(−χ²/2) over (α, β, M_B^1, Δ_M, cosmology) at the fitted σ_int with emcee.

    Flat priors: :data:`JLA_NUISANCE` and the model's (:data:`~rediscovery.cosmo.sn.hubble.MODELS`).
    The walkers start in a ball of a tenth of the Hesse errors around the best fit.
    """
    model = fit.model
    names = _names(model)
    like = JLALikelihood(lcparams, dmb_includes_dispersion=fit.dmb_includes_dispersion,
                         sigma_pec_kms=fit.sigma_pec_kms, sigma_lens_per_z=fit.sigma_lens_per_z)
    spec = MODELS[model]

    def log_like(theta: np.ndarray) -> np.ndarray:
        return -0.5 * _chi2_of(like, model, theta, fit.sigma_int)

    center = np.array([fit.values[n] for n in names])
    scale = np.array([max(fit.errors[n], 1e-4) for n in names]) * 0.1
    labels = [r"\alpha", r"\beta", "M_B^1", r"\Delta_M", *spec["labels"]]
    return run_mcmc(log_like, center, scale, names=names, seed=seed, n_walkers=n_walkers,
                    n_steps=n_steps, progress=progress,
                    priors=[*JLA_NUISANCE.values(), *spec["priors"]], vectorize=True,
                    labels=labels, rhat_threshold=rhat_threshold, desc=f"JLA {model} MCMC")

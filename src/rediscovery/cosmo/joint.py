r"""Joint supernova + CMB fit that breaks the Ω_m–Ω_Λ degeneracy.

Supernovae measure *relative* distances at z ≲ 1.4 and so constrain roughly
:math:`0.8\,\Omega_m - 0.6\,\Omega_\Lambda` (Perlmutter et al. 1999); the CMB measures the
angle subtended by the sound horizon at last scattering, i.e. (for a given matter and baryon
density) the distance to z* ≈ 1090, which depends mostly on the curvature. Here the CMB
enters through the standard *compressed* likelihood, the Planck 2018 distance priors (Chen,
Huang & Wang 2019, JCAP 02, 028, arXiv:1808.05724); the CMB power spectrum itself enters in
:mod:`rediscovery.cosmo.joint_spectrum` (the ``joint`` stage of ``cosmo run``):

.. math::

    R = \sqrt{\Omega_m H_0^2}\,\frac{D_M(z_*)}{c}, \qquad
    \ell_A = \pi \frac{D_M(z_*)}{r_s(z_*)}, \qquad \omega_b = \Omega_b h^2 ,

with the transverse comoving distance :math:`D_M` (curvature included,
:mod:`rediscovery.cosmo.cosmology`), the comoving sound horizon

.. math::

    r_s(z) = \int_z^\infty \frac{c_s(z')\,dz'}{H(z')}, \qquad
    c_s = \frac{c}{\sqrt{3(1 + R_b)}}, \qquad R_b = \frac{3\rho_b}{4\rho_\gamma}
        = \frac{3\omega_b}{4\omega_\gamma}\,a ,

and the decoupling redshift :math:`z_*` from the Hu & Sugiyama (1996, ApJ 471, 542, eq. E1)
fitting formula (as in Chen et al. 2019, sect. 2)

.. math::

    z_* = 1048\,[1 + 0.00124\,\omega_b^{-0.738}]\,[1 + g_1 \omega_m^{g_2}], \quad
    g_1 = \frac{0.0783\,\omega_b^{-0.238}}{1 + 39.5\,\omega_b^{0.763}}, \quad
    g_2 = \frac{0.560}{1 + 21.1\,\omega_b^{1.81}} .

Radiation matters at z ~ 1000 (Ω_r/Ω_m (1+z*) ≈ 0.3): the expansion rate here always includes
photons (T_CMB = 2.7255 K) and N_eff = 3.046 massless neutrinos, with
:math:`\Omega_r = \omega_r / h^2` per sample, and :math:`\Omega_k = 1 - \Omega_m - \Omega_\Lambda
- \Omega_r`. Validated against CAMB (tests/cosmo/test_joint.py, docs/cosmo-joint.md).

Why not CAMB/astropy inside the likelihood: one CAMB background call costs ~0.1–1 s and astropy
integrates one model at a time; here every walker of an ensemble is evaluated in one vectorised
Gauss-Legendre quadrature (~10⁻⁴ s per model).

The joint χ² is the sum of the supernova χ² with the magnitude offset marginalised analytically
(:class:`rediscovery.cosmo.sn.hubble.HubbleLikelihood`; the SNe then carry no information on
H0) and the distance-prior χ², which fixes H0 through Ω_m h² and ω_b.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rediscovery.constants import C_KM_S, N_EFF, T_CMB
from rediscovery.core.errors import ConfigError, InputError
from rediscovery.cosmo.cosmology import (  # one definition, re-exported
    cmb_distances,
    omega_radiation,
    sound_horizon,
    z_star,
)
from rediscovery.cosmo.mcmc import MCMCResult, Uniform, run_mcmc
from rediscovery.cosmo.sn.hubble import HubbleLikelihood
from rediscovery.cosmo.sn.io import HubbleTable

__all__ = [
    "CMB_SOURCES",
    "JOINT_MODELS",
    "PLANCK2018_DISTANCE_PRIORS",
    "PLANCK2018_OMBH2",
    "CMBDistancePriorLikelihood",
    "JointLikelihood",
    "cmb_distances",
    "distance_priors",
    "fit_cmb_only",
    "fit_joint",
    "joint_params",
    "separate_fit_summary",
    "sound_horizon",
    "z_star",
]

log = logging.getLogger(__name__)


#: Planck 2018 TT,TE,EE+lowE distance priors for base ΛCDM: Chen, Huang & Wang 2019 (JCAP 02,
#: 028, arXiv:1808.05724), Table I (ΛCDM block): means, 1σ errors (ℓ_A: +0.089/−0.090,
#: symmetrised to 0.0895) and the normalised covariance (correlation) matrix of (R, ℓ_A, ω_b).
#: The table's 4th column (correlation with a fourth parameter) is dropped, which for a
#: Gaussian is the marginal. The authors recommend these ΛCDM-derived priors for constraining
#: curved and dark-energy models. Cross-check (tested): inverting the inverse covariance of
#: their CosmoMC module (94392.3971, −1360.4913, 1664517.2916; 161.4349, 3671.6180;
#: 79719182.5162) gives σ = (0.00462, 0.0889, 0.000149) and correlations (0.463, −0.660,
#: −0.327), i.e. this table to its rounding.
PLANCK2018_DISTANCE_PRIORS: dict[str, Any] = {
    "names": ["R", "lA", "ombh2"],
    "mean": [1.7502, 301.471, 0.02236],
    "sigma": [0.0046, 0.0895, 0.00015],
    "corr": [[1.0, 0.46, -0.66],
             [0.46, 1.0, -0.33],
             [-0.66, -0.33, 1.0]],
    "reference": "Chen, Huang & Wang 2019, JCAP 02 (2019) 028, arXiv:1808.05724, Table I "
                 "(Planck 2018 TT,TE,EE+lowE, LCDM)",
}

#: Fiducial physical baryon density ω_b = Ω_b h²: the Planck 2018 mean of the distance priors
#: above (Chen, Huang & Wang 2019, Table I). The baryon density of simulated universes and the
#: starting point of the joint fits.
PLANCK2018_OMBH2: float = PLANCK2018_DISTANCE_PRIORS["mean"][2]

#: Names accepted by ``--cmb`` / :meth:`CMBDistancePriorLikelihood.from_name`.
CMB_SOURCES = ("planck2018-distance-priors",)

#: Joint-fit models: sampled parameters, flat priors, plot labels, starting point and
#: starting-ball width. ω_m = Ω_m h² is sampled instead of H0 because the CMB pins it: in
#: (H0, Ω_m, Ω_Λ) the posterior is a curved banana (emcee autocorrelation time ~370 steps on
#: Union2.1 + Planck), in (ω_m, Ω_m, Ω_k) it is nearly Gaussian (τ ~ 55). H0 = 100 √(ω_m/Ω_m)
#: and Ω_Λ = 1 − Ω_m − Ω_k − Ω_r are derived (:func:`joint_params`). The priors are flat in the
#: sampled parameters.
JOINT_MODELS: dict[str, dict[str, Any]] = {
    "lcdm": {
        "names": ["ommh2", "Om", "Ok", "ombh2"],
        "priors": [Uniform(0.05, 0.30), Uniform(0.05, 1.0), Uniform(-0.5, 0.5),
                   Uniform(0.015, 0.03)],
        "labels": [r"\Omega_m h^2", r"\Omega_m", r"\Omega_k", r"\omega_b"],
        "p0": [0.143, 0.315, 0.0, PLANCK2018_OMBH2],
        "scale": [0.001, 0.01, 0.003, 0.0001],
    },
    "wcdm": {
        "names": ["ommh2", "Om", "w", "ombh2"],
        "priors": [Uniform(0.05, 0.30), Uniform(0.05, 1.0), Uniform(-2.5, -0.3),
                   Uniform(0.015, 0.03)],
        "labels": [r"\Omega_m h^2", r"\Omega_m", "w", r"\omega_b"],
        "p0": [0.143, 0.315, -1.0, PLANCK2018_OMBH2],
        "scale": [0.001, 0.01, 0.03, 0.0001],
    },
}

def distance_priors(h0, om, ol, ob_h2, w=-1.0, *, tcmb0: float = T_CMB,
                    n_eff: float = N_EFF) -> np.ndarray:
    r"""The CMB distance-prior vector (R, ℓ_A, ω_b) (Chen, Huang & Wang 2019, eqs. 2–3).

    :math:`R = \sqrt{\Omega_m}\,H_0 D_M(z_*)/c`, :math:`\ell_A = \pi D_M(z_*)/r_s(z_*)`.

    Parameters
    ----------
    h0, om, ol, ob_h2, w, tcmb0, n_eff
        See :func:`cmb_distances`; arrays broadcast (e.g. all walkers of an MCMC).

    Returns
    -------
    ndarray
        Shape ``broadcast.shape + (3,)``: (R, ℓ_A, ω_b); NaN for unphysical models.

    Examples
    --------
    At the Planck 2018 best fit (ℓ_A is 0.28 % above the published prior mean, see
    docs/cosmo-joint.md, "Known convention difference"):

    >>> distance_priors(67.36, 0.3153, 0.6847, 0.02237).round(4).tolist()
    [1.7494, 302.3097, 0.0224]
    """
    d = cmb_distances(h0, om, ol, ob_h2, w, tcmb0=tcmb0, n_eff=n_eff)
    h0b = np.broadcast_to(np.asarray(h0, dtype=float), d["D_M"].shape)
    omb = np.broadcast_to(np.asarray(om, dtype=float), d["D_M"].shape)
    r = np.sqrt(omb) * h0b * d["D_M"] / C_KM_S
    la = np.pi * d["D_M"] / d["r_s"]
    ob = np.broadcast_to(np.asarray(ob_h2, dtype=float), r.shape)
    return np.stack([r, la, ob], axis=-1)


@dataclass(frozen=True)
class CMBDistancePriorLikelihood:
    r"""Gaussian likelihood of the CMB distance priors (R, ℓ_A, ω_b).

    :math:`\chi^2 = (x - d)^T C^{-1} (x - d)` with the model vector x from
    :func:`distance_priors` (Chen, Huang & Wang 2019, eq. 4).

    Parameters
    ----------
    mean
        Data vector d = (R, ℓ_A, ω_b).
    cov
        Its 3×3 covariance (symmetric positive definite; checked).
    name
        Label of the data set (stored in the outputs).
    """

    mean: np.ndarray
    cov: np.ndarray
    name: str = "custom"
    _icov: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        mean = np.asarray(self.mean, dtype=float).reshape(-1)
        cov = np.asarray(self.cov, dtype=float)
        if mean.shape != (3,) or cov.shape != (3, 3):
            raise InputError(f"distance priors need a mean of 3 values (R, lA, ombh2) and a "
                             f"3x3 covariance; got {mean.shape} and {cov.shape}",
                             column="mean/cov")
        if not np.allclose(cov, cov.T, rtol=1e-10, atol=0):
            raise InputError("distance-prior covariance is not symmetric", column="cov")
        if np.any(np.linalg.eigvalsh(cov) <= 0):
            raise InputError("distance-prior covariance is not positive definite",
                             column="cov")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "cov", cov)
        object.__setattr__(self, "_icov", np.linalg.inv(cov))

    @classmethod
    def planck2018(cls) -> CMBDistancePriorLikelihood:
        """Planck 2018 TT,TE,EE+lowE ΛCDM distance priors (:data:`PLANCK2018_DISTANCE_PRIORS`)."""
        p = PLANCK2018_DISTANCE_PRIORS
        sig = np.asarray(p["sigma"])
        cov = np.asarray(p["corr"]) * np.outer(sig, sig)
        return cls(np.asarray(p["mean"]), cov, name="planck2018-distance-priors")

    @classmethod
    def from_name(cls, name: str) -> CMBDistancePriorLikelihood:
        """The built-in data set ``name`` (one of :data:`CMB_SOURCES`)."""
        if name == "planck2018-distance-priors":
            return cls.planck2018()
        raise ConfigError(f"unknown CMB data {name!r}; expected one of {list(CMB_SOURCES)}")

    @property
    def sigma(self) -> np.ndarray:
        """1σ errors of (R, ℓ_A, ω_b)."""
        return np.sqrt(np.diag(self.cov))

    def chi2_vector(self, x: np.ndarray) -> np.ndarray:
        """χ² of model vectors ``x`` (..., 3); +inf where x is not finite."""
        r = np.asarray(x, dtype=float) - self.mean
        c2 = np.einsum("...i,ij,...j->...", r, self._icov, r)
        return np.where(np.isfinite(c2), c2, np.inf)

    def chi2(self, h0, om, ol, ob_h2, w=-1.0) -> np.ndarray:
        """χ² of cosmologies (arrays broadcast); see :func:`distance_priors`."""
        return self.chi2_vector(distance_priors(h0, om, ol, ob_h2, w))

    def simulate(self, truth: dict[str, float], seed: int) -> CMBDistancePriorLikelihood:
        """A mock data set: d ~ N(x(truth), C) with this covariance.

        Parameters
        ----------
        truth
            ``{"H0", "Om", "OL", "ombh2"}`` (and optionally ``"w"``).
        seed
            Seed of the numpy Generator.
        """
        missing = [k for k in ("H0", "Om", "OL", "ombh2") if k not in truth]
        if missing:
            raise InputError(f"truth lacks {missing}", column=",".join(missing))
        x = distance_priors(truth["H0"], truth["Om"], truth["OL"], truth["ombh2"],
                            truth.get("w", -1.0))
        if not np.all(np.isfinite(x)):
            raise InputError(f"truth {truth} has no valid CMB distances", column="truth")
        rng = np.random.default_rng(seed)
        d = rng.multivariate_normal(x, self.cov)
        return CMBDistancePriorLikelihood(d, self.cov, name=f"simulated(seed={seed})")


def joint_params(model: str, theta: np.ndarray) -> dict[str, np.ndarray]:
    """Physical parameters from sampled ones ``theta`` (..., ndim) of ``model``.

    Returns
    -------
    dict
        ``H0`` (km/s/Mpc) = 100 √(ω_m/Ω_m), ``Om``, ``OL`` = 1 − Ω_m − Ω_k − Ω_r, ``Ok``,
        ``ombh2``, ``ommh2`` and ``w`` arrays (``wcdm`` is flat: Ω_k = 0).
    """
    if model not in JOINT_MODELS:
        raise ConfigError(f"unknown joint model {model!r}; expected one of "
                          f"{list(JOINT_MODELS)}")
    t = np.asarray(theta, dtype=float)
    wm, om, ob = t[..., 0], t[..., 1], t[..., 3]
    with np.errstate(invalid="ignore", divide="ignore"):
        h0 = 100.0 * np.sqrt(wm / om)
    orad = omega_radiation(100.0, T_CMB, N_EFF) / (h0 / 100.0) ** 2
    if model == "lcdm":
        ok, w = t[..., 2], np.full_like(om, -1.0)
    else:
        ok, w = np.zeros_like(om), t[..., 2]
    return {"H0": h0, "Om": om, "OL": 1.0 - om - ok - orad, "Ok": ok, "ombh2": ob,
            "ommh2": wm, "w": w}


class JointLikelihood:
    """Sum of the SN (offset-marginalised) and CMB distance-prior χ².

    Parameters
    ----------
    table
        SN Hubble table, or None (CMB only).
    cmb
        Distance-prior likelihood, or None (SN only: H0 and ω_b then unconstrained).
    model
        One of :data:`JOINT_MODELS`: ``"lcdm"`` (curved ΛCDM: ω_m, Ω_m, Ω_k, ω_b) or
        ``"wcdm"`` (flat wCDM: ω_m, Ω_m, w, ω_b).
    """

    def __init__(self, table: HubbleTable | None, cmb: CMBDistancePriorLikelihood | None,
                 model: str = "lcdm") -> None:
        if table is None and cmb is None:
            raise ConfigError("JointLikelihood needs a Hubble table, CMB priors, or both")
        if model not in JOINT_MODELS:
            raise ConfigError(f"unknown joint model {model!r}; expected one of "
                              f"{list(JOINT_MODELS)}")
        self.model = model
        self.sn = None if table is None else HubbleLikelihood(table)
        self.cmb = cmb

    def chi2(self, theta: np.ndarray) -> np.ndarray:
        """Total χ² of parameter rows ``theta`` (P, ndim) → (P,); +inf if unphysical."""
        p = joint_params(self.model, np.atleast_2d(theta))
        total = np.zeros(p["Om"].shape)
        if self.sn is not None:
            total = total + self.sn.chi2(p["Om"], p["OL"], p["w"])
        if self.cmb is not None:
            total = total + self.cmb.chi2(p["H0"], p["Om"], p["OL"], p["ombh2"], p["w"])
        return total

    def log_like(self, theta: np.ndarray) -> np.ndarray:
        """−χ²/2 (vectorised, for :func:`~rediscovery.cosmo.mcmc.run_mcmc`)."""
        return -0.5 * self.chi2(theta)


def _best_start(like: JointLikelihood, spec: dict[str, Any]) -> np.ndarray:
    """Nelder-Mead minimum of χ² from the model's default start (inside the priors)."""
    from scipy.optimize import minimize

    lo = np.array([p.lo for p in spec["priors"]])
    hi = np.array([p.hi for p in spec["priors"]])
    scale = np.asarray(spec["scale"])

    def f(u: np.ndarray) -> float:
        x = np.asarray(spec["p0"]) + u * scale
        if np.any(x <= lo) or np.any(x >= hi):
            return 1e30
        c = float(like.chi2(x[None, :])[0])
        return c if np.isfinite(c) else 1e30

    res = minimize(f, np.zeros(len(scale)), method="Nelder-Mead",
                   options={"xatol": 1e-3, "fatol": 1e-4, "maxiter": 4000})
    return np.asarray(spec["p0"]) + res.x * scale


def fit_joint(table: HubbleTable | None, cmb: CMBDistancePriorLikelihood | str | None =
              "planck2018-distance-priors", *, model: str = "lcdm", seed: int = 0,
              n_walkers: int = 32, n_steps: int = 12000, progress: bool = True,
              rhat_threshold: float = 0.01) -> MCMCResult:
    """MCMC of the joint SN + CMB distance-prior posterior.

    Parameters
    ----------
    table
        SN Hubble table (None: CMB only).
    cmb
        :class:`CMBDistancePriorLikelihood`, a name from :data:`CMB_SOURCES`, or None (SN only).
    model
        ``"lcdm"`` (curved ΛCDM) or ``"wcdm"`` (flat wCDM); flat priors in
        :data:`JOINT_MODELS`.
    seed, n_walkers, n_steps, progress, rhat_threshold
        Passed to :func:`~rediscovery.cosmo.mcmc.run_mcmc` (seeded, reproducible).

    Returns
    -------
    MCMCResult
        Sampled parameters of the model (:data:`JOINT_MODELS`); H0 and Ω_Λ follow from
        :func:`joint_params`. The walkers start around the χ² minimum found by Nelder-Mead.
    """
    if isinstance(cmb, str):
        cmb = CMBDistancePriorLikelihood.from_name(cmb)
    like = JointLikelihood(table, cmb, model)
    spec = JOINT_MODELS[model]
    start = _best_start(like, spec)
    parts = [n for n, v in (("SN", table), ("CMB", cmb)) if v is not None]
    log.info("joint %s fit (%s): start %s", model, "+".join(parts), start.tolist())
    return run_mcmc(like.log_like, start, np.asarray(spec["scale"]),
                    names=spec["names"], seed=seed, n_walkers=n_walkers, n_steps=n_steps,
                    progress=progress, priors=spec["priors"], vectorize=True,
                    labels=spec["labels"], rhat_threshold=rhat_threshold,
                    desc=f"{'+'.join(parts)} {model} MCMC")


def fit_cmb_only(cmb: CMBDistancePriorLikelihood, *, model: str = "lcdm", seed: int = 0,
                 n_walkers: int = 32, n_steps: int = 12000,
                 progress: bool = True) -> MCMCResult:
    """The CMB-only chain drawn beside the joint fit in the (Ω_m, Ω_Λ) plane (illustration).

    With H0 free the distance priors alone constrain a thin degeneracy line that runs into the
    prior bounds, so this chain is rarely "converged". Its convergence warnings (ours and
    emcee's) would read as a failure of the joint fit and are silenced here; the result still
    carries ``converged`` and ``messages``.
    """
    loggers = [logging.getLogger(n) for n in ("rediscovery.cosmo.mcmc", "emcee")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        return fit_joint(None, cmb, model=model, seed=seed, n_walkers=n_walkers,
                         n_steps=n_steps, progress=progress)
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def separate_fit_summary(model: str, result: MCMCResult) -> dict[str, Any]:
    """``converged`` and the mean/std of Ω_m, Ω_Λ, Ω_k of a single-probe fit (for the JSON)."""
    p = joint_params(model, result.samples)
    return {"converged": bool(result.converged),
            **{k: {"mean": float(p[k].mean()), "std": float(p[k].std(ddof=1))}
               for k in ("Om", "OL", "Ok")}}

r"""Simulate SN Ia light curves in a universe with given or hidden (H0, Ω_m, Ω_Λ).

The population (defaults in :class:`SNPopulation`) follows the Tripp relation
(Tripp 1998; Betoule et al. 2014 eq. 4) in reverse:

.. math::

    m_B = \mu(z; H_0, \Omega_m, \Omega_\Lambda) + M - \alpha x_1 + \beta c
          + \delta_\mathrm{int},\quad x_1 \sim N(0, 1),\ c \sim N(0, 0.1^2),\
          \delta_\mathrm{int} \sim N(0, \sigma_\mathrm{int}^2)

with α = 0.14, β = 3.1 (JLA: 0.141, 3.10), σ_int = 0.1 mag and M = −19.25 (rest-frame B, AB;
close to the Cepheid-calibrated value of Riess et al. 2022). m_B sets the SALT2 x0
(:func:`~rediscovery.cosmo.sn.salt2.x0_from_mb`).

Redshifts: a low-z sample (``low_z_fraction``, 0.01 < z < 0.1) and a survey sample up to
``z_max``, both drawn from the volumetric rate :math:`r(z) \propto (1+z)^{1.5}` (Dilday et
al. 2010) times the comoving volume :math:`dV/dz \propto D_M^2/E(z)` and the time dilation
1/(1+z). The observed redshift includes a peculiar velocity (σ_v = 300 km/s).

Observations: each SN has a peak date t0 uniform in a season; it is observed every
``cadence`` days (± jitter) in each of the Bessell B, V, R, I bands between rest-frame
phases −15 and +45 days, with a per-band AB zero point; flux errors are sky noise set by the
5σ limiting magnitude plus Poisson noise (gain in counts per flux unit). Bands that the SALT2
model does not cover at that redshift are not observed.

No selection is applied (no Malmquist bias): every simulated SN is written.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.constants import C_KM_S
from rediscovery.core.checks import require_memory, require_parameter_in_range
from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.cosmology import DistanceGrid
from rediscovery.cosmo.sn.hubble import MODELS
from rediscovery.cosmo.sn.io import SN_Z_MAX

__all__ = [
    "ABS_MAG_B",
    "ABS_MAG_B_RANGE",
    "H0_RANGE",
    "LC_BYTES_PER_SN",
    "SALT2_ERROR_MODEL",
    "SALT2_ERROR_SCATTER",
    "SNPopulation",
    "StretchPopulation",
    "Survey",
    "draw_population",
    "draw_truth",
    "sample_redshifts",
    "simulate_hubble_table",
    "simulate_lightcurves",
    "simulate_mag_lightcurves",
    "simulate_salt2_table",
]

log = logging.getLogger(__name__)


#: Absolute magnitude M_B of a standardised SN Ia (rest-frame B, AB mag, for x1 = c = 0) in the
#: simulated universes and the default of the Tripp standardisation: -19.25, close to the
#: Cepheid-calibrated -19.253 ± 0.027 of Riess et al. 2022 (ApJL 934, L7, SH0ES).
ABS_MAG_B = -19.25
#: Calibrated absolute magnitudes accepted by ``sn-lightcurves --abs-mag``: ABS_MAG_B ± 2 mag.
#: Published calibrations differ by ~0.2 mag; 2 mag (a factor 2.5 in H0) only refuses sign,
#: band or typing errors.
ABS_MAG_B_RANGE = (ABS_MAG_B - 2.0, ABS_MAG_B + 2.0)

#: Hubble constants accepted for a simulated universe, km/s/Mpc. Every modern measurement lies
#: in 60-80; the wide range only refuses sign, unit and typing errors.
H0_RANGE = (20.0, 200.0)
#: Peak memory per simulated supernova, bytes (light curves, SALT2 evaluation): ~42 kB measured
#: with ``tracemalloc`` at 400 SNe, rounded up. Larger requests than the memory available are
#: refused up front.
LC_BYTES_PER_SN = 64_000


@dataclass(frozen=True)
class SNPopulation:
    """Standardisable-candle population (magnitudes in mag, rest-frame B, AB)."""

    abs_mag: float = ABS_MAG_B
    alpha: float = 0.14
    beta: float = 3.1
    sigma_int: float = 0.10
    x1_mean: float = 0.0
    x1_sigma: float = 1.0
    c_mean: float = 0.0
    c_sigma: float = 0.1
    sigma_v_kms: float = 300.0


@dataclass(frozen=True)
class Survey:
    """Cadence, bands, zero points and depth of the simulated observations.

    ``depth`` is the 5σ limiting magnitude per band (AB); ``zp`` the AB zero point per band;
    ``gain`` converts flux (in zero-point units) to Poisson counts.
    """

    bands: tuple[str, ...] = ("bessellb", "bessellv", "bessellr", "besselli")
    zp: tuple[float, ...] = (27.0, 27.3, 27.5, 27.2)
    depth: tuple[float, ...] = (25.0, 25.0, 25.0, 24.7)
    cadence: float = 4.0
    jitter: float = 0.5
    season_start: float = 60000.0
    season_length: float = 180.0
    phase_min: float = -15.0
    phase_max: float = 45.0
    gain: float = 1.0
    z_min: float = 0.01
    z_max: float = 0.8
    low_z_max: float = 0.1
    low_z_fraction: float = 0.2

    def __post_init__(self) -> None:
        if not (len(self.bands) == len(self.zp) == len(self.depth)):
            raise ConfigError("Survey.bands, zp and depth must have the same length")
        if not 0 < self.z_min < self.low_z_max <= self.z_max:
            raise ConfigError(f"need 0 < z_min < low_z_max <= z_max, got {self.z_min}, "
                              f"{self.low_z_max}, {self.z_max}")
        require_parameter_in_range("z_max", self.z_max, self.low_z_max, SN_Z_MAX,
                                   why="supernova redshifts")
        if self.cadence <= 0:
            raise ConfigError(f"cadence must be > 0 days, got {self.cadence}")


@dataclass
class Truth:
    """The hidden (or given) cosmology and population, written to ``truth.json``."""

    H0: float
    Om: float
    OL: float
    w: float = -1.0
    population: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    hidden: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def draw_truth(seed: int, h0: float | None = None, om: float | None = None,
               ol: float | None = None, *, flat: bool = False) -> Truth:
    """Draw the parameters not given: H0 ~ U(60, 80), Ω_m ~ U(0.2, 0.4), Ω_Λ ~ U(0.5, 0.9).

    With ``flat=True`` a missing Ω_Λ is 1 − Ω_m (a flat universe). Given values must lie in
    :data:`H0_RANGE` and in the priors of the ``lcdm`` fit
    (:data:`~rediscovery.cosmo.sn.hubble.MODELS`), so that a fit can recover them.
    """
    priors = dict(zip(MODELS["lcdm"]["names"], MODELS["lcdm"]["priors"], strict=True))
    fit_prior = "the prior of the lcdm fit, which must be able to recover it"
    for name, value, (lo, hi), why in (
            ("H0", h0, H0_RANGE, "km/s/Mpc; H0_RANGE refuses sign and unit errors"),
            ("Om", om, (priors["Om"].lo, priors["Om"].hi), fit_prior),
            ("OL", ol, (priors["OL"].lo, priors["OL"].hi), fit_prior)):
        if value is not None:
            require_parameter_in_range(name, value, lo, hi, why=why)
    rng = np.random.default_rng([seed, 7])
    drawn = [rng.uniform(60, 80), rng.uniform(0.2, 0.4), rng.uniform(0.5, 0.9)]
    if flat:
        drawn[2] = 1.0 - (om if om is not None else drawn[1])
    vals = [v if v is not None else d for v, d in zip((h0, om, ol), drawn, strict=True)]
    hidden = any(v is None for v in (h0, om, ol))
    return Truth(H0=float(vals[0]), Om=float(vals[1]), OL=float(vals[2]), seed=seed,
                 hidden=hidden)


def _rate_pdf(z: np.ndarray, om: float, ol: float) -> np.ndarray:
    from rediscovery.cosmo.cosmology import efunc

    g = DistanceGrid(z)
    dm = g.transverse_dimensionless(om, ol)
    return (1 + z) ** 1.5 * dm**2 / efunc(z, om, ol) / (1 + z)


def sample_redshifts(n: int, rng: np.random.Generator, survey: Survey, om: float,
                     ol: float) -> np.ndarray:
    """Draw ``n`` cosmological redshifts (module notes) by inverse-CDF on a fine grid."""
    n_low = round(survey.low_z_fraction * n)
    out = []
    for k, (lo, hi) in ((n_low, (survey.z_min, survey.low_z_max)),
                        (n - n_low, (survey.z_min, survey.z_max))):
        if k == 0:
            continue
        zg = np.linspace(lo, hi, 2001)
        pdf = _rate_pdf(zg, om, ol)
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(zg))])
        out.append(np.interp(rng.uniform(0, cdf[-1], k), cdf, zg))
    return rng.permutation(np.concatenate(out))


def draw_population(n: int, rng: np.random.Generator, pop: SNPopulation,
                    mu: np.ndarray) -> dict[str, np.ndarray]:
    """x1, c, δ_int and m_B (Tripp relation in reverse, module notes) for ``n`` SNe at true
    distance moduli ``mu``; shared by the light-curve and the image simulators."""
    x1 = rng.normal(pop.x1_mean, pop.x1_sigma, n)
    c = rng.normal(pop.c_mean, pop.c_sigma, n)
    dint = rng.normal(0.0, pop.sigma_int, n)
    mb = mu + pop.abs_mag - pop.alpha * x1 + pop.beta * c + dint
    return {"x1": x1, "c": c, "mb": mb, "delta_int": dint}


def _true_redshifts_and_moduli(n_sne: int, rng: np.random.Generator, surv: Survey,
                               truth: Truth) -> tuple[np.ndarray, np.ndarray]:
    """Cosmological redshifts drawn for the survey and their true distance moduli."""
    z = sample_redshifts(n_sne, rng, surv, truth.Om, truth.OL)
    return z, DistanceGrid(z).distance_modulus(truth.H0, truth.Om, truth.OL, truth.w)


def simulate_lightcurves(n_sne: int, truth: Truth, *, seed: int,
                         population: SNPopulation | None = None,
                         survey: Survey | None = None) -> tuple[pd.DataFrame, pd.DataFrame,
                                                                pd.DataFrame]:
    """Simulate SALT2 light curves for ``n_sne`` supernovae.

    Returns
    -------
    lightcurves
        ``sn_id, time, band, flux, fluxerr, zp, zpsys`` (time in MJD days).
    redshifts
        ``sn_id, z`` (observed: cosmological plus peculiar velocity).
    params
        The true per-SN parameters (``sn_id, z_cos, z, mu, t0, x0, x1, c, mb``) — part of the
        truth, written beside ``truth.json``, never read by the analysis.
    """
    from rediscovery.cosmo.sn.salt2 import salt2_model, x0_from_mb

    if n_sne < 1:
        raise ConfigError(f"n_sne must be >= 1, got {n_sne}")
    require_memory(n_sne * LC_BYTES_PER_SN, what=f"simulating {n_sne:,} supernovae",
                   hint=f"about {LC_BYTES_PER_SN // 1000} kB per supernova")
    pop = population or SNPopulation()
    surv = survey or Survey()
    rng = np.random.default_rng(seed)
    z_cos, mu = _true_redshifts_and_moduli(n_sne, rng, surv, truth)
    draws = draw_population(n_sne, rng, pop, mu)
    v_pec = rng.normal(0.0, pop.sigma_v_kms, n_sne)
    z_obs = (1 + z_cos) * (1 + v_pec / C_KM_S) - 1
    t0 = surv.season_start + rng.uniform(0, surv.season_length, n_sne)
    x0 = x0_from_mb(draws["mb"])
    ids = np.array([f"SN{i:05d}" for i in range(n_sne)])

    model = salt2_model()
    zp = dict(zip(surv.bands, surv.zp, strict=True))
    sky = {b: 10 ** (-0.4 * (d - zp[b])) / 5.0 for b, d in zip(surv.bands, surv.depth,
                                                               strict=True)}
    frames = []
    for i in range(n_sne):
        model.set(z=z_obs[i], t0=t0[i], x0=x0[i], x1=draws["x1"][i], c=draws["c"][i])
        start = t0[i] + surv.phase_min * (1 + z_obs[i])
        stop = t0[i] + surv.phase_max * (1 + z_obs[i])
        for b in surv.bands:
            if not model.bandoverlap(b):
                continue
            offset = rng.uniform(0, surv.cadence)
            times = np.arange(start + offset, stop, surv.cadence)
            times = times + rng.uniform(-surv.jitter, surv.jitter, times.size)
            times = times[(times > start) & (times < stop)]
            if times.size == 0:
                continue
            flux = model.bandflux(b, times, zp=zp[b], zpsys="ab")
            err = np.sqrt(sky[b] ** 2 + np.clip(flux, 0, None) / surv.gain)
            frames.append(pd.DataFrame({
                "sn_id": ids[i], "time": times, "band": b,
                "flux": flux + rng.normal(0, err), "fluxerr": err, "zp": zp[b], "zpsys": "ab"}))
    lcs = pd.concat(frames, ignore_index=True)
    redshifts = pd.DataFrame({"sn_id": ids, "z": z_obs})
    params = pd.DataFrame({"sn_id": ids, "z_cos": z_cos, "z": z_obs, "mu": mu, "t0": t0,
                           "x0": x0, "x1": draws["x1"], "c": draws["c"], "mb": draws["mb"],
                           "delta_int": draws["delta_int"]})
    truth.population = asdict(pop)
    log.info("simulated %d SNe, %d photometric points", n_sne, len(lcs))
    return lcs, redshifts, params


def simulate_hubble_table(n_sne: int, truth: Truth, *, seed: int, mu_err: float = 0.15,
                          survey: Survey | None = None) -> pd.DataFrame:
    """A Hubble table drawn directly from the truth (no light curves): μ ~ N(μ_true, mu_err²).

    The cheap variant used for the coverage study of the cosmology fit alone.
    """
    surv = survey or Survey()
    rng = np.random.default_rng(seed)
    z, mu = _true_redshifts_and_moduli(n_sne, rng, surv, truth)
    return pd.DataFrame({"sn_id": [f"SN{i:05d}" for i in range(n_sne)], "z": z,
                         "mu": mu + rng.normal(0, mu_err, n_sne),
                         "mu_err": np.full(n_sne, mu_err)})


#: Error model of :func:`simulate_salt2_table`: polynomial coefficients in z (constant first)
#: of the SALT2 fit errors of m_B, x1, c and of their correlations, fitted (least squares) to
#: the fits of 4,900 simulated light curves (:func:`simulate_lightcurves` with the default
#: Survey, 50 universes of 100 SNe, ``cosmo sn-lightcurves``). Each SN's errors are scattered
#: by a log-normal factor of width :data:`SALT2_ERROR_SCATTER` (the fits' spread about the mean).
SALT2_ERROR_MODEL: dict[str, tuple[float, float, float]] = {
    "mb_err": (0.0046, 0.0393, 0.0586), "x1_err": (-0.0094, 0.6888, -0.1554),
    "c_err": (0.0011, 0.0546, -0.0029), "rho_mb_c": (0.9183, -1.2882, -0.6743),
    "rho_mb_x1": (0.5099, 0.9889, -1.25), "rho_x1_c": (0.3083, 0.0835, -0.9081)}
SALT2_ERROR_SCATTER = 0.3


def simulate_salt2_table(n_sne: int, truth: Truth, *, seed: int,
                         population: SNPopulation | None = None,
                         survey: Survey | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SALT2 fit results drawn without light curves: the cheap stand-in of
    :func:`simulate_lightcurves` followed by SALT2 fits, for coverage studies of the
    standardisation and cosmology fits.

    The true (m_B, x1, c) come from the population and the hidden cosmology as in
    :func:`simulate_lightcurves` (the same redshift distribution, intrinsic scatter and
    peculiar velocities); the measured values add Gaussian errors whose size and correlations
    follow :data:`SALT2_ERROR_MODEL`. Returns the table (columns of ``salt2_fits.csv``, all
    ``quality`` True) and the true parameters (``sn_id, z_cos, z, mu, x1, c, mb``).
    """
    pop = population or SNPopulation()
    surv = survey or Survey()
    rng = np.random.default_rng(seed)
    z_cos, mu = _true_redshifts_and_moduli(n_sne, rng, surv, truth)
    draws = draw_population(n_sne, rng, pop, mu)
    z_obs = (1 + z_cos) * (1 + rng.normal(0.0, pop.sigma_v_kms, n_sne) / C_KM_S) - 1
    m = {k: np.polyval(v[::-1], z_obs) for k, v in SALT2_ERROR_MODEL.items()}
    err = np.column_stack([np.maximum(m[k], 1e-3) for k in ("mb_err", "x1_err", "c_err")])
    err *= np.exp(SALT2_ERROR_SCATTER * rng.standard_normal(err.shape))
    rho = {k: np.clip(m[k], -0.9, 0.9) for k in ("rho_mb_x1", "rho_mb_c", "rho_x1_c")}
    corr = np.empty((n_sne, 3, 3))
    corr[:, [0, 1, 2], [0, 1, 2]] = 1.0
    corr[:, 0, 1] = corr[:, 1, 0] = rho["rho_mb_x1"]
    corr[:, 0, 2] = corr[:, 2, 0] = rho["rho_mb_c"]
    corr[:, 1, 2] = corr[:, 2, 1] = rho["rho_x1_c"]
    # the three clipped correlations need not form a valid matrix: shrink towards identity
    # until the smallest eigenvalue is positive
    lam = np.linalg.eigvalsh(corr)[:, 0]
    shrink = np.where(lam < 0.05, (1.0 - 0.05) / (1.0 - lam), 1.0)
    corr[:, [0, 0, 1], [1, 2, 2]] *= shrink[:, None]
    corr[:, [1, 2, 2], [0, 0, 1]] *= shrink[:, None]
    cov = corr * err[:, :, None] * err[:, None, :]
    noise = np.einsum("nij,nj->ni", np.linalg.cholesky(cov), rng.standard_normal((n_sne, 3)))
    ids = np.array([f"SN{i:05d}" for i in range(n_sne)])
    fits = pd.DataFrame({
        "sn_id": ids, "z": z_obs, "mb": draws["mb"] + noise[:, 0],
        "x1": draws["x1"] + noise[:, 1], "c": draws["c"] + noise[:, 2], "mb_err": err[:, 0],
        "x1_err": err[:, 1], "c_err": err[:, 2], "cov_mb_x1": cov[:, 0, 1],
        "cov_mb_c": cov[:, 0, 2], "cov_x1_c": cov[:, 1, 2], "quality": True})
    params = pd.DataFrame({"sn_id": ids, "z_cos": z_cos, "z": z_obs, "mu": mu,
                           "x1": draws["x1"], "c": draws["c"], "mb": draws["mb"]})
    return fits, params


@dataclass(frozen=True)
class StretchPopulation:
    """Population of the stretch-template simulator (magnitudes in mag, rest-frame B).

    α_s = 1.4 is the SALT2 population's α = 0.14 translated with s ≈ 1 + 0.1 x1
    (:mod:`rediscovery.cosmo.sn.stretch`); s ~ N(1, 0.1²) is x1 ~ N(0, 1).
    """

    abs_mag: float = ABS_MAG_B
    alpha_s: float = 1.4
    sigma_int: float = 0.15
    s_mean: float = 1.0
    s_sigma: float = 0.1
    sigma_v_kms: float = 300.0


def simulate_mag_lightcurves(n_sne: int, truth: Truth, *, seed: int,
                             population: StretchPopulation | None = None,
                             survey: Survey | None = None) -> tuple[pd.DataFrame, pd.DataFrame,
                                                                    pd.DataFrame]:
    """Simulate single-band magnitude light curves from the stretch template (teaching data).

    m(t) = μ + M − α_s (s − 1) + δ_int + m_T((t − t0)/((1 + z) s)), observed in one band
    ``B`` every ``survey.cadence`` days (± jitter) between rest-frame phases ``phase_min`` and
    ``phase_max``, without K-corrections (the band is taken to be rest-frame B). Magnitude
    errors follow the first band's depth and zero point (sky and Poisson noise as in
    :func:`simulate_lightcurves`); points with S/N < 5 are not kept (not detected).

    Returns
    -------
    lightcurves
        ``sn_id, time, band, mag, mag_err``.
    redshifts
        ``sn_id, z``.
    params
        True ``sn_id, z_cos, z, mu, t0, s, m_peak, delta_int`` (truth, never read by fits).
    """
    from rediscovery.cosmo.sn.stretch import stretch_model_mag

    if n_sne < 1:
        raise ConfigError(f"n_sne must be >= 1, got {n_sne}")
    pop = population or StretchPopulation()
    surv = survey or Survey()
    rng = np.random.default_rng(seed)
    z_cos, mu = _true_redshifts_and_moduli(n_sne, rng, surv, truth)
    s = rng.normal(pop.s_mean, pop.s_sigma, n_sne)
    dint = rng.normal(0.0, pop.sigma_int, n_sne)
    m_peak = mu + pop.abs_mag - pop.alpha_s * (s - 1.0) + dint
    v_pec = rng.normal(0.0, pop.sigma_v_kms, n_sne)
    z_obs = (1 + z_cos) * (1 + v_pec / C_KM_S) - 1
    t0 = surv.season_start + rng.uniform(0, surv.season_length, n_sne)
    ids = np.array([f"SN{i:05d}" for i in range(n_sne)])
    zp, depth = surv.zp[0], surv.depth[0]
    sky = 10 ** (-0.4 * (depth - zp)) / 5.0
    frames = []
    for i in range(n_sne):
        start = t0[i] + surv.phase_min * (1 + z_obs[i])
        stop = t0[i] + surv.phase_max * (1 + z_obs[i])
        times = np.arange(start + rng.uniform(0, surv.cadence), stop, surv.cadence)
        times = times + rng.uniform(-surv.jitter, surv.jitter, times.size)
        times = times[(times > start) & (times < stop)]
        m_true = stretch_model_mag(times, t0[i], s[i], m_peak[i], z_obs[i])
        flux = 10 ** (-0.4 * (m_true - zp))
        snr = flux / np.sqrt(sky**2 + flux / surv.gain)
        keep = snr >= 5.0
        err = 2.5 / np.log(10.0) / snr[keep]
        frames.append(pd.DataFrame({"sn_id": ids[i], "time": times[keep], "band": "B",
                                    "mag": m_true[keep] + err * rng.standard_normal(err.size),
                                    "mag_err": err}))
    lcs = pd.concat(frames, ignore_index=True)
    redshifts = pd.DataFrame({"sn_id": ids, "z": z_obs})
    params = pd.DataFrame({"sn_id": ids, "z_cos": z_cos, "z": z_obs, "mu": mu, "t0": t0,
                           "s": s, "m_peak": m_peak, "delta_int": dint})
    truth.population = asdict(pop)
    log.info("simulated %d stretch-template SNe, %d points", n_sne, len(lcs))
    return lcs, redshifts, params

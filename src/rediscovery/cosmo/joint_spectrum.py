r"""Joint supernova + CMB power-spectrum fit of (h, Ω_m, Ω_Λ): the school exercise's final plot.

The CMB enters through its binned TT spectrum (not the compressed distance priors of
:mod:`rediscovery.cosmo.joint`): the likelihood of :class:`~rediscovery.cosmo.cmb.likelihood
.CMBLikelihood` with the curved emulator (:mod:`rediscovery.cosmo.cmb.curved`), the densities
(h, Ω_m, Ω_Λ) free and n_s, ln 10¹⁰A_s, τ (ω_b, Σm_ν in the emulator) fixed, as the school
exercise does. The supernovae add their Hubble-diagram χ² with the magnitude offset
marginalised analytically (:class:`~rediscovery.cosmo.sn.hubble.HubbleLikelihood`; they
constrain Ω_m and Ω_Λ only):

.. math::

    -2 \ln L(h, \Omega_m, \Omega_\Lambda) = \chi^2_{\rm CMB}(h, \Omega_m, \Omega_\Lambda)
        + \chi^2_{\rm SN}(\Omega_m, \Omega_\Lambda) .

Sampling reuses :func:`~rediscovery.cosmo.cmb.likelihood.fit_cmb` (emcee in the
(h, ω_m, ω_k) coordinates where the CMB's geometric-degeneracy ridge is straight) and its
starting-point search, so a joint fit and a CMB-only fit differ only by the SN term.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.cmb.io import BinnedSpectrum
from rediscovery.cosmo.cmb.likelihood import CMBFit, CMBLikelihood, find_start, fit_cmb
from rediscovery.cosmo.profile import ProfileInterval, profile_interval
from rediscovery.cosmo.sn.hubble import HubbleLikelihood
from rediscovery.cosmo.sn.io import HubbleTable

__all__ = ["JOINT_PROFILED", "SpectrumSNLikelihood", "fit_joint_spectrum", "profile_joint"]

#: The parameters whose profile-likelihood intervals :func:`profile_joint` reports.
JOINT_PROFILED = ("H0", "Om", "OL", "Ok")

log = logging.getLogger(__name__)


class SpectrumSNLikelihood(CMBLikelihood):
    """ln L of a binned CMB spectrum plus the SN Hubble diagram (same interface as
    :class:`~rediscovery.cosmo.cmb.likelihood.CMBLikelihood`).

    Parameters
    ----------
    table
        SN Hubble table (``z, mu, mu_err``).
    spectrum, theory, free, fixed, errors, weighting
        As for :class:`~rediscovery.cosmo.cmb.likelihood.CMBLikelihood`; ``free`` must contain
        ``Om`` and ``OL`` (the parameters the supernovae measure).
    """

    def __init__(
        self,
        table: HubbleTable,
        spectrum: BinnedSpectrum,
        theory: Any,
        *,
        free: Sequence[str] = ("h", "Om", "OL"),
        fixed: Mapping[str, float] | None = None,
        errors: str = "average",
        weighting: str = "uniform",
    ) -> None:
        missing = [k for k in ("Om", "OL") if k not in free]
        if missing:
            raise ConfigError(
                f"the SN + CMB spectrum fit needs Om and OL free; {missing} "
                f"missing from {list(free)}"
            )
        super().__init__(
            spectrum, theory, free=free, fixed=fixed, errors=errors, weighting=weighting
        )
        self.sn = HubbleLikelihood(table)
        self.i_om, self.i_ol = self.free.index("Om"), self.free.index("OL")

    def sn_log_like(self, thetas: np.ndarray) -> np.ndarray:
        """−χ²_SN/2 of parameter rows (n, n_free)."""
        t = np.atleast_2d(np.asarray(thetas, dtype=float))
        return -0.5 * self.sn.chi2(t[:, self.i_om], t[:, self.i_ol], -1.0)

    def log_like(self, theta: Sequence[float] | np.ndarray) -> float:
        """ln L (CMB + SN) at one free-parameter vector."""
        return super().log_like(theta) + float(self.sn_log_like(np.asarray(theta))[0])

    def log_like_many(self, thetas: np.ndarray) -> np.ndarray:
        """ln L (CMB + SN) of a batch (n, n_free); -inf outside the emulator's box."""
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        out = super().log_like_many(thetas)
        ok = np.isfinite(out)
        if ok.any():
            out[ok] = out[ok] + self.sn_log_like(thetas[ok])
        return out


def fit_joint_spectrum(
    table: HubbleTable,
    spectrum: BinnedSpectrum,
    *,
    fixed: Mapping[str, float] | None = None,
    emulator: str | None = None,
    seed: int = 0,
    n_walkers: int = 32,
    n_steps: int = 4000,
    max_steps: int | None = None,
    progress: bool = True,
) -> CMBFit:
    """MCMC of (h, Ω_m, Ω_Λ) given a Hubble table and a binned TT spectrum.

    Parameters
    ----------
    table
        SN Hubble table.
    spectrum
        Binned TT spectrum (μK²).
    fixed
        Values of the parameters held fixed (``ns``, ``ln10As``, ``tau``; default the Planck
        2018 best fit).
    emulator
        Curved-emulator file (default: the shipped one).
    seed, n_walkers, n_steps, max_steps, progress
        Passed to :func:`~rediscovery.cosmo.cmb.likelihood.fit_cmb` (``max_steps``: extend an
        unconverged chain up to this many steps).

    Returns
    -------
    CMBFit
        As :func:`~rediscovery.cosmo.cmb.likelihood.fit_cmb_spectrum`; ``derived_density()``
        gives Ω_k and H0.
    """
    from rediscovery.cosmo.cmb.curved import load_curved_emulator

    lk = SpectrumSNLikelihood(table, spectrum, load_curved_emulator(emulator), fixed=fixed)
    start = find_start(lk, seed=seed)
    log.info("SN + CMB spectrum fit: start %s", start)
    return fit_cmb(
        lk,
        seed=seed,
        n_walkers=n_walkers,
        n_steps=n_steps,
        progress=progress,
        start=start,
        max_steps=max_steps,
    )


def profile_joint(fit: CMBFit) -> dict[str, ProfileInterval]:
    """Profile-likelihood 68 % intervals of H0, Ω_m, Ω_Λ and Ω_k of a joint (h, Ω_m, Ω_Λ) fit.

    The frequentist companion of the chain's credible intervals, as the SN fits report
    (:mod:`rediscovery.cosmo.profile`): for each parameter, −2 ln L minimised over the other
    two, the interval where it is within 1 of the minimum. Ω_k is profiled in the coordinates
    (h, Ω_m, Ω_k) with Ω_Λ = 1 − Ω_m − Ω_k − Ω_r(h); H0 is 100 h. The scan starts at the
    chain's highest-posterior sample, with steps of half the posterior's standard deviation,
    each minimisation starting on the ridge predicted by the samples' covariance (the
    likelihood is finite only inside the emulator's box, which cuts the CMB's thin
    degeneracy ridge), and stays inside the box.

    Returns
    -------
    dict
        ``{name: ProfileInterval}`` (``to_dict()`` gives ``lo68``, ``hi68`` and the prior-edge
        flags).
    """
    from rediscovery.cosmo.cosmology import omega_radiation

    lk = fit.likelihood
    if list(lk.free) != ["h", "Om", "OL"]:
        raise ConfigError(f"profile_joint needs the free parameters h, Om, OL; got {lk.free}")
    box = dict(lk.theory.box)
    s = fit.result.samples
    best = s[int(np.argmax(fit.result.log_prob))]
    omr = omega_radiation(100.0)

    def m2ll(x: np.ndarray) -> float:
        return float(-2.0 * lk.log_like_many(np.asarray(x, dtype=float)[None, :])[0])

    def to_ok(x: np.ndarray) -> np.ndarray:  # (h, Om, OL) -> (h, Om, Ok)
        return np.array([x[0], x[1], 1.0 - x[1] - x[2] - omr / x[0] ** 2])

    def m2ll_ok(y: np.ndarray) -> float:  # (h, Om, Ok)
        return m2ll(np.array([y[0], y[1], 1.0 - y[1] - y[2] - omr / y[0] ** 2]))

    bounds = [box["h"], box["Om"], box["OL"]]
    ok_samples = 1.0 - s[:, 1] - s[:, 2] - omr / s[:, 0] ** 2
    ok_bounds = (
        1.0 - box["Om"][1] - box["OL"][1] - omr / box["h"][0] ** 2,
        1.0 - box["Om"][0] - box["OL"][0],
    )
    out: dict[str, ProfileInterval] = {}
    cov = np.cov(s.T)
    for name, i in (("h", 0), ("Om", 1), ("OL", 2)):
        out[name] = profile_interval(
            m2ll, best, i, bounds, step=0.5 * float(s[:, i].std()), name=name, cov=cov
        )
    s_ok = np.column_stack([s[:, 0], s[:, 1], ok_samples])
    out["Ok"] = profile_interval(
        m2ll_ok,
        to_ok(best),
        2,
        [box["h"], box["Om"], ok_bounds],
        step=0.5 * float(ok_samples.std()),
        name="Ok",
        cov=np.cov(s_ok.T),
    )
    h = out.pop("h")
    out["H0"] = ProfileInterval(
        name="H0",
        lo=100.0 * h.lo,
        hi=100.0 * h.hi,
        lo_at_edge=h.lo_at_edge,
        hi_at_edge=h.hi_at_edge,
        t=100.0 * h.t,
        delta=h.delta,
    )
    return {k: out[k] for k in JOINT_PROFILED}

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
from rediscovery.cosmo.sn.hubble import HubbleLikelihood
from rediscovery.cosmo.sn.io import HubbleTable

__all__ = ["SpectrumSNLikelihood", "fit_joint_spectrum"]

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
    seed, n_walkers, n_steps, progress
        Passed to :func:`~rediscovery.cosmo.cmb.likelihood.fit_cmb`.

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
        lk, seed=seed, n_walkers=n_walkers, n_steps=n_steps, progress=progress, start=start
    )

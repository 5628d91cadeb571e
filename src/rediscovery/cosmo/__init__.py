"""Cosmology, owned by the joint-fit team (SN and CMB teams below): distances, MCMC, joint fit.
Reads: Hubble tables (hubble.csv, Union2.1), CMB spectra or Planck distance priors; run configs.
Writes: *_posterior.json with Parquet chains, results.json; MCMCResult and distance arrays.
"""

from __future__ import annotations

from rediscovery.cosmo.cosmology import (
    DistanceGrid,
    cmb_distances,
    comoving_distance,
    distance_modulus,
    efunc,
    luminosity_distance,
    omega_radiation,
)
from rediscovery.cosmo.joint import (
    CMBDistancePriorLikelihood,
    JointLikelihood,
    distance_priors,
    fit_cmb_only,
    fit_joint,
)
from rediscovery.cosmo.mcmc import Gaussian, MCMCResult, Uniform, run_mcmc, write_posterior

__all__ = [
    "CMBDistancePriorLikelihood",
    "DistanceGrid",
    "Gaussian",
    "JointLikelihood",
    "MCMCResult",
    "Uniform",
    "cmb_distances",
    "comoving_distance",
    "distance_modulus",
    "distance_priors",
    "efunc",
    "fit_cmb_only",
    "fit_joint",
    "luminosity_distance",
    "omega_radiation",
    "run_mcmc",
    "write_posterior",
]

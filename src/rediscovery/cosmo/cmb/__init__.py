"""CMB, owned by the CMB teams: map-making, power spectrum, and parameters (theory, emulator, fit).
Reads: spectrum.csv, Planck's binned TT text file or a three-column (ℓ, D_ℓ, σ_noise) spectrum,
bandpower covariance, emulator files (flat ΛCDM, and curved over h, Ωm, ΩΛ).
Writes: spectrum.csv, cmb_posterior.json with Parquet chains, emulator files; CMBFit, spectra.
"""

from __future__ import annotations

from rediscovery.cosmo.cmb.curved import CURVED_BOX, CurvedEmulator, load_curved_emulator
from rediscovery.cosmo.cmb.emulator import CMBEmulator, OutOfBoxError, load_emulator
from rediscovery.cosmo.cmb.io import (
    BinnedSpectrum,
    read_covariance,
    read_planck_binned,
    read_spectrum,
    read_three_column,
    write_spectrum_csv,
)
from rediscovery.cosmo.cmb.likelihood import CMBFit, CMBLikelihood, fit_cmb, fit_cmb_spectrum
from rediscovery.cosmo.cmb.theory import PLANCK2018_BEST_FIT, CAMBTheory

__all__ = [
    "CURVED_BOX",
    "PLANCK2018_BEST_FIT",
    "BinnedSpectrum",
    "CAMBTheory",
    "CMBEmulator",
    "CMBFit",
    "CMBLikelihood",
    "CurvedEmulator",
    "OutOfBoxError",
    "fit_cmb",
    "fit_cmb_spectrum",
    "load_curved_emulator",
    "load_emulator",
    "read_covariance",
    "read_planck_binned",
    "read_spectrum",
    "read_three_column",
    "write_spectrum_csv",
]

"""CMB, owned by the CMB teams: map-making, power spectrum, and parameters (theory, emulator, fit).
Reads: spectrum.csv or Planck's binned TT text file, bandpower covariance, emulator files.
Writes: spectrum.csv, cmb_posterior.json with Parquet chains, emulator files; CMBFit, spectra.
"""

from __future__ import annotations

from rediscovery.cosmo.cmb.emulator import CMBEmulator, OutOfBoxError, load_emulator
from rediscovery.cosmo.cmb.io import (
    BinnedSpectrum,
    read_covariance,
    read_planck_binned,
    read_spectrum,
    write_spectrum_csv,
)
from rediscovery.cosmo.cmb.likelihood import CMBFit, CMBLikelihood, fit_cmb
from rediscovery.cosmo.cmb.theory import PLANCK2018_BEST_FIT, CAMBTheory

__all__ = [
    "PLANCK2018_BEST_FIT",
    "BinnedSpectrum",
    "CAMBTheory",
    "CMBEmulator",
    "CMBFit",
    "CMBLikelihood",
    "OutOfBoxError",
    "fit_cmb",
    "load_emulator",
    "read_covariance",
    "read_planck_binned",
    "read_spectrum",
    "write_spectrum_csv",
]

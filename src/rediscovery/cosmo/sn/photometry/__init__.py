"""Forced photometry of supernova candidates, owned by the SN photometry team (SN2).

Reads: the survey images (``fieldNN/<band>/reference.fits``, ``epochEEE.fits``; through
:mod:`rediscovery.cosmo.sn.images`) and ``candidates.csv`` of the detection team (cand_id,
field, ra, dec, ..., host_id, z).
Writes: ``lightcurves.csv`` (sn_id = cand_id, time = MJD, band = the image's BAND, flux,
fluxerr at zp 27.5 AB, zp, zpsys) and ``redshifts.csv`` (sn_id, z from the host match), the
inputs of ``rediscovery cosmo sn-lightcurves``; a light-curve plot per candidate.

PSF photometry at the candidate's fixed position on each ZOGY difference image
(:mod:`.forced`); :mod:`.validation` compares detection and photometry with the simulator's
hidden truth (for benchmarks, tests and ``rediscovery unblind`` only).
"""

from __future__ import annotations

from rediscovery.cosmo.sn.photometry.forced import (
    LIGHTCURVE_ZP,
    LIGHTCURVE_ZPSYS,
    DifferenceEpoch,
    counts_to_flux,
    difference_epoch,
    forced_photometry,
    moffat_from_seeing,
    repair_spikes,
)

__all__ = [
    "LIGHTCURVE_ZP",
    "LIGHTCURVE_ZPSYS",
    "DifferenceEpoch",
    "counts_to_flux",
    "difference_epoch",
    "forced_photometry",
    "moffat_from_seeing",
    "repair_spikes",
]

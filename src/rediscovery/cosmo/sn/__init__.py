"""Supernovae, owned by the SN teams: detection, photometry, light curves → Hubble diagram.
Reads: SN images and catalogues (FITS, hosts.csv), lightcurves.csv, redshifts.csv, Hubble tables,
JLA light-curve parameters (jla_lcparams.txt).
Writes: lightcurves.csv, redshifts.csv, hubble.csv, tripp.json; HubbleTable, TrippResult.
"""

from __future__ import annotations

from rediscovery.cosmo.sn.hubble import (
    HubbleLikelihood,
    TrippResult,
    fit_hubble,
    fit_tripp,
    standardise,
)
from rediscovery.cosmo.sn.io import (
    HubbleTable,
    read_hubble_table,
    read_jla_lcparams,
    read_lightcurves,
    read_redshifts,
    write_csv,
)
from rediscovery.cosmo.sn.jla import JLALikelihood, fit_jla, sample_jla
from rediscovery.cosmo.sn.lightcurves import fit_lightcurves
from rediscovery.cosmo.sn.simulate import (
    SNPopulation,
    Survey,
    draw_truth,
    simulate_hubble_table,
    simulate_lightcurves,
)

__all__ = [
    "HubbleLikelihood",
    "HubbleTable",
    "JLALikelihood",
    "SNPopulation",
    "Survey",
    "TrippResult",
    "draw_truth",
    "fit_hubble",
    "fit_jla",
    "fit_lightcurves",
    "fit_tripp",
    "read_hubble_table",
    "read_jla_lcparams",
    "read_lightcurves",
    "read_redshifts",
    "sample_jla",
    "simulate_hubble_table",
    "simulate_lightcurves",
    "standardise",
    "write_csv",
]

"""Supernovae, owned by the SN teams: detection, photometry, light curves → Hubble diagram.
Reads: SN images and catalogues (FITS, hosts.csv), lightcurves.csv, redshifts.csv, Hubble tables,
JLA light-curve parameters (jla_lcparams.txt), per-SN magnitude files and 'name z' lists,
salt2_fits.csv (for the fit that samples the standardisation with the cosmology).
Writes: lightcurves.csv, redshifts.csv, hubble.csv, tripp.json | stretch.json, jla_fit.json;
HubbleTable, TrippResult.
"""

from __future__ import annotations

from rediscovery.cosmo.sn.hierarchical import HierarchicalLikelihood, fit_hierarchical
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
    read_salt2_fits,
    write_csv,
)
from rediscovery.cosmo.sn.io_magnitudes import read_mag_lightcurves, read_redshift_list
from rediscovery.cosmo.sn.jla import JLALikelihood, fit_jla, sample_jla
from rediscovery.cosmo.sn.lightcurves import fit_lightcurves
from rediscovery.cosmo.sn.simulate import (
    SNPopulation,
    StretchPopulation,
    Survey,
    draw_truth,
    simulate_hubble_table,
    simulate_lightcurves,
    simulate_mag_lightcurves,
    simulate_salt2_table,
)
from rediscovery.cosmo.sn.stretch import (
    fit_stretch_lightcurves,
    fit_stretch_standardisation,
    standardise_stretch,
)

__all__ = [
    "HierarchicalLikelihood",
    "HubbleLikelihood",
    "HubbleTable",
    "JLALikelihood",
    "SNPopulation",
    "StretchPopulation",
    "Survey",
    "TrippResult",
    "draw_truth",
    "fit_hierarchical",
    "fit_hubble",
    "fit_jla",
    "fit_lightcurves",
    "fit_stretch_lightcurves",
    "fit_stretch_standardisation",
    "fit_tripp",
    "read_hubble_table",
    "read_jla_lcparams",
    "read_lightcurves",
    "read_mag_lightcurves",
    "read_redshift_list",
    "read_redshifts",
    "read_salt2_fits",
    "sample_jla",
    "simulate_hubble_table",
    "simulate_lightcurves",
    "simulate_mag_lightcurves",
    "simulate_salt2_table",
    "standardise",
    "standardise_stretch",
    "write_csv",
]

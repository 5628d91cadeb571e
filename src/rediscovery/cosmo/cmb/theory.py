"""Theory CMB power spectra from CAMB, in μK², for ΛCDM with optional curvature.

CAMB (Lewis, Challinor & Lasenby 2000, ApJ 538, 473) does the physics; this module only fixes
a parameter convention, the accuracy settings, the output units (D_ℓ = ℓ(ℓ+1)C_ℓ/2π in μK²,
lensed) and the mapping from the supernova-style densities (h, Ωm, ΩΛ) to CAMB's physical
parameters that the joint SN+CMB fit needs.

Parameter names (the same everywhere in :mod:`rediscovery.cosmo.cmb`):

========  ============================================  ==========
name      meaning                                       unit
========  ============================================  ==========
H0        Hubble constant                               km/s/Mpc
ombh2     physical baryon density Ωb h²                 --
omch2     physical cold dark matter density Ωc h²       --
ns        scalar spectral index n_s                     --
ln10As    ln(10¹⁰ A_s), primordial amplitude at 0.05/Mpc --
tau       optical depth to reionisation τ               --
omk       curvature density Ωk (0 = flat)               --
mnu       sum of neutrino masses (one massive state)    eV
========  ============================================  ==========

Accuracy (measured, see ``docs/cosmo-cmb.md``): ``lens_potential_accuracy=1``,
``AccuracyBoost=1``, ``lSampleBoost=1``, ``lmax=2508`` reproduce Planck's best-fit theory file
to 0.12 % for 30 < ℓ < 2000 in about 1-1.5 s per call; ``lens_potential_accuracy=0`` is ~30 %
faster but 0.23 % off.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.cosmo.cosmology import omega_radiation

__all__ = [
    "CAMB_ACCURACY",
    "DEFAULT_LMAX",
    "DENSITY_NAMES",
    "PARAM_DEFAULTS",
    "PARAM_LABELS",
    "PARAM_NAMES",
    "PLANCK2018_BEST_FIT",
    "CAMBTheory",
    "TheorySpectra",
    "camb_params",
    "camb_spectra",
    "densities_to_physical",
    "import_camb",
    "omega_m",
    "omega_nu",
    "physical_params",
]

log = logging.getLogger(__name__)

#: The six ΛCDM parameters in the package's order.
PARAM_NAMES: tuple[str, ...] = ("H0", "ombh2", "omch2", "ns", "ln10As", "tau")

#: LaTeX labels for plots (all names accepted by :func:`camb_params`).
PARAM_LABELS: dict[str, str] = {
    "H0": r"$H_0$ [km/s/Mpc]",
    "ombh2": r"$\Omega_b h^2$",
    "omch2": r"$\Omega_c h^2$",
    "ns": r"$n_s$",
    "ln10As": r"$\ln(10^{10}A_s)$",
    "tau": r"$\tau$",
    "omk": r"$\Omega_k$",
    "mnu": r"$\Sigma m_\nu$ [eV]",
    "h": r"$h$",
    "Om": r"$\Omega_m$",
    "OL": r"$\Omega_\Lambda$",
    "Ok": r"$\Omega_k$",
}

#: Planck 2018 best fit of base ΛCDM to TT,TE,EE+lowE+lensing (Plik), Planck 2018 results VI,
#: A&A 641, A6 (2020), arXiv:1807.06209, Table 1 "Plik best fit" column; one massive neutrino of
#: 0.06 eV as in the Planck baseline. These are the parameters of
#: ``COM_PowerSpect_CMB-base-plikHM-TTTEEE-lowl-lowE-lensing-minimum-theory_R3.01.txt``.
PLANCK2018_BEST_FIT: dict[str, float] = {
    "H0": 67.32,
    "ombh2": 0.022383,
    "omch2": 0.12011,
    "ns": 0.96605,
    "ln10As": 3.0448,
    "tau": 0.0543,
    "omk": 0.0,
    "mnu": 0.06,
}

#: Highest multipole computed by default: the end of Planck's binned TT spectrum.
DEFAULT_LMAX = 2508

#: CAMB accuracy settings used by default (chosen for speed; see module docstring).
CAMB_ACCURACY: dict[str, float] = {
    "lens_potential_accuracy": 1,
    "AccuracyBoost": 1.0,
    "lSampleBoost": 1.0,
    "lAccuracyBoost": 1.0,
}

# The AccuracyParams fields camb.set_params takes itself (through set_accuracy).
_SET_PARAMS_ACCURACY = frozenset({"AccuracyBoost", "lSampleBoost", "lAccuracyBoost"})

# Ω_ν h² = Σm_ν / 93.14 eV (Lesgourgues & Pastor 2006, Phys. Rep. 429, 307, eq. 12, for
# T_ν/T_γ = (4/11)^(1/3)); used only to split Ωm h² into cdm and neutrinos.
_NU_MASS_PER_OMEGA_EV = 93.14

#: The supernova-style density parameters (h, Ωm, ΩΛ); with them, Ωk = 1 − Ωm − ΩΛ − Ω_r is
#: derived and ``H0`` may replace ``h`` (see :func:`physical_params`).
DENSITY_NAMES: tuple[str, ...] = ("h", "Om", "OL")

_H_BF = PLANCK2018_BEST_FIT["H0"] / 100.0
_OM_BF = (PLANCK2018_BEST_FIT["ombh2"] + PLANCK2018_BEST_FIT["omch2"]
          + PLANCK2018_BEST_FIT["mnu"] / _NU_MASS_PER_OMEGA_EV) / _H_BF**2

#: Default value of every parameter name: :data:`PLANCK2018_BEST_FIT` plus its (h, Ωm, ΩΛ)
#: (flat: ΩΛ = 1 − Ωm − Ω_r).
PARAM_DEFAULTS: dict[str, float] = {
    **PLANCK2018_BEST_FIT,
    "h": _H_BF,
    "Om": _OM_BF,
    "OL": 1.0 - _OM_BF - omega_radiation(100.0) / _H_BF**2,
}


def import_camb() -> Any:
    """Import CAMB or raise a :class:`ConfigError` that says how to install it."""
    try:
        import camb
    except ImportError as exc:
        raise ConfigError(
            "CAMB is not installed but the CMB theory needs it: `pip install camb` "
            "(or use --theory emulator inside the emulator's box)"
        ) from exc
    return camb


def omega_nu(mnu: float | np.ndarray) -> float | np.ndarray:
    """Physical density of massive neutrinos ω_ν = Σm_ν / 93.14 eV (Lesgourgues & Pastor 2006)."""
    return mnu / _NU_MASS_PER_OMEGA_EV


def omega_m(params: Mapping[str, float]) -> float:
    """Total matter density Ωm = (Ωb h² + Ωc h² + Ων h²)/h² of a physical parameter set."""
    h = params["H0"] / 100.0
    onu = params.get("mnu", PLANCK2018_BEST_FIT["mnu"]) / _NU_MASS_PER_OMEGA_EV
    return (params["ombh2"] + params["omch2"] + onu) / h**2


def densities_to_physical(
    h: float,
    Om: float,
    OL: float,
    *,
    ombh2: float = PLANCK2018_BEST_FIT["ombh2"],
    mnu: float = PLANCK2018_BEST_FIT["mnu"],
) -> dict[str, float]:
    """Map the supernova-style densities (h, Ωm, ΩΛ) to CAMB's physical parameters.

    .. math::

        H_0 = 100 h, \\quad \\Omega_c h^2 = \\Omega_m h^2 - \\Omega_b h^2 - \\Sigma m_\\nu/93.14\\,
        \\mathrm{eV}, \\quad \\Omega_k = 1 - \\Omega_m - \\Omega_\\Lambda - \\Omega_r,

    with Ω_r h² the radiation density of photons and massless neutrinos
    (:func:`~rediscovery.cosmo.cosmology.omega_radiation` at the default T_CMB and N_eff), so
    that CAMB's own Ω_Λ equals the ``OL`` given (to ~1e-5; the small
    difference is the massive-neutrino radiation-to-matter transition).

    Parameters
    ----------
    h
        H0 / (100 km/s/Mpc).
    Om, OL
        Matter (baryons + cdm + massive neutrinos) and dark-energy densities today.
    ombh2
        Physical baryon density, held fixed (default: Planck 2018 best fit).
    mnu
        Sum of neutrino masses in eV.

    Returns
    -------
    dict
        ``{"H0", "ombh2", "omch2", "omk", "mnu"}``; combine with ns, ln10As, tau.

    Raises
    ------
    InputError
        If the implied cold dark matter density is negative or h is not positive.
    """
    if not h > 0:
        raise InputError(f"h must be positive, got {h}", column="h")
    h2 = h * h
    omch2 = Om * h2 - ombh2 - mnu / _NU_MASS_PER_OMEGA_EV
    if omch2 <= 0:
        raise InputError(
            f"Ωm = {Om} with h = {h} leaves no room for cold dark matter once Ωb h² = {ombh2} "
            f"and Σmν = {mnu} eV are counted (Ωc h² = {omch2:.4g}); expected Ωm h² > Ωb h² + Ων h²",
            column="Om",
        )
    om_r = omega_radiation(100.0) / h2  # photons and massless neutrinos, Ω_r h² at h = 1
    return {"H0": 100.0 * h, "ombh2": ombh2, "omch2": omch2, "omk": 1.0 - Om - OL - om_r,
            "mnu": mnu}


def physical_params(params: Mapping[str, float]) -> dict[str, float]:
    """CAMB's parameters from a dict that may use the densities (h or H0, Om, OL).

    Without ``Om``/``OL`` the dict is returned unchanged. With them, ``h`` (or ``H0``), ``Om``
    and ``OL`` are mapped by :func:`densities_to_physical` (with the dict's ``ombh2`` and
    ``mnu``, default Planck 2018) and the other entries (ns, ln10As, tau) kept; ``omch2`` or
    ``omk`` given as well is an error (they are derived).
    """
    p = dict(params)
    if not {"Om", "OL"} & set(p):
        return p
    missing = [k for k in ("Om", "OL") if k not in p]
    if "h" not in p and "H0" not in p:
        missing.insert(0, "h")
    if missing:
        raise InputError(f"the density parametrisation needs h (or H0), Om and OL; missing "
                         f"{missing}", column=missing[0])
    clash = [k for k in ("omch2", "omk") if k in p]
    if clash:
        raise InputError(f"{clash[0]} is derived from h, Om and OL in the density "
                         "parametrisation; do not give it too", column=clash[0])
    h = p.pop("h") if "h" in p else p["H0"] / 100.0
    p.pop("H0", None)
    out = densities_to_physical(h, p.pop("Om"), p.pop("OL"),
                                ombh2=p.pop("ombh2", PLANCK2018_BEST_FIT["ombh2"]),
                                mnu=p.pop("mnu", PLANCK2018_BEST_FIT["mnu"]))
    out.update(p)
    return out


def _full_params(params: Mapping[str, float]) -> dict[str, float]:
    params = physical_params(params)
    unknown = set(params) - set(PLANCK2018_BEST_FIT)
    if unknown:
        raise InputError(
            f"unknown CMB parameter(s) {sorted(unknown)}; expected some of "
            f"{list(PLANCK2018_BEST_FIT)}",
            column=sorted(unknown)[0],
        )
    full = dict(PLANCK2018_BEST_FIT)
    full.update({k: float(v) for k, v in params.items()})
    for k, v in full.items():
        if not math.isfinite(v):
            raise InputError(f"parameter {k} = {v} is not finite", column=k)
    if full["H0"] <= 0 or full["ombh2"] <= 0 or full["omch2"] < 0 or full["tau"] < 0:
        raise InputError(
            f"unphysical CMB parameters {full}: expected H0 > 0, ombh2 > 0, omch2 >= 0, tau >= 0"
        )
    return full


def camb_params(
    params: Mapping[str, float] | None = None,
    *,
    lmax: int = DEFAULT_LMAX,
    accuracy: Mapping[str, float] | None = None,
) -> Any:
    """Build a ``camb.CAMBparams`` from the package's parameter names.

    Parameters
    ----------
    params
        Any subset of :data:`PLANCK2018_BEST_FIT`'s keys; the others take their best-fit values.
        Use :func:`densities_to_physical` to start from (h, Ωm, ΩΛ).
    lmax
        Highest multipole of the output spectra.
    accuracy
        Overrides of :data:`CAMB_ACCURACY`: arguments of ``camb.set_params``, or fields of
        ``camb.model.AccuracyParams`` that it does not take (e.g. ``TimeStepBoost``), which are
        set on ``pars.Accuracy``.

    Returns
    -------
    camb.CAMBparams
    """
    camb = import_camb()
    full = _full_params(params or {})
    acc = dict(CAMB_ACCURACY)
    acc.update(accuracy or {})
    # camb.set_params refuses AccuracyParams fields other than its own few boosts
    fields = set(camb.model.AccuracyParams.get_valid_field_names())
    extra = {k: acc.pop(k) for k in list(acc) if k in fields and k not in _SET_PARAMS_ACCURACY}
    try:
        pars = camb.set_params(
            H0=full["H0"],
            ombh2=full["ombh2"],
            omch2=full["omch2"],
            omk=full["omk"],
            mnu=full["mnu"],
            tau=full["tau"],
            As=1e-10 * math.exp(full["ln10As"]),
            ns=full["ns"],
            lmax=int(lmax),
            WantTensors=False,
            **acc,
        )
    except camb.baseconfig.CAMBUnknownArgumentError as exc:
        raise ConfigError(
            f"unknown CAMB accuracy setting in {sorted(acc)}: {exc}; expected arguments of "
            "camb.set_params or fields of camb.model.AccuracyParams"
        ) from exc
    except camb.CAMBError as exc:
        raise InputError(f"CAMB rejected the parameters {full}: {exc}") from exc
    for name, value in extra.items():
        setattr(pars.Accuracy, name, value)
    return pars


@dataclass(frozen=True)
class TheorySpectra:
    """Lensed CMB spectra D_ℓ = ℓ(ℓ+1)C_ℓ/2π in μK² for ℓ = 2 … lmax.

    Attributes
    ----------
    ell
        Multipoles, shape (n_ell,), starting at 2.
    tt, te, ee
        D_ℓ^TT, D_ℓ^TE, D_ℓ^EE in μK², shape (n_ell,).
    params
        The full parameter set used (:data:`PLANCK2018_BEST_FIT` keys).
    """

    ell: np.ndarray
    tt: np.ndarray
    te: np.ndarray
    ee: np.ndarray
    params: dict[str, float]

    def __getitem__(self, name: str) -> np.ndarray:
        return {"tt": self.tt, "te": self.te, "ee": self.ee, "ell": self.ell}[name.lower()]


def camb_spectra(
    params: Mapping[str, float] | None = None,
    *,
    lmax: int = DEFAULT_LMAX,
    accuracy: Mapping[str, float] | None = None,
) -> TheorySpectra:
    """Lensed D_ℓ^TT, TE, EE in μK² from CAMB for ℓ = 2 … ``lmax``.

    Parameters
    ----------
    params
        CMB parameters (see module docstring); missing ones take the Planck 2018 best fit.
    lmax
        Highest multipole returned.
    accuracy
        Overrides of :data:`CAMB_ACCURACY`; with ``{"DoLensing": False}`` the spectra returned
        are the unlensed ones.

    Examples
    --------
    >>> s = camb_spectra({"H0": 67.32}, lmax=1000)
    >>> int(s.ell[0]), s.tt.shape
    (2, (999,))
    >>> bool(200 < s.ell[s.tt.argmax()] < 240)  # the first acoustic peak, ℓ ≈ 220
    True
    """
    camb = import_camb()
    full = _full_params(params or {})
    pars = camb_params(full, lmax=lmax, accuracy=accuracy)
    try:
        results = camb.get_results(pars)
    except camb.CAMBError as exc:
        raise InputError(f"CAMB failed for parameters {full}: {exc}") from exc
    if pars.DoLensing:
        cl = results.get_lensed_scalar_cls(lmax=int(lmax), CMB_unit="muK", raw_cl=False)
    else:  # accuracy={"DoLensing": False}: CAMB's lensed array would be zeros
        cl = results.get_unlensed_scalar_cls(lmax=int(lmax), CMB_unit="muK", raw_cl=False)
    ell = np.arange(2, int(lmax) + 1)
    return TheorySpectra(
        ell=ell,
        tt=np.ascontiguousarray(cl[2:, 0]),
        ee=np.ascontiguousarray(cl[2:, 1]),
        te=np.ascontiguousarray(cl[2:, 3]),
        params=full,
    )


class CAMBTheory:
    """Callable TT theory for the likelihood: ``theory(params) -> D_ℓ^TT`` on :attr:`ell`.

    The same interface as :class:`rediscovery.cosmo.cmb.emulator.CMBEmulator`, but every call
    runs CAMB (1-3 s): use it to check the emulator or outside its box.

    Parameters
    ----------
    lmax
        Highest multipole.
    accuracy
        Overrides of :data:`CAMB_ACCURACY`.
    """

    name = "camb"

    def __init__(self, lmax: int = DEFAULT_LMAX, accuracy: Mapping[str, float] | None = None):
        import_camb()
        self.lmax = int(lmax)
        self.accuracy = dict(accuracy or {})
        self.ell = np.arange(2, self.lmax + 1)

    def __call__(self, params: Mapping[str, float]) -> np.ndarray:
        return camb_spectra(params, lmax=self.lmax, accuracy=self.accuracy).tt

    def predict(self, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """D_ℓ^TT for a batch: ``params[name]`` of shape (n,); returns (n, n_ell) (a loop)."""
        names = list(params)
        n = len(np.atleast_1d(params[names[0]]))
        return np.stack(
            [self({k: float(np.atleast_1d(params[k])[i]) for k in names}) for i in range(n)]
        )

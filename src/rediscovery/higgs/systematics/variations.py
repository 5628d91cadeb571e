"""Systematic variations of an events table: energy scales, soft MET and background normalisations.

Conventions follow the Fair Universe HiggsML Uncertainty Challenge (FAIR-Universe/HEP-Challenge,
``ingestion_program/systematics.py``, functions ``mom4_manipulate``, ``postprocess`` and
``systematics``; Bhimji et al., "FAIR Universe HiggsML Uncertainty Challenge Competition",
arXiv:2410.02867). The code here is our own vectorised implementation of the same physics:

* **tau energy scale** ``tes``: the hadronic tau transverse momentum is multiplied by ``tes``
  (direction unchanged). The change of the visible momentum is absorbed by the missing transverse
  momentum, vectorially:

  .. math:: \\vec p_T^{miss} \\to \\vec p_T^{miss} - (\\mathrm{tes} - 1)\\,\\vec p_T^{\\tau}

  so that ``p_T^miss + Σ visible p_T`` is conserved (energy-momentum bookkeeping).
* **jet energy scale** ``jes``: every jet's transverse momentum (leading, sub-leading and the
  scalar sum ``PRI_jet_all_pt``) is multiplied by ``jes``; the leading and sub-leading jets
  propagate to the MET as above. Jets beyond the second have no direction in the schema, so, as in
  the challenge, they do not move the MET.
* **soft MET** ``soft_met`` (GeV): a soft term with Gaussian x and y components of width
  ``soft_met`` (mean 0) is added to the MET vector, one independent draw per event.
* **normalisations**: ``ttbar_scale`` and ``diboson_scale`` multiply the weights of the ``ttbar``
  and ``diboson`` processes, ``bkg_scale`` those of every background (``Label == 0``).
* **selection re-applied** after the shift with the thresholds of :class:`SelectionThresholds`:
  an event whose tau or lepton falls below its threshold is removed; a jet that falls below the
  jet threshold is removed from the event (``PRI_jet_num`` lowered, its columns set to NaN,
  ``PRI_jet_all_pt`` reduced). Because the scaling is monotone, a sub-leading jet below the
  threshold implies that every softer jet is below it too, so they all leave ``PRI_jet_all_pt``
  (the challenge subtracts the sub-leading jet only; we remove all of them, which is exact).

Differences from the challenge code, on purpose: values are not rounded to 3 decimals (rounding
is a file-format matter, done by :func:`~rediscovery.higgs.events.io.write_events` for CSV), and
``PRI_met_sumet`` is left unchanged (as in the challenge, which does not carry it at all).

The prior distributions of the challenge's test-time draws are :data:`FAIR_UNIVERSE_PRIORS`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rediscovery.core.checks import require_finite
from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.events.simulate import NUISANCE_PRIORS
from rediscovery.higgs.schema import DER_COLUMNS, LABEL, PROCESS, PROCESSES, WEIGHT

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FAIR_UNIVERSE_PRIORS",
    "NOMINAL",
    "NuisancePrior",
    "SelectionThresholds",
    "apply_systematics",
    "draw_nuisances",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SelectionThresholds:
    """Transverse-momentum thresholds (GeV) of the event selection, re-applied after a shift.

    Attributes
    ----------
    tau_pt, lep_pt
        Events with ``PRI_tau_pt`` or ``PRI_lep_pt`` below these are removed.
    jet_pt
        Jets below this are removed from the event (the event is kept).
    """

    tau_pt: float
    lep_pt: float
    jet_pt: float

    def __post_init__(self) -> None:
        for name in ("tau_pt", "lep_pt", "jet_pt"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ConfigError(f"selection threshold {name} must be a finite number >= 0 GeV, "
                                  f"got {v}")


#: Thresholds of the built-in simulation (``rediscovery.higgs.events.simulate.SELECTION``: τ_h p_T
#: ≥ 20,
#: lepton p_T ≥ 26, counted jets p_T ≥ 30 GeV, the minima of the real HiggsML sample), used by
#: default. Kept here as numbers so this module does not depend on the simulator; a test checks
#: that they agree.
DEFAULT_THRESHOLDS = SelectionThresholds(tau_pt=20.0, lep_pt=26.0, jet_pt=30.0)


@dataclass(frozen=True)
class NuisancePrior:
    """Prior of one nuisance parameter as drawn by the challenge at test time.

    The value is ``nominal + sigma * z`` (``kind="normal"``) or ``exp(sigma * z)``
    (``kind="lognormal"``, median 1) with ``z ~ N(0, 1)``, then clipped to ``[lo, hi]``.
    ``z`` is the fit's nuisance parameter α: the value at α is :meth:`value`.
    """

    name: str
    kind: str
    nominal: float
    sigma: float
    lo: float
    hi: float

    def value(self, alpha: float | np.ndarray) -> float | np.ndarray:
        """Physical value at the standardised nuisance α (before clipping)."""
        a = np.asarray(alpha, dtype=float)
        out = np.exp(self.sigma * a) if self.kind == "lognormal" else self.nominal + self.sigma * a
        return float(out) if out.ndim == 0 else out

    def alpha(self, value: float | np.ndarray) -> float | np.ndarray:
        """Inverse of :meth:`value`."""
        v = np.asarray(value, dtype=float)
        out = (np.log(v) / self.sigma if self.kind == "lognormal"
               else (v - self.nominal) / self.sigma)
        return float(out) if out.ndim == 0 else out

    @property
    def nominal_value(self) -> float:
        """Value at α = 0 (for the log-normal soft MET: its median, 1 GeV)."""
        return float(self.value(0.0))


#: Test-time priors of the Fair Universe challenge (HEP-Challenge ``ingestion_program``:
#: ``tes, jes ~ clip(N(1, 0.01), 0.9, 1.1)``, ``soft_met ~ clip(LogNormal(0, 1), 0, 5)`` GeV,
#: ``ttbar_scale ~ clip(N(1, 0.02), 0.8, 1.2)``, ``diboson_scale ~ clip(N(1, 0.25), 0, 2)``,
#: ``bkg_scale ~ clip(N(1, 0.001), 0.99, 1.01)``). The numbers are defined once, in the
#: simulator's :data:`~rediscovery.higgs.events.simulate.NUISANCE_PRIORS`; this mapping holds
#: them as :class:`NuisancePrior` objects, in the order in which :func:`draw_nuisances` draws.
FAIR_UNIVERSE_PRIORS: Mapping[str, NuisancePrior] = {
    name: NuisancePrior(name, *NUISANCE_PRIORS[name])
    for name in ("tes", "jes", "soft_met", "ttbar_scale", "diboson_scale", "bkg_scale")
}

#: Values at which ``apply_systematics`` leaves the events unchanged.
NOMINAL: Mapping[str, float | None] = {
    "tes": 1.0, "jes": 1.0, "soft_met": 0.0,
    "ttbar_scale": None, "diboson_scale": None, "bkg_scale": None,
}


def draw_nuisances(seed: int | np.random.Generator,
                   priors: Mapping[str, NuisancePrior] = FAIR_UNIVERSE_PRIORS) -> dict[str, float]:
    """Draw one set of nuisance values from their priors (clipped as in the challenge).

    Parameters
    ----------
    seed
        Seed or numpy Generator.
    priors
        Name → :class:`NuisancePrior` (default :data:`FAIR_UNIVERSE_PRIORS`).

    Returns
    -------
    dict
        Name → physical value, ready to pass as keywords to :func:`apply_systematics`.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for name, p in priors.items():
        v = float(p.value(rng.standard_normal()))
        out[name] = float(np.clip(v, p.lo, p.hi))
    return out


def _check_scale(name: str, value: float | None, *, allow_zero: bool = False) -> None:
    if value is None:
        return
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{name} must be a finite number {bound}, got {value}", column=name)


_NEEDED = ("PRI_tau_pt", "PRI_tau_phi", "PRI_lep_pt", "PRI_met", "PRI_met_phi", "PRI_jet_num",
           "PRI_jet_leading_pt", "PRI_jet_leading_eta", "PRI_jet_leading_phi",
           "PRI_jet_subleading_pt", "PRI_jet_subleading_eta", "PRI_jet_subleading_phi",
           "PRI_jet_all_pt")


def _xy(pt: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return pt * np.cos(phi), pt * np.sin(phi)


def apply_systematics(
    df: pd.DataFrame,
    tes: float = 1.0,
    jes: float = 1.0,
    soft_met: float = 0.0,
    ttbar_scale: float | None = None,
    diboson_scale: float | None = None,
    bkg_scale: float | None = None,
    *,
    seed: int | np.random.Generator | None = None,
    thresholds: SelectionThresholds | None = None,
    recompute_derived: bool = True,
    mmc: bool | None = None,
) -> pd.DataFrame:
    """Return a copy of an events table with systematic shifts applied (Fair Universe conventions).

    Parameters
    ----------
    df
        Events table (package convention: GeV, radians, NaN for undefined jets). Never modified.
    tes, jes
        Tau and jet energy scale factors (dimensionless, > 0; 1 = nominal).
    soft_met
        Width (GeV, >= 0) of the Gaussian soft term added to the MET x and y components.
    ttbar_scale, diboson_scale, bkg_scale
        Weight factors (> 0) of the ``ttbar`` and ``diboson`` processes and of all backgrounds
        (``Label == 0``); ``None`` = unchanged. They multiply each other where they overlap.
    seed
        Seed or Generator of the soft-MET draws; required when ``soft_met > 0``.
    thresholds
        Selection re-applied after the shift (default :data:`DEFAULT_THRESHOLDS`, the
        simulation's).
    recompute_derived
        Recompute the ``DER_*`` (and ``NEW_*``) columns present in ``df`` from the shifted
        primaries (:func:`rediscovery.higgs.features.derived.add_derived_features`). Columns absent
        from ``df`` are not added.
    mmc
        Whether to recompute ``DER_mass_MMC`` (slow, ~10⁴ events/s); default: if present.

    Returns
    -------
    DataFrame
        The shifted events with a fresh index. ``out.attrs`` holds ``"systematics"`` (the values
        applied), ``"n_removed"`` (events removed by the re-applied selection),
        ``"n_jets_removed"`` (jets that fell below the jet threshold, in the events kept) and
        ``"n_input"``.

    Raises
    ------
    InputError
        A scale factor <= 0 or not finite, a negative or non-finite ``soft_met``, a missing
        column, NaN in a required primary, process names outside
        :data:`~rediscovery.higgs.schema.PROCESSES`, a weight scale without ``Weight``/``Process``
        /``Label`` columns.
    """
    _check_scale("tes", tes)
    _check_scale("jes", jes)
    _check_scale("soft_met", soft_met, allow_zero=True)
    for name, v in (("ttbar_scale", ttbar_scale), ("diboson_scale", diboson_scale),
                    ("bkg_scale", bkg_scale)):
        _check_scale(name, v)
    if soft_met > 0 and seed is None:
        raise InputError("soft_met > 0 draws random soft terms: give a seed (int or Generator)",
                         column="seed")
    thr = DEFAULT_THRESHOLDS if thresholds is None else thresholds
    missing = [c for c in _NEEDED if c not in df.columns]
    if missing:
        raise InputError(f"events table lacks {missing}; expected the 17 PRI_* columns",
                         column=missing[0])
    for c in ("PRI_tau_pt", "PRI_tau_phi", "PRI_lep_pt", "PRI_met", "PRI_met_phi",
              "PRI_jet_num", "PRI_jet_all_pt"):
        require_finite(df[c], column=c, expected="a value in every event (this primary is "
                       "defined for every event)")

    # New column values are collected in ``new`` and the frame is built once at the end:
    # assigning a dozen columns to a copy fragments pandas' blocks and costs more than the
    # physics (measured in benchmarks/systematics.py).
    src = df
    new: dict[str, np.ndarray] = {}
    n_in = len(src)
    wscales = {"ttbar": ttbar_scale, "diboson": diboson_scale}
    if any(v is not None for v in (ttbar_scale, diboson_scale, bkg_scale)):
        if WEIGHT not in src.columns:
            raise InputError("a process scale factor was given but the table has no weights",
                             column=WEIGHT)
        w = src[WEIGHT].to_numpy(dtype=float).copy()
        if ttbar_scale is not None or diboson_scale is not None:
            if PROCESS not in src.columns:
                raise InputError("ttbar_scale/diboson_scale need the process of each event",
                                 column=PROCESS)
            proc = src[PROCESS]
            # hash-based (pd.unique), not np.unique on strings: sorting 10^5 objects is slow
            unknown = sorted({str(p) for p in pd.unique(proc)} - set(PROCESSES))
            if unknown:
                raise InputError(f"unknown process names {unknown}; expected some of "
                                 f"{list(PROCESSES)}", column=PROCESS)
            for pname, sc in wscales.items():
                if sc is None:
                    continue
                sel = (proc == pname).to_numpy()
                if not sel.any():
                    log.warning("%s_scale=%g given but no %r events in the table", pname, sc,
                                pname)
                w[sel] *= float(sc)
        if bkg_scale is not None:
            if LABEL not in src.columns:
                raise InputError("bkg_scale needs the label of each event", column=LABEL)
            w[src[LABEL].to_numpy() == 0] *= float(bkg_scale)
        new[WEIGHT] = w

    njet = src["PRI_jet_num"].to_numpy(dtype=float)
    has1, has2 = njet >= 1, njet >= 2
    met_x, met_y = _xy(src["PRI_met"].to_numpy(dtype=float), src["PRI_met_phi"].to_numpy(float))

    tau_pt = src["PRI_tau_pt"].to_numpy(dtype=float)
    if tes != 1.0:
        tx, ty = _xy(tau_pt, src["PRI_tau_phi"].to_numpy(dtype=float))
        met_x = met_x - (tes - 1.0) * tx
        met_y = met_y - (tes - 1.0) * ty
        tau_pt = tau_pt * tes

    j1 = src["PRI_jet_leading_pt"].to_numpy(dtype=float)
    j2 = src["PRI_jet_subleading_pt"].to_numpy(dtype=float)
    jall = src["PRI_jet_all_pt"].to_numpy(dtype=float)
    if jes != 1.0:
        for pt, phi_col, present in ((j1, "PRI_jet_leading_phi", has1),
                                     (j2, "PRI_jet_subleading_phi", has2)):
            jx, jy = _xy(np.where(present, pt, 0.0),
                         np.where(present, src[phi_col].to_numpy(dtype=float), 0.0))
            met_x = met_x - (jes - 1.0) * jx
            met_y = met_y - (jes - 1.0) * jy
        j1 = np.where(has1, j1 * jes, j1)
        j2 = np.where(has2, j2 * jes, j2)
        jall = jall * jes

    if soft_met > 0:
        rng = np.random.default_rng(seed)
        met_x = met_x + rng.normal(0.0, soft_met, size=n_in)
        met_y = met_y + rng.normal(0.0, soft_met, size=n_in)

    new["PRI_tau_pt"] = tau_pt
    if tes != 1.0 or jes != 1.0 or soft_met > 0:  # else keep MET bit for bit (no round trip)
        new["PRI_met"] = np.hypot(met_x, met_y)
        new["PRI_met_phi"] = np.arctan2(met_y, met_x)

    # Selection re-applied: jets below threshold leave the event (monotone scaling keeps the
    # pt ordering, so a failing sub-leading jet means every softer jet fails too).
    lose2 = has2 & (j2 < thr.jet_pt)
    lose1 = has1 & (j1 < thr.jet_pt)
    jets_lost = np.where(lose1, njet, np.where(lose2, njet - 1, 0))
    jall = np.where(lose1, 0.0, np.where(lose2, j1, jall))
    new_njet = np.where(lose1, 0, np.where(lose2, 1, njet))
    for col in ("PRI_jet_subleading_pt", "PRI_jet_subleading_eta", "PRI_jet_subleading_phi"):
        val = j2 if col == "PRI_jet_subleading_pt" else src[col].to_numpy(dtype=float)
        new[col] = np.where(lose2 | lose1, np.nan, val)
    for col in ("PRI_jet_leading_pt", "PRI_jet_leading_eta", "PRI_jet_leading_phi"):
        val = j1 if col == "PRI_jet_leading_pt" else src[col].to_numpy(dtype=float)
        new[col] = np.where(lose1, np.nan, val)
    new["PRI_jet_all_pt"] = jall
    new["PRI_jet_num"] = new_njet.astype(df["PRI_jet_num"].dtype)

    keep = (new["PRI_tau_pt"] >= thr.tau_pt) & (src["PRI_lep_pt"].to_numpy() >= thr.lep_pt)
    n_removed = int(n_in - keep.sum())
    n_jets_removed = int(jets_lost[keep].sum())  # in the events that stay
    take = None if n_removed == 0 else np.flatnonzero(keep)
    data = {}
    for c in src.columns:
        if c in new:
            arr = new[c]
            data[c] = arr if take is None else arr[take]
        else:
            ext = src[c].array
            data[c] = ext.copy() if take is None else ext.take(take)
    out = pd.DataFrame(data, index=pd.RangeIndex(n_in - n_removed), copy=False)

    if recompute_derived and len(out):
        der = [c for c in out.columns if c in DER_COLUMNS]
        new_feats = [c for c in out.columns if str(c).startswith("NEW_")]
        if der or new_feats:
            from rediscovery.higgs.features.derived import derived_features
            from rediscovery.higgs.features.new import add_new_features

            if der:
                do_mmc = ("DER_mass_MMC" in der) if mmc is None else bool(mmc)
                if not do_mmc and "DER_mass_MMC" in der and (tes != 1.0 or jes != 1.0
                                                             or soft_met > 0):
                    log.warning("DER_mass_MMC is kept at its unshifted values (mmc=False); "
                                "drop the column or pass mmc=True to recompute it")
                fresh = derived_features(out, mmc=do_mmc)
                out = pd.DataFrame({c: (fresh[c].to_numpy() if c in der and c in fresh.columns
                                        else out[c].array) for c in out.columns},
                                   index=out.index, copy=False)
            if new_feats:
                out = add_new_features(out, names=new_feats)

    out.attrs = {
        "systematics": {"tes": float(tes), "jes": float(jes), "soft_met": float(soft_met),
                        "ttbar_scale": ttbar_scale, "diboson_scale": diboson_scale,
                        "bkg_scale": bkg_scale},
        "n_input": n_in,
        "n_removed": n_removed,
        "n_jets_removed": n_jets_removed,
        "thresholds": {"tau_pt": thr.tau_pt, "lep_pt": thr.lep_pt, "jet_pt": thr.jet_pt},
    }
    if n_removed:
        log.info("apply_systematics: %d of %d events fail the re-applied selection", n_removed,
                 n_in)
    return out

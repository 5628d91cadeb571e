"""The map between an events table's primaries and the unbounded vector a flow learns.

The 17 ``PRI_*`` columns are not a good target as they are: transverse momenta start at the
selection thresholds and have long tails, pseudorapidities are bounded, the azimuths only
matter relative to each other (the simulation is symmetric under a common rotation), the jet
multiplicity is discrete and decides which jet columns exist. :class:`EventTransform` maps an
event to

* ``PRI_jet_num`` (a category, modelled apart: :mod:`rediscovery.higgs.generate.flow`);
* 15 real numbers: ``log((p_T − lo) / s + ε)`` for the τ, lepton and jet momenta (``lo`` their
  selection threshold, :data:`rediscovery.higgs.events.simulate.SELECTION`, ε = 0.01 GeV: the
  density, largest at the threshold, becomes a smooth exponential tail instead of a hard edge
  a flow cannot learn; ``s`` the energy scale of the object at the event's detector setting,
  ``tes`` for the τ, ``jes`` for the jets, 1 for the lepton: the scales' first-order effect
  is built in, the network learns what is left, which is what makes the response to them
  interpolate and extrapolate), ``log(1 + E_T^miss)``, the log of ΣE_T minus the τ, lepton and jet
  momenta (the soft and underlying-event part, positive by construction of the simulator:
  the sum itself is then exact), ``atanh(η / η_max)``, the azimuths relative to the τ after the
  reflection φ → −φ that puts the lepton on the positive side (the simulation is symmetric
  under it; the side is drawn at random when generating): ``atanh(1 − 2|Δφ_ℓ|/π)`` of the
  lepton (mostly back to back with the τ), ``atanh(Δφ / π)`` of the jets, and for E_T^miss
  ``atanh(r − 1/2)`` of its position ``r`` measured in arcs of the circle (:func:`met_arc`:
  the short arc from the τ to the lepton, where the neutrinos of τ decays put it, is
  ``r`` ∈ [0, 1] whatever the τ–lepton angle; with the azimuth relative to the τ alone, a
  small flow put the lower quartile of H→ττ's ``DER_met_phi_centrality`` at −1.2 instead of
  the simulator's +0.2, with this map at −0.2),
  and the jets' p_T beyond the two leading ones (``PRI_jet_all_pt`` minus both, zero unless
  three or more jets), each then standardised;
* the τ azimuth, drawn uniform when generating.

Columns undefined for an event's jet multiplicity are filled with standard normal noise when
training (the flow learns them as independent noise given the multiplicity) and set back to
NaN (or 0 for the extra-jet p_T) when generating. Generated values are rounded to the
simulator's stored precision (:data:`rediscovery.higgs.events.simulate.PRI_SIGNIFICAND_BITS`),
so that a classifier cannot tell them apart by their last bits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import InputError
from rediscovery.core.files import round_significand

__all__ = [
    "FLOW_COLUMNS",
    "MET_REPRESENTATIONS",
    "N_JET_CLASSES",
    "EventTransform",
    "met_arc",
    "met_azimuth",
]

#: The vector the flow learns (names of its components; E_T^miss as the event's balance).
FLOW_COLUMNS: tuple[str, ...] = (
    "log_tau_pt",
    "tau_eta",
    "log_lep_pt",
    "lep_eta",
    "lep_dphi",
    "log_pt_tot",
    "tot_dphi",
    "log_sumet_rest",
    "log_jet1_pt",
    "jet1_eta",
    "jet1_dphi",
    "log_jet2_pt",
    "jet2_eta",
    "jet2_dphi",
    "log_jet_extra_pt",
)
#: How E_T^miss enters the flow vector (components 5 and 6): ``balance`` (the default) as the
#: event's total transverse momentum (τ + lepton + E_T^miss + the two leading jets, the
#: vector whose modulus is ``DER_pt_tot``), E_T^miss then being that balance minus the visible
#: objects; ``arc`` (the first versions) as ``log(1 + E_T^miss)`` and its arc position
#: (:func:`met_arc`).
MET_REPRESENTATIONS: tuple[str, ...] = ("balance", "arc")
_ARC_COLUMNS = {"log_pt_tot": "log_met", "tot_dphi": "met_arc"}
#: Jet multiplicities 0, 1, 2 and ≥ 3 (``PRI_jet_num`` is capped at 3 in HiggsML).
N_JET_CLASSES = 4
_SHRINK = 1.0 - 1e-7  # keeps atanh finite at the acceptance edge
_PT_OFFSET = 0.01  # GeV: ε of log(pt - lo + ε); the stored momenta resolve 5e-4 GeV here

# momentum component -> the energy-scale nuisance that multiplies it in the simulator
_SCALE = {
    "log_tau_pt": "tes",
    "log_jet1_pt": "jes",
    "log_jet2_pt": "jes",
    "log_jet_extra_pt": "jes",
}


def _scales(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per-event ``tes`` and ``jes`` (columns of training events; 1 where absent)."""
    return {
        k: df[k].to_numpy(dtype=float) if k in df.columns else np.ones(len(df))
        for k in ("tes", "jes")
    }


# flow-vector index -> minimum jet multiplicity for it to be defined
_NEEDS_JETS = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3])
_PT = {
    "log_tau_pt": "PRI_tau_pt",
    "log_lep_pt": "PRI_lep_pt",
    "log_jet1_pt": "PRI_jet_leading_pt",
    "log_jet2_pt": "PRI_jet_subleading_pt",
}


def _eta_max() -> dict[str, float]:
    """|η| acceptance of the τ/lepton and of the jets: the simulator's selection."""
    from rediscovery.higgs.events.simulate import SELECTION

    return {
        "lepton": max(SELECTION.tau_eta_max, SELECTION.lep_eta_max),
        "jet": SELECTION.jet_eta_max,
    }


def _thresholds() -> dict[str, float]:
    """p_T thresholds (GeV) of the momentum components: the simulator's selection."""
    from rediscovery.higgs.events.simulate import SELECTION

    return {
        "log_tau_pt": SELECTION.tau_pt_min,
        "log_lep_pt": SELECTION.lep_pt_min,
        "log_jet1_pt": SELECTION.jet_pt_min,
        "log_jet2_pt": SELECTION.jet_pt_min,
        "log_jet_extra_pt": SELECTION.jet_pt_min,
    }


def _wrap(phi: np.ndarray) -> np.ndarray:
    return np.mod(phi + np.pi, 2.0 * np.pi) - np.pi


def _balance(tau_pt: np.ndarray, *objects: tuple[np.ndarray, np.ndarray]) -> tuple:
    """The (x, y) components of the vector sum of the τ (along x) and ``objects`` given as
    (p_T, azimuth relative to the τ) pairs."""
    x = np.asarray(tau_pt, dtype=float).copy()
    y = np.zeros_like(x)
    for pt, phi in objects:
        x = x + pt * np.cos(phi)
        y = y + pt * np.sin(phi)
    return x, y


def met_arc(phi: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """The E_T^miss azimuth ``phi`` (relative to the τ, in the frame where the lepton is at
    ``theta`` ∈ [0, π]) as a position ``r`` on the circle measured in arcs: ``r = phi/theta``
    on the short arc from the τ (0) to the lepton (1), where E_T^miss of τ decays lies, then
    linear along the long arc, ``r`` ∈ (1, 3/2) from the lepton and [−1/2, 0) from the τ, cut
    opposite the short arc's middle. Piecewise linear in ``phi``; :func:`met_azimuth` is
    its inverse."""
    theta = np.maximum(theta, 1e-9)
    psi = np.mod(phi, 2.0 * np.pi)
    long_arc = 2.0 * np.pi - theta
    return np.where(
        psi <= theta,
        psi / theta,
        np.where(
            psi <= np.pi + 0.5 * theta,
            1.0 + (psi - theta) / long_arc,
            (psi - 2.0 * np.pi) / long_arc,
        ),
    )


def met_azimuth(r: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Inverse of :func:`met_arc`: the azimuth (relative to the τ) at arc position ``r``."""
    theta = np.maximum(theta, 1e-9)
    long_arc = 2.0 * np.pi - theta
    return np.where(
        r < 0.0, r * long_arc, np.where(r <= 1.0, r * theta, theta + (r - 1.0) * long_arc)
    )


@dataclass
class EventTransform:
    """Events ↔ flow vectors (see the module docstring). Fit on training events, then use
    :meth:`forward` and :meth:`inverse`.

    Attributes
    ----------
    met
        The representation of E_T^miss (:data:`MET_REPRESENTATIONS`).
    lo_
        ``{flow column: p_T threshold}`` (GeV) of the momentum components (the selection's).
    mean_, std_
        Standardisation of the flow vector (over defined entries).
    """

    met: str = "balance"
    lo_: dict[str, float] = field(default_factory=dict)
    mean_: np.ndarray = field(default_factory=lambda: np.zeros(0))
    std_: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        if self.met not in MET_REPRESENTATIONS:
            raise InputError(f"met: expected one of {MET_REPRESENTATIONS}, got {self.met!r}")

    @property
    def columns(self) -> tuple[str, ...]:
        """Names of the flow vector's components in this representation."""
        if self.met == "balance":
            return FLOW_COLUMNS
        return tuple(_ARC_COLUMNS.get(c, c) for c in FLOW_COLUMNS)

    def _raw(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        missing = [
            c
            for c in (
                *_PT.values(),
                "PRI_tau_eta",
                "PRI_tau_phi",
                "PRI_lep_eta",
                "PRI_lep_phi",
                "PRI_met",
                "PRI_met_phi",
                "PRI_met_sumet",
                "PRI_jet_num",
                "PRI_jet_leading_eta",
                "PRI_jet_leading_phi",
                "PRI_jet_subleading_eta",
                "PRI_jet_subleading_phi",
                "PRI_jet_all_pt",
            )
            if c not in df.columns
        ]
        if missing:
            raise InputError(f"the events lack primaries {missing}", column=missing[0])
        njet = np.clip(df["PRI_jet_num"].to_numpy(dtype=float), 0, 3).astype(np.int64)
        g = {c: df[c].to_numpy(dtype=float) for c in df.columns if c.startswith("PRI_")}
        phi0 = g["PRI_tau_phi"]
        lep = _wrap(g["PRI_lep_phi"] - phi0)
        side = np.where(lep >= 0, 1.0, -1.0)  # the reflection that puts the lepton at φ > 0
        lead = np.nan_to_num(g["PRI_jet_leading_pt"])
        sub = np.nan_to_num(g["PRI_jet_subleading_pt"])
        extra = g["PRI_jet_all_pt"] - lead - sub
        rest = g["PRI_met_sumet"] - g["PRI_tau_pt"] - g["PRI_lep_pt"] - g["PRI_jet_all_pt"]
        met_rel = side * _wrap(g["PRI_met_phi"] - phi0)
        jet1_rel = side * _wrap(g["PRI_jet_leading_phi"] - phi0)
        jet2_rel = side * _wrap(g["PRI_jet_subleading_phi"] - phi0)
        if self.met == "balance":
            tx, ty = _balance(
                g["PRI_tau_pt"],
                (g["PRI_lep_pt"], np.abs(lep)),
                (g["PRI_met"], met_rel),
                (np.where(njet >= 1, lead, 0.0), np.nan_to_num(jet1_rel)),
                (np.where(njet >= 2, sub, 0.0), np.nan_to_num(jet2_rel)),
            )
            met_a, met_b = np.hypot(tx, ty), np.arctan2(ty, tx)
        else:
            met_a, met_b = g["PRI_met"], met_arc(met_rel, np.abs(lep))
        v = np.column_stack(
            [
                g["PRI_tau_pt"],
                g["PRI_tau_eta"],
                g["PRI_lep_pt"],
                g["PRI_lep_eta"],
                np.abs(lep),
                met_a,
                met_b,
                rest,
                g["PRI_jet_leading_pt"],
                g["PRI_jet_leading_eta"],
                jet1_rel,
                g["PRI_jet_subleading_pt"],
                g["PRI_jet_subleading_eta"],
                jet2_rel,
                np.where(njet >= 3, extra, np.nan),
            ]
        )
        return v, njet

    def _to_real(self, v: np.ndarray, scales: dict[str, np.ndarray]) -> np.ndarray:
        y = np.empty_like(v)
        cols = self.columns
        for j, name in enumerate(cols):
            x = v[:, j]
            if name in self.lo_:  # momenta above a threshold
                s = scales[_SCALE.get(name, "")] if name in _SCALE else 1.0
                y[:, j] = np.log(np.maximum(x - self.lo_[name], 0.0) / s + _PT_OFFSET)
            elif name in ("log_met", "log_pt_tot"):
                y[:, j] = np.log1p(np.maximum(x, 0.0))
            elif name == "log_sumet_rest":
                y[:, j] = np.log(np.maximum(x, 1e-3))
            elif name.endswith("_eta"):
                lim = _eta_max()["jet" if name.startswith("jet") else "lepton"]
                y[:, j] = np.arctanh(np.clip(x / lim, -1.0, 1.0) * _SHRINK)
            elif name == "met_arc":  # in [-1/2, 3/2), the τ-lepton arc at [0, 1]
                y[:, j] = np.arctanh(np.clip(x - 0.5, -1.0, 1.0) * _SHRINK)
            elif name == "lep_dphi":  # |Δφ| in [0, π], mostly back to back: log-like at π
                y[:, j] = np.arctanh(np.clip(1.0 - 2.0 * x / np.pi, -1.0, 1.0) * _SHRINK)
            else:  # dphi
                y[:, j] = np.arctanh(np.clip(x / np.pi, -1.0, 1.0) * _SHRINK)
        return y

    def fit(self, df: pd.DataFrame) -> EventTransform:
        """Learn the thresholds and the standardisation from training events."""
        v, njet = self._raw(df)
        if len(v) == 0:
            raise InputError("no training events")
        self.lo_ = _thresholds()
        y = self._to_real(v, _scales(df))
        defined = njet[:, None] >= _NEEDS_JETS[None, :]
        cnt = np.maximum(defined.sum(axis=0), 1)
        self.mean_ = np.where(defined, y, 0.0).sum(axis=0) / cnt
        var = np.where(defined, (y - self.mean_) ** 2, 0.0).sum(axis=0) / cnt
        self.std_ = np.sqrt(np.maximum(var, 1e-12))
        return self

    def forward(
        self, df: pd.DataFrame, *, seed: int | np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(y (n, 15) standardised, njet (n,))``; undefined entries are N(0, 1) noise. The
        ``tes`` and ``jes`` columns, when present, are the events' energy scales."""
        v, njet = self._raw(df)
        y = (self._to_real(v, _scales(df)) - self.mean_) / self.std_
        undefined = njet[:, None] < _NEEDS_JETS[None, :]
        rng = np.random.default_rng(seed)
        y[undefined] = rng.standard_normal(int(undefined.sum()))
        if not np.all(np.isfinite(y)):
            bad = self.columns[int(np.flatnonzero(~np.isfinite(y).all(axis=0))[0])]
            raise InputError(f"non-finite primaries where defined ({bad})", column=bad)
        return y, njet

    def inverse(
        self,
        y: np.ndarray,
        njet: np.ndarray,
        *,
        seed: int | np.random.Generator,
        tes: float | np.ndarray = 1.0,
        jes: float | np.ndarray = 1.0,
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Primaries (the 17 ``PRI_*`` columns) of flow vectors ``y`` and multiplicities
        ``njet`` at the energy scales ``tes``, ``jes``; also a mask of the physical rows
        (momenta above their thresholds, the sub-leading jet not harder than the leading
        one)."""
        from rediscovery.higgs.events.simulate import PRI_SIGNIFICAND_BITS
        from rediscovery.higgs.schema import SQRT_S_MAX_GEV

        y = np.asarray(y, dtype=float) * self.std_ + self.mean_
        njet = np.asarray(njet, dtype=np.int64)
        rng = np.random.default_rng(seed)
        phi0 = rng.uniform(-np.pi, np.pi, len(y))
        side = rng.choice([-1.0, 1.0], size=len(y))
        out: dict[str, np.ndarray] = {}
        ok = np.ones(len(y), dtype=bool)
        # an energy beyond the schema's largest is a draw from the far tail of the network: dropped
        # (rows marked not ok), and capped first so that exp() stays finite
        defined = njet[:, None] >= _NEEDS_JETS[None, :]
        is_log = np.array([name.startswith("log_") for name in self.columns])
        ok &= ~np.any(defined & is_log & (y > np.log(SQRT_S_MAX_GEV)), axis=1)
        y = np.where(is_log, np.minimum(y, np.log(SQRT_S_MAX_GEV)), y)
        col = {name: y[:, j] for j, name in enumerate(self.columns)}

        scale = {"tes": tes, "jes": jes}

        def pt(name: str) -> np.ndarray:
            s = scale[_SCALE[name]] if name in _SCALE else 1.0
            return self.lo_[name] + s * (np.exp(col[name]) - _PT_OFFSET)

        for name in ("log_tau_pt", "log_lep_pt", "log_jet1_pt", "log_jet2_pt", "log_jet_extra_pt"):
            above = col[name] >= np.log(_PT_OFFSET)
            ok &= above | (njet < _NEEDS_JETS[FLOW_COLUMNS.index(name)])
        lepton, jet = _eta_max()["lepton"], _eta_max()["jet"]
        out["PRI_tau_pt"] = pt("log_tau_pt")
        out["PRI_tau_eta"] = lepton * np.tanh(col["tau_eta"]) / _SHRINK
        out["PRI_tau_phi"] = phi0
        out["PRI_lep_pt"] = pt("log_lep_pt")
        out["PRI_lep_eta"] = lepton * np.tanh(col["lep_eta"]) / _SHRINK
        lep_dphi = 0.5 * np.pi * (1.0 - np.tanh(col["lep_dphi"]) / _SHRINK)
        out["PRI_lep_phi"] = _wrap(phi0 + side * np.clip(lep_dphi, 0.0, np.pi))
        has1, has2, has3 = njet >= 1, njet >= 2, njet >= 3
        lead, sub = pt("log_jet1_pt"), pt("log_jet2_pt")
        ok &= ~has2 | (sub <= lead)
        jet1_rel = np.pi * np.tanh(col["jet1_dphi"]) / _SHRINK
        jet2_rel = np.pi * np.tanh(col["jet2_dphi"]) / _SHRINK
        if self.met == "balance":  # E_T^miss = the balance minus the visible objects
            total = np.expm1(col["log_pt_tot"]).clip(min=0.0)
            direction = np.pi * np.tanh(col["tot_dphi"]) / _SHRINK
            vx, vy = _balance(
                out["PRI_tau_pt"],
                (out["PRI_lep_pt"], np.clip(lep_dphi, 0.0, np.pi)),
                (np.where(has1, lead, 0.0), jet1_rel),
                (np.where(has2, sub, 0.0), jet2_rel),
            )
            mx, my = total * np.cos(direction) - vx, total * np.sin(direction) - vy
            out["PRI_met"] = np.hypot(mx, my)
            out["PRI_met_phi"] = _wrap(phi0 + side * np.arctan2(my, mx))
        else:
            out["PRI_met"] = np.expm1(col["log_met"]).clip(min=0.0)
            arc = 0.5 + np.tanh(col["met_arc"]) / _SHRINK
            met_rel = met_azimuth(arc, np.clip(lep_dphi, 0.0, np.pi))
            out["PRI_met_phi"] = _wrap(phi0 + side * met_rel)
        out["PRI_jet_leading_pt"] = np.where(has1, lead, np.nan)
        out["PRI_jet_leading_eta"] = np.where(
            has1, jet * np.tanh(col["jet1_eta"]) / _SHRINK, np.nan
        )
        out["PRI_jet_leading_phi"] = np.where(has1, _wrap(phi0 + side * jet1_rel), np.nan)
        out["PRI_jet_subleading_pt"] = np.where(has2, sub, np.nan)
        out["PRI_jet_subleading_eta"] = np.where(
            has2, jet * np.tanh(col["jet2_eta"]) / _SHRINK, np.nan
        )
        out["PRI_jet_subleading_phi"] = np.where(has2, _wrap(phi0 + side * jet2_rel), np.nan)
        extra = np.where(has3, pt("log_jet_extra_pt"), 0.0)
        out["PRI_jet_all_pt"] = np.where(has1, lead, 0.0) + np.where(has2, sub, 0.0) + extra
        out["PRI_met_sumet"] = (
            out["PRI_tau_pt"]
            + out["PRI_lep_pt"]
            + out["PRI_jet_all_pt"]
            + np.exp(col["log_sumet_rest"])
        )
        from rediscovery.higgs.schema import PRI_COLUMNS

        df = pd.DataFrame(
            {
                c: (
                    njet
                    if c == "PRI_jet_num"
                    else round_significand(out[c], PRI_SIGNIFICAND_BITS).astype(np.float64)
                )
                for c in PRI_COLUMNS
            }
        )
        return df, ok

    def to_json(self) -> dict[str, Any]:
        """The fitted constants (for the model's JSON metadata)."""
        return {
            "met": self.met,
            "lo": self.lo_,
            "mean": self.mean_.tolist(),
            "std": self.std_.tolist(),
            "columns": list(self.columns),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EventTransform:
        """Inverse of :meth:`to_json`."""
        met = data.get("met", "arc")  # the first versions wrote no "met"
        if met not in MET_REPRESENTATIONS:
            raise InputError(f"E_T^miss representation {met!r}: expected {MET_REPRESENTATIONS}")
        expected = list(cls(met=met).columns)
        if list(data.get("columns", [])) != expected:
            raise InputError(
                f"flow columns {data.get('columns')} differ from this version's {expected}"
            )
        return cls(
            met=met,
            lo_={k: float(v) for k, v in data["lo"].items()},
            mean_=np.asarray(data["mean"], dtype=float),
            std_=np.asarray(data["std"], dtype=float),
        )

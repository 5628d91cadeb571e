"""The anomaly challenge's data sets: a Standard Model sample with hidden new physics.

:func:`simulate_challenge` builds, from the package's own simulator
(:mod:`rediscovery.higgs.events.simulate`), the three things of a Les Houches-style anomaly
challenge (Les Houches 2019 ML session; G. Kasieczka et al., "The LHC Olympics 2020",
Rep. Prog. Phys. 84 (2021) 124201):

* **data**: unlabelled pseudo-data of all Standard Model processes (Higgs included) with
  Poisson-fluctuated counts, plus a hidden signal population;
* **reference**: labelled, weighted SM Monte Carlo, what an analyst would have;
* **truth**: what was hidden (kind, mass, number and ``EventId`` of the injected events),
  written to ``truth.json`` and read only by :func:`rediscovery.anomaly.scoring.score_methods`.

Signals:

``resonance``
    a new scalar X → ττ (gluon-fusion-like production, width 3 % of the mass) at a hidden mass
    drawn uniformly in [300, 800] GeV unless given: an over-density in the ττ mass.
``outlier``
    the same X produced in vector-boson fusion at 1.0–1.5 TeV: two hard back-to-back τ's with
    two forward jets, a corner of phase space the SM populates at the 10⁻⁵ level.
``none``
    nothing injected (false-discovery studies).

The strength is the inclusive S/√B of the injected events: n_S = strength · √N_SM.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import ConfigError
from rediscovery.higgs.events.simulate import (
    simulate_events,
    simulate_pseudo_data,
    simulate_resonance,
)
from rediscovery.higgs.features.derived import add_derived_features
from rediscovery.higgs.schema import EVENT_ID, LABEL, PROCESS, WEIGHT

__all__ = [
    "MASS_COLUMN",
    "OUTLIER_MASS_RANGE",
    "RESONANCE_MASS_RANGE",
    "SIGNALS",
    "Challenge",
    "ChallengeConfig",
    "simulate_challenge",
]

#: The kinds of hidden signal of :class:`ChallengeConfig`.
SIGNALS: tuple[str, ...] = ("resonance", "outlier", "none")
#: Range (GeV) of the hidden resonance mass when it is drawn (issue brief: 300–800 GeV).
RESONANCE_MASS_RANGE: tuple[float, float] = (300.0, 800.0)
#: Range (GeV) of the outlier population's X mass (VBF production).
OUTLIER_MASS_RANGE: tuple[float, float] = (1000.0, 1500.0)
#: The ττ mass observable of the over-density methods: the missing-mass calculator
#: (:func:`rediscovery.higgs.features.derived.missing_mass`).
MASS_COLUMN = "DER_mass_MMC"
#: Relative width of the hidden resonance (Γ/m): narrow next to the ~30 % (16–84 % half
#: width) resolution of the MMC mass at 300–800 GeV measured on this simulator.
RESONANCE_WIDTH_FRACTION = 0.03


@dataclass(frozen=True)
class ChallengeConfig:
    """Settings of :func:`simulate_challenge`.

    Attributes
    ----------
    signal
        ``resonance``, ``outlier`` or ``none`` (see the module docstring).
    strength
        Inclusive S/√B of the injected events (n_S = strength · √N_SM).
    mass
        X mass (GeV); drawn from the seed (uniform in :data:`RESONANCE_MASS_RANGE`, resp.
        :data:`OUTLIER_MASS_RANGE`) if ``None``.
    lumi_factor
        Data luminosity relative to HiggsML (0.25: about 103,000 SM events).
    n_reference
        Events of the labelled SM reference Monte Carlo.
    mmc_points
        Integration points of the missing-mass calculator (256: ~3000 events/s).
    seed
        Seed of everything (data, signal, reference, hidden mass).
    """

    signal: str = "resonance"
    strength: float = 2.0
    mass: float | None = None
    lumi_factor: float = 0.25
    n_reference: int = 100_000
    mmc_points: int = 256
    seed: int = 2019

    def __post_init__(self) -> None:
        if self.signal not in SIGNALS:
            raise ConfigError(f"signal {self.signal!r}: expected one of {list(SIGNALS)}")
        if not (np.isfinite(self.strength) and self.strength >= 0):
            raise ConfigError(f"strength {self.strength!r}: expected a finite S/sqrt(B) >= 0")
        if self.mass is not None and not (np.isfinite(self.mass) and 100.0 <= self.mass <= 3000):
            raise ConfigError(f"mass {self.mass!r}: expected a mass in [100, 3000] GeV")
        if not (np.isfinite(self.lumi_factor) and 0 < self.lumi_factor <= 4):
            raise ConfigError(f"lumi_factor {self.lumi_factor!r}: expected a value in (0, 4]")
        if self.n_reference < 100:
            raise ConfigError(f"n_reference {self.n_reference}: expected at least 100 events")
        if self.mmc_points < 16:
            raise ConfigError(f"mmc_points {self.mmc_points}: expected at least 16")


@dataclass
class Challenge:
    """Outcome of :func:`simulate_challenge`.

    Attributes
    ----------
    data
        ``EventId``, ``PRI_*``, ``DER_*``, ``Weight`` (1.0): no label, no process.
    reference
        Labelled SM Monte Carlo: ``EventId``, ``PRI_*``, ``DER_*``, ``Weight``, ``Label``,
        ``Process``.
    truth
        JSON-ready: settings, signal kind, mass, width, ``n_signal``, ``n_background``,
        ``signal_event_ids`` and the SM pseudo-data truth.
    """

    data: pd.DataFrame
    reference: pd.DataFrame
    truth: dict[str, Any]

    def signal_mask(self) -> np.ndarray:
        """Boolean per row of :attr:`data`: the event is injected new physics."""
        return np.isin(self.data[EVENT_ID].to_numpy(), self.truth["signal_event_ids"])


def _draw_mass(rng: np.random.Generator, cfg: ChallengeConfig) -> float | None:
    if cfg.signal == "none":
        return None
    if cfg.mass is not None:
        return float(cfg.mass)
    lo, hi = RESONANCE_MASS_RANGE if cfg.signal == "resonance" else OUTLIER_MASS_RANGE
    return float(rng.uniform(lo, hi))


def simulate_challenge(config: ChallengeConfig | None = None) -> Challenge:
    """Simulate the challenge's data (SM + hidden signal), reference MC and truth.

    The ``DER_*`` features (the MMC mass included) are computed for data and reference, as an
    analyst would before looking for anomalies; rows of ``data`` are shuffled and numbered
    0..N-1 so that nothing but ``truth`` tells the injected events apart.
    """
    cfg = config or ChallengeConfig()
    rng = np.random.default_rng(cfg.seed)
    sm_rng, sig_rng, ref_rng, mass_rng, shuffle_rng = rng.spawn(5)
    mass = _draw_mass(mass_rng, cfg)
    sm, sm_truth = simulate_pseudo_data(lumi_factor=cfg.lumi_factor, seed=sm_rng)
    n_bkg = len(sm)
    n_sig = round(cfg.strength * np.sqrt(n_bkg)) if mass is not None else 0
    width = None
    parts = [sm.assign(**{LABEL: np.int8(0)})]
    if n_sig > 0:
        width = RESONANCE_WIDTH_FRACTION * mass
        sig = simulate_resonance(
            n_sig, mass=mass, width=width, vbf=cfg.signal == "outlier", seed=sig_rng
        )
        parts.append(sig)
    data = pd.concat(parts, ignore_index=True)
    order = shuffle_rng.permutation(len(data))
    data = data.iloc[order].reset_index(drop=True)
    is_signal = data[LABEL].to_numpy() == 1
    data[EVENT_ID] = np.arange(len(data), dtype=np.int64)
    data[WEIGHT] = 1.0
    data = data.drop(columns=[LABEL])
    mmc = {"n_points": cfg.mmc_points}
    data = add_derived_features(data, **mmc)
    reference = simulate_events(cfg.n_reference, seed=ref_rng)
    reference = add_derived_features(reference, **mmc)
    reference = reference[
        [c for c in reference.columns if c not in (WEIGHT, LABEL, PROCESS)]
        + [WEIGHT, LABEL, PROCESS]
    ]
    sm_truth = {k: v for k, v in sm_truth.items() if k != "seed"}
    truth = {
        "settings": asdict(cfg),
        "signal": cfg.signal,
        "mass": mass,
        "width": width,
        "vbf": cfg.signal == "outlier",
        "n_signal": int(is_signal.sum()),
        "n_background": n_bkg,
        "inclusive_s_over_sqrt_b": float(is_signal.sum() / np.sqrt(n_bkg)),
        "signal_event_ids": data.loc[is_signal, EVENT_ID].astype(int).tolist(),
        "standard_model": sm_truth,
    }
    return Challenge(data=data, reference=reference, truth=truth)

r"""An LHC-Olympics-like dijet data set: a smooth m_jj spectrum with a hidden W′ → XY.

A fast stand-in for the LHC Olympics 2020 "R&D" data set (G. Kasieczka et al., Rep. Prog. Phys.
84 (2021) 124201, sec. 2: QCD dijets, and W′ → X(→ qq) Y(→ qq) with m_W′ = 3.5 TeV,
m_X = 500 GeV, m_Y = 100 GeV; large-radius jets with p_T > 1.2 TeV), generated from
parametrised distributions instead of Pythia and Delphes. Per event, the features of the
weakly supervised studies of that data set (CATHODE, A. Hallin et al., Phys. Rev. D 106 (2022)
055006): the dijet mass ``mjj``, the lighter jet's mass ``mj1``, the mass difference
``delta_mj`` = m_J2 − m_J1 ≥ 0, and the N-subjettiness ratios ``tau21_1``, ``tau21_2``
(J. Thaler, K. Van Tilburg, JHEP 03 (2011) 015) of the lighter and heavier jet.

Background (QCD):

* m_jj from the dijet function :math:`f(x) ∝ (1 − x)^{p_1} x^{−p_2}`, x = m_jj/√s, √s = 13 TeV
  (CMS, Phys. Rev. D 87 (2013) 114015), above :data:`MJJ_MIN`;
* each jet's mass :math:`m_J = p_T · r`, p_T = m_jj/2, with ln r normal (median
  :data:`QCD_MASS_FRACTION`): the jet masses grow with m_jj, as jet masses of QCD do;
* τ21 from a beta distribution whose mean falls with ln r (heavier QCD jets look more
  two-pronged), so the substructure is correlated with the jet mass and, through it, m_jj.

Optionally (``mjj_correlation`` c > 0), both jet masses of every event are shifted by c · m_jj,
the artificial correlation of the robustness study of CATHODE (Hallin et al. 2022; the shift
m_J → m_J + 0.1 m_jj of K. Benkendorfer, L. Le Pottier, B. Nachman, Phys. Rev. D 104 (2021)
035003): the signal region and its sidebands then differ without signal, which a classifier
of SR against SB (CWoLa) learns and a conditional density of the sidebands (CATHODE) follows.

Signal: m_jj normal around m_W′ (resolution :data:`MJJ_RESOLUTION`), jet masses normal
around m_X and m_Y (:data:`JET_MASS_RESOLUTION`), two-pronged τ21 (mean
:data:`SIGNAL_TAU21_MEAN`). The number of signal events is set by S/B in the signal region
(3.3–3.7 TeV: 0.6 % by default, as the benchmark of CATHODE and the LHC Olympics studies).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import ConfigError
from rediscovery.higgs.schema import EVENT_ID, LABEL, WEIGHT

__all__ = [
    "DIJET_FEATURES",
    "DIJET_MASS_COLUMN",
    "DIJET_SIGNAL_REGION",
    "DijetConfig",
    "simulate_dijet",
]

#: Centre-of-mass energy (GeV) of the dijet function's x = m_jj / √s.
SQRT_S = 13_000.0
#: Lower edge (GeV) of the generated m_jj (two jets of p_T > 1.2 TeV: m_jj ≳ 2.4 TeV).
MJJ_MIN = 2_600.0
#: Dijet-function exponents (p_1, p_2): a fit-like shape of the CMS 13 TeV spectra.
DIJET_EXPONENTS = (10.0, 5.0)
#: Median of m_J / p_T of QCD jets and the width of its logarithm.
QCD_MASS_FRACTION, QCD_MASS_LOG_WIDTH = 0.08, 0.6
#: Mean τ21 of QCD jets at the median mass fraction; its change per unit of ln(m_J/p_T).
QCD_TAU21_MEAN, QCD_TAU21_SLOPE = 0.65, -0.08
#: Mean τ21 of the two-pronged X and Y jets; concentration (a + b) of every τ21 beta law.
SIGNAL_TAU21_MEAN, TAU21_CONCENTRATION = 0.30, 14.0
#: The LHC Olympics R&D signal: m_W′, m_X, m_Y (GeV).
SIGNAL_MASSES = (3_500.0, 500.0, 100.0)
#: Relative resolution of m_jj and of the jet masses of the signal.
MJJ_RESOLUTION, JET_MASS_RESOLUTION = 0.05, 0.08
#: Signal region (GeV) of the CATHODE benchmark.
DIJET_SIGNAL_REGION = (3_300.0, 3_700.0)
#: The resonant feature and the features of the weakly supervised classifiers.
DIJET_MASS_COLUMN = "mjj"
DIJET_FEATURES: tuple[str, ...] = ("mj1", "delta_mj", "tau21_1", "tau21_2")


@dataclass(frozen=True)
class DijetConfig:
    """Settings of :func:`simulate_dijet`.

    Attributes
    ----------
    n_background
        QCD events (the R&D set has 10⁶).
    s_over_b
        Signal over background in :data:`DIJET_SIGNAL_REGION` (0: no signal).
    n_reference
        Background-only Monte Carlo events written beside the data (0: none).
    mjj_correlation
        c of the jet-mass shift m_J → m_J + c · m_jj (0: none; the CATHODE study's 0.1).
    seed
        Seed of everything.
    """

    n_background: int = 1_000_000
    s_over_b: float = 0.006
    n_reference: int = 0
    mjj_correlation: float = 0.0
    seed: int = 2021

    def __post_init__(self) -> None:
        if self.n_background < 1000:
            raise ConfigError(f"n_background {self.n_background}: expected at least 1000")
        if not (np.isfinite(self.s_over_b) and 0 <= self.s_over_b <= 1):
            raise ConfigError(f"s_over_b {self.s_over_b!r}: expected a fraction in [0, 1]")
        if self.n_reference < 0:
            raise ConfigError(f"n_reference {self.n_reference}: expected >= 0")
        if not (np.isfinite(self.mjj_correlation) and 0 <= self.mjj_correlation <= 1):
            raise ConfigError(
                f"mjj_correlation {self.mjj_correlation!r}: expected a value in [0, 1]"
            )


def _jets(
    m1: np.ndarray, m2: np.ndarray, t1: np.ndarray, t2: np.ndarray, shift: np.ndarray
) -> dict:
    """Both jet masses shifted by ``shift`` (GeV, c · m_jj), then ordered: J1 the lighter."""
    m1, m2 = m1 + shift, m2 + shift
    swap = m1 > m2
    return {
        "mj1": np.where(swap, m2, m1),
        "delta_mj": np.abs(m2 - m1),
        "tau21_1": np.where(swap, t2, t1),
        "tau21_2": np.where(swap, t1, t2),
    }


def _beta(rng: np.random.Generator, mean: np.ndarray) -> np.ndarray:
    mean = np.clip(mean, 0.05, 0.95)
    return rng.beta(mean * TAU21_CONCENTRATION, (1.0 - mean) * TAU21_CONCENTRATION)


def _background(n: int, rng: np.random.Generator, c: float = 0.0) -> pd.DataFrame:
    # m_jj by inverse transform of the dijet function tabulated on a fine grid
    p1, p2 = DIJET_EXPONENTS
    grid = np.linspace(MJJ_MIN, 0.9 * SQRT_S, 20_001)
    x = grid / SQRT_S
    pdf = (1.0 - x) ** p1 * x ** (-p2)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
    mjj = np.interp(rng.random(n), cdf / cdf[-1], grid)
    pt = 0.5 * mjj
    cols = []
    for _ in range(2):
        log_r = rng.normal(np.log(QCD_MASS_FRACTION), QCD_MASS_LOG_WIDTH, n)
        m = pt * np.exp(log_r)
        tau = _beta(rng, QCD_TAU21_MEAN + QCD_TAU21_SLOPE * (log_r - np.log(QCD_MASS_FRACTION)))
        cols.append((m, tau))
    jets = _jets(cols[0][0], cols[1][0], cols[0][1], cols[1][1], c * mjj)
    return pd.DataFrame({"mjj": mjj, **jets})


def _signal(n: int, rng: np.random.Generator, c: float = 0.0) -> pd.DataFrame:
    m_w, m_x, m_y = SIGNAL_MASSES
    mjj = rng.normal(m_w, MJJ_RESOLUTION * m_w, n)
    mx = rng.normal(m_x, JET_MASS_RESOLUTION * m_x, n)
    my = rng.normal(m_y, JET_MASS_RESOLUTION * m_y, n)
    tx, ty = _beta(rng, np.full(n, SIGNAL_TAU21_MEAN)), _beta(rng, np.full(n, SIGNAL_TAU21_MEAN))
    return pd.DataFrame({"mjj": mjj, **_jets(np.abs(mx), np.abs(my), tx, ty, c * mjj)})


def simulate_dijet(config: DijetConfig | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Unlabelled dijet data with a hidden W′ → XY, a background-only reference, the truth.

    Returns
    -------
    data
        ``EventId``, ``mjj``, ``mj1``, ``delta_mj``, ``tau21_1``, ``tau21_2`` (GeV), ``Weight``
        (1.0), rows shuffled.
    reference
        ``config.n_reference`` QCD events with ``Label`` 0 (empty when 0).
    truth
        JSON-ready: settings, masses, signal region, ``n_signal``, ``n_signal_in_sr``,
        ``n_background_in_sr``, ``signal_event_ids``.
    """
    cfg = config or DijetConfig()
    bkg_rng, sig_rng, ref_rng, shuffle_rng = np.random.default_rng(cfg.seed).spawn(4)
    c = cfg.mjj_correlation
    bkg = _background(cfg.n_background, bkg_rng, c)
    lo, hi = DIJET_SIGNAL_REGION
    n_b_sr = int(((bkg["mjj"] >= lo) & (bkg["mjj"] < hi)).sum())
    # the share of the signal's normal m_jj inside the signal region
    from scipy.stats import norm

    m_w = SIGNAL_MASSES[0]
    share = norm.cdf(hi, m_w, MJJ_RESOLUTION * m_w) - norm.cdf(lo, m_w, MJJ_RESOLUTION * m_w)
    n_sig = round(cfg.s_over_b * n_b_sr / share)
    sig = _signal(n_sig, sig_rng, c).assign(**{LABEL: np.int8(1)})
    data = pd.concat([bkg.assign(**{LABEL: np.int8(0)}), sig], ignore_index=True)
    data = data.iloc[shuffle_rng.permutation(len(data))].reset_index(drop=True)
    data.insert(0, EVENT_ID, np.arange(len(data), dtype=np.int64))
    data[WEIGHT] = 1.0
    is_sig = data.pop(LABEL).to_numpy() == 1
    in_sr = (data["mjj"] >= lo) & (data["mjj"] < hi)
    reference = _background(cfg.n_reference, ref_rng, c) if cfg.n_reference else bkg.iloc[:0]
    reference = reference.assign(**{WEIGHT: 1.0, LABEL: np.int8(0)})
    reference.insert(0, EVENT_ID, np.arange(len(reference), dtype=np.int64))
    truth: dict[str, Any] = {
        "settings": asdict(cfg),
        "dataset": "dijet",
        "signal": "resonance" if n_sig else "none",
        "mass": m_w if n_sig else None,
        "masses": dict(zip(("w_prime", "x", "y"), SIGNAL_MASSES, strict=True)),
        "signal_region": list(DIJET_SIGNAL_REGION),
        "n_signal": int(is_sig.sum()),
        "n_background": cfg.n_background,
        "n_signal_in_sr": int((is_sig & in_sr).sum()),
        "n_background_in_sr": int((~is_sig & in_sr).sum()),
        "inclusive_s_over_sqrt_b": float(is_sig.sum() / np.sqrt(cfg.n_background)),
        "signal_event_ids": data.loc[is_sig, EVENT_ID].astype(int).tolist(),
    }
    return data, reference, truth

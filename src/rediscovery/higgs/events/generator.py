"""Generator-level content and detector response of one batch of HiggsML-like events.

Engine of :mod:`rediscovery.higgs.events.simulate` (whose docstring describes the physics and its
references): the selection and detector constants, the sub-processes, the generation of
each process's truth-level event content with cheap generator-level pre-cuts, and the detector
simulation with the selection. Split from ``simulate.py`` to keep modules readable; the public
names (:data:`SELECTION`, :data:`DETECTOR`, ...) are re-exported there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from rediscovery.constants import TAU_MASS
from rediscovery.core.errors import ConfigError
from rediscovery.higgs.events.kinematics import (
    boson_system,
    breit_wigner,
    ditau_taus,
    isotropic,
    multiplicity_pmf,
    one_plus_cos2,
    p_to_ptetaphi,
    ptetaphi_to_p,
    rowsum,
    tau_hadronic,
    tau_leptonic,
    top2,
    two_body,
    wrap_phi,
)

__all__ = [
    "BACKGROUND_TOTAL",
    "DETECTOR",
    "SELECTION",
    "SIGNAL_TOTAL",
    "SUBPROCESSES",
    "DetectorModel",
    "Selection",
    "SubProcess",
    "Truth",
    "generate_truth",
    "resonance_subprocess",
    "simulate_detector",
]

#: Summed weight of the HiggsML training set (documentation v1.8; also the data README).
SIGNAL_TOTAL = 691.989
BACKGROUND_TOTAL = 410_999.847

# --------------------------------------------------------------------------------------------
# Masses and widths of the generated resonances (GeV): Z and W masses and widths and the b-quark
# pole mass from PDG 2022 (R.L. Workman et al., PTEP 2022, 083C01); the top mass is the
# 172.5 GeV of the 8 TeV ATLAS/CMS simulation (PDG 2022 direct measurements: 172.69 ± 0.30); the
# Higgs mass is the 125 GeV of the HiggsML sample (PDG 2022: 125.25 ± 0.17). The τ mass and
# decay modes are in :mod:`rediscovery.constants`.
_M_Z, _GAMMA_Z = 91.1876, 2.4952
_M_W, _GAMMA_W = 80.377, 2.085
_M_TOP = 172.5
_M_B = 4.78
_M_H = 125.0


@dataclass(frozen=True)
class Selection:
    """HiggsML-like lepton + hadronic-tau selection (GeV, radians).

    The thresholds reproduce the minima of the real HiggsML sample: PRI_tau_pt ≥ 20.000,
    PRI_lep_pt ≥ 26.004 (single-lepton trigger plateau), |η| ≤ 2.49 for both, jets counted with
    p_T ≥ 30.0 and |η| ≤ 4.49, DER_deltar_tau_lep ≥ 0.228.
    """

    tau_pt_min: float = 20.0
    tau_eta_max: float = 2.5
    lep_pt_min: float = 26.0
    lep_eta_max: float = 2.5
    jet_pt_min: float = 30.0
    jet_eta_max: float = 4.5
    #: jets between this and ``jet_pt_min`` are reconstructed (enter MET and ΣE_T) but not counted
    jet_pt_reco_min: float = 20.0
    deltar_min: float = 0.2
    #: b-tagging (for the b-jet veto applied to tt̄): p_T, |η| range and efficiency
    btag_pt_min: float = 30.0
    btag_eta_max: float = 2.5
    btag_efficiency: float = 0.70


SELECTION = Selection()


@dataclass(frozen=True)
class DetectorModel:
    """Resolution parameters of the detector simulation (GeV unless stated)."""

    tau_pt_resolution: float = 0.08  # σ(p_T)/p_T of τ_h
    lep_pt_resolution: float = 0.02  # σ(p_T)/p_T of e/μ
    #: jet σ(p_T)/p_T = N/p_T ⊕ S/√p_T ⊕ C (ATLAS-like calorimeter)
    jet_noise: float = 3.0
    jet_stochastic: float = 0.65
    jet_constant: float = 0.04
    angle_resolution: float = 0.01  # on η and φ of τ_h and lepton (jet angles: as generated)
    met_resolution: float = 0.55  # k in σ(E_x,y^miss) = k √ΣE_T  [√GeV]
    #: pile-up / underlying-event ΣE_T: Gamma(shape, scale) [GeV]
    ue_sumet_shape: float = 2.0
    ue_sumet_scale: float = 10.0
    fake_tau_fraction_mean: float = 0.80  # p_T(τ_h fake)/p_T(jet)
    fake_tau_fraction_sigma: float = 0.12


DETECTOR = DetectorModel()


@dataclass(frozen=True)
class SubProcess:
    """One generated sub-process."""

    name: str  # internal name
    process: str  # value of the Process column
    signal: bool
    share: float  # fraction of its class total weight
    count_share: float  # default fraction of generated events (of all events)
    isr_rate: float  # mean number of radiated partons above _ISR_PT_MIN (geometric)
    isr_index: float  # power-law index α of the radiation p_T spectrum
    eff_guess: float = 0.3  # selection efficiency (measured) to size the first batch
    #: a new scalar resonance X → ττ (see :func:`resonance_subprocess`): its mass and total
    #: width (GeV) and whether it is produced in vector-boson fusion; ``None`` for the SM
    mass: float | None = None
    width: float = 0.0
    vbf: bool = False


# Shares of the class totals derived from the real HiggsML sample's weight structure (each
# HiggsML process sample has its own weight values): signal = gluon fusion 88 % (weight 0.00572)
# + VBF 9 % (0.00046) + VH 3 % (0.00081, not simulated: counted with gluon fusion); background
# = W+jets 86.9 % (continuous weights, transverse mass peaking near m_W), Z→ττ 11.4 % (weights
# 0.513, 0.444, ...), tt̄ 1.8 % (0.227). Diboson is absent from HiggsML; it gets 0.25 % taken
# from W+jets (σ(WW)·BR ≈ 1 % of σ(W)·BR before selection, CMS/ATLAS 8 TeV).
SUBPROCESSES: tuple[SubProcess, ...] = (
    SubProcess("ggH", "htautau", True, 0.908, 0.155, 3.0, 3.0, 0.155),
    SubProcess("VBFH", "htautau", True, 0.092, 0.188, 1.2, 3.0, 0.187),
    SubProcess("ztautau", "ztautau", False, 0.1137, 0.200, 4.5, 3.0, 0.063),
    SubProcess("wjets", "wjets", False, 0.8661, 0.400, 1.3, 3.0, 0.156),
    SubProcess("ttbar", "ttbar", False, 0.0177, 0.042, 1.0, 3.0, 0.080),
    SubProcess("diboson", "diboson", False, 0.0025, 0.015, 1.3, 3.0, 0.35),
)


_ISR_PT_MIN = 15.0  # GeV, lower edge of the radiated-parton spectrum
#: Upper edge of the radiated partons' and fake-τ jets' p_T spectra, GeV: half the 8 TeV
#: centre-of-mass energy of the HiggsML simulation (LHC 2012; Adam-Bourdarios et al., HiggsML
#: documentation v1.8), the kinematic limit of one parton's p_T. Without it the float32 power
#: law reaches ~60 TeV for 1 parton in 10^5.
_PT_MAX = 4000.0
_ISR_ETA_SIGMA = 1.9
_ISR_KMAX = 4
#: power-law index of the p_T spectrum of jets that fake τ_h in W+jets: steeper than the
#: radiation spectrum because the fake rate falls with p_T
_FAKE_JET_INDEX = 4.5
_FAKE_JET_ETA_SIGMA = 1.5
_SOFT_SIGMA = 5.0  # GeV, per-component unclustered recoil
_JET_ETA_LOST = 4.9  # beyond the calorimeter: the parton is lost (fake MET)

def _precut(vec, pt_min, eta_max):
    """Loose generator-level cut on a lab four-vector: p_T > pt_min and |η| < eta_max.

    Used only with thresholds 5 σ of the resolution below the selection, so it removes events
    that could not pass the selection anyway (saves the cost of decaying and smearing them).
    """
    pt = np.hypot(vec[1], vec[2])
    return (pt > pt_min) & (np.abs(vec[3]) < pt * float(np.sinh(eta_max)))


def _precut_thresholds(nuis):
    det, sel = DETECTOR, SELECTION
    eta_pad = 5 * det.angle_resolution
    lep = (sel.lep_pt_min / (1 + 5 * det.lep_pt_resolution), sel.lep_eta_max + eta_pad)
    tau = (sel.tau_pt_min / (nuis["tes"] * (1 + 5 * det.tau_pt_resolution)),
           sel.tau_eta_max + eta_pad)
    return lep, tau


def _loosen(cut):
    """Parent-level version of a (p_T, |η|) pre-cut: 70 % of the p_T, 0.5 more in |η|."""
    return 0.7 * cut[0], cut[1] + 0.5


def _take(mask, *items):
    """Index arrays (or tuples of arrays) by ``mask`` (boolean or indices) on the first axis."""
    idx = np.flatnonzero(mask) if mask.dtype == bool else mask
    return [tuple(a[idx] for a in it) if isinstance(it, tuple) else it[idx] for it in items]


# --------------------------------------------------------------------------------------------
# radiation and event content


@dataclass
class Truth:
    """Generator-level content of a batch (GeV): visible τ_h, lepton, jets (n, k), ν, soft."""

    tau: tuple
    lep: tuple
    jet_pt: np.ndarray
    jet_eta: np.ndarray
    jet_phi: np.ndarray
    nu_x: np.ndarray
    nu_y: np.ndarray
    soft_x: np.ndarray
    soft_y: np.ndarray
    is_b: np.ndarray | None = None
    fake_tau: np.ndarray | None = None  # bool: τ_h is a mis-identified jet
    ok: np.ndarray = field(default_factory=lambda: np.ones(0, bool))


def _truncated(u, pt_min, index):
    """Map u in (0, 1] to (c, 1], c = (_PT_MAX/pt_min)^(1-index), so that the power-law
    inverse CDF ``pt_min * u**(-1/(index-1))`` stays at or below :data:`_PT_MAX` (the
    distribution truncated there, renormalised)."""
    c = (_PT_MAX / np.minimum(pt_min, _PT_MAX)) ** (1.0 - index)
    if np.ndim(c):
        c = np.asarray(c, dtype=u.dtype)
    return c + (1.0 - c) * u


def _radiation(rng, n, rate, index, kmax=_ISR_KMAX):
    """Radiated partons: geometric count of mean ``rate`` (at most kmax), p_T ∝ p_T^-α above
    _ISR_PT_MIN, uniform φ; plus the unclustered soft recoil (Gaussian, per component).

    Returns (pt, phi) of shape (n, kmax) (p_T = 0 for absent partons), their summed (px, py),
    and the soft term (sx, sy). The pseudorapidities, which do not enter the recoil, are drawn
    later by :func:`_parton_eta` for the events that survive the generator-level cuts.
    """
    k = rng.discrete(multiplicity_pmf(rate, kmax), n)
    u = _truncated(1.0 - rng.random((n, kmax)), _ISR_PT_MIN, index)
    # inverse CDF of the power law; index 3 (the default) is 1/√u, cheaper than a power
    shape = 1.0 / np.sqrt(u) if index == 3.0 else u ** (-1.0 / (index - 1.0))
    pt = _ISR_PT_MIN * shape * (np.arange(kmax)[None, :] < k[:, None])
    phi = rng.uniform(-np.pi, np.pi, (n, kmax))
    sumx = rowsum(pt * np.cos(phi))
    sumy = rowsum(pt * np.sin(phi))
    soft = rng.normal(0.0, _SOFT_SIGMA, (2, n))
    return pt, phi, sumx, sumy, soft[0], soft[1]


def _parton_eta(rng, shape):
    """Pseudorapidities of radiated partons: Gaussian, σ = _ISR_ETA_SIGMA."""
    return rng.normal(0.0, _ISR_ETA_SIGMA, shape)


def _recoil(sumx, sumy, soft_x, soft_y):
    """Transverse momentum balancing the radiation (partons + soft term)."""
    return -(sumx + soft_x), -(sumy + soft_y)


def _parton_sums(pt, phi):
    return rowsum(pt * np.cos(phi)), rowsum(pt * np.sin(phi))


def _fake_from_jets(rng, pt, eta, phi, candidates):
    """Pick one candidate jet per event (uniformly) to fake a τ_h.

    Returns (index, has_candidate, fraction r of the jet momentum taken by the fake τ_h).
    """
    n, k = pt.shape
    score = np.where(candidates, rng.uniform(0.0, 1.0, (n, k)), -1.0)
    idx = np.argmax(score, axis=1)
    has = np.take_along_axis(score, idx[:, None], 1)[:, 0] >= 0
    return idx, has, _fake_fraction(rng, n)


def _fake_fraction(rng, n):
    """Fraction of a jet's p_T reconstructed as the fake τ_h."""
    mean, sigma = DETECTOR.fake_tau_fraction_mean, DETECTOR.fake_tau_fraction_sigma
    return np.clip(rng.normal(mean, sigma, n), 0.3, 1.0)


def _gen_boson_tautau(rng, n, proc: SubProcess, nuis, higgs: bool, vbf: bool,
                      resonance: SubProcess | None = None) -> Truth:
    kmax = 2 if vbf else _ISR_KMAX
    pt, phi, sumx, sumy, sx, sy = _radiation(rng, n, proc.isr_rate, proc.isr_index, kmax)
    tag_eta = None
    if vbf:
        # Two tagging quarks from WW/ZZ fusion: p_T ~ Gamma (peak ≈ m_W/2), opposite forward
        # hemispheres with |Δη| ≈ 4.5 on average, independent azimuths.
        tag_pt = rng.gamma(2.6, 24.0, (n, 2))
        side = np.where(rng.random(n) < 0.5, 1.0, -1.0)[:, None]
        tag_eta = side * np.column_stack(
            [rng.normal(2.3, 1.1, n), -rng.normal(2.3, 1.1, n)]
        )
        tag_phi = rng.uniform(-np.pi, np.pi, (n, 2))
        tx, ty = _parton_sums(tag_pt, tag_phi)
        sumx, sumy = sumx + tx, sumy + ty
        pt = np.concatenate([tag_pt, pt], axis=1)
        phi = np.concatenate([tag_phi, phi], axis=1)
    qx, qy = _recoil(sumx, sumy, sx, sy)
    if resonance is not None and resonance.mass is not None:
        m0, gamma = resonance.mass, resonance.width
        mass = (breit_wigner(rng, n, m0, gamma, 0.5 * m0, 1.5 * m0) if gamma > 0
                else np.full(n, m0))
        y_sigma = 1.7 if vbf else 1.8
    elif higgs:
        mass = _M_H
        y_sigma = 1.7 if vbf else 1.8
    else:
        mass = breit_wigner(rng, n, _M_Z, _GAMMA_Z, 60.0, 250.0)
        y_sigma = 2.0
    boson = boson_system(rng, mass, qx, qy, y_sigma)
    t1, t2 = ditau_taus(rng, boson, mass, spin1=not higgs)
    lep_cut, tau_cut = _precut_thresholds(nuis)
    # on the parent τ's the pre-cuts are looser still: a visible daughter can be more central
    # and carry more p_T than its parent (opening angle ~ m_τ/E)
    keep1 = np.flatnonzero(_precut(t2, *_loosen(tau_cut)) & _precut(t1, *_loosen(lep_cut)))
    t1, t2 = _take(keep1, t1, t2)
    lep, nu1 = tau_leptonic(rng, t1)
    keep2 = np.flatnonzero(_precut(lep, *lep_cut))
    t2, lep, nu1 = _take(keep2, t2, lep, nu1)
    # the radiation arrays are gathered once, for the events that survived both cuts
    pt, phi, sx, sy = _take(keep1[keep2], pt, phi, sx, sy)
    if tag_eta is not None:
        (tag_eta,) = _take(keep1[keep2], tag_eta)
    eta = _parton_eta(rng, pt.shape)
    if tag_eta is not None:
        eta[:, :2] = tag_eta
    had, nu2 = tau_hadronic(rng, t2)
    return Truth(had, lep, pt, eta, phi, nu1[1] + nu2[1], nu1[2] + nu2[2], sx, sy,
                  ok=np.ones(len(sx), bool))


def _gen_wjets(rng, n, proc: SubProcess, nuis) -> Truth:
    pt, phi, sumx, sumy, sx, sy = _radiation(
        rng, n, proc.isr_rate, proc.isr_index, _ISR_KMAX - 1)
    # a fake τ_h needs a jet: W + ≥ 1 parton, the first column, whose p_T spectrum is steeper
    # than the radiation's because fake rates fall with p_T (_FAKE_JET_INDEX)
    # It is drawn directly above the p_T that can give a selected τ_h, t/r: for a given
    # response r and a scale-free power law, this truncated draw gives exactly the events that
    # plain rejection would keep (weights are normalised to the selected yield, so the rejected
    # part needs no counting). r ~ N(0.80, 0.12) is thus the response of *selected* fakes.
    r = _fake_fraction(rng, n)
    _, tau_cut = _precut_thresholds(nuis)
    fmin = np.minimum(np.maximum(_ISR_PT_MIN, tau_cut[0] / r), _PT_MAX)
    fpt = fmin * _truncated(1.0 - rng.random(n), fmin, _FAKE_JET_INDEX) ** (
        -1.0 / (_FAKE_JET_INDEX - 1.0))
    fphi = rng.uniform(-np.pi, np.pi, n)
    sumx, sumy = sumx + fpt * np.cos(fphi), sumy + fpt * np.sin(fphi)
    pt = np.column_stack([fpt, pt])
    phi = np.column_stack([fphi, phi])
    qx, qy = _recoil(sumx, sumy, sx, sy)
    mass = breit_wigner(rng, n, _M_W, _GAMMA_W, 40.0, 200.0)
    w = boson_system(rng, mass, qx, qy, 2.0)
    lep, nu = two_body(w, mass, 0.0, 0.0, one_plus_cos2(rng, n))
    lep_cut, _ = _precut_thresholds(nuis)
    keep = _precut(lep, *lep_cut)
    lep, nu, pt, phi, sx, sy, r = _take(keep, lep, nu, pt, phi, sx, sy, r)
    m = len(r)
    eta = _parton_eta(rng, pt.shape)
    eta[:, 0] = rng.normal(0.0, _FAKE_JET_ETA_SIGMA, m)
    return _fake_assembly(lep, nu, pt, eta, phi, sx, sy, np.zeros(m, np.int64),
                          np.ones(m, bool), r)


def _fake_assembly(lep, nu, pt, eta, phi, sx, sy, idx, has, r, is_b=None):
    n = pt.shape[0]
    rows = np.arange(n)
    jpt, jeta, jphi = pt[rows, idx], eta[rows, idx], phi[rows, idx]
    tpt = r * jpt
    tau = (tpt * np.cosh(jeta), *ptetaphi_to_p(tpt, jeta, jphi))
    # the rest of the jet (1 - r) stays in the calorimeter as soft activity
    sx = sx + (1 - r) * jpt * np.cos(jphi)
    sy = sy + (1 - r) * jpt * np.sin(jphi)
    pt = pt.copy()
    pt[rows, idx] = np.where(has, 0.0, pt[rows, idx])
    return Truth(tau, lep, pt, eta, phi, nu[1], nu[2], sx, sy, is_b=is_b,
                  fake_tau=np.ones(n, bool), ok=has)


def _gen_ttbar(rng, n, proc: SubProcess, nuis) -> Truth:
    pt, phi, sumx, sumy, sx, sy = _radiation(rng, n, proc.isr_rate, proc.isr_index, 2)
    eta = _parton_eta(rng, pt.shape)
    qx, qy = _recoil(sumx, sumy, sx, sy)
    # tt̄ invariant mass: threshold 2 m_t plus an exponential tail (falling gluon luminosity)
    mass = 2 * _M_TOP + 10.0 + rng.exponential(110.0, n)
    system = boson_system(rng, mass, qx, qy, 1.1)
    t1, t2 = two_body(system, mass, _M_TOP, _M_TOP, isotropic(rng, n))
    mw1 = breit_wigner(rng, n, _M_W, _GAMMA_W, 60.0, 100.0)
    mw2 = breit_wigner(rng, n, _M_W, _GAMMA_W, 60.0, 100.0)
    b1, w1 = two_body(t1, _M_TOP, _M_B, mw1, isotropic(rng, n))
    b2, w2 = two_body(t2, _M_TOP, _M_B, mw2, isotropic(rng, n))
    lep, nu = two_body(w1, mw1, 0.0, 0.0, isotropic(rng, n))
    lep_cut, _ = _precut_thresholds(nuis)
    keep = _precut(lep, *lep_cut)
    pt, eta, phi, sx, sy, b1, b2, w2, mw2, lep, nu = _take(
        keep, pt, eta, phi, sx, sy, b1, b2, w2, mw2, lep, nu)
    n = len(sx)
    q1, q2 = two_body(w2, mw2, 0.0, 0.0, isotropic(rng, n))
    # half of the selected tt̄ lepton–hadron events have a real τ_h from W → τν (ATLAS 2015)
    real_tau = rng.uniform(0.0, 1.0, n) < 0.5
    tau_true, nu_w = two_body(w2, mw2, TAU_MASS, 0.0, isotropic(rng, n))
    had, nu_t = tau_hadronic(rng, tau_true)
    parts = [p_to_ptetaphi(*v[1:]) for v in (b1, b2, q1, q2)]
    dpt = np.column_stack([p[0] for p in parts])
    deta = np.column_stack([p[1] for p in parts])
    dphi = np.column_stack([p[2] for p in parts])
    # real τ: the W2 quarks do not exist
    dpt[:, 2:] = np.where(real_tau[:, None], np.float32(0.0), dpt[:, 2:])
    jpt = np.concatenate([dpt, pt], axis=1)
    jeta = np.concatenate([deta, eta], axis=1)
    jphi = np.concatenate([dphi, phi], axis=1)
    is_b = np.zeros(jpt.shape, bool)
    is_b[:, :2] = True
    cand = (jpt > 0) & (np.abs(jeta) < 2.6)
    cand[:, :2] = False  # light-quark and gluon jets fake τ_h far more often than b jets
    idx, has, r = _fake_from_jets(rng, jpt, jeta, jphi, cand)
    fake = _fake_assembly(lep, nu, jpt, jeta, jphi, sx, sy, idx, has, r, is_b=is_b)
    # overlay the real-τ events
    rt = real_tau
    tau = tuple(np.where(rt, a, b) for a, b in zip(had, fake.tau, strict=True))
    nu_x = np.where(rt, nu[1] + nu_w[1] + nu_t[1], nu[1])
    nu_y = np.where(rt, nu[2] + nu_w[2] + nu_t[2], nu[2])
    return Truth(
        tau, lep,
        np.where(rt[:, None], jpt, fake.jet_pt), jeta, jphi, nu_x, nu_y,
        np.where(rt, sx, fake.soft_x), np.where(rt, sy, fake.soft_y),
        is_b=is_b, fake_tau=~rt, ok=rt | has,
    )


def _gen_diboson(rng, n, proc: SubProcess, nuis) -> Truth:
    pt, phi, sumx, sumy, sx, sy = _radiation(rng, n, proc.isr_rate, proc.isr_index)
    eta = _parton_eta(rng, pt.shape)
    qx, qy = _recoil(sumx, sumy, sx, sy)
    mass = 2 * _M_W + 5.0 + rng.exponential(90.0, n)
    system = boson_system(rng, mass, qx, qy, 1.6)
    mw1 = breit_wigner(rng, n, _M_W, _GAMMA_W, 60.0, 100.0)
    mw2 = breit_wigner(rng, n, _M_W, _GAMMA_W, 60.0, 100.0)
    w1, w2 = two_body(system, mass, mw1, mw2, one_plus_cos2(rng, n))
    lep, nu1 = two_body(w1, mw1, 0.0, 0.0, isotropic(rng, n))
    tau, nu2 = two_body(w2, mw2, TAU_MASS, 0.0, isotropic(rng, n))
    had, nu3 = tau_hadronic(rng, tau)
    nx = nu1[1] + nu2[1] + nu3[1]
    ny = nu1[2] + nu2[2] + nu3[2]
    return Truth(had, lep, pt, eta, phi, nx, ny, sx, sy, ok=np.ones(n, bool))


def resonance_subprocess(mass: float, width: float = 0.0, *, vbf: bool = False) -> SubProcess:
    """A hypothetical scalar X → ττ of ``mass`` and total ``width`` (GeV), not part of the SM.

    Produced like the Higgs boson (gluon fusion: the same radiation; ``vbf``: with two forward
    tagging jets), decaying isotropically to τ_h τ_ℓ; the mass follows a Breit–Wigner truncated
    to [m/2, 3m/2] (fixed if ``width`` is 0). Used by the anomaly challenge to hide new physics
    in a Standard Model sample; its events carry no ``Process`` of the SM schema.
    """
    if not (np.isfinite(mass) and mass > 2 * TAU_MASS):
        raise ConfigError(f"mass {mass!r}: expected a finite mass above 2 m_tau (GeV)")
    if not (np.isfinite(width) and width >= 0):
        raise ConfigError(f"width {width!r}: expected a finite non-negative width (GeV)")
    ggh = SUBPROCESSES[1] if vbf else SUBPROCESSES[0]
    return SubProcess("resonance", "resonance", True, 1.0, 1.0, ggh.isr_rate, ggh.isr_index,
                      0.3, mass=float(mass), width=float(width), vbf=vbf)


def generate_truth(rng, n, proc: SubProcess, nuis) -> Truth:
    if proc.mass is not None:
        return _gen_boson_tautau(rng, n, proc, nuis, higgs=True, vbf=proc.vbf, resonance=proc)
    if proc.name == "ggH":
        return _gen_boson_tautau(rng, n, proc, nuis, higgs=True, vbf=False)
    if proc.name == "VBFH":
        return _gen_boson_tautau(rng, n, proc, nuis, higgs=True, vbf=True)
    if proc.name == "ztautau":
        return _gen_boson_tautau(rng, n, proc, nuis, higgs=False, vbf=False)
    if proc.name == "wjets":
        return _gen_wjets(rng, n, proc, nuis)
    if proc.name == "ttbar":
        return _gen_ttbar(rng, n, proc, nuis)
    return _gen_diboson(rng, n, proc, nuis)


# --------------------------------------------------------------------------------------------
# detector and selection


def simulate_detector(
    rng, t: Truth, nuis: Mapping[str, float]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Smear, reconstruct MET and ΣE_T, apply the selection.

    Returns (PRI columns of the *selected* events only, in batch order; pass mask over the
    batch). The τ_h and lepton are smeared first and the selection cuts that do not depend on
    the nuisances (lepton p_T and |η|, τ_h |η|, ΔR, ``t.ok``) are applied before the jets, MET
    and ΣE_T are built, so that work is spent only on events that can still pass. The random
    numbers of the jets are then drawn for the same events whatever the nuisances, which keeps
    the common random numbers of the shifted/nominal yield ratio exact.
    """
    det, sel = DETECTOR, SELECTION
    n = t.nu_x.shape[0]
    ang = det.angle_resolution

    tau_pt, tau_eta, tau_phi = p_to_ptetaphi(*t.tau[1:])
    tau_pt = tau_pt * rng.normal(1.0, det.tau_pt_resolution, n)
    tau_eta = tau_eta + rng.normal(0.0, ang, n)
    tau_phi = wrap_phi(tau_phi + rng.normal(0.0, ang, n))
    lep_pt, lep_eta, lep_phi = p_to_ptetaphi(*t.lep[1:])
    lep_pt = lep_pt * rng.normal(1.0, det.lep_pt_resolution, n)
    lep_eta = lep_eta + rng.normal(0.0, ang, n)
    lep_phi = wrap_phi(lep_phi + rng.normal(0.0, ang, n))
    dphi = wrap_phi(tau_phi - lep_phi)
    deltar = np.hypot(tau_eta - lep_eta, dphi)
    # cuts independent of the nuisances (τ energy scale enters only the τ_h p_T cut below)
    pre = np.flatnonzero(
        t.ok
        & (np.abs(tau_eta) < sel.tau_eta_max)
        & (lep_pt > sel.lep_pt_min) & (np.abs(lep_eta) < sel.lep_eta_max)
        & (deltar > sel.deltar_min)
    )
    tau_pt, tau_eta, tau_phi, lep_pt, lep_eta, lep_phi = _take(
        pre, tau_pt, tau_eta, tau_phi, lep_pt, lep_eta, lep_phi)
    tau_pt = tau_pt * nuis["tes"]
    jpt_true, jeta, jphi, soft_x, soft_y = _take(
        pre, t.jet_pt, t.jet_eta, t.jet_phi, t.soft_x, t.soft_y)
    m = pre.size

    # jets: resolution N/pT ⊕ S/√pT ⊕ C, scaled by the jet energy scale
    safe = np.maximum(jpt_true, 1.0)
    rel = np.sqrt((det.jet_noise / safe) ** 2 + det.jet_stochastic**2 / safe + det.jet_constant**2)
    jpt = jpt_true * np.maximum(1.0 + rel * rng.standard_normal(jpt_true.shape), 0.0) * nuis["jes"]
    # jet directions are taken as measured: a 0.01 smearing is invisible next to the jet
    # energy resolution and would cost two normal deviates per parton
    in_calo = np.abs(jeta) < _JET_ETA_LOST
    reco = in_calo & (jpt > sel.jet_pt_reco_min) & (np.abs(jeta) < sel.jet_eta_max)
    counted = reco & (jpt > sel.jet_pt_min)
    ok = tau_pt > sel.tau_pt_min
    if t.is_b is not None:
        tag = (
            t.is_b[pre] & reco & (jpt > sel.btag_pt_min) & (np.abs(jeta) < sel.btag_eta_max)
            & (rng.uniform(0.0, 1.0, jpt.shape) < sel.btag_efficiency)
        )
        ok &= rowsum(tag.astype(np.int8)) == 0
    # the soft-term resolution draws are made for all m events (fixed stream), then everything
    # that remains is computed for the selected events only
    ue_sumet = rng.gamma(det.ue_sumet_shape, det.ue_sumet_scale, m)
    soft_noise = rng.standard_normal((2, m))
    keep = np.flatnonzero(ok)
    (tau_pt, tau_eta, tau_phi, lep_pt, lep_eta, lep_phi, jpt_true, jpt, jeta, jphi, reco,
     counted, in_calo, soft_x, soft_y, ue_sumet) = _take(
        keep, tau_pt, tau_eta, tau_phi, lep_pt, lep_eta, lep_phi, jpt_true, jpt, jeta, jphi,
        reco, counted, in_calo, soft_x, soft_y, ue_sumet)
    noise_x, noise_y = soft_noise[0][keep], soft_noise[1][keep]

    # partons below the jet threshold but inside the calorimeter join the soft term
    soft_jet = in_calo & ~reco & (jpt_true > 0)
    cphi, sphi = np.cos(jphi), np.sin(jphi)
    soft_x = soft_x + rowsum(np.where(soft_jet, jpt * cphi, 0.0))
    soft_y = soft_y + rowsum(np.where(soft_jet, jpt * sphi, 0.0))
    soft_sumet = rowsum(np.where(soft_jet, jpt, 0.0))
    jet_sumet = rowsum(np.where(reco, jpt, 0.0))
    sumet = tau_pt + lep_pt + jet_sumet + soft_sumet + np.hypot(soft_x, soft_y) + ue_sumet

    # soft term resolution k √ΣE_T (+ the soft_met nuisance, extra Gaussian σ in GeV)
    sigma = np.sqrt(det.met_resolution**2 * sumet + nuis["soft_met"] ** 2)
    soft_x = soft_x + sigma * noise_x
    soft_y = soft_y + sigma * noise_y
    met_x = -(tau_pt * np.cos(tau_phi) + lep_pt * np.cos(lep_phi) + soft_x
              + rowsum(np.where(reco, jpt * cphi, 0.0)))
    met_y = -(tau_pt * np.sin(tau_phi) + lep_pt * np.sin(lep_phi) + soft_y
              + rowsum(np.where(reco, jpt * sphi, 0.0)))

    # leading and subleading counted jets
    cpt = np.where(counted, jpt, 0.0)
    pt1, eta1, phi1, pt2, eta2, phi2 = top2(cpt, jeta, jphi)
    njet = rowsum(counted.astype(np.int8))
    lead = njet >= 1
    sub = njet >= 2

    passed = np.zeros(n, bool)
    passed[pre[keep]] = True
    nan = np.nan
    cols = {
        "PRI_tau_pt": tau_pt,
        "PRI_tau_eta": tau_eta,
        "PRI_tau_phi": tau_phi,
        "PRI_lep_pt": lep_pt,
        "PRI_lep_eta": lep_eta,
        "PRI_lep_phi": lep_phi,
        "PRI_met": np.hypot(met_x, met_y),
        "PRI_met_phi": wrap_phi(np.arctan2(met_y, met_x)),
        "PRI_met_sumet": sumet,
        "PRI_jet_num": np.minimum(njet, 3).astype(np.float32),
        "PRI_jet_leading_pt": np.where(lead, pt1, nan),
        "PRI_jet_leading_eta": np.where(lead, eta1, nan),
        "PRI_jet_leading_phi": np.where(lead, phi1, nan),
        "PRI_jet_subleading_pt": np.where(sub, pt2, nan),
        "PRI_jet_subleading_eta": np.where(sub, eta2, nan),
        "PRI_jet_subleading_phi": np.where(sub, phi2, nan),
        "PRI_jet_all_pt": rowsum(cpt),
    }
    return cols, passed

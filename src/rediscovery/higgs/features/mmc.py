"""A missing-mass calculator (MMC) for H→ττ→ℓτ_h events, in the spirit of ATLAS's.

Method (A. Elagin, P. Murat, A. Pranko, A. Safonov, "A new mass reconstruction technique for
resonances decaying to di-tau", Nucl. Instrum. Meth. A 654 (2011) 481, arXiv:1012.4686):

For every event we integrate over the unmeasured neutrino configurations. A fixed set of
``n_points`` quasi-random points (scrambled Sobol sequence, ``seed``) samples, for each tau,
the direction of its invisible system around the visible one: the opening angle α
(log-uniformly over three decades below min(π/2, 20 m_τ / |p_vis|)) and the azimuth ψ around
the visible direction (uniform); and, for the leptonic tau, the invariant mass m_νν of its two
neutrinos from its distribution in unpolarised τ→ℓνν decays (Michel spectrum, m_νν² =
m_τ² (1 - x), dΓ/dx ∝ x² (3 - 2x)). Given a direction, the τ-mass constraint
m_τ² = (p_vis + p_mis)² fixes |p_mis| (one root for τ_h, up to two for τ_ℓ), so each point
yields up to two complete ττ configurations. Each is weighted by

* the τ decay-angle probabilities P(Δθ₃D = α | p_τ) of the hadronic and leptonic decays
  (divided by the log-uniform proposal density ∝ 1/α). These PDFs are tabulated once by
  deterministic quadrature of isotropic two-body decays in the τ rest frame boosted to the
  lab: τ→πν, ρν, a₁ν with their branching fractions; τ→ℓ + (νν of mass m_νν);
* the MET resolution: a 2-D Gaussian exp(-χ²/2) between the summed invisible p_T and the
  measured MET, σ = ``met_resolution`` · √ΣE_T per component.

The estimate is the median (default) or the most probable value (as in the ATLAS MMC) of the
weighted m_ττ distribution (a histogram of ``bin_width``). An event is undefined when its best
configuration misses the measured MET by χ² > ``chi2_max`` (25, i.e. 5σ); those events fall back
on the collinear approximation when its momentum fractions are physical (0 < x ≤ 1) if
``fallback`` is set, and are NaN otherwise.

Differences from the ATLAS MMC: the ATLAS tool scans the invisible azimuths on a grid with the
MET varied explicitly and uses decay-angle PDFs fitted to full simulation; here the directions
are sampled around the visible taus (which never wastes points on configurations without a
solution), the MET enters as a likelihood term, and the PDFs come from two-body kinematics. The
visible tau is massless, as in the HiggsML primaries. ``met_resolution`` = 0.7 GeV^½ (ATLAS
quotes ≈ 0.5 √ΣE_T for the MET resolution, Eur. Phys. J. C 72 (2012) 1844) gives on the real
sample the same undefined fraction as the official DER_mass_MMC without fallback.

Everything is vectorised over (events x points x solutions) in chunks of ``chunk_size`` events
to bound memory (about 40 temporaries of chunk_size x n_points float64).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import qmc

from rediscovery.constants import TAU_HADRONIC_MODES, TAU_MASS
from rediscovery.core.checks import require_memory
from rediscovery.core.errors import InputError
from rediscovery.higgs.features.collinear import collinear_mass

__all__ = [
    "CHI2_MAX",
    "ESTIMATOR",
    "MET_RESOLUTION",
    "decay_angle_logpdf",
    "invisible_momentum",
    "mmc_mass",
]

log = logging.getLogger(__name__)

Array = NDArray[np.float64]

# The τ mass and the hadronic decay modes (visible mass, branching fraction; the weights are
# renormalised to one over the three modes) are those of the simulator:
# :data:`rediscovery.constants.TAU_MASS`, :data:`rediscovery.constants.TAU_HADRONIC_MODES`.
#: Default MET resolution coefficient (GeV^½): σ(E_x,y^miss) = k √ΣE_T.
MET_RESOLUTION = 0.7
#: Events whose best configuration misses the measured MET by more than this χ² are undefined.
CHI2_MAX = 25.0
#: Summary of the weighted m_ττ distribution: "median" (default, best resolution on the real
#: sample) or "peak" (its most probable value, as in the ATLAS MMC).
ESTIMATOR = "median"

# decay-angle PDF table: log10 p_τ (GeV) in [0.5, 3.2] and the scaled angle v = Δθ p_τ / m_τ
_LOGP_EDGES = np.linspace(0.5, 3.2, 28)
_V_MAX = 40.0
_V_BINS = 400


def _michel_quantile(u: Array) -> Array:
    """Inverse CDF of the lepton energy fraction x for dΓ/dx ∝ x²(3 - 2x): F(x) = 2x³ - x⁴."""
    grid = np.linspace(0.0, 1.0, 2001)
    cdf = 2 * grid**3 - grid**4
    return np.interp(u, cdf, grid)


def _two_body_angles(p_tau: Array, m_a: Array, m_b: Array, cos_star: Array) -> Array:
    """Lab angle between the two products of an isotropic two-body τ decay (broadcasting)."""
    m = TAU_MASS
    p_star = np.sqrt(np.maximum((m**2 - (m_a + m_b) ** 2) * (m**2 - (m_a - m_b) ** 2), 0)) / (2 * m)
    e_a = np.sqrt(p_star**2 + m_a**2)
    e_b = np.sqrt(p_star**2 + m_b**2)
    e_tau = np.sqrt(p_tau**2 + m**2)
    gamma, beta_gamma = e_tau / m, p_tau / m
    sin_star = np.sqrt(1 - cos_star**2)
    a_par = gamma * p_star * cos_star + beta_gamma * e_a
    b_par = -gamma * p_star * cos_star + beta_gamma * e_b
    perp = p_star * sin_star
    cos_ab = (a_par * b_par - perp**2) / np.sqrt((a_par**2 + perp**2) * (b_par**2 + perp**2))
    return np.arccos(np.clip(cos_ab, -1.0, 1.0))


@lru_cache(maxsize=2)
def _angle_table(kind: str) -> Array:
    """log P(v | log10 p) on the (_LOGP_EDGES, v) grid, with v = Δθ p_τ / m_τ.

    Deterministic quadrature: 16 (8) momenta per log p bin, 400 (160) equally spaced cos θ*
    values (the decay is isotropic for an unpolarised τ), and the nominal masses of
    :data:`~rediscovery.constants.TAU_HADRONIC_MODES` (hadronic) or 48 Michel quantiles of m_νν
    (leptonic).
    """
    n_cos = 400 if kind == "had" else 160
    cos_star = (np.arange(n_cos) + 0.5) / n_cos * 2 - 1
    if kind == "had":
        m_a = np.array([mode.mass for mode in TAU_HADRONIC_MODES])
        w_mode = np.array([mode.branching_fraction for mode in TAU_HADRONIC_MODES])
        w_mode = w_mode / w_mode.sum()
        m_b = np.zeros_like(m_a)
    elif kind == "lep":
        x = _michel_quantile((np.arange(48) + 0.5) / 48)
        m_b = TAU_MASS * np.sqrt(np.clip(1 - x, 0, 1))
        m_a = np.zeros_like(m_b)
        w_mode = np.full(m_b.size, 1 / m_b.size)
    else:  # pragma: no cover - internal
        raise ValueError(kind)
    n_sub = 16 if kind == "had" else 8
    lo, hi = _LOGP_EDGES[:-1], _LOGP_EDGES[1:]
    logp = lo[:, None] + (np.arange(n_sub) + 0.5) / n_sub * (hi - lo)[:, None]  # (P, S)
    p = 10.0 ** logp[:, :, None, None]
    theta = _two_body_angles(p, m_a[None, None, :, None], m_b[None, None, :, None],
                             cos_star[None, None, None, :])
    v = theta * p / TAU_MASS
    weights = np.broadcast_to(w_mode[None, None, :, None], v.shape)
    edges = np.linspace(0, _V_MAX, _V_BINS + 1)
    table = np.empty((lo.size, _V_BINS))
    for i in range(lo.size):  # 27 momentum bins: a loop over table rows, not over events
        h, _ = np.histogram(v[i].ravel(), bins=edges, weights=weights[i].ravel())
        # light smoothing of the quadrature's discreteness (3-bin running mean)
        h = np.convolve(h, np.ones(3) / 3, mode="same")
        density = h / (h.sum() * (edges[1] - edges[0]))
        table[i] = np.log(density + 1e-4 * density.max())
    return table


def decay_angle_logpdf(kind: str, dtheta: Array, p_tau: Array) -> Array:
    """log P(Δθ₃D | p_τ) of a τ decay (``kind`` "had" or "lep"), in rad⁻¹.

    Uses the table in v = Δθ p_τ / m_τ: P(Δθ | p) = P(v | p) · p / m_τ. Values outside the
    table (v > 40, or p outside 3-1600 GeV: clamped) get the table's floor.
    """
    table = _angle_table(kind)
    logp = np.log10(np.maximum(p_tau, 1e-3))
    i = np.clip(np.searchsorted(_LOGP_EDGES, logp) - 1, 0, table.shape[0] - 1)
    v = dtheta * p_tau / TAU_MASS
    j = np.clip((v / _V_MAX * _V_BINS).astype(np.int64), 0, _V_BINS - 1)
    return table[i, j] + np.log(p_tau / TAU_MASS)


#: Working memory per event of a block and integration point, bytes: about 40 float64
#: temporaries (module notes), rounded up to the 60 that the ``chunk_size`` help quotes.
_BYTES_PER_POINT = 60


def _unit_points(n_points: int, seed: int) -> Array:
    sampler = qmc.Sobol(d=5, scramble=True, seed=np.random.default_rng(seed))
    m = int(np.ceil(np.log2(max(n_points, 2))))
    return sampler.random_base2(m)[:n_points]


#: Opening angles are scanned log-uniformly over ``_ALPHA_DECADES`` decades below the maximum.
_ALPHA_DECADES = 3.0
#: The maximum scanned angle in units of m_τ / |p_vis| (capped at π/2).
_ALPHA_SCALE = 20.0


def invisible_momentum(p_vis: Array, cos_a: Array, sin_a: Array, m_mis: Array | float
                        ) -> tuple[Array, Array, NDArray[np.bool_], NDArray[np.bool_]]:
    """|p_mis| from the τ-mass constraint at opening angle α to a massless visible system.

    m_τ² = m_mis² + 2 (E E_mis - |p_vis| |p_mis| cos α) with E = |p_vis|; writing K = (m_τ² -
    m_mis²) / (2 |p_vis|), √(p² + m_mis²) = p cos α + K has the roots
    p = (K cos α ± √(K² - m_mis² sin²α)) / sin²α, valid if p ≥ 0 and p cos α + K ≥ 0.
    Returns both roots and their validity masks (for m_mis = 0 only the + root exists).
    sin²α is taken from ``sin_a``, not 1 - cos²α: for the tiny angles allowed when m_mis is
    close to m_τ, cos α rounds to 1 and 1 - cos²α to 0, which made the roots overflow.
    """
    k = 0.5 * (TAU_MASS**2 - m_mis**2) / p_vis
    sin2 = np.maximum(sin_a * sin_a, 1e-300)
    disc = k * k - m_mis**2 * sin2
    ok = disc >= 0
    root = np.sqrt(np.where(ok, disc, 0.0))
    p1 = (k * cos_a + root) / sin2
    p2 = (k * cos_a - root) / sin2
    ok1 = ok & (p1 >= 0) & (p1 * cos_a + k >= 0)
    ok2 = ok & (p2 > 0) & (p2 * cos_a + k >= 0) & (np.asarray(m_mis) > 0)
    return p1, p2, ok1, ok2


def _basis(px: Array, py: Array, pz: Array) -> tuple[Array, Array, Array]:
    """Unit vector along p and two unit vectors orthogonal to it (each of shape (3, ...))."""
    norm_p = np.sqrt(px * px + py * py + pz * pz)
    n = np.stack([px, py, pz]) / norm_p
    pt = np.hypot(px, py)
    e1 = np.stack([-py / pt, px / pt, np.zeros_like(px)])  # transverse, ⟂ n
    e2 = np.stack([n[1] * e1[2] - n[2] * e1[1], n[2] * e1[0] - n[0] * e1[2],
                   n[0] * e1[1] - n[1] * e1[0]])
    return n, e1, e2


def _chunk_mass(k: dict[str, Array], pts: Array, met_resolution: float, bin_width: float,
                m_max: float, chi2_max: float, estimator: str = ESTIMATOR) -> Array:
    """MMC mass for one chunk of events (arrays of shape (C,)); pts has shape (N, 5)."""
    col = {key: v[:, None] for key, v in k.items()}
    sigma = met_resolution * np.sqrt(np.maximum(col["sumet"], 1.0))
    mex = col["met"] * np.cos(col["met_phi"])
    mey = col["met"] * np.sin(col["met_phi"])
    m_nn = pts[None, :, 4]

    sides = []
    for name, kind, m_mis, u_a, u_psi in (("tau", "had", 0.0, 0, 1), ("lep", "lep", m_nn, 2, 3)):
        pt, eta, phi = col[f"{name}_pt"], col[f"{name}_eta"], col[f"{name}_phi"]
        vx, vy, vz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
        p_vis = pt * np.cosh(eta)
        a_max = np.minimum(np.pi / 2, _ALPHA_SCALE * TAU_MASS / p_vis)
        if kind == "lep":  # the constraint has no solution beyond sin α = K / m_νν
            kk = 0.5 * (TAU_MASS**2 - m_nn**2) / p_vis
            a_max = np.minimum(a_max, np.arcsin(np.minimum(1.0, kk / np.maximum(m_nn, 1e-9))))
        alpha = a_max * 10.0 ** (-_ALPHA_DECADES * pts[None, :, u_a])
        psi = 2 * np.pi * pts[None, :, u_psi]
        n, e1, e2 = _basis(vx, vy, vz)
        ca, sa = np.cos(alpha), np.sin(alpha)
        d = ca * n + sa * (np.cos(psi) * e1 + np.sin(psi) * e2)  # (3, C, N)
        roots = invisible_momentum(p_vis, ca, sa, m_mis)
        for p_m, ok in ((roots[0], roots[2]), (roots[1], roots[3])):
            if kind == "had" and ok is roots[3]:
                continue
            p_m = np.where(ok, p_m, 0.0)
            mx, my, mz = p_m * d[0], p_m * d[1], p_m * d[2]
            e_tot = p_vis + np.sqrt(p_m * p_m + m_mis**2)
            sx, sy, sz = vx + mx, vy + my, vz + mz
            p_tau = np.sqrt(sx * sx + sy * sy + sz * sz)
            # decay-angle likelihood over the log-uniform proposal density ∝ 1/α
            logw = decay_angle_logpdf(kind, alpha, p_tau) + np.log(alpha)
            sides.append((kind, np.where(ok, logw, -np.inf), e_tot, sx, sy, sz, mx, my))

    n_bins = int(np.ceil(m_max / bin_width))
    n_ev = sigma.shape[0]
    hist = np.zeros(n_ev * n_bins)
    offset = (np.arange(n_ev) * n_bins)[:, None]
    combos = []
    log_ref = np.full(n_ev, -np.inf)
    chi2_min = np.full(n_ev, np.inf)
    for s_t in (s for s in sides if s[0] == "had"):
        for s_l in (s for s in sides if s[0] == "lep"):
            chi2 = ((s_t[6] + s_l[6] - mex) ** 2 + (s_t[7] + s_l[7] - mey) ** 2) / sigma**2
            logw = s_t[1] + s_l[1] - 0.5 * chi2
            m2 = ((s_t[2] + s_l[2]) ** 2 - (s_t[3] + s_l[3]) ** 2 - (s_t[4] + s_l[4]) ** 2
                  - (s_t[5] + s_l[5]) ** 2)
            combos.append((logw, np.sqrt(np.maximum(m2, 0.0))))
            log_ref = np.maximum(log_ref, np.max(logw, axis=1))
            chi2_min = np.minimum(chi2_min, np.min(np.where(np.isfinite(logw), chi2, np.inf),
                                                   axis=1))
    found = np.isfinite(log_ref) & (chi2_min <= chi2_max)
    ref = np.where(found, log_ref, 0.0)[:, None]
    for logw, mass in combos:
        w = np.exp(logw - ref)  # -inf -> 0
        b = np.clip((mass / bin_width).astype(np.int64), 0, n_bins - 1)
        hist += np.bincount((b + offset).ravel(), weights=w.ravel(), minlength=hist.size)
    hist = hist.reshape(n_ev, n_bins)
    # most probable value of the (lightly smoothed) weighted m_ττ distribution
    smooth = hist[:, :-2] + hist[:, 1:-1] + hist[:, 2:]
    peak = np.argmax(smooth, axis=1) + 1
    rows = np.arange(n_ev)
    lo_i, hi_i = peak - 1, np.minimum(peak + 1, n_bins - 1)
    hs = hist[rows, lo_i] + hist[rows, peak] + hist[rows, hi_i]
    centre = (np.arange(n_bins) + 0.5) * bin_width
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_peak = (hist[rows, lo_i] * centre[lo_i] + hist[rows, peak] * centre[peak]
                     + hist[rows, hi_i] * centre[hi_i]) / hs
    if estimator == "median":
        cum = np.cumsum(hist, axis=1)
        half = 0.5 * cum[:, -1:]
        mean_peak = centre[np.argmax(cum >= half, axis=1)]
        hs = cum[:, -1]
    return np.where(found & (hs > 0), mean_peak, np.nan)


def mmc_mass(
    df: pd.DataFrame,
    *,
    n_points: int = 1024,
    chunk_size: int = 256,
    seed: int = 20140512,
    met_resolution: float = MET_RESOLUTION,
    bin_width: float = 2.0,
    m_max: float = 1500.0,
    chi2_max: float = CHI2_MAX,
    estimator: str = ESTIMATOR,
    fallback: bool = True,
    progress: bool = False,
) -> Array:
    """Missing-mass estimate of the ττ invariant mass (GeV) per event.

    Parameters
    ----------
    df
        Events with the PRI_ columns (validated by the caller, see
        :func:`rediscovery.higgs.features.primaries.validate_primaries`).
    n_points
        Integration points per event (the same scrambled Sobol points for every event). The
        work is 4 · n_points neutrino configurations per event.
    chunk_size
        Events per vectorised block; memory ≈ 60 · chunk_size · n_points bytes.
    seed
        Seed of the Sobol scrambling (the result is deterministic given it).
    met_resolution
        k in σ(E_x,y^miss) = k √ΣE_T, GeV^½.
    bin_width, m_max
        Histogram of m_ττ whose most probable value is returned (GeV).
    fallback
        Use the collinear mass where the scan finds no valid configuration.
    progress
        Show a rich progress bar over chunks.

    Returns
    -------
    ndarray
        m_ττ in GeV, NaN where undefined (no configuration and no physical collinear solution,
        or a NaN in a needed input).
    """
    for name, val in (("n_points", n_points), ("chunk_size", chunk_size)):
        if int(val) < 1:
            raise InputError(f"must be a positive integer, got {val!r}", column=name)
    if estimator not in ("median", "peak"):
        raise InputError(f"expected 'median' or 'peak', got {estimator!r}", column="estimator")
    if met_resolution <= 0 or bin_width <= 0 or m_max <= bin_width:
        raise InputError("met_resolution and bin_width must be > 0 and m_max > bin_width",
                         column="met_resolution")
    cols = {"tau_pt": "PRI_tau_pt", "tau_eta": "PRI_tau_eta", "tau_phi": "PRI_tau_phi",
            "lep_pt": "PRI_lep_pt", "lep_eta": "PRI_lep_eta", "lep_phi": "PRI_lep_phi",
            "met": "PRI_met", "met_phi": "PRI_met_phi", "sumet": "PRI_met_sumet"}
    k = {key: df[c].to_numpy(dtype=np.float64) for key, c in cols.items()}
    n = len(df)
    out = np.full(n, np.nan)
    usable = np.logical_and.reduce([np.isfinite(v) for v in k.values()]) & (k["tau_pt"] > 0) \
        & (k["lep_pt"] > 0)
    idx = np.flatnonzero(usable)

    require_memory(_BYTES_PER_POINT * (min(int(chunk_size), max(idx.size, 1)) + 2)
                   * int(n_points), what=f"the missing mass with {int(n_points):,} points per "
                   "event", column="n_points", hint="use fewer integration points")
    u = _unit_points(n_points, seed)
    pts = u.copy()
    pts[:, 4] = TAU_MASS * np.sqrt(np.clip(1 - _michel_quantile(u[:, 4]), 0, 1))

    starts: Iterable[int] = range(0, idx.size, chunk_size)
    if progress:
        from rich.progress import track

        starts = track(starts, description="missing mass", total=-(-idx.size // chunk_size))
    for s in starts:
        sel = idx[s:s + chunk_size]
        out[sel] = _chunk_mass({key: v[sel] for key, v in k.items()}, pts, met_resolution,
                               bin_width, m_max, chi2_max, estimator)
    if fallback:
        missing = np.isnan(out) & usable
        if missing.any():
            out[missing] = collinear_mass(df.iloc[np.flatnonzero(missing)])
    if n:
        log.debug("missing mass: %d events, %.1f%% undefined", n, 100 * np.isnan(out).mean())
    return out

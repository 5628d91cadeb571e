r"""Bump hunt: a smooth background fitted to a mass spectrum, the most significant window.

The spectrum of the ττ mass is histogrammed in bins of equal width in ln m. The background is a
Poisson regression whose log expected count is a low-order polynomial in ln m,

.. math:: \ln ν_i = \sum_{k=0}^{d} β_k t_i^k, \qquad t_i = \text{ln } m_i
   \text{ rescaled to } [-1, 1],

(the family of the "dijet function" :math:`f(x) = p_0 (1-x)^{p_1} x^{-p_2 - p_3 \ln x}` of the
CDF/ATLAS/CMS dijet searches, without the (1 − x) factor, negligible at m ≪ √s; e.g. CMS,
Phys. Rev. D 87 (2013) 114015). For each window of ``window_bins`` adjacent bins a
signal of free yield, uniform over the window, is added to the background, and the local
significance is the profile-likelihood ratio against background only, every background
coefficient profiled (so the uncertainty of the interpolated background is counted).
The look-elsewhere effect is measured, not assumed: the scan is repeated on Poisson
pseudo-experiments drawn from the background fitted to all bins, and the global p-value is the
fraction whose largest local Z reaches the observed one (BumpHunter's recipe: G. Choudalakis,
arXiv:1101.0390). All fits (windows × pseudo-experiments) are batched Newton–Raphson steps of
the Poisson likelihood (a generalised linear model with log link).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from rediscovery.core.errors import ConfigError, InputError

__all__ = [
    "BumpHuntConfig",
    "BumpHuntResult",
    "bump_hunt",
    "choose_degree",
    "excess_weighted_mass",
    "fit_background",
    "toy_max_z",
    "window_scan",
]

_NEWTON_ITERATIONS = 60
_MAX_STEP = 2.0  # largest change of a coefficient per Newton step (damping)


@dataclass(frozen=True)
class BumpHuntConfig:
    """Settings of :func:`bump_hunt`.

    Attributes
    ----------
    m_min, m_max
        Fitted mass range (GeV); the default starts above the Z and Higgs peaks and stops below
        the 1500 GeV ceiling of the MMC mass.
    n_bins
        Bins of equal width in ln m.
    window_bins
        Width of a signal window in bins (5 of the 20 default bins: ±26 %, about ±1σ of the
        MMC mass resolution at 300–800 GeV).
    degree, max_degree
        Lowest and highest degree of the polynomial in ln m of the log background. The degree
        used is chosen on the spectrum itself by :func:`choose_degree` (a likelihood-ratio
        test of each added coefficient, as the F-test of the dijet searches), and again on
        every pseudo-experiment, so that the global p-value counts the choice. A fixed
        degree: ``max_degree = degree``.
    degree_test_p
        An added coefficient is kept when its likelihood-ratio test has a p-value below this.
    n_toys
        Background-only pseudo-experiments for the global p-value (0: not computed).
    seed
        Seed of the pseudo-experiments.
    """

    m_min: float = 200.0
    m_max: float = 1300.0
    n_bins: int = 20
    window_bins: int = 5
    degree: int = 3
    max_degree: int = 6
    degree_test_p: float = 0.3
    n_toys: int = 300
    seed: int = 2019

    def __post_init__(self) -> None:
        if not (0 < self.m_min < self.m_max and np.isfinite(self.m_max)):
            raise ConfigError(
                f"m_min {self.m_min}, m_max {self.m_max}: expected 0 < m_min < m_max (GeV)"
            )
        if self.degree < 0 or self.degree > 6:
            raise ConfigError(f"degree {self.degree}: expected 0..6")
        if not self.degree <= self.max_degree <= 6:
            raise ConfigError(f"max_degree {self.max_degree}: expected degree ({self.degree}) .. 6")
        if not 0 < self.degree_test_p < 1:
            raise ConfigError(f"degree_test_p {self.degree_test_p}: expected a p-value in (0, 1)")
        if self.window_bins < 1:
            raise ConfigError(f"window_bins {self.window_bins}: expected at least 1")
        if self.n_bins - self.window_bins - 2 < self.max_degree + 1:
            raise ConfigError(
                f"n_bins {self.n_bins}: expected at least window_bins + max_degree + 3 = "
                f"{self.window_bins + self.max_degree + 3} (bins outside a window fix the fit)"
            )
        if self.n_toys < 0:
            raise ConfigError(f"n_toys {self.n_toys}: expected >= 0")


@dataclass
class BumpHuntResult:
    """Outcome of :func:`bump_hunt`.

    Attributes
    ----------
    edges, counts, background
        Bin edges (GeV), observed counts, background fitted to all bins.
    windows
        One row per window: ``m_lo``, ``m_hi`` (GeV), ``observed``, ``expected`` (fit outside
        the window), ``p_local``, ``z_local``.
    best
        Row of ``windows`` with the largest local Z.
    z_local, p_local, p_global
        Of the best window (``p_global`` NaN without pseudo-experiments).
    mass
        Mass estimate (GeV): the excess-weighted geometric mean of the best window's bin centres.
    """

    edges: np.ndarray
    counts: np.ndarray
    background: np.ndarray
    windows: pd.DataFrame
    best: int
    z_local: float
    p_local: float
    p_global: float
    mass: float
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary."""
        w = self.windows.iloc[self.best]
        return {
            "z_local": self.z_local,
            "p_local": self.p_local,
            "p_global": self.p_global,
            "mass": self.mass,
            "window": [float(w["m_lo"]), float(w["m_hi"])],
            "observed": float(w["observed"]),
            "expected": float(w["expected"]),
            "excess_claimed": bool(self.p_global < 0.05),
            "events_in_range": float(self.counts.sum()),
            "settings": self.settings,
        }


def _design(n_bins: int, degree: int) -> np.ndarray:
    t = np.linspace(-1.0, 1.0, n_bins)
    return np.vander(t, degree + 1, increasing=True)


def fit_background(counts: np.ndarray, use: np.ndarray, degree: int) -> np.ndarray:
    """Expected counts of the log-polynomial background fitted to the bins where ``use``.

    Parameters
    ----------
    counts
        (..., n_bins) observed counts; leading axes are independent fits.
    use
        (..., n_bins) boolean (broadcast against ``counts``): bins entering the likelihood.
    degree
        Degree of the polynomial in the rescaled ln m.

    Returns
    -------
    (..., n_bins) expected counts in every bin (inside the excluded ones: extrapolated).
    """
    counts = np.asarray(counts, dtype=float)
    use = np.broadcast_to(use, counts.shape).astype(float)
    x = _design(counts.shape[-1], degree)  # (nb, p)
    # start: weighted least squares of ln(n + 1/2)
    y = np.log(counts + 0.5)
    w = use * (counts + 0.5)
    a = np.einsum("...i,ij,ik->...jk", w, x, x) + 1e-9 * np.eye(x.shape[1])
    beta = np.linalg.solve(a, np.einsum("...i,...i,ij->...j", w, y, x)[..., None])[..., 0]
    for _ in range(_NEWTON_ITERATIONS):
        mu = np.exp(np.clip(beta @ x.T, -50.0, 50.0))
        grad = np.einsum("...i,ij->...j", use * (counts - mu), x)
        hess = np.einsum("...i,ij,ik->...jk", use * mu, x, x) + 1e-9 * np.eye(x.shape[1])
        step = _solve(hess, grad)
        step = np.clip(step, -_MAX_STEP, _MAX_STEP)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-8:
            break
    return np.exp(np.clip(beta @ x.T, -50.0, 50.0))


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Newton steps a⁻¹ b for a stack of matrices; where a matrix is singular (a window or
    spectrum with empty bins, an expected count clipped to 0) the least-squares step of its
    pseudo-inverse, so one degenerate window does not stop the scan."""
    try:
        return np.linalg.solve(a, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return (np.linalg.pinv(a) @ b[..., None])[..., 0]


def _windows(n_bins: int, width: int) -> np.ndarray:
    """(n_windows, n_bins) masks: windows with at least one fitted bin on each side."""
    starts = np.arange(1, n_bins - width)
    idx = np.arange(n_bins)
    return (idx[None, :] >= starts[:, None]) & (idx[None, :] < starts[:, None] + width)


def _fit_with_signal(
    counts: np.ndarray, masks: np.ndarray, beta0: np.ndarray, degree: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit ν_i = exp(X β)_i + s f_i per window (f: the window's box, unit sum) by Fisher scoring.

    ``counts`` (..., 1, nb), ``masks`` (W, nb), ``beta0`` (..., 1, p) start. Returns
    (β (..., W, p), s (..., W), ν (..., W, nb)).
    """
    x = _design(masks.shape[-1], degree)
    f = masks / masks.sum(-1, keepdims=True)
    shape = np.broadcast_shapes(counts.shape[:-1], (masks.shape[0],))
    beta = np.broadcast_to(beta0, shape + beta0.shape[-1:]).copy()
    sig = np.zeros(shape)
    for _ in range(_NEWTON_ITERATIONS):
        b = np.exp(np.clip(beta @ x.T, -50.0, 50.0))
        nu = np.maximum(b + sig[..., None] * f, 1e-9)
        r = counts / nu - 1.0
        jac = np.concatenate(
            [b[..., None] * x, np.broadcast_to(f[..., None], (*b.shape, 1))], axis=-1
        )  # (..., W, nb, p+1)
        grad = np.einsum("...i,...ij->...j", r, jac)
        info = np.einsum("...i,...ij,...ik->...jk", 1.0 / nu, jac, jac)
        info = info + 1e-9 * np.eye(info.shape[-1])
        step = _solve(info, grad)
        step[..., :-1] = np.clip(step[..., :-1], -_MAX_STEP, _MAX_STEP)
        # the signal may not make an expected count negative
        floor = -np.min(np.where(masks > 0, b, np.inf), axis=-1) / f.max(-1)
        new_sig = np.maximum(sig + step[..., -1], 0.9 * floor)
        beta = beta + step[..., :-1]
        done = np.max(np.abs(step[..., :-1])) < 1e-7 and np.max(np.abs(new_sig - sig)) < 1e-4
        sig = new_sig
        if done:
            break
    b = np.exp(np.clip(beta @ x.T, -50.0, 50.0))
    return beta, sig, np.maximum(b + sig[..., None] * f, 1e-9)


def _poisson_loglike(counts: np.ndarray, nu: np.ndarray) -> np.ndarray:
    return (counts * np.log(np.maximum(nu, 1e-300)) - nu).sum(-1)


def choose_degree(counts: np.ndarray, cfg: BumpHuntConfig) -> np.ndarray:
    """Degree of the log-polynomial background of each (..., n_bins) spectrum.

    Starting at ``cfg.degree``, a coefficient is added while the likelihood-ratio test of the
    background-only fits of degree d and d + 1 rejects degree d at level ``cfg.degree_test_p``
    (−2 Δln L against χ² with one degree of freedom, Wilks' theorem), up to ``cfg.max_degree``:
    the fitted family grows with the statistics until it describes the spectrum (the
    "F-test" of the dijet searches, e.g. CMS, Phys. Rev. D 91 (2015) 052009).

    Returns
    -------
    (...,) integer degrees.
    """
    c = np.asarray(counts, dtype=float)
    every = np.ones(c.shape[-1], bool)
    loglike = np.stack(
        [
            _poisson_loglike(c, np.maximum(fit_background(c, every, d), 1e-9))
            for d in range(cfg.degree, cfg.max_degree + 1)
        ],
        axis=-1,
    )  # (..., n_degrees)
    threshold = stats.chi2.isf(cfg.degree_test_p, 1)
    reject = 2.0 * np.diff(loglike, axis=-1) > threshold  # (..., n_degrees - 1)
    # the first degree not rejected: count the leading rejections
    leading = np.cumprod(reject, axis=-1).sum(-1) if reject.shape[-1] else np.zeros(c.shape[:-1])
    return (cfg.degree + leading).astype(int)


def window_scan(
    counts: np.ndarray, cfg: BumpHuntConfig, degree: int | None = None
) -> tuple[np.ndarray, ...]:
    """Observed and expected counts, p and Z of every window, for (..., n_bins) counts.

    The local significance is the profile-likelihood ratio of "background + a signal of free
    yield s spread uniformly over the window" against "background only" (all polynomial
    coefficients profiled): q0 = 2 (ln L(ŝ, β̂) − ln L(0, β̂̂)), Z = √q0 for ŝ > 0, else 0
    (Cowan, Cranmer, Gross, Vitells, Eur. Phys. J. C 71 (2011) 1554, eq. 12); p = Φ(−Z).
    The expected count of a window is the background of the signal-plus-background fit.
    ``degree`` (default ``cfg.degree``): the background's polynomial degree for every spectrum.

    Returns (masks (W, nb), observed (..., W), expected (..., W), p (..., W), z (..., W),
    background of each window's fit (..., W, nb)).
    """
    degree = cfg.degree if degree is None else int(degree)
    masks = _windows(counts.shape[-1], cfg.window_bins)
    c = np.asarray(counts, dtype=float)
    nu0 = fit_background(c, np.ones(c.shape[-1], bool), degree)  # (..., nb)
    x = _design(c.shape[-1], degree)
    beta0 = np.linalg.lstsq(x, np.log(nu0).reshape(-1, c.shape[-1]).T, rcond=None)[0].T
    beta0 = beta0.reshape((*c.shape[:-1], 1, x.shape[1]))
    c1 = c[..., None, :]
    beta, sig, nu1 = _fit_with_signal(c1, masks.astype(float), beta0, degree)
    q0 = 2.0 * (_poisson_loglike(c1, nu1) - _poisson_loglike(c, nu0)[..., None])
    z = np.where(sig > 0, np.sqrt(np.clip(q0, 0.0, None)), 0.0)
    p = stats.norm.sf(z)
    bkg = np.exp(np.clip(beta @ x.T, -50.0, 50.0))
    observed = (c1 * masks).sum(-1)
    expected = (bkg * masks).sum(-1)
    return masks, observed, expected, p, z, bkg


def bump_hunt(
    mass: np.ndarray, config: BumpHuntConfig | None = None, *, window: int | None = None
) -> BumpHuntResult:
    """Scan the mass spectrum for the most significant local excess over a smooth background.

    Parameters
    ----------
    mass
        Reconstructed masses (GeV) of the selected events; NaN and values outside
        [m_min, m_max) are ignored.
    config
        :class:`BumpHuntConfig`.
    window
        Report this window (row of ``windows``) instead of the most significant one (a signal
        region chosen beforehand, as in CWoLa hunting); the global p-value still counts the
        whole scan of the pseudo-experiments, so it is conservative for a fixed window.

    Raises
    ------
    InputError
        Fewer than 10 events in the fitted range.
    """
    cfg = config or BumpHuntConfig()
    m = np.asarray(mass, dtype=float)
    edges = np.geomspace(cfg.m_min, cfg.m_max, cfg.n_bins + 1)
    counts = np.histogram(m[np.isfinite(m)], bins=edges)[0].astype(float)
    if counts.sum() < 10:
        raise InputError(
            f"{counts.sum():.0f} events in the fitted mass range "
            f"[{cfg.m_min}, {cfg.m_max}) GeV; expected at least 10",
            column="mass",
        )
    degree = int(choose_degree(counts, cfg))
    masks, observed, expected, p, z, bkg = window_scan(counts, cfg, degree)
    best = int(np.argmax(z)) if window is None else int(window)
    if not 0 <= best < z.shape[-1]:
        raise ConfigError(f"window {window}: expected 0..{z.shape[-1] - 1}")
    background = fit_background(counts, np.ones(cfg.n_bins, bool), degree)
    p_global = float("nan")
    if cfg.n_toys:
        z_toys = toy_max_z(background, cfg)
        p_global = float((1 + np.count_nonzero(z_toys >= z[best])) / (1 + cfg.n_toys))
    est = excess_weighted_mass(edges, counts, bkg[best], masks[best])
    lo = edges[:-1][masks.argmax(axis=1)]
    hi = edges[1:][masks.shape[1] - 1 - masks[:, ::-1].argmax(axis=1)]
    windows = pd.DataFrame(
        {
            "m_lo": lo,
            "m_hi": hi,
            "observed": observed,
            "expected": expected,
            "p_local": p,
            "z_local": z,
        }
    )
    return BumpHuntResult(
        edges=edges,
        counts=counts,
        background=background,
        windows=windows,
        best=best,
        z_local=float(z[best]),
        p_local=float(p[best]),
        p_global=p_global,
        mass=est,
        settings={**asdict(cfg), "degree_used": degree},
    )


def excess_weighted_mass(
    edges: np.ndarray, counts: np.ndarray, background: np.ndarray, inside: np.ndarray
) -> float:
    """Mass estimate of a window (GeV): the mean of ln m over its bins (``inside``) weighted
    by the excess counts − background (clipped at 0); the window's log-centre without excess."""
    log_m = np.log(np.sqrt(edges[:-1] * edges[1:]))
    excess = np.clip(counts - np.nan_to_num(background), 0.0, None) * inside
    if excess.sum() > 0:
        return float(np.exp((excess * log_m).sum() / excess.sum()))
    return float(np.exp(log_m[inside].mean()))


def toy_max_z(background: np.ndarray, cfg: BumpHuntConfig) -> np.ndarray:
    """Largest local Z of the scan of each of ``cfg.n_toys`` Poisson pseudo-experiments drawn
    from ``background`` (seed ``cfg.seed``), each with the degree it chooses itself."""
    rng = np.random.default_rng(cfg.seed)
    toys = rng.poisson(background, size=(cfg.n_toys, background.size)).astype(float)
    degrees = choose_degree(toys, cfg)
    z_max = np.zeros(cfg.n_toys)
    for d in np.unique(degrees):
        pick = degrees == d
        z_max[pick] = window_scan(toys[pick], cfg, int(d))[4].max(axis=1)
    return z_max

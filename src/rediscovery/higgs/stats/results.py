"""Result containers of the inference functions: one small typed result per question.

Each function of :mod:`rediscovery.higgs.stats.inference` returns one of these (as cabinetry's
``fit/results_containers.py``); every container has ``to_dict()`` for JSON. Values are ``nan``
where a quantity was not computed; ``converged`` is ``False`` (and ``messages`` says which step
failed) when a fit behind the numbers failed, and then no number should be reported as a result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "FitResult",
    "IntervalResult",
    "LikelihoodScan",
    "MLEResult",
    "NuisanceSummary",
    "SignificanceResult",
    "UpperLimitResult",
]


def _plain(value: Any) -> Any:
    """JSON-ready copy: arrays to lists, tuples to lists (recursively in dicts)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


class _Result:
    """``to_dict`` of every result: its dataclass fields, JSON-ready (``_skip`` left out)."""

    _skip: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict of the fields (arrays and tuples become lists)."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)  # type: ignore[arg-type]
                if f.name not in self._skip}


@dataclass(kw_only=True)
class _Status(_Result):
    """``converged`` and ``messages``, shared by the results of fits (keyword-only fields)."""

    converged: bool = True
    messages: list[str] = field(default_factory=list)


@dataclass
class MLEResult(_Status):
    """Maximum-likelihood fit (:func:`~rediscovery.higgs.stats.inference.mle`).

    Attributes
    ----------
    backend
        Back-end name.
    mu_hat
        Best-fit signal strength μ̂.
    bestfit
        All best-fit parameters in the order of ``model.parameter_names``.
    parameters, errors
        The same by name, and their parabolic errors (empty unless asked for), from the
        Hessian of the full likelihood.
    nll_min
        Negative log-likelihood at the minimum.
    converged, messages
        ``False`` with the reasons when MIGRAD failed or a parameter ended at a bound.
    engine
        The engine that made the fit; the other inference functions reuse it when given this
        result (``mle=``), so that they continue the same fit. Not part of ``to_dict``.
    """

    backend: str
    mu_hat: float
    bestfit: np.ndarray
    parameters: dict[str, float]
    nll_min: float
    errors: dict[str, float] = field(default_factory=dict)
    engine: Any = field(default=None, repr=False, compare=False)

    _skip: ClassVar[tuple[str, ...]] = ("engine",)


@dataclass
class IntervalResult(_Status):
    """Profile-likelihood interval of μ (:func:`~rediscovery.higgs.stats.inference.interval`).

    Attributes
    ----------
    mu_hat, mu_lo, mu_hi
        Best fit and the crossings of ``−2Δln L(μ) = F⁻¹_{χ²₁}(cl)``.
    cl
        Confidence level of the interval (default Φ(1) − Φ(−1) = 68.27%).
    mu_stat_lo, mu_stat_hi
        The 68.27% interval with every nuisance parameter fixed at its best-fit value
        (statistics only); equal to the interval when the model has no nuisance parameters.
    """

    backend: str
    mu_hat: float
    mu_lo: float
    mu_hi: float
    cl: float
    mu_stat_lo: float = math.nan
    mu_stat_hi: float = math.nan

    @property
    def mu_err(self) -> tuple[float, float]:
        """Asymmetric errors ``(σ_down, σ_up)`` (positive numbers)."""
        return self.mu_hat - self.mu_lo, self.mu_hi - self.mu_hat


@dataclass
class SignificanceResult(_Status):
    """Discovery significance (:func:`~rediscovery.higgs.stats.inference.significance`).

    Attributes
    ----------
    q0
        ``−2 ln λ(0)`` on the data for μ̂ ≥ 0, else 0 (Cowan et al. 2011, eq. 12).
    z_observed, p_observed
        ``sqrt(q0)`` (σ) and its asymptotic p-value ``1 − Φ(Z)``.
    z_expected
        Median expected significance: the same on the Asimov data set at μ = 1 and nominal
        nuisances (eq. 24); ``nan`` when not asked for.
    """

    backend: str
    q0: float
    z_observed: float
    p_observed: float
    z_expected: float = math.nan


@dataclass
class UpperLimitResult(_Status):
    """Observed CLs upper limit (:func:`~rediscovery.higgs.stats.inference.upper_limit`).

    Attributes
    ----------
    limit
        The μ where CLs(μ) = ``alpha`` (asymptotic, q̃_μ); the upper bound of μ (and
        ``converged = False``) when CLs stays above ``alpha`` up to it.
    alpha, cl
        CLs level and the confidence level ``1 − alpha`` of the limit.
    """

    backend: str
    limit: float
    alpha: float
    cl: float


@dataclass
class NuisanceSummary(_Result):
    """Post-fit nuisance parameters (:func:`~rediscovery.higgs.stats.inference.nuisance_summary`).

    Attributes
    ----------
    pulls, constraints
        Per nuisance parameter ``(θ̂ − θ0)/σ_prior`` and ``σ_post/σ_prior`` (γ's of bins without
        MC-statistics uncertainty are left out: they are fixed at 1).
    impacts
        Per nuisance parameter ``(Δμ_down, Δμ_up)`` when it is fixed at θ̂ ∓ σ_post and the
        fit repeated; empty unless asked for.
    """

    backend: str
    pulls: dict[str, float] = field(default_factory=dict)
    constraints: dict[str, float] = field(default_factory=dict)
    impacts: dict[str, tuple[float, float]] = field(default_factory=dict)

    def ranking(self) -> list[str]:
        """Nuisance parameters by decreasing impact ``max(|Δμ_down|, |Δμ_up|)``."""
        return sorted(self.impacts, key=lambda n: -max(abs(self.impacts[n][0]),
                                                         abs(self.impacts[n][1])))


@dataclass
class LikelihoodScan(_Result):
    """``−2Δln L`` profiled over the nuisances, on a grid of μ
    (:func:`~rediscovery.higgs.stats.inference.likelihood_scan`)."""

    mu: np.ndarray
    q: np.ndarray
    mu_hat: float
    nll_min: float
    backend: str

    def crossings(self, level: float = 1.0) -> tuple[float, float]:
        """μ where the scan crosses ``level`` left and right of μ̂ (linear interpolation)."""
        i0 = int(np.argmin(self.q))
        left = _cross(self.mu[:i0 + 1][::-1], self.q[:i0 + 1][::-1], level)
        right = _cross(self.mu[i0:], self.q[i0:], level)
        return left, right


def _cross(x: np.ndarray, y: np.ndarray, level: float) -> float:
    above = np.flatnonzero(y >= level)
    if above.size == 0 or above[0] == 0:
        return math.nan
    j = above[0]
    return float(np.interp(level, [y[j - 1], y[j]], [x[j - 1], x[j]]))


@dataclass
class FitResult(_Status):
    """The one-call summary of :func:`~rediscovery.higgs.stats.inference.fit`.

    Built from the focused results: μ̂, parameters and errors (:class:`MLEResult`), the
    intervals (:class:`IntervalResult`), q0 and the significances
    (:class:`SignificanceResult`), the CLs limit (:class:`UpperLimitResult`), pulls,
    constraints and impacts (:class:`NuisanceSummary`). ``converged`` is ``False`` when any
    step failed; ``messages`` collects the reasons.
    """

    backend: str
    mu_hat: float
    mu_lo: float = math.nan
    mu_hi: float = math.nan
    mu_stat_lo: float = math.nan
    mu_stat_hi: float = math.nan
    q0: float = math.nan
    z_discovery: float = math.nan
    z_expected: float = math.nan
    cls_upper_limit: float = math.nan
    nll_min: float = math.nan
    parameters: dict[str, float] = field(default_factory=dict)
    errors: dict[str, float] = field(default_factory=dict)
    pulls: dict[str, float] = field(default_factory=dict)
    constraints: dict[str, float] = field(default_factory=dict)
    impacts: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def mu_err(self) -> tuple[float, float]:
        """Asymmetric errors ``(σ_down, σ_up)`` (positive numbers)."""
        return self.mu_hat - self.mu_lo, self.mu_hi - self.mu_hat

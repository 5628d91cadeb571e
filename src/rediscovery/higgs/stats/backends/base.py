"""The fit-engine interface shared by every back-end, and the engine-agnostic interval finder.

An *engine* holds one binned model and one dataset (main counts and auxiliary data) and answers
the questions the inference functions of :mod:`rediscovery.higgs.stats.inference` ask. Two
engines implement it: :class:`~rediscovery.higgs.stats.backends.minuit.MinuitEngine` (this
package's likelihood with iminuit) and :class:`~rediscovery.higgs.stats.backends.pyhf.PyhfEngine`
(pyhf's likelihood); :func:`rediscovery.higgs.stats.backends.registry.make_engine` picks one by
name. Parameter vectors are always in the order of ``model.parameter_names``:
``(μ, α_1..α_K, γ_1..γ_B)`` (the γ's only when the model has MC-statistics factors).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from scipy import optimize

from rediscovery.higgs.stats.model import BinnedModel

__all__ = ["Engine", "root_interval"]


@runtime_checkable
class Engine(Protocol):
    """Fits of one model to one dataset.

    Attributes
    ----------
    name
        The back-end name under which the engine is registered (``"minuit"``, ``"pyhf"``).
    model
        The :class:`~rediscovery.higgs.stats.model.BinnedModel` being fitted.
    """

    name: str
    model: BinnedModel

    def minimize(self, fixed_mu: float | None = None,
                 init: np.ndarray | None = None) -> tuple[np.ndarray, float, bool]:
        """Minimise the NLL, μ free or fixed at ``fixed_mu``, starting from ``init`` (μ, α...).

        Returns ``(parameters, NLL at the minimum, converged)``.
        """
        ...

    def mu_interval(self, pars: np.ndarray, nll_hat: float,
                    level: float = 1.0) -> tuple[float, float, bool]:
        """Profile-likelihood interval of μ: the crossings of ``2(NLL(μ) − nll_hat) = level``.

        ``pars`` and ``nll_hat`` are the free fit's (:meth:`minimize` without ``fixed_mu``).
        Returns ``(lo, hi, ok)``; ``ok`` is ``False`` when a fit failed or a crossing is
        beyond a bound of μ (the bound is returned).
        """
        ...

    def covariance(self, pars: np.ndarray) -> np.ndarray:
        """Covariance matrix of all parameters at ``pars`` (zero rows for fixed ones)."""
        ...

    def uncertainties(self, pars: np.ndarray) -> np.ndarray:
        """Parabolic errors of all parameters at ``pars`` (0 for fixed ones)."""
        ...

    def fit_with_fixed(self, pars: np.ndarray, index: int, value: float) -> float:
        """μ̂ of the fit with parameter ``index`` fixed at ``value`` (impacts)."""
        ...

    def fixed_interval(self, pars: np.ndarray,
                       fixed: Sequence[int]) -> tuple[float, float, bool]:
        """68.27% interval of μ with the parameters ``fixed`` held at their values in ``pars``.

        Returns ``(lo, hi, ok)``, ``nan`` bounds when the fit or the interval failed.
        """
        ...

    def stat_only_interval(self, pars: np.ndarray) -> tuple[float, float]:
        """68.27% interval of μ with every nuisance parameter fixed at its value in ``pars``."""
        ...

    def cls(self, mu: float) -> tuple[float, bool]:
        """Asymptotic CLs of the hypothesis μ with q̃_μ (Cowan et al. 2011, eqs. 16, 65–66).

        Returns ``(CLs, ok)``; ``ok`` is ``False`` when a fit behind this value (or behind an
        earlier call on the same engine, whose fits it may reuse) failed.
        """
        ...


def root_interval(minimize: Callable[..., tuple[np.ndarray, float, bool]], mu_hat: float,
                  nll_hat: float, level: float, bounds: tuple[float, float],
                  pars: np.ndarray) -> tuple[float, float, bool]:
    """Solve ``2(NLL(μ) − nll_hat) = level`` on each side of μ̂ with profiled fits (Brent).

    For engines without a MINOS of their own. ``minimize`` is an engine's
    :meth:`Engine.minimize`; each profiled fit starts from the free fit's ``pars``. The bracket
    grows from ``0.05 max(1, |μ̂|)`` using the local curvature; a side without a crossing
    inside ``bounds`` returns the bound and ``ok = False``.
    """
    ok_all = True

    def f(mu: float) -> float:
        nonlocal ok_all
        _, val, ok = minimize(fixed_mu=mu, init=pars)
        ok_all &= ok
        return 2.0 * (val - nll_hat) - level

    h = 0.05 * max(1.0, abs(mu_hat))
    out = []
    for sign in (-1.0, 1.0):
        edge = bounds[0] if sign < 0 else bounds[1]
        step = h
        inner = mu_hat
        outer = mu_hat + sign * step
        while True:
            if (outer - edge) * sign >= 0:
                outer = edge
                if f(outer) < 0:
                    out.append(edge)
                    ok_all = False
                    break
            fo = f(outer)
            if fo > 0:
                out.append(optimize.brentq(f, min(inner, outer), max(inner, outer),
                                           xtol=1e-10, rtol=1e-10))
                break
            inner = outer
            # use the local curvature to jump near the crossing
            q = fo + level
            step = abs(outer - mu_hat) * (math.sqrt(level / q) if q > 0 else 2.0) * 1.2
            outer = mu_hat + sign * max(step, 1.5 * abs(inner - mu_hat))
    return float(out[0]), float(out[1]), ok_all

"""pyhf HistFactory back-end: the workspace JSON and fits with pyhf's own likelihood.

pyhf (Heinrich, Feickert, Stark, Cranmer; JOSS 2021, doi:10.21105/joss.02823) is the HEP
reference implementation of HistFactory. Everything here goes through pyhf's public API and its
default numpy backend. Minimisation uses pyhf's own Minuit optimiser (numerical gradients of
pyhf's likelihood): pyhf's SciPy/SLSQP optimiser stops ~1e-4 short of the minimum in μ̂ on
20-bin models even with a tight tolerance, which would spoil a 1e-3 comparison of intervals.
The likelihood itself, the thing being cross-checked, is pyhf's and independent of ours.

:class:`PyhfEngine` implements :class:`~rediscovery.higgs.stats.backends.base.Engine`. pyhf has
no MINOS, no fits of the full parameter set with one parameter fixed and no reliable covariance
for strongly correlated nuisances (its Minuit HESSE is up to 30% low, see
:meth:`~rediscovery.higgs.stats.backends.minuit.MinuitEngine.covariance`): those questions are
delegated, explicitly, to a :class:`~rediscovery.higgs.stats.backends.minuit.MinuitEngine` on the
same model and data (the same likelihood, to numerical precision). The interval of μ is found by
root finding on pyhf's profiled fits (:func:`~rediscovery.higgs.stats.backends.base.root_interval`).
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError
from rediscovery.higgs.stats.backends.base import root_interval
from rediscovery.higgs.stats.backends.minuit import MinuitEngine
from rediscovery.higgs.stats.model import ALPHA_BOUNDS, SIGNAL, BinnedModel, HistoSys, NormSys

__all__ = ["PyhfEngine", "from_pyhf_pars", "pyhf_data", "pyhf_model", "to_pyhf_pars",
           "workspace_spec"]

CHANNEL = "score"
STATERROR = "staterror"
#: Minuit tolerance for pyhf fits (EDM < 2e-3 · tol with errordef 1 on twice_nll).
PYHF_TOLERANCE = 1e-4


@contextlib.contextmanager
def _optimizer(opt):
    """Temporarily make ``opt`` pyhf's optimiser (pyhf.infer calls read the global one)."""
    import pyhf

    tensorlib, old = pyhf.get_backend()
    pyhf.set_backend(tensorlib, opt)
    try:
        yield
    finally:
        pyhf.set_backend(tensorlib, old)


def workspace_spec(model: BinnedModel, observed: np.ndarray | None = None) -> dict[str, Any]:
    """The pyhf workspace (JSON-serialisable dict) of ``model`` and observed counts."""
    samples = []
    for name in model.sample_names:
        mods: list[dict[str, Any]] = []
        if name == SIGNAL:
            mods.append({"name": "mu", "type": "normfactor", "data": None})
        for sy in model.systematics:
            if isinstance(sy, NormSys) and name in sy.factors:
                lo, hi = sy.factors[name]
                mods.append({"name": sy.name, "type": "normsys",
                             "data": {"lo": float(lo), "hi": float(hi)}})
            elif isinstance(sy, HistoSys) and name in sy.templates:
                if sy.interpolation != "code4p":
                    raise ConfigError(
                        f"histosys {sy.name!r} uses {sy.interpolation!r} morphing, which "
                        "pyhf's histosys (code 4p from the ±1σ templates) cannot express; fit "
                        "it with backend='minuit'")
                lo_t, hi_t = sy.templates[name]
                mods.append({"name": sy.name, "type": "histosys",
                             "data": {"lo_data": np.asarray(lo_t, float).tolist(),
                                      "hi_data": np.asarray(hi_t, float).tolist()}})
        if model.has_staterror:
            mods.append({"name": STATERROR, "type": "staterror",
                         "data": np.sqrt(model.sample_sumw2(name)).tolist()})
        samples.append({"name": name, "data": model.sample_yields(name).tolist(),
                        "modifiers": mods})
    obs = model.expected(1.0) if observed is None else np.asarray(observed, float)
    lo, hi = model.mu_range
    return {
        "channels": [{"name": CHANNEL, "samples": samples}],
        "observations": [{"name": CHANNEL, "data": obs.tolist()}],
        "measurements": [{"name": "rediscovery", "config": {
            "poi": "mu",
            "parameters": [{"name": "mu", "bounds": [[lo, hi]], "inits": [1.0]}]}}],
        "version": "1.0.0",
    }


@functools.lru_cache(maxsize=8)
def _pdf_from_json(spec_json: str):
    import pyhf

    ws = pyhf.Workspace(json.loads(spec_json))
    return ws.model()


def pyhf_model(model: BinnedModel):
    """The pyhf ``Model`` of ``model`` (cached on the workspace JSON)."""
    return _pdf_from_json(json.dumps(workspace_spec(model), sort_keys=True))


def to_pyhf_pars(model: BinnedModel, pdf, mu: float, alphas: np.ndarray,
                 gammas: np.ndarray | None) -> np.ndarray:
    pars = np.asarray(pdf.config.suggested_init(), dtype=float)
    pars[pdf.config.par_slice("mu")] = mu
    for k, nm in enumerate(model.alpha_names):
        pars[pdf.config.par_slice(nm)] = alphas[k]
    if model.has_staterror and gammas is not None:
        pars[pdf.config.par_slice(STATERROR)] = gammas
    return pars


def from_pyhf_pars(model: BinnedModel, pdf, pars: np.ndarray) -> np.ndarray:
    """pyhf parameter vector → ours: (μ, α..., γ...)."""
    out = [np.atleast_1d(pars[pdf.config.par_slice("mu")])]
    out += [np.atleast_1d(pars[pdf.config.par_slice(nm)]) for nm in model.alpha_names]
    if model.has_staterror:
        out.append(np.atleast_1d(pars[pdf.config.par_slice(STATERROR)]))
    return np.concatenate(out).astype(float)


def pyhf_data(model: BinnedModel, pdf, observed: np.ndarray,
              aux_gamma: np.ndarray | None = None,
              aux_alpha: np.ndarray | None = None) -> np.ndarray:
    """Main + auxiliary data in pyhf's ordering."""
    aux = np.asarray(pdf.config.auxdata, dtype=float).copy()
    pos = 0
    for pname in pdf.config.auxdata_order:
        width = len(np.atleast_1d(pdf.config.param_set(pname).auxdata))
        if pname == STATERROR and aux_gamma is not None:
            aux[pos:pos + width] = aux_gamma
        elif aux_alpha is not None and pname in model.alpha_names:
            aux[pos:pos + width] = aux_alpha[model.alpha_names.index(pname)]
        pos += width
    return np.concatenate([np.asarray(observed, dtype=float), aux])


class PyhfEngine:
    """Fits with pyhf's ``twice_nll``, μ free or fixed (pyhf's Minuit optimiser).

    Same parameters as :class:`~rediscovery.higgs.stats.backends.minuit.MinuitEngine`.
    """

    name = "pyhf"

    def __init__(self, model: BinnedModel, observed: np.ndarray,
                 aux_gamma: np.ndarray | None = None, aux_alpha: np.ndarray | None = None,
                 mu_bounds: tuple[float, float] | None = None) -> None:
        import pyhf

        self.pyhf = pyhf
        self.model = model
        self.observed = np.asarray(observed, dtype=float)
        self.aux_gamma = aux_gamma
        self.aux_alpha = aux_alpha
        self.mu_bounds = mu_bounds if mu_bounds is not None else model.mu_range
        self._minuit: MinuitEngine | None = None
        self.pdf = pyhf_model(model)
        self.data = pyhf_data(model, self.pdf, observed, aux_gamma, aux_alpha)
        self.init = np.asarray(self.pdf.config.suggested_init(), dtype=float)
        bounds = [list(b) for b in self.pdf.config.suggested_bounds()]
        lo, hi = mu_bounds if mu_bounds is not None else model.mu_range
        bounds[self.pdf.config.poi_index] = [lo, hi]
        for nm in model.alpha_names:
            for i in range(*self._slice(nm)):
                bounds[i] = list(ALPHA_BOUNDS)
        self.bounds = bounds
        self.fixed = list(self.pdf.config.suggested_fixed())
        self.optimizer = pyhf.optimize.minuit_optimizer(tolerance=PYHF_TOLERANCE)

    def _slice(self, name: str) -> tuple[int, int]:
        s = self.pdf.config.par_slice(name)
        return s.start, s.stop

    def minimize(self, fixed_mu: float | None = None,
                 init: np.ndarray | None = None) -> tuple[np.ndarray, float, bool]:
        """Return (our parameter vector, NLL, success)."""
        twice_nll = self.pyhf.infer.mle.twice_nll
        fixed = list(self.fixed)
        x0 = self.init.copy() if init is None else to_pyhf_pars(
            self.model, self.pdf, init[0], init[1:1 + len(self.model.alpha_names)],
            init[1 + len(self.model.alpha_names):] if self.model.has_staterror else None)
        if fixed_mu is not None:
            fixed[self.pdf.config.poi_index] = True
            x0[self.pdf.config.poi_index] = fixed_mu
        if all(fixed):
            val = float(twice_nll(x0, self.data, self.pdf)[0]) / 2.0
            return from_pyhf_pars(self.model, self.pdf, x0), val, True
        fixed_vals = [(i, float(x0[i])) for i, f in enumerate(fixed) if f]
        try:
            pars, fval, obj = self.optimizer.minimize(
                twice_nll, self.data, self.pdf, x0, self.bounds, fixed_vals,
                return_result_obj=True, return_fitted_val=True)
            ok = bool(obj.success)
        except self.pyhf.exceptions.FailedMinimization as exc:
            pars, fval, ok = exc.result.x, exc.result.fun, False
        return from_pyhf_pars(self.model, self.pdf, np.asarray(pars)), float(fval) / 2.0, ok

    def mu_interval(self, pars: np.ndarray, nll_hat: float,
                    level: float = 1.0) -> tuple[float, float, bool]:
        """Crossings of ``2(NLL(μ) − nll_hat) = level`` by root finding on pyhf's fits."""
        return root_interval(self.minimize, float(pars[0]), nll_hat, level,
                             self.model.mu_range, pars)

    # -- delegated to the minuit engine on the same model and data ---------------------------
    def _delegate(self) -> MinuitEngine:
        """The :class:`MinuitEngine` of the same model, data and μ range (built once)."""
        if self._minuit is None:
            self._minuit = MinuitEngine(self.model, self.observed, self.aux_gamma,
                                        self.aux_alpha, self.mu_bounds)
        return self._minuit

    def covariance(self, pars: np.ndarray) -> np.ndarray:
        """Delegated: the minuit engine's analytic-gradient Hessian of the same likelihood."""
        return self._delegate().covariance(pars)

    def uncertainties(self, pars: np.ndarray) -> np.ndarray:
        """Delegated to the minuit engine (see :meth:`covariance`)."""
        return self._delegate().uncertainties(pars)

    def fit_with_fixed(self, pars: np.ndarray, index: int, value: float) -> float:
        """Delegated: full-parameter fits with one parameter fixed are the minuit engine's."""
        return self._delegate().fit_with_fixed(pars, index, value)

    def fixed_interval(self, pars: np.ndarray,
                       fixed: Sequence[int]) -> tuple[float, float, bool]:
        """Delegated to the minuit engine (MINOS with parameters fixed)."""
        return self._delegate().fixed_interval(pars, fixed)

    def stat_only_interval(self, pars: np.ndarray) -> tuple[float, float]:
        """Delegated to the minuit engine (MINOS with every nuisance fixed)."""
        return self._delegate().stat_only_interval(pars)

    def cls(self, mu: float) -> tuple[float, bool]:
        """Asymptotic CLs with q̃_μ from :func:`pyhf.infer.hypotest` (μ ≥ 0 bounds).

        pyhf does not report the convergence of the fits behind it: ``ok`` is always ``True``
        (a failed fit raises in pyhf).
        """
        bounds = [list(b) for b in self.bounds]
        bounds[self.pdf.config.poi_index] = [0.0, self.model.mu_range[1]]
        with _optimizer(self.optimizer):
            val = self.pyhf.infer.hypotest(mu, self.data, self.pdf, self.init.tolist(),
                                           bounds,
                                           self.fixed,
                                           test_stat="qtilde", calctype="asymptotics")
        return float(val), True

"""From classifier scores to the measurement: the statistics stage as one library call.

:func:`fit_scores` histograms the MC scores with the optimised binning
(:func:`rediscovery.higgs.stats.binning.choose_binning`), builds the HistFactory-like
:class:`~rediscovery.higgs.stats.model.BinnedModel`, fits the observed score histogram
(:func:`rediscovery.higgs.stats.inference.fit`) and returns the ``fit.json`` payload (the results
contract of ``docs/architecture.md``) with the objects behind it; :func:`write_fit` writes
``fit.json``, ``workspace.json``, ``postfit.json`` (:func:`yields_and_correlations`: pre- and
post-fit yields per process with uncertainties, covariance and correlation matrix of the fit
parameters) and, when asked, the plots (the likelihood scan behind one of them is computed only
then). The CLI ``rediscovery higgs fit`` and the ``fit`` stage of
``rediscovery higgs run`` both call these.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import InputError
from rediscovery.core.files import write_json
from rediscovery.core.plotting import savefig
from rediscovery.higgs.classifiers.metrics import best_ams
from rediscovery.higgs.stats.backends.registry import BACKENDS
from rediscovery.higgs.stats.histograms import histogram_observed, model_from_scores
from rediscovery.higgs.stats.inference import fit, likelihood_scan, mle, significance, workspace
from rediscovery.higgs.stats.model import SIGNAL, BinnedModel, HistoSys, NormSys
from rediscovery.higgs.stats.results import FitResult, LikelihoodScan

__all__ = ["NORMALISATION_FACTOR", "NORMALISATION_SIGMAS", "ScoreFit", "check_normalisation",
           "fit_scores", "uncertainty_split", "write_fit", "yields_and_correlations"]


@dataclass
class ScoreFit:
    """Result of :func:`fit_scores`: the ``fit.json`` payload and the objects it came from."""

    payload: dict[str, Any]
    model: BinnedModel
    counts: np.ndarray
    result: FitResult


def _nan_to_none(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def uncertainty_split(res: FitResult) -> dict[str, Any]:
    """The uncertainty of μ̂ split into statistics and the rest, per side: ``total`` from the
    profile-likelihood interval, ``stat`` from the interval with every nuisance parameter fixed
    at its best-fit value, ``syst`` = √(total² − stat²) (quadrature difference, zero if
    negative). ``syst_source`` says what the nuisance parameters are: only the templates' MC
    statistics (Barlow–Beeston-lite γ), or systematics as well. Each pair is
    ``[down, up]`` (positive numbers)."""
    total = [res.mu_hat - res.mu_lo, res.mu_hi - res.mu_hat]
    stat_ = [res.mu_hat - res.mu_stat_lo, res.mu_stat_hi - res.mu_hat]
    syst = [math.sqrt(max(a * a - b * b, 0.0)) for a, b in zip(total, stat_, strict=True)]
    only_mc = all(n.startswith("gamma_stat_") for n in res.parameters if n != "mu")
    return {"total": total, "stat": stat_, "syst": syst,
            "syst_source": "template MC statistics" if only_mc
            else "systematics and template MC statistics"}


#: Size (in Gaussian σ of the Poisson count) of the deficit of observed events below the
#: smallest total the model can predict at which the MC and the data are called inconsistent.
NORMALISATION_SIGMAS = 5.0
#: ... when the data are also this many times fewer than that prediction: a luminosity
#: mismatch of an order of magnitude or more. Smaller deficits are fitted (and reported as
#: a fit on the bound of mu, exit code 3).
NORMALISATION_FACTOR = 20.0


def check_normalisation(model: BinnedModel, counts: np.ndarray) -> None:
    """Refuse data far below anything the model can predict (MC and data luminosities differ).

    The model predicts at least ``λ_min = Σ max(b + μ_min s, 0)`` events (μ at its lower
    bound); observing fewer than ``λ_min − 5√λ_min`` events and fewer than ``λ_min / 20``
    means the MC weights do not describe the data's luminosity: μ̂ would sit on its bound
    with no defined error. A small data set with MC weights scaled to it is fine.
    """
    mu_lo = model.mu_range[0]
    lam_min = float(np.sum(np.maximum(model.background_total + mu_lo * model.signal, 0.0)))
    n_obs = float(np.sum(counts))
    if lam_min > 0 and n_obs < lam_min - NORMALISATION_SIGMAS * math.sqrt(lam_min) \
            and n_obs * NORMALISATION_FACTOR < lam_min:
        ratio = n_obs / float(np.sum(model.background_total))
        raise InputError(
            f"the observed data hold {n_obs:.0f} events but the MC predicts at least "
            f"{lam_min:.4g} (background {float(np.sum(model.background_total)):.4g}): the MC "
            "weights do not describe the data's luminosity; scale them with --lumi-factor "
            f"(about {ratio:.3g} here) or give MC and data of the same luminosity"
        )


def fit_scores(
    mc: pd.DataFrame,
    observed: pd.DataFrame,
    *,
    backend: str = "minuit",
    min_bkg: float = 10.0,
    max_bins: int = 20,
    cross_check: bool = True,
    source: str | Path | None = None,
    binning_scores: pd.DataFrame | None = None,
    max_rel_stat: float | None = None,
    systematics: Callable[[BinnedModel], Sequence[NormSys | HistoSys]] | None = None,
) -> ScoreFit:
    """Fit μ to the observed classifier scores with templates from the MC scores.

    Parameters
    ----------
    mc
        MC events with ``score``, ``Weight`` (expected events at the data's luminosity),
        ``Label`` and optionally ``Process`` (one background sample per process).
    observed
        Observed events with a ``score`` column (unit weights).
    backend
        ``"minuit"`` (own likelihood, fast) or ``"pyhf"`` (HistFactory reference).
    min_bkg, max_bins
        Binning constraints: minimum expected background per bin, maximum number of bins.
    cross_check
        Repeat the central fit (μ̂, q0) with the other back-end and record the agreement.
    source
        Name of the scores file, for error messages.
    binning_scores
        An independent MC sample (same columns as ``mc``) on which the binning is optimised.
        Optimising the bins on the template sample itself picks edges where the background
        MC fluctuated low, which biases μ̂ upwards when the MC is small; ``higgs run`` splits
        its template sample at random into two halves, passes one here and builds the
        templates from the other.
    max_rel_stat
        Maximum relative MC-statistical uncertainty of the background per bin (binning).
    systematics
        Called with the nominal template model (binning chosen), returns the systematic
        modifiers added to it (``higgs run`` with ``systematics: true``). The fit then
        starts from several points (:func:`~rediscovery.higgs.stats.inference.fit`'s
        ``multistart``).

    Returns
    -------
    ScoreFit
        ``payload["converged"]`` is ``False`` (and every result ``None``) when the fit failed;
        ``payload["messages"]`` says why.
    """
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if "score" not in observed.columns:
        raise InputError(f"observed table lacks column 'score' (found {list(observed.columns)})",
                         column="score")
    try:
        edges = None
        binning = None
        if binning_scores is not None:
            _, binning = model_from_scores(binning_scores, min_bkg=min_bkg, max_bins=max_bins,
                                           max_rel_stat=max_rel_stat)
            assert binning is not None
            edges = binning.edges
        model, own = model_from_scores(mc, edges=edges, min_bkg=min_bkg, max_bins=max_bins,
                                       max_rel_stat=max_rel_stat)
        binning = binning or own
        if systematics is not None:
            model = BinnedModel(model.signal, model.backgrounds,
                                signal_sumw2=model.signal_sumw2,
                                background_sumw2=model.background_sumw2,
                                systematics=systematics(model), edges=model.edges,
                                mu_bounds=model.mu_bounds)
    except InputError as exc:
        raise InputError(str(exc), path=source) from exc
    assert model.edges is not None
    counts = histogram_observed(observed["score"].to_numpy(dtype=float), model.edges)
    check_normalisation(model, counts)
    ams_cut, ams = best_ams(mc["score"].to_numpy(float), mc["Weight"].to_numpy(float),
                            mc["Label"].to_numpy())
    res = fit(model, counts, backend, multistart=True)
    s_tot, b_tot = float(model.signal.sum()), float(model.background_total.sum())
    if not res.converged and s_tot < math.sqrt(b_tot):
        res.messages.append(
            f"the expected signal ({s_tot:.3g} events) is below the background's Poisson "
            f"fluctuation (sqrt(B) = {math.sqrt(b_tot):.3g}): this data set is too small to "
            "measure mu; its interval and limit extend beyond the fit range")
    payload: dict[str, Any] = {
        "converged": res.converged,
        "messages": res.messages,
        "backend": backend,
        "n_bins": model.n_bins,
        "edges": model.edges,
        "n_observed": int(counts.sum()),
        "expected_signal": float(model.signal.sum()),
        "expected_background": float(model.background_total.sum()),
        "ams_best": ams,
        "ams_best_threshold": ams_cut,
        "z_asimov_binning": None if binning is None else binning.z_asimov,
    }
    if res.converged:
        payload.update({
            "mu_hat": res.mu_hat,
            "mu_68": [res.mu_lo, res.mu_hi],
            "mu_stat_68": [res.mu_stat_lo, res.mu_stat_hi],
            "z_discovery_observed": res.z_discovery,
            "z_discovery_expected": res.z_expected,
            "cls_upper_limit_95": _nan_to_none(res.cls_upper_limit),
            "mu_uncertainty": uncertainty_split(res),
            "nuisances": {n: {"value": res.parameters[n], "error": res.errors.get(n),
                              "pull": res.pulls[n], "constraint": res.constraints[n],
                              "impact": list(res.impacts.get(n, (math.nan, math.nan)))}
                          for n in res.pulls},
        })
        if cross_check:
            other = next(b for b in BACKENDS if b != backend)
            # μ̂ and q0 only (three fits): the interval agreement is covered by the tests
            # and benchmarks/toys.py --agreement, and costs a minute with pyhf on 20 bins
            chk = mle(model, counts, other, errors=False)
            chk_z = significance(model, counts, expected=False, mle_result=chk)
            payload["cross_check"] = {
                "backend": other, "converged": chk.converged and chk_z.converged,
                "mu_hat": chk.mu_hat, "z_discovery_observed": chk_z.z_observed,
                "rel_diff_mu_hat": abs(chk.mu_hat - res.mu_hat) / max(abs(res.mu_hat), 1e-12),
                "rel_diff_z_discovery": abs(chk_z.z_observed - res.z_discovery)
                / max(res.z_discovery, 1e-12),
            }
    else:
        for key in ("mu_hat", "mu_68", "mu_stat_68", "z_discovery_observed",
                    "z_discovery_expected", "cls_upper_limit_95", "mu_uncertainty"):
            payload[key] = None
    return ScoreFit(payload=payload, model=model, counts=counts, result=res)


def write_fit(fit: ScoreFit, out: str | Path, *, plots: bool = True,
              extra: dict[str, Any] | None = None) -> Path:
    """Write ``fit.json``, the pyhf ``workspace.json`` and (optionally) the PNG plots.

    With ``plots`` and a converged fit, the profile-likelihood scan (81 fits) is computed here
    for ``likelihood_scan.png``; without plots nothing beyond the fit is computed.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "workspace.json", workspace(fit.model, fit.counts))
    write_json(out / "fit.json", {**fit.payload, **(extra or {})})
    summary = yields_and_correlations(fit.model, fit.counts, fit.result)
    write_json(out / "postfit.json", summary)
    if plots:
        res = fit.result
        scan = None
        if res.converged:
            scan = likelihood_scan(fit.model, fit.counts, backend=res.backend,
                                   interval_68=(res.mu_lo, res.mu_hi))
        _save_plots(fit.model, fit.counts, res, scan, out, summary)
    return out / "fit.json"


def _yield_entry(bins: np.ndarray, bin_err: np.ndarray, total_err: float) -> dict[str, Any]:
    return {"total": float(np.sum(bins)), "error": float(total_err),
            "bins": [float(v) for v in bins], "bin_errors": [float(v) for v in bin_err]}


def yields_and_correlations(model: BinnedModel, counts: np.ndarray,
                            result: FitResult | None = None, *,
                            n_high: int = 3) -> dict[str, Any]:
    """Pre- and post-fit yields per process with uncertainties, and the fit's correlations.

    Pre-fit (signal at μ = 1, nuisance parameters nominal): each process's yield is the sum of
    its template weights per bin, its uncertainty the MC statistics ``sqrt(Σ w²)`` (bins and
    processes are independent MC events, so the variances add). Post-fit (at the best fit of a
    converged ``result``): the yields ``ν_p(θ̂)`` per process and bin, with uncertainties by
    linear error propagation ``J C Jᵀ`` of the covariance ``C`` of all fit parameters (the
    inverse Hessian of the full likelihood, γ's included: the engine's ``covariance``) and the
    Jacobian ``J`` of the yields (central differences), so that correlations between μ and the
    nuisances enter the totals.

    Returns
    -------
    dict
        ``prefit`` and (converged fits only) ``postfit``: ``{process: {total, error, bins,
        bin_errors}}`` for ``signal``, each background, ``background`` (their sum) and
        ``total``; ``observed``: ``{total, bins}``; and for converged fits ``parameters``
        (free parameters), ``bestfit``, ``errors``, ``covariance`` and ``correlation`` (in
        the order of ``parameters``); ``high_score``: the same totals (no per-bin lists) in
        the ``n_high`` highest-score bins (``n_bins``, ``score_min``, ``prefit``,
        ``postfit``, ``observed``).
    """
    from rediscovery.higgs.stats.backends.minuit import MinuitEngine

    obs = np.asarray(counts, dtype=float)
    names = model.sample_names
    bkg_names = [n for n in names if n != SIGNAL]
    sumw2 = {n: model.sample_sumw2(n) for n in names}
    pre: dict[str, Any] = {n: _yield_entry(model.sample_yields(n), np.sqrt(sumw2[n]),
                                           math.sqrt(float(sumw2[n].sum()))) for n in names}
    b_w2 = sum(sumw2[n] for n in bkg_names)
    pre["background"] = _yield_entry(model.background_total, np.sqrt(b_w2),
                                     math.sqrt(float(b_w2.sum())))
    all_w2 = b_w2 + sumw2[SIGNAL]
    pre["total"] = _yield_entry(model.signal + model.background_total, np.sqrt(all_w2),
                                math.sqrt(float(all_w2.sum())))
    n_high = max(1, min(n_high, model.n_bins))
    high = np.zeros(model.n_bins, dtype=bool)
    high[-n_high:] = True

    def high_totals(entries: dict[str, Any]) -> dict[str, Any]:
        return {k: {"total": float(np.sum(np.asarray(v["bins"])[high])),
                    "error": float(np.sqrt(np.sum(np.asarray(v["bin_errors"])[high] ** 2)))}
                for k, v in entries.items()}

    out: dict[str, Any] = {
        "processes": list(names),
        "prefit": pre,
        "observed": {"total": float(obs.sum()), "bins": [float(v) for v in obs]},
        "notes": {"prefit": "signal at mu = 1; uncertainty: MC statistics sqrt(sum w^2)",
                  "postfit": "at the best fit; uncertainty: linear propagation of the fit "
                             "covariance (all parameters, correlations included)"},
        "high_score": {"n_bins": n_high,
                       "score_min": None if model.edges is None
                       else float(model.edges[-n_high - 1]),
                       "prefit": high_totals(pre),  # MC-stat errors: bins are independent
                       "observed": float(obs[high].sum())},
    }
    if result is None or not result.converged:
        return out
    par_names = model.parameter_names
    theta = np.array([result.parameters[n] for n in par_names], dtype=float)
    # the minuit engine's analytic-gradient Hessian (the pyhf engine delegates to it as well)
    cov = MinuitEngine(model, obs).covariance(theta)
    k = len(model.alpha_names)

    def per_sample(t: np.ndarray) -> np.ndarray:
        alphas = {n: t[1 + i] for i, n in enumerate(model.alpha_names)}
        gammas = t[1 + k:] if model.has_staterror else None
        d = model.expected(float(t[0]), alphas, gammas, per_sample=True)
        return np.stack([d[n] for n in names])  # (n_samples, n_bins)

    nominal = per_sample(theta)
    jac = np.zeros((*nominal.shape, theta.size))
    for i in range(theta.size):
        if cov[i, i] <= 0:
            continue  # a fixed parameter (a γ without MC statistics)
        h = 1e-5 * max(1.0, abs(theta[i]))
        up, dn = theta.copy(), theta.copy()
        up[i] += h
        dn[i] -= h
        jac[..., i] = (per_sample(up) - per_sample(dn)) / (2 * h)

    def entry(weights: np.ndarray, mask: np.ndarray | None = None) -> dict[str, Any]:
        """Yields and errors of ``Σ_samples weights_s · ν_s`` per bin and in total (over the
        bins of ``mask``: then the total only)."""
        bins = weights @ nominal
        jb = np.einsum("s,sbp->bp", weights, jac)  # (n_bins, n_par)
        if mask is not None:
            jt = jb[mask].sum(axis=0)
            return {"total": float(bins[mask].sum()),
                    "error": math.sqrt(max(float(jt @ cov @ jt), 0.0))}
        bin_var = np.einsum("bp,pq,bq->b", jb, cov, jb)
        jt = jb.sum(axis=0)
        return _yield_entry(bins, np.sqrt(np.maximum(bin_var, 0.0)),
                            math.sqrt(max(float(jt @ cov @ jt), 0.0)))

    eye = np.eye(len(names))
    combos = {n: eye[i] for i, n in enumerate(names)}
    combos["background"] = np.array([0.0 if n == SIGNAL else 1.0 for n in names])
    combos["total"] = np.ones(len(names))
    out["postfit"] = {k: entry(w) for k, w in combos.items()}
    out["high_score"]["postfit"] = {k: entry(w, high) for k, w in combos.items()}
    free = np.flatnonzero(np.diag(cov) > 0)
    sub = cov[np.ix_(free, free)]
    sd = np.sqrt(np.diag(sub))
    corr = np.clip(sub / np.outer(sd, sd), -1.0, 1.0)
    np.fill_diagonal(corr, 1.0)  # exactly, not 1 ± 1e-16
    out.update({
        "parameters": [par_names[i] for i in free],
        "bestfit": [float(theta[i]) for i in free],
        "errors": [float(v) for v in sd],
        "covariance": sub.tolist(),
        "correlation": corr.tolist(),
    })
    return out


def _save_plots(model: BinnedModel, counts: np.ndarray, res: FitResult,
                scan: LikelihoodScan | None, out: Path,
                summary: dict[str, Any] | None = None) -> None:
    """Draw the plots from results already computed and save them (no fits here)."""
    import rediscovery.higgs.stats.plots as plots_stat

    savefig(plots_stat.plot_stacked(model, counts, title="pre-fit"), out / "prefit.png")
    if not res.converged:
        return
    savefig(plots_stat.plot_postfit(model, counts, res), out / "postfit.png")
    if scan is not None:
        savefig(plots_stat.plot_likelihood_scan(scan, interval_68=(res.mu_lo, res.mu_hi)),
                out / "likelihood_scan.png")
    if res.pulls:
        savefig(plots_stat.plot_pulls(res.pulls, res.constraints), out / "pulls.png")
    if res.impacts:
        savefig(plots_stat.plot_impacts(res.impacts), out / "impacts.png")
    if summary and "correlation" in summary:
        savefig(plots_stat.plot_correlation(summary["parameters"], summary["correlation"]),
                out / "correlation.png")

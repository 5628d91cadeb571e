"""Plots of the statistical analysis: likelihood scan, stacked score histograms, pulls, toys.

matplotlib (and mplhep, for the ATLAS-like style and histogram drawing) are imported inside the
functions; each takes ``ax=None`` (or ``axes=None``) and returns the figure. The library never
draws on its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats

from rediscovery.higgs.stats.model import SIGNAL, BinnedModel

__all__ = [
    "parameter_label",
    "plot_correlation",
    "plot_impacts",
    "plot_likelihood_scan",
    "plot_postfit",
    "plot_pulls",
    "plot_stacked",
    "plot_toy_pulls",
]


#: Legend labels (mathtext) of the simulated background processes.
PROCESS_LABELS = {"ztautau": r"$Z\to\tau\tau$", "wjets": r"$W$+jets",
                  "ttbar": r"$t\bar{t}$", "diboson": "diboson"}


def _style():
    import logging

    import matplotlib.pyplot as plt
    import mplhep

    # the ATLAS style asks for fonts that may be missing; matplotlib falls back quietly enough
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    return plt.style.context(mplhep.style.ATLAS)


def plot_likelihood_scan(scan, *, ax=None, interval_68: tuple[float, float] | None = None,
                         interval_95: tuple[float, float] | None = None, label: str | None = None):
    """−2Δln L against μ with the 1σ and 2σ levels and crossings.

    ``scan`` is a :class:`~rediscovery.higgs.stats.results.LikelihoodScan` (computed beforehand
    with :func:`~rediscovery.higgs.stats.inference.likelihood_scan`); the crossings default to
    the scan's own (interpolated) ones.
    """
    import matplotlib.pyplot as plt

    lev1 = float(stats.chi2.ppf(stats.norm.cdf(1) - stats.norm.cdf(-1), 1))
    lev2 = float(stats.chi2.ppf(stats.norm.cdf(2) - stats.norm.cdf(-2), 1))
    with _style():
        if ax is None:
            fig, ax = plt.subplots(figsize=(7, 5))
        fig = ax.figure
        ax.plot(scan.mu, scan.q, color="k", lw=2, label=label or f"profile likelihood "
                f"({scan.backend})")
        i68 = interval_68 or scan.crossings(lev1)
        i95 = interval_95 or scan.crossings(lev2)
        for lev, iv, col, name in ((lev1, i68, "tab:blue", "68.27%"),
                                   (lev2, i95, "tab:orange", "95.45%")):
            ax.axhline(lev, color=col, ls="--", lw=1)
            for x in iv:
                if math.isfinite(x):
                    ax.axvline(x, color=col, ls=":", lw=1)
            if all(math.isfinite(x) for x in iv):
                ax.text(0.02, lev, f" {name}: [{iv[0]:.3f}, {iv[1]:.3f}]", color=col,
                        va="bottom", transform=ax.get_yaxis_transform())
        ax.set_xlabel(r"signal strength $\mu$")
        ax.set_ylabel(r"$-2\,\Delta\ln L$")
        ax.set_ylim(0, max(lev2 * 1.8, 1.0))
        ax.set_title(rf"$\hat\mu$ = {scan.mu_hat:.3f}", loc="right", fontsize=12)
        ax.legend(loc="upper center")
    return fig


def plot_stacked(model: BinnedModel, observed: np.ndarray, *, mu: float = 1.0,
                 alphas: Mapping[str, float] | None = None, gammas: np.ndarray | None = None,
                 title: str = "pre-fit", axes=None):
    """Stacked expected score histogram (backgrounds + μ·signal) with data and a ratio panel.

    Pass the post-fit ``mu``, ``alphas`` and ``gammas`` (from ``FitResult.parameters``) for the
    post-fit plot. The hatched band is the MC-statistical uncertainty of the prediction.
    ``axes`` is an optional ``(main, ratio)`` pair.
    """
    import matplotlib.pyplot as plt
    import mplhep

    edges = model.edges if model.edges is not None else np.arange(model.n_bins + 1.0)
    per = model.expected(mu, alphas, gammas, per_sample=True)
    total = sum(per.values())
    obs = np.asarray(observed, dtype=float)
    sumw2 = sum(model.sample_sumw2(n) for n in model.sample_names)
    g = np.ones(model.n_bins) if gammas is None else np.asarray(gammas)
    mc_err = np.sqrt(sumw2) * g
    width = np.diff(edges)
    with _style():
        if axes is None:
            fig, (ax, rax) = plt.subplots(2, 1, figsize=(7, 7), sharex=True,
                                          gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05})
        else:
            ax, rax = axes
            fig = ax.figure
        bkg_names = [n for n in model.sample_names if n != SIGNAL]
        order = sorted(bkg_names, key=lambda n: per[n].sum())
        mplhep.histplot([per[n] / width for n in order] + [per[SIGNAL] / width], edges,
                        stack=True, histtype="fill", ax=ax,
                        label=[*(PROCESS_LABELS.get(n, n) for n in order),
                               rf"$H\to\tau\tau$ ($\mu$ = {mu:.2f})"])
        ax.stairs((total + mc_err) / width, edges, baseline=(total - mc_err) / width,
                  fill=True, hatch="///", alpha=0.3, color="grey", label="MC stat. unc.")
        centers = 0.5 * (edges[1:] + edges[:-1])
        ax.errorbar(centers, obs / width, yerr=np.sqrt(obs) / width, fmt="ko", ms=4,
                    label="data")
        ax.set_yscale("log")
        ax.set_ylabel("events / unit score")
        ax.legend(fontsize=9, ncol=2)
        ax.set_title(title, loc="right", fontsize=12)
        # not ATLAS data: label the figure as this package's simulation, in the ATLAS-like style
        ax.text(0.02, 0.97, r"$\bf{\it{rediscovery}}$ simulation", transform=ax.transAxes,
                va="top", ha="left", fontsize=13)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = obs / total
            r_err = np.sqrt(obs) / total
        rax.errorbar(centers, ratio, yerr=r_err, fmt="ko", ms=4)
        rax.stairs(1 + mc_err / total, edges, baseline=1 - mc_err / total, fill=True,
                   hatch="///", alpha=0.3, color="grey")
        rax.axhline(1.0, color="k", lw=1)
        rax.set_ylabel("data / pred.")
        rax.set_xlabel("classifier score")
        lim = float(np.nanmax(np.abs(ratio - 1) + r_err)) if obs.size else 0.1
        rax.set_ylim(1 - min(max(1.2 * lim, 0.02), 1.0), 1 + min(max(1.2 * lim, 0.02), 1.0))
    return fig


def plot_postfit(model: BinnedModel, observed: np.ndarray, result: Any, *, axes=None):
    """:func:`plot_stacked` at the best fit of ``result`` (a converged ``FitResult`` or
    ``MLEResult``): μ̂, the nuisance parameters α̂ and the MC-statistics factors γ̂ from it."""
    k = len(model.alpha_names)
    names = model.parameter_names
    alphas = {n: result.parameters[n] for n in names[1:1 + k]}
    gammas = (np.array([result.parameters[n] for n in names[1 + k:]]) if model.has_staterror
              else None)
    return plot_stacked(model, observed, mu=result.mu_hat, alphas=alphas, gammas=gammas,
                        title="post-fit", axes=axes)


def plot_pulls(pulls: Mapping[str, float], constraints: Mapping[str, float], *, ax=None,
               max_params: int = 40):
    """Post-fit pulls (θ̂ − θ0)/σ_prior with the constraints σ_post/σ_prior as error bars."""
    import matplotlib.pyplot as plt

    names = list(pulls)[:max_params]
    y = np.arange(len(names))
    with _style():
        if ax is None:
            fig, ax = plt.subplots(figsize=(7, max(3.0, 0.3 * len(names) + 1.5)))
        fig = ax.figure
        ax.axvspan(-2, 2, color="yellow", alpha=0.5)
        ax.axvspan(-1, 1, color="limegreen", alpha=0.5)
        ax.errorbar([pulls[n] for n in names], y, xerr=[constraints[n] for n in names],
                    fmt="ko", ms=4)
        ax.axvline(0, color="k", lw=1)
        ax.set_yticks(y, [parameter_label(n) for n in names], fontsize=9)
        ax.set_xlim(-3, 3)
        ax.set_xlabel(r"$(\hat\theta - \theta_0)/\Delta\theta$")
        ax.invert_yaxis()
    return fig


def plot_impacts(impacts: Mapping[str, tuple[float, float]], *, ax=None, top: int = 20):
    """Ranked post-fit impacts Δμ of the nuisance parameters (largest first)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    ranked = sorted(impacts.items(), key=lambda kv: -max(abs(kv[1][0]), abs(kv[1][1])))[:top]
    y = np.arange(len(ranked))
    with _style():
        if ax is None:
            fig, ax = plt.subplots(figsize=(7, max(3.0, 0.3 * len(ranked) + 1.5)))
        fig = ax.figure
        ax.barh(y, [v[1] for _, v in ranked], color="tab:blue", alpha=0.6, label=r"$+1\sigma$")
        ax.barh(y, [v[0] for _, v in ranked], color="tab:cyan", alpha=0.6, label=r"$-1\sigma$")
        ax.set_yticks(y, [parameter_label(k) for k, _ in ranked], fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(5, symmetric=True))
        ax.ticklabel_format(axis="x", style="plain", useOffset=False)
        ax.axvline(0, color="k", lw=1)
        ax.set_xlabel(r"post-fit impact $\Delta\mu$")
        ax.set_ylim(len(ranked) - 0.5, -1.5)  # largest on top, room for the legend
        ax.legend(fontsize=9)
    return fig


def parameter_label(name: str) -> str:
    r"""Axis label of a fit parameter: ``mu`` → μ, ``gamma_stat_3`` → γ₃ (mathtext).

    >>> parameter_label("gamma_stat_3"), parameter_label("mu"), parameter_label("jes")
    ('$\\gamma_{3}$', '$\\mu$', 'jes')
    """
    if name == "mu":
        return r"$\mu$"
    if name.startswith("gamma_stat_"):
        return rf"$\gamma_{{{name.removeprefix('gamma_stat_')}}}$"
    return name


def plot_correlation(names: list[str], correlation: Any, *, ax=None, annotate: bool | None = None):
    """Correlation matrix of the fit parameters (colour −1 … +1; values written in the cells
    when there are at most 25 parameters, or as ``annotate`` says)."""
    import matplotlib.pyplot as plt

    c = np.asarray(correlation, dtype=float)
    n = len(names)
    labels = [parameter_label(x) for x in names]
    annotate = n <= 25 if annotate is None else annotate
    with _style():
        if ax is None:
            size = min(13.0, max(5.0, 0.45 * n + 2.5))
            fig, ax = plt.subplots(figsize=(size + 1.2, size))
        fig = ax.figure
        im = ax.imshow(c, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="correlation coefficient")
        ax.set_xticks(np.arange(n), labels, rotation=90, fontsize=9)
        ax.set_yticks(np.arange(n), labels, fontsize=9)
        ax.minorticks_off()
        ax.tick_params(which="both", top=False, right=False, length=0)
        if annotate:
            for i in range(n):
                for j in range(n):
                    if i != j and abs(c[i, j]) >= 0.005:
                        ax.text(j, i, f"{c[i, j]:.2f}".replace("0.", ".", 1)
                                .replace("-", "\u2212"), ha="center",
                                va="center", fontsize=7 if n > 12 else 9,
                                color="white" if abs(c[i, j]) > 0.6 else "black")
        ax.set_title("correlations of the fit parameters (post-fit)", loc="left", fontsize=11)
    return fig


def plot_toy_pulls(toys: Any, *, ax=None, bins: int = 30):
    """Histogram of toy pulls with the unit Gaussian and the fitted mean and width."""
    import matplotlib.pyplot as plt

    p = toys.pulls
    with _style():
        if ax is None:
            fig, ax = plt.subplots(figsize=(7, 5))
        fig = ax.figure
        ax.hist(p, bins=bins, range=(-4, 4), density=True, histtype="step", color="k",
                label=f"{p.size} toys")
        x = np.linspace(-4, 4, 200)
        ax.plot(x, stats.norm.pdf(x), color="tab:red", label="N(0, 1)")
        m, me = toys.pull_mean
        w, we = toys.pull_width
        ax.text(0.03, 0.95, f"mean {m:.3f} ± {me:.3f}\nwidth {w:.3f} ± {we:.3f}\n"
                f"coverage {toys.coverage[0]:.3f} ± {toys.coverage[1]:.3f}",
                transform=ax.transAxes, va="top", fontsize=10)
        ax.set_xlabel(r"pull $(\hat\mu - \mu_{true})/\sigma_\mu$")
        ax.set_ylabel("density")
        ax.legend()
    return fig

"""Supernova plots: Hubble diagram with residuals, (Ω_m, Ω_Λ) contours, light curves.

matplotlib is imported inside each function; each takes ``fig``/``ax=None`` and returns it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_hubble_diagram", "plot_lightcurve", "plot_om_ol", "save_sn_fit_plots"]

# 2-D credible levels of a Gaussian at 1σ and 2σ: 1 − exp(−n²/2)
_LEVELS = (1 - np.exp(-0.5), 1 - np.exp(-2.0))


def plot_hubble_diagram(result: Any, *, fig: Any = None) -> Any:
    """μ(z) with errors and the best-fit model, and residuals below (offset marginalised).

    Parameters
    ----------
    result
        A :class:`~rediscovery.cosmo.sn.hubble.SNFitResult`.

    The model curves are shifted by the best-fit offset; for comparison the residual panel
    also shows an empty universe (Ω_m = Ω_Λ = 0) and Einstein-de Sitter (Ω_m = 1), each with
    its own best offset.
    """
    import matplotlib.pyplot as plt

    from rediscovery.cosmo.cosmology import DistanceGrid
    from rediscovery.cosmo.sn.hubble import HubbleLikelihood, model_params

    t = result.table
    like = HubbleLikelihood(t)
    names = result.mcmc.names
    theta = np.array([[result.best_fit[n] for n in names]])
    om, ol, w = (float(v[0]) for v in model_params(result.model, theta))
    off = float(like.offset(om, ol, w)[0])
    zz = np.geomspace(max(t.z.min() * 0.8, 1e-3), t.z.max() * 1.1, 300)
    g = DistanceGrid(zz)

    def curve(o_m: float, o_l: float, w_: float = -1.0) -> np.ndarray:
        return g.distance_modulus(70.0, o_m, o_l, w_) + float(like.offset(o_m, o_l, w_)[0])

    best = g.distance_modulus(70.0, om, ol, w) + off
    if fig is None:
        fig = plt.figure(figsize=(7, 6))
    ax, rax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3],
                                                           "hspace": 0.05})
    err = t.mu_err
    ax.errorbar(t.z, t.mu, yerr=err, fmt=".", ms=3, color="0.3", elinewidth=0.6, alpha=0.7,
                label=f"data ({t.n})")
    label = ", ".join(f"{n}={result.best_fit[n]:.3f}" for n in names)
    ax.plot(zz, best, color="C3", lw=1.5, label=f"best fit {result.model}: {label}")
    ax.set_xscale("log")
    ax.set_ylabel(r"distance modulus $\mu$ [mag]")
    ax.legend(loc="lower right", fontsize=8)
    mu_best_data = DistanceGrid(t.z).distance_modulus(70.0, om, ol, w) + off
    rax.errorbar(t.z, t.mu - mu_best_data, yerr=err, fmt=".", ms=3, color="0.3",
                 elinewidth=0.6, alpha=0.7)
    rax.axhline(0, color="C3", lw=1.5)
    rax.plot(zz, curve(1.0, 0.0) - best, color="C0", ls="--", lw=1,
             label=r"$\Omega_m=1$ (EdS)")
    rax.plot(zz, curve(0.0, 0.0) - best, color="C2", ls=":", lw=1.2, label="empty")
    rax.set_xlabel("redshift $z$")
    rax.set_ylabel(r"$\mu - \mu_\mathrm{best}$ [mag]")
    rax.set_ylim(-1.0, 1.0)
    rax.legend(loc="lower left", fontsize=7, ncol=2)
    return fig


def plot_om_ol(result: Any, *, ax: Any = None, truth: dict[str, float] | None = None) -> Any:
    """Posterior in the (Ω_m, Ω_Λ) plane with the flat-universe and q0 = 0 lines.

    For ``lcdm`` the 68% and 95% contours are drawn; for flat models the posterior lies on
    the flat line and is drawn as the 68%/95% segments. For ``flat-wcdm`` a second
    (Ω_m, w) view is the triangle plot.
    """
    import matplotlib.pyplot as plt

    from rediscovery.cosmo.sn.hubble import model_params

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5))
    om, ol, _ = model_params(result.model, result.mcmc.samples)
    x = np.linspace(0, 1.5, 10)
    ax.plot(x, 1 - x, color="k", lw=1, label=r"flat: $\Omega_k=0$")
    ax.plot(x, x / 2, color="C1", lw=1, ls="--", label=r"$q_0=0$ (accelerating above)")
    ax.axhline(0, color="0.6", lw=0.8, ls=":")
    if result.model == "lcdm":
        import corner

        corner.hist2d(om, ol, ax=ax, levels=_LEVELS, plot_datapoints=False,
                      plot_density=False, fill_contours=True, smooth=1.0, color="C3",
                      range=[(max(0, om.min()), om.max()), (ol.min(), ol.max())])
    else:
        for q, lw in (((2.275, 97.725), 2), ((15.866, 84.134), 5)):
            lo, hi = np.percentile(om, q)
            ax.plot([lo, hi], [1 - lo, 1 - hi], color="C3", lw=lw, solid_capstyle="butt",
                    alpha=0.6 if lw == 2 else 1.0)
    if truth is not None:
        ax.plot(truth["Om"], truth["OL"], "k*", ms=10, label="truth")
    ax.set_xlim(0, 1.2)
    ax.set_ylim(-0.5, 1.6)
    ax.set_xlabel(r"$\Omega_m$")
    ax.set_ylabel(r"$\Omega_\Lambda$")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"SN Ia, {result.model}: "
                 rf"$P(\Omega_\Lambda>0)$ = {result.p_lambda_positive:.4f}", fontsize=9)
    return ax


def plot_lightcurve(photometry: Any, fit: dict[str, Any] | None = None, *, ax: Any = None) -> Any:
    """Fluxes (zero point 27.5 AB) per band vs time (MJD) with the fitted SALT2 model."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    zp_ref = 27.5
    scale = 10 ** (0.4 * (zp_ref - photometry["zp"].to_numpy()))
    for i, (b, g) in enumerate(photometry.assign(_s=scale).groupby("band")):
        ax.errorbar(g["time"], g["flux"] * g["_s"], yerr=g["fluxerr"] * g["_s"], fmt="o",
                    ms=3, color=f"C{i}", label=b)
        if fit is not None and fit.get("success"):
            from rediscovery.cosmo.sn.salt2 import salt2_model

            m = salt2_model()
            m.set(**{k: fit[k] for k in ("z", "t0", "x0", "x1", "c")})
            t = np.linspace(g["time"].min(), g["time"].max(), 200)
            ax.plot(t, m.bandflux(b, t, zp=zp_ref, zpsys="ab"), color=f"C{i}")
    ax.set_xlabel("time [MJD]")
    ax.set_ylabel(f"flux [zp = {zp_ref} AB]")
    ax.legend(fontsize=8)
    return ax


def save_sn_fit_plots(result: Any, out: Any, *, truth: dict[str, float] | None = None,
                      dpi: int = 120) -> None:
    """Write the figures of an SN cosmology fit into the folder ``out``: ``hubble_diagram.png``,
    ``om_ol.png`` and ``triangle.png`` (with ``truth`` marked, when given: unblinding only)."""
    from pathlib import Path

    import matplotlib.pyplot as plt

    from rediscovery.core.plotting import savefig
    from rediscovery.cosmo.plots import triangle_plot

    out = Path(out)
    savefig(plot_hubble_diagram(result), out / "hubble_diagram.png", dpi=dpi)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    plot_om_ol(result, ax=ax, truth=truth)
    savefig(fig, out / "om_ol.png", dpi=dpi)
    truths = None if truth is None else {k: truth.get(k) for k in result.mcmc.names}
    savefig(triangle_plot(result.mcmc, truths=truths), out / "triangle.png", dpi=100)

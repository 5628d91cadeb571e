"""Detection plots: cut-out grids of candidates and the efficiency vs S/N curve.

matplotlib is imported inside each function; each takes ``fig``/``ax=None`` and returns it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["cutout", "plot_cutouts", "plot_efficiency"]


def cutout(image: np.ndarray, x: float, y: float, size: int) -> np.ndarray:
    """The ``size × size`` stamp centred on the pixel nearest ``(x, y)``; NaN outside."""
    h = size // 2
    xi, yi = round(float(x)), round(float(y))
    out = np.full((size, size), np.nan)
    ny, nx = image.shape
    y0, y1 = max(yi - h, 0), min(yi + h + 1, ny)
    x0, x1 = max(xi - h, 0), min(xi + h + 1, nx)
    if y0 < y1 and x0 < x1:
        out[y0 - (yi - h):y1 - (yi - h), x0 - (xi - h):x1 - (xi - h)] = image[y0:y1, x0:x1]
    return out


def plot_cutouts(new: np.ndarray, ref: np.ndarray, diff: np.ndarray, score: np.ndarray,
                 candidates: pd.DataFrame, *, size: int = 31, max_rows: int = 8,
                 fig: Any = None) -> Any:
    """One row per candidate (at most ``max_rows``): new, reference, difference and score
    cut-outs centred on ``(x, y)``, labelled with the position (pixels, and ra/dec when
    present) and the significance (``max_significance`` or ``significance``).

    The new and reference stamps share one grey scale (percentiles of the new stamp), the
    difference is scaled symmetrically, the score is shown in σ from −5 to 10.
    """
    import matplotlib.pyplot as plt

    rows = candidates.head(max_rows)
    n = max(len(rows), 1)
    if fig is None:
        fig = plt.figure(figsize=(8, 2.1 * n))
    axes = np.asarray(fig.subplots(n, 4, squeeze=False))
    sig_col = "max_significance" if "max_significance" in rows else "significance"
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for col, name in enumerate(("new", "reference", "difference", "score [σ]")):
        axes[0, col].set_title(name, fontsize=9)
    for i, (_, r) in enumerate(rows.iterrows()):
        stamps = [cutout(im, r.x, r.y, size) for im in (new, ref, diff, score)]
        lo, hi = np.nanpercentile(stamps[0], [1, 99.5])
        dmax = np.nanmax(np.abs(stamps[2])) or 1.0
        axes[i, 0].imshow(stamps[0], origin="lower", cmap="gray", vmin=lo, vmax=hi)
        axes[i, 1].imshow(stamps[1], origin="lower", cmap="gray", vmin=lo, vmax=hi)
        axes[i, 2].imshow(stamps[2], origin="lower", cmap="RdBu_r", vmin=-dmax, vmax=dmax)
        axes[i, 3].imshow(stamps[3], origin="lower", cmap="viridis", vmin=-5, vmax=10)
        label = f"x={r.x:.1f} y={r.y:.1f}"
        if "ra" in r and np.isfinite(r.get("ra", np.nan)):
            label += f"\nra={r.ra:.5f} dec={r.dec:+.5f}"
        if sig_col in r:
            label += f"\n{r[sig_col]:.1f} σ"
        axes[i, 0].set_ylabel(label, fontsize=7)
    fig.tight_layout()
    return fig


def plot_efficiency(snr: Sequence[float], efficiency: Mapping[str, Sequence[float]], *,
                    n_injected: int | None = None, threshold: float | None = None,
                    ax: Any = None) -> Any:
    """Detection efficiency vs injected S/N, one curve per method, with binomial error bars
    when ``n_injected`` (per point) is given, and the ideal matched filter Φ(S/N − threshold)
    when ``threshold`` is given."""
    import matplotlib.pyplot as plt
    from scipy.stats import norm

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    s = np.asarray(snr, float)
    for name, eff in efficiency.items():
        e = np.asarray(eff, float)
        err = None if n_injected is None else np.sqrt(e * (1 - e) / n_injected)
        ax.errorbar(s, e, yerr=err, marker="o", ms=4, capsize=2, label=name)
    if threshold is not None:
        ss = np.linspace(s.min(), s.max(), 200)
        ax.plot(ss, norm.cdf(ss - threshold), color="0.5", ls="--",
                label=f"ideal matched filter, {threshold:g} σ")
    ax.axhline(0.5, color="0.8", lw=0.8)
    ax.set_xlabel("injected optimal S/N")
    ax.set_ylabel("detection efficiency")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8, loc="lower right")
    return ax

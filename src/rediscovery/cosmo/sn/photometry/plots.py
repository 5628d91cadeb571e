"""Light-curve plots of forced photometry; matplotlib is imported inside the function."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["BAND_COLOURS", "plot_lightcurves"]

#: Colours of the survey bands (sncosmo names), blue to red.
BAND_COLOURS = {"sdssg": "tab:green", "sdssr": "tab:red", "sdssi": "tab:purple",
                "sdssz": "tab:brown"}


def plot_lightcurves(lc: pd.DataFrame, *, sn_ids: list[str] | None = None, max_sne: int = 6,
                     fig: Any = None) -> Any:
    """One panel per candidate: flux (zp of the table, usually 27.5 AB) with its error
    against MJD, one colour per band. Without ``sn_ids``, the ``max_sne`` candidates with the
    largest peak S/N. Returns the figure."""
    import matplotlib.pyplot as plt

    if sn_ids is None:
        snr = (lc["flux"] / lc["fluxerr"]).groupby(lc["sn_id"]).max()
        sn_ids = list(snr.sort_values(ascending=False).index[:max_sne])
    n = max(len(sn_ids), 1)
    ncol = min(n, 3)
    nrow = int(np.ceil(n / ncol))
    if fig is None:
        fig = plt.figure(figsize=(4.0 * ncol, 2.8 * nrow))
    axes = np.asarray(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    for ax, sid in zip(axes, sn_ids, strict=False):
        d = lc[lc["sn_id"] == sid]
        for band, g in d.groupby("band", sort=False):
            ax.errorbar(g["time"], g["flux"], yerr=g["fluxerr"], fmt="o", ms=3, capsize=1.5,
                        color=BAND_COLOURS.get(str(band)), label=str(band))
        ax.axhline(0.0, color="0.7", lw=0.8)
        zp = d["zp"].iloc[0] if len(d) else np.nan
        ax.set_title(str(sid), fontsize=9)
        ax.set_xlabel("time [MJD]")
        ax.set_ylabel(f"flux [zp = {zp:g} AB]")
        ax.legend(fontsize=7)
    for ax in axes[len(sn_ids):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig

"""The light-curve plot draws each candidate's points per band with labelled axes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rediscovery.cosmo.sn.photometry.plots import plot_lightcurves


def test_plot_lightcurves_draws_the_points():
    import matplotlib.pyplot as plt

    t = np.arange(5.0)
    lc = pd.concat([pd.DataFrame({"sn_id": sid, "time": 60000 + t, "band": band,
                                  "flux": amp * (1 + t), "fluxerr": 1.0, "zp": 27.5,
                                  "zpsys": "ab"})
                    for sid, amp in (("a", 10.0), ("b", 2.0)) for band in ("sdssg", "sdssr")])
    fig = plot_lightcurves(lc, max_sne=1)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 1 and axes[0].get_title() == "a"  # the highest S/N first
    ax = axes[0]
    assert ax.get_xlabel() == "time [MJD]" and ax.get_ylabel() == "flux [zp = 27.5 AB]"
    ys = sorted(np.concatenate([c.lines[0].get_ydata() for c in ax.containers]))
    np.testing.assert_allclose(ys, sorted(np.tile(10.0 * (1 + t), 2)))
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"sdssg", "sdssr"}
    plt.close(fig)

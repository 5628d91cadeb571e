r"""Compare simulated events with the real HiggsML sample: shapes, jet multiplicities, peaks.

The real sample (``train_sml_sig.csv`` and ``train_sml_bg.csv``) holds the first 4,999 events
of each class of the HiggsML training set with full-set weights, so only *shapes* are compared:
every distribution is normalised to unit weight within its class.

The distance per feature is the two-sample Kolmogorov–Smirnov statistic on weighted empirical
CDFs, :math:`D = \sup_x |F_{sim}(x) - F_{real}(x)|`, with
:math:`F(x) = \sum_{i: x_i \le x} w_i / \sum_i w_i`, computed over the events where the
feature is defined (jet quantities exist only for events with enough jets; their fraction is
compared separately through the jet-multiplicity fractions).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from rediscovery.core.errors import InputError
from rediscovery.higgs.schema import LABEL, PRI_COLUMNS, WEIGHT

__all__ = [
    "REFERENCE_FILES",
    "compare_to_reference",
    "jet_multiplicity_fractions",
    "load_reference",
    "peak_position",
    "visible_mass",
    "weighted_ks",
]

#: Files of the real sample in the reference folder (``$REDISCOVERY_REFERENCE_DATA/higgsml``).
REFERENCE_FILES = ("train_sml_sig.csv", "train_sml_bg.csv")

_CLASSES = {1: "signal", 0: "background"}


def load_reference(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the real HiggsML sample (both classes) from ``folder`` with ``read_events``."""
    from rediscovery.higgs.events.io import read_events

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(
            "reference folder not found; expected the folder holding "
            f"{' and '.join(REFERENCE_FILES)} (e.g. $REDISCOVERY_REFERENCE_DATA/higgsml)",
            path=folder,
        )
    frames = [read_events(folder / name) for name in REFERENCE_FILES]
    for f, name in zip(frames, REFERENCE_FILES, strict=True):
        for col in (WEIGHT, LABEL):
            if col not in f.columns:
                raise InputError("needed to compare with the simulation", path=folder / name,
                                 column=col)
    return pd.concat(frames, ignore_index=True)


def weighted_ks(x1, w1, x2, w2) -> float:
    """Kolmogorov–Smirnov distance between two weighted samples (NaN values are ignored).

    Returns
    -------
    float
        :math:`\\sup_x |F_1(x) - F_2(x)|` in [0, 1] (NaN if either sample is empty).
    """
    x1, w1, x2, w2 = (np.asarray(a, dtype=np.float64) for a in (x1, w1, x2, w2))
    m1, m2 = np.isfinite(x1), np.isfinite(x2)
    x1, w1, x2, w2 = x1[m1], w1[m1], x2[m2], w2[m2]
    if x1.size == 0 or x2.size == 0 or w1.sum() <= 0 or w2.sum() <= 0:
        return float("nan")
    grid = np.union1d(x1, x2)

    def cdf(x, w):
        order = np.argsort(x, kind="stable")
        cw = np.cumsum(w[order]) / w.sum()
        idx = np.searchsorted(x[order], grid, side="right")
        return np.where(idx > 0, cw[np.maximum(idx - 1, 0)], 0.0)

    return float(np.max(np.abs(cdf(x1, w1) - cdf(x2, w2))))


def visible_mass(df: pd.DataFrame) -> np.ndarray:
    """Invariant mass of the lepton and the visible τ_h (massless), GeV (as DER_mass_vis)."""
    pt1, eta1, phi1 = (df[f"PRI_tau_{k}"].to_numpy(float) for k in ("pt", "eta", "phi"))
    pt2, eta2, phi2 = (df[f"PRI_lep_{k}"].to_numpy(float) for k in ("pt", "eta", "phi"))
    m2 = 2.0 * pt1 * pt2 * (np.cosh(eta1 - eta2) - np.cos(phi1 - phi2))
    return np.sqrt(np.maximum(m2, 0.0))


def peak_position(x, w, *, lo: float = 0.0, hi: float = 200.0, width: float = 5.0) -> float:
    """Mode of a weighted distribution: centre of the fullest bin after a 3-bin running mean."""
    x, w = np.asarray(x, float), np.asarray(w, float)
    h, edges = np.histogram(x, bins=np.arange(lo, hi + width, width), weights=w)
    smooth = np.convolve(h, np.ones(3) / 3, mode="same")
    k = int(np.argmax(smooth))
    return float(0.5 * (edges[k] + edges[k + 1]))


def jet_multiplicity_fractions(df: pd.DataFrame) -> pd.DataFrame:
    """Weighted fractions of PRI_jet_num = 0, 1, 2, ≥3 per class (rows: class, columns: 0..3)."""
    rows = {}
    for lab, name in _CLASSES.items():
        sub = df[df[LABEL] == lab]
        w = sub[WEIGHT].to_numpy(float)
        nj = np.minimum(sub["PRI_jet_num"].to_numpy(float), 3)
        tot = w.sum()
        rows[name] = [w[nj == k].sum() / tot if tot > 0 else np.nan for k in range(4)]
    return pd.DataFrame.from_dict(rows, orient="index", columns=[0, 1, 2, 3])


def _kish(w: np.ndarray) -> float:
    s2 = float(np.sum(w * w))
    return float(np.sum(w)) ** 2 / s2 if s2 > 0 else 0.0


def compare_to_reference(sim: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    """Per feature and class, the weighted KS distance and weighted means (simulated vs real).

    Features: the 17 primaries (``PRI_jet_num`` included) plus the visible mass
    ``mass_vis`` (computed by :func:`visible_mass`).

    Returns
    -------
    DataFrame
        Columns ``feature, class, ks, mean_sim, mean_real, n_sim, n_real, neff_sim,
        neff_real`` (``neff``: Kish effective sample size :math:`(Σw)^2/Σw^2` of the events
        where the feature is defined, for the statistical scale of ``ks``).
    """
    out = []
    for lab, name in _CLASSES.items():
        s, r = sim[sim[LABEL] == lab], ref[ref[LABEL] == lab]
        ws, wr = s[WEIGHT].to_numpy(float), r[WEIGHT].to_numpy(float)
        feats = {c: (s[c].to_numpy(float), r[c].to_numpy(float)) for c in PRI_COLUMNS}
        feats["mass_vis"] = (visible_mass(s), visible_mass(r))
        for feat, (xs, xr) in feats.items():
            ms, mr = np.isfinite(xs), np.isfinite(xr)
            out.append({
                "feature": feat,
                "class": name,
                "ks": weighted_ks(xs, ws, xr, wr),
                "mean_sim": float(np.average(xs[ms], weights=ws[ms])) if ms.any() else np.nan,
                "mean_real": float(np.average(xr[mr], weights=wr[mr])) if mr.any() else np.nan,
                "n_sim": int(ms.sum()),
                "n_real": int(mr.sum()),
                "neff_sim": _kish(ws[ms]),
                "neff_real": _kish(wr[mr]),
            })
    return pd.DataFrame(out)

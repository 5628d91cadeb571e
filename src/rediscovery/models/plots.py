"""Plots of model cards: the validity box in two inputs, the held-out accuracy per range.

Matplotlib is imported inside the functions; each takes ``ax=None`` and returns the artists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rediscovery.core.errors import InputError
from rediscovery.models.card import ModelCard

__all__ = ["plot_held_out", "plot_validity_box"]


def _axes(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def plot_validity_box(
    card: ModelCard, x: str, y: str, *, points: Mapping[str, Any] | None = None, ax: Any = None
) -> dict[str, Any]:
    """The validity box of ``card`` in the plane of inputs ``x`` and ``y``, with optional
    ``points`` (``{input: values}``) marked inside (dots) or outside (crosses).

    Returns ``{"box": Rectangle, "inside": PathCollection | None, "outside": ... }``.
    """
    from matplotlib.patches import Rectangle

    bounded = {
        i.name: (i.low, i.high) for i in card.inputs if i.low is not None and i.high is not None
    }
    for name in (x, y):
        if name not in bounded:
            raise InputError(
                f"model {card.name!r} has no bounded input {name!r}; bounded: {list(bounded)}",
                column=name,
            )
    ax = _axes(ax)
    (x0, x1), (y0, y1) = bounded[x], bounded[y]
    rect = Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=1.5, label="validity box")
    ax.add_patch(rect)
    out: dict[str, Any] = {"box": rect, "inside": None, "outside": None}
    if points is not None:
        px = np.asarray(points[x], dtype=float)
        py = np.asarray(points[y], dtype=float)
        ok = (px >= x0) & (px <= x1) & (py >= y0) & (py <= y1)
        if ok.any():
            out["inside"] = ax.scatter(px[ok], py[ok], s=8, label="inside")
        if (~ok).any():
            out["outside"] = ax.scatter(px[~ok], py[~ok], s=20, marker="x", label="outside")
    pad_x, pad_y = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
    ax.set_xlim(x0 - pad_x, x1 + pad_x)
    ax.set_ylim(y0 - pad_y, y1 + pad_y)
    unit = {i.name: i.unit for i in card.inputs}
    ax.set_xlabel(x if unit[x] in ("", "1") else f"{x} [{unit[x]}]")
    ax.set_ylabel(y if unit[y] in ("", "1") else f"{y} [{unit[y]}]")
    ax.set_title(card.name)
    ax.legend(loc="best", fontsize="small")
    return out


def plot_held_out(card: ModelCard, key: str = "max_rel_err_per_ell_bin", *, ax: Any = None) -> Any:
    """Bar chart of a held-out figure per range (default: the emulators' max relative error
    per ℓ range, in %); returns the bar container."""
    table = card.held_out.get(key)
    if not isinstance(table, Mapping) or not table:
        raise InputError(
            f"model {card.name!r} has no held-out table {key!r}; it has {sorted(card.held_out)}",
            column=key,
        )
    ax = _axes(ax)
    labels = list(table)
    bars = ax.bar(labels, [100.0 * float(table[k]) for k in labels])
    ax.set_ylabel("max |emulator / reference - 1| [%]")
    ax.set_xlabel("range")
    ax.set_title(f"{card.name}: held-out ({card.training_data.held_out_size} samples)")
    return bars

"""Plotting style and figure saving shared by every ``plots`` module.

matplotlib is imported inside the functions (the core never draws). Library code never
chooses a backend: matplotlib falls back to Agg by itself where there is no display, and a
notebook keeps its inline backend. Only the CLI commands select Agg explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rediscovery.core.files import atomic_path

__all__ = ["hep_style", "savefig"]


def hep_style(experiment: str = "ATLAS") -> None:
    """Apply the mplhep style of ``experiment`` (``"ATLAS"``, ``"CMS"``, …) to matplotlib."""
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(getattr(mplhep.style, experiment))


def savefig(fig: Any, path: str | os.PathLike[str], *, dpi: int = 120, close: bool = True,
            bbox_inches: str | None = "tight") -> Path:
    """Save a matplotlib figure atomically (PNG, PDF or SVG by suffix) and optionally close it."""
    p = Path(path)
    with atomic_path(p) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches=bbox_inches, format=p.suffix.lstrip(".") or "png")
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return p

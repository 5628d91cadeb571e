"""A self-contained HTML report of a run: results tables and every plot, embedded.

``write_report(run_dir)`` collects ``results.json`` (or ``*.json`` results of each stage) and all
PNG figures below the run directory, and writes ``report.html`` with the images inlined as
base64, so the file can be mailed or opened anywhere without the run folder.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path
from typing import Any

from rediscovery.core.files import write_text

__all__ = ["render_report", "write_report"]

_CSS = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; }
h1 { border-bottom: 2px solid #444; } h2 { margin-top: 2em; border-bottom: 1px solid #aaa; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { border: 1px solid #ccc;
        padding: 3px 8px; text-align: left; font-size: 90%; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 520px; border: 1px solid #ddd; }
figcaption { font-size: 80%; color: #555; text-align: center; }
.bad { color: #b00; font-weight: bold; } .ok { color: #070; }
"""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list) and len(value) <= 6 and all(
        isinstance(v, int | float) for v in value
    ):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict | list):
        return "<pre>" + html.escape(json.dumps(value, indent=1)[:2000]) + "</pre>"
    return html.escape(str(value))


def _table(data: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{_fmt(v)}</td></tr>" for k, v in data.items()
    )
    return f"<table>{rows}</table>"


def render_report(title: str, sections: list[tuple[str, dict[str, Any], list[Path]]]) -> str:
    """HTML text of a report from ``(heading, key/values, figure paths)`` sections."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    for heading, values, figures in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if values:
            parts.append(_table(values))
        for fig in figures:
            data = base64.b64encode(Path(fig).read_bytes()).decode()
            parts.append(
                f"<figure><img alt='{html.escape(fig.name)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{html.escape(fig.name)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(run_dir: str | os.PathLike[str], title: str | None = None) -> Path:
    """Write ``<run_dir>/report.html`` from the run's manifest, results and PNG figures."""
    root = Path(run_dir)
    sections: list[tuple[str, dict[str, Any], list[Path]]] = []
    results = root / "results.json"
    if results.exists():
        sections.append(("Results", json.loads(results.read_text()), []))
    manifest = root / "manifest.json"
    stages: dict[str, Any] = {}
    if manifest.exists():
        mf = json.loads(manifest.read_text())
        stages = mf.get("stages", {})
        sections.append(
            ("Provenance", {"seed": mf.get("seed"), "versions": mf.get("versions", {})}, [])
        )
    names = list(stages) + sorted(
        p.name for p in root.iterdir() if p.is_dir() and p.name not in stages
    )
    for name in names:
        sdir = root / name
        if not sdir.is_dir():
            continue
        info = stages.get(name, {})
        values = {k: info[k] for k in ("status", "seconds") if k in info}
        values.update(info.get("results", {}))
        figs = sorted(sdir.rglob("*.png"))
        if values or figs:
            sections.append((f"Stage: {name}", values, figs))
    return write_text(root / "report.html", render_report(title or f"rediscovery run {root.name}",
                                                          sections))

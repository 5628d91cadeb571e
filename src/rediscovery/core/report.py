"""A self-contained HTML report of a run, written for the physicist who reads it.

Layout (generic, here) and content (per analysis) are separate. A pipeline registers a
*builder* (:func:`register_report_builder`) that turns its run directory into a
:class:`Report`: a title, one headline sentence with the result, then sections of
:class:`Table` (caption, column headers, units in the headers, notes) and :class:`Figure`
(PNG path and caption) blocks. :func:`write_report` calls the builder registered for the run's
``config.yaml`` section (``higgs`` and ``cosmo`` are imported on first use; a generic report
otherwise), adds every PNG of the run that no section shows under "Other figures", puts the
provenance (configuration, seed, versions, input hashes, stage timings from
``manifest.json``) last in a collapsed ``<details>``, and writes ``report.html``: valid HTML5,
images inlined as base64 PNG, no external resources, no raw JSON.

Numbers with uncertainties are rounded by :func:`round_to_uncertainty`: two significant digits
of the (smallest) uncertainty, the value to the same decimal place.
"""

from __future__ import annotations

import base64
import html
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rediscovery.core.files import read_json_mapping, write_text
from rediscovery.core.runs import REPORT_FILE, read_manifest

__all__ = [
    "Figure",
    "Html",
    "Report",
    "Section",
    "Table",
    "fmt_asym",
    "fmt_errors",
    "fmt_number",
    "fmt_pm",
    "provenance_sections",
    "read_json_mapping",
    "register_report_builder",
    "render_report",
    "round_to_uncertainty",
    "write_report",
]

MINUS = "\u2212"
#: What a missing number is shown as.
MISSING = "—"


# -- rounding and formatting ----------------------------------------------------------------
def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _decimals(err: float, digits: int) -> int:
    """Decimal places that show ``digits`` significant digits of ``err`` (after rounding)."""
    exp = math.floor(math.log10(abs(err)))
    dec = digits - 1 - exp
    # 0.0996 with two digits rounds to 0.100: one digit too many, so one decimal less
    if abs(round(abs(err), dec)) >= 10.0 ** (exp + 1):
        dec -= 1
    return dec


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _group(text: str) -> str:
    """Thin-space thousands groups in the integer part of numbers of five digits or more."""
    sign = text[0] if text[:1] in "-+" else ""
    body = text[len(sign):]
    whole, dot, frac = body.partition(".")
    if len(whole) >= 5 and whole.isdigit():  # not "4×10⁻⁵"
        whole = f"{int(whole):,}".replace(",", "\u2009")
    return sign + whole + dot + frac


def _fixed(x: float, dec: int) -> str:
    """``x`` rounded to ``dec`` decimals (negative: to tens, hundreds…), with a true minus."""
    r = round(x, dec)
    if r == 0:
        r = 0.0  # no "-0.00"
    text = _group(f"{r:.{max(dec, 0)}f}")
    return text.replace("-", MINUS)


def round_to_uncertainty(value: float, *errors: float, digits: int = 2) -> tuple[str, ...]:
    """Strings of ``value`` and ``errors`` rounded to ``digits`` significant digits of the
    smallest non-zero uncertainty, the value to the same decimal place.

    The simplified PDG convention the project uses (always two digits of the uncertainty,
    not the PDG's 355–949 one-digit case). Negative numbers get a true minus sign (U+2212);
    uncertainties are shown as absolute values.

    >>> round_to_uncertainty(1.1432, 0.2071)
    ('1.14', '0.21')
    >>> round_to_uncertainty(1.1432, 0.2071, 0.16)
    ('1.14', '0.21', '0.16')
    >>> round_to_uncertainty(12345.6, 123.4)
    ('12\u2009350', '120')
    >>> round_to_uncertainty(0.12345, 0.0996)
    ('0.12', '0.10')
    >>> round_to_uncertainty(-0.004, 0.0123)
    ('−0.004', '0.012')
    """
    errs = [abs(float(e)) for e in errors if _finite(e) and e != 0]
    if not _finite(value):
        return (MISSING, *(MISSING for _ in errors))
    if not errs:
        return (fmt_number(value), *(fmt_number(abs(e)) if _finite(e) else MISSING
                                     for e in errors))
    dec = _decimals(min(errs), digits)
    return (_fixed(float(value), dec),
            *(_fixed(abs(float(e)), dec) if _finite(e) else MISSING for e in errors))


def fmt_number(x: Any, sig: int = 4) -> str:
    """A number without an uncertainty: ``sig`` significant digits, true minus, ``—`` if
    missing; integers as integers with thin-space thousands separators.

    >>> fmt_number(20812)
    '20\u2009812'
    >>> fmt_number(-0.000123456)
    '−0.0001235'
    >>> fmt_number(9.6e-10, 2)
    '9.6×10⁻¹⁰'
    >>> fmt_number(4e-05, 2)
    '4×10⁻⁵'
    >>> fmt_number(None)
    '—'
    """
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}".replace(",", "\u2009").replace("-", MINUS)
    if not _finite(x):
        return MISSING
    text = f"{float(x):.{sig}g}"
    if "e" in text:
        mant, exp = text.split("e")
        text = f"{mant}×10{str(int(exp)).translate(_SUPERSCRIPT)}"
    return _group(text).replace("-", MINUS)


class Html(str):
    """Text that is already HTML (not escaped again): markup from this module's helpers."""


def _esc(text: Any) -> str:
    return text if isinstance(text, Html) else html.escape(str(text))


def fmt_pm(value: Any, err: Any, *, digits: int = 2) -> str:
    """``value ± err`` rounded to the uncertainty (plain text).

    >>> fmt_pm(0.96912, 0.000457)
    '0.96912 ± 0.00046'
    """
    if not _finite(value):
        return MISSING
    if not _finite(err) or err == 0:
        return fmt_number(value)
    v, e = round_to_uncertainty(value, err, digits=digits)
    return f"{v} ± {e}"


def fmt_asym(value: Any, up: Any, down: Any, *, digits: int = 2) -> Html:
    """``value`` with asymmetric errors as HTML: ``+up`` above ``−down``, or ``± err`` when
    both round to the same digits. ``up`` and ``down`` are positive distances."""
    if not _finite(value):
        return Html(MISSING)
    if not (_finite(up) and _finite(down)):
        return Html(_esc(fmt_number(value)))
    v, u, d = round_to_uncertainty(value, up, down, digits=digits)
    if u == d:
        return Html(f"{v}&#8239;±&#8239;{u}")
    return Html(f"{v}<span class='pm'><sup>+{u}</sup><sub>{MINUS}{d}</sub></span>")


def fmt_errors(up: Any, down: Any, *, digits: int = 2) -> Html:
    """Asymmetric uncertainties alone (``+up`` over ``−down``, or ``± err``), rounded to their
    own two significant digits.

    >>> fmt_errors(0.1601, 0.1588)
    '±&#8239;0.16'
    """
    if not (_finite(up) and _finite(down)):
        return Html(MISSING)
    _, u, d = round_to_uncertainty(0.0, up, down, digits=digits)
    if u == d:
        return Html(f"±&#8239;{u}")
    return Html(f"<span class='pm'><sup>+{u}</sup><sub>{MINUS}{d}</sub></span>")


# -- the report model -----------------------------------------------------------------------
@dataclass
class Table:
    """A table: ``caption`` above, ``columns`` (units in the header, e.g. ``"H0 [km/s/Mpc]"``),
    ``rows`` of cells (str, :class:`Html` or numbers), optional ``notes`` below.

    The first column is left-aligned (labels), the others right-aligned (numbers) unless
    ``text``.
    """

    caption: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    notes: str = ""
    row_classes: Sequence[str] = ()
    text: bool = False  # every column left-aligned (a table of words, not numbers)


@dataclass
class Figure:
    """A PNG figure with its caption (the caption says what is shown and how to read it)."""

    path: Path
    caption: str
    wide: bool = False


@dataclass
class Paragraph:
    """A short paragraph of text."""

    text: str


Block = Table | Figure | Paragraph


@dataclass
class Section:
    """A titled part of the report; ``key`` is its HTML id (for tests and links)."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    key: str = ""
    collapsed: bool = False


@dataclass
class Report:
    """The content of a report; :func:`render_report` lays it out."""

    title: str
    headline: str = ""
    subtitle: str = ""
    sections: list[Section] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: figures the builder left out on purpose (e.g. stale ones): not under "Other figures"
    excluded: list[Path] = field(default_factory=list)


#: A content builder: run directory -> Report (without provenance and unclaimed figures).
ReportBuilder = Callable[[Path], Report]
_BUILDERS: dict[str, ReportBuilder] = {}
#: The package's own builders, imported on first use (so that ``write_report`` of a finished
#: run works in a process that never imported the pipeline).
_DEFAULT_BUILDERS = {"higgs": "rediscovery.higgs.pipeline:build_higgs_report",
                     "cosmo": "rediscovery.cosmo.pipeline:build_cosmo_report"}


def register_report_builder(section: str, builder: ReportBuilder) -> None:
    """Use ``builder`` for runs whose ``config.yaml`` has the top-level key ``section``."""
    _BUILDERS[section] = builder


# -- rendering ------------------------------------------------------------------------------
_CSS = """
:root { --fg: #1d1d1f; --muted: #5f6368; --line: #d0d4da; --accent: #1a4f8b; --bg2: #f5f7fa; }
* { box-sizing: border-box; }
body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif;
       margin: 0 auto; padding: 1.2em 1.5em 3em; max-width: 1150px; color: var(--fg);
       line-height: 1.45; }
h1 { font-size: 1.5em; margin: 0.2em 0 0.1em; }
.subtitle { color: var(--muted); margin: 0 0 0.8em; font-size: 0.95em; }
.headline { font-size: 1.35em; background: var(--bg2); border-left: 5px solid var(--accent);
            padding: 0.6em 0.9em; margin: 0.6em 0 1em; }
.warning { background: #fff4e5; border-left: 5px solid #e08600; padding: 0.4em 0.8em;
           margin: 0.4em 0; }
h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid var(--line);
     padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.3em 0 1em; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 0.2em 0; }
th, td { border-bottom: 1px solid var(--line); padding: 0.25em 0.8em; font-size: 0.92em; }
th { background: var(--bg2); text-align: right; font-weight: 600; }
td { text-align: right; white-space: nowrap; }
th:first-child, td:first-child, table.text th, table.text td { text-align: left; }
tr.total td { font-weight: 600; border-top: 2px solid #888; }
tr.data td { font-weight: 600; }
.notes { color: var(--muted); font-size: 0.85em; margin: -0.6em 0 1em; max-width: 60em; }
.pm { display: inline-flex; flex-direction: column; vertical-align: middle;
      font-size: 0.72em; line-height: 1.05; margin-left: 0.15em; text-align: left; }
.pm sup, .pm sub { vertical-align: baseline; font-size: 1em; }
.figures { display: flex; flex-wrap: wrap; gap: 0 1.2em; align-items: flex-start; }
figure { margin: 0.4em 0 1em; width: calc(50% - 0.6em); }
figure.wide { width: 85%; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { font-size: 0.85em; color: var(--muted); margin-top: 0.2em; }
details { margin-top: 2em; border: 1px solid var(--line); border-radius: 4px;
          padding: 0.3em 0.8em; }
summary { cursor: pointer; font-weight: 600; font-size: 1.1em; }
details h3 { font-size: 1em; margin: 1em 0 0.3em; }
code { font-size: 0.9em; }
"""


def _cell(value: Any) -> str:
    if isinstance(value, Html):
        return value
    if isinstance(value, int | float) and not isinstance(value, str):
        return html.escape(fmt_number(value))
    return html.escape(str(value))


def _render_table(t: Table) -> str:
    head = "".join(f"<th scope='col'>{_esc(c)}</th>" for c in t.columns)
    body = []
    for i, row in enumerate(t.rows):
        cls = t.row_classes[i] if i < len(t.row_classes) and t.row_classes[i] else ""
        attr = f" class='{cls}'" if cls else ""
        body.append(f"<tr{attr}>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>")
    cls_attr = " class='text'" if t.text else ""
    out = (f"<table{cls_attr}><caption>{_esc(t.caption)}</caption><thead><tr>{head}</tr></thead>"
           f"<tbody>{''.join(body)}</tbody></table>")
    if t.notes:
        out += f"<p class='notes'>{_esc(t.notes)}</p>"
    return out


def _render_figure(f: Figure, root: Path | None) -> str:
    p = Path(f.path)
    data = base64.b64encode(p.read_bytes()).decode()
    try:
        rel = p.relative_to(root).as_posix() if root is not None else p.name
    except ValueError:
        rel = p.name
    cap = _esc(f.caption)
    alt = html.escape(html.unescape(re.sub(r"<[^>]+>", "", f.caption)) if isinstance(
        f.caption, Html) else f.caption)
    wide = " class='wide'" if f.wide else ""
    return (f"<figure{wide}><img src='data:image/png;base64,{data}' alt='{alt}' "
            f"data-source='{html.escape(rel)}'><figcaption>{cap} "
            f"<span class='source'>({html.escape(rel)})</span></figcaption></figure>")


def _render_blocks(blocks: Sequence[Block], root: Path | None) -> str:
    parts = []
    figs: list[str] = []  # consecutive figures share one flexible row container
    for b in blocks:
        if isinstance(b, Figure):
            figs.append(_render_figure(b, root))
            continue
        if figs:
            parts.append("<div class='figures'>" + "".join(figs) + "</div>")
            figs = []
        if isinstance(b, Table):
            parts.append(_render_table(b))
        else:
            parts.append(f"<p>{_esc(b.text)}</p>")
    if figs:
        parts.append("<div class='figures'>" + "".join(figs) + "</div>")
    return "\n".join(parts)


def render_report(report: Report, root: Path | None = None) -> str:
    """HTML5 text of ``report`` (figure sources are named relative to ``root``)."""
    parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
             f"<title>{_esc(report.title)}</title><style>{_CSS}</style></head><body>",
             f"<header><h1>{_esc(report.title)}</h1>"]
    if report.subtitle:
        parts.append(f"<p class='subtitle'>{_esc(report.subtitle)}</p>")
    if report.headline:
        parts.append(f"<p class='headline' id='headline'>{_esc(report.headline)}</p>")
    for w in report.warnings:
        parts.append(f"<p class='warning'>{_esc(w)}</p>")
    parts.append("</header><main>")
    for i, sec in enumerate(report.sections):
        key = sec.key or f"section-{i}"
        inner = _render_blocks(sec.blocks, root)
        if sec.collapsed:
            parts.append(f"<details id='{html.escape(key)}'><summary>{_esc(sec.title)}"
                         f"</summary>{inner}</details>")
        else:
            parts.append(f"<section id='{html.escape(key)}'><h2>{_esc(sec.title)}</h2>"
                         f"{inner}</section>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


# -- generic content: flat tables, provenance -------------------------------------------------
def _plain_value(v: Any) -> str:
    """A configuration or summary value as text (never JSON)."""
    if isinstance(v, float):
        return fmt_number(v, 6)
    if isinstance(v, bool | int):
        return fmt_number(v)
    if v is None:
        return MISSING
    if isinstance(v, list | tuple):
        return ", ".join(_plain_value(x) for x in v) if v else "(none)"
    if isinstance(v, Mapping):
        return "; ".join(f"{k} = {_plain_value(x)}" for k, x in v.items()) if v else "(none)"
    return str(v)


def flatten(data: Mapping[str, Any], prefix: str = "", max_list: int = 8) -> list[tuple[str, str]]:
    """``(dotted key, text)`` rows of a nested mapping; long lists are summarised.

    >>> flatten({"a": {"b": 1, "c": [1.5, 2]}, "d": {}})
    [('a.b', '1'), ('a.c', '1.5, 2'), ('d', '(none)')]
    """
    rows: list[tuple[str, str]] = []
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            rows.extend(flatten(v, key + ".", max_list))
        elif isinstance(v, list | tuple) and len(v) > max_list:
            nums = [x for x in v if _finite(x)]
            rng = (f", from {fmt_number(min(nums))} to {fmt_number(max(nums))}"
                   if len(nums) == len(v) else "")
            rows.append((key, f"{len(v)} values{rng}"))
        elif isinstance(v, list | tuple) and any(isinstance(x, Mapping | list) for x in v):
            rows.append((key, f"{len(v)} entries"))
        else:
            rows.append((key, _plain_value(v)))
    return rows


def provenance_sections(root: Path) -> list[Section]:
    """The collapsed provenance of a run: configuration, seed and versions, stages (status,
    time, function), input files with their SHA-256."""
    blocks: list[Block] = []
    cfg_path = root / "config.yaml"
    if cfg_path.exists():
        import yaml

        try:
            cfg = yaml.safe_load(cfg_path.read_text()) or {}
        except yaml.YAMLError:
            cfg = {}
        if isinstance(cfg, Mapping):
            blocks.append(Table("Configuration (config.yaml)", ["setting", "value"],
                                flatten(cfg), text=True))
    mf = read_manifest(root)
    if mf:
        env = [("seed", _plain_value(mf.get("seed"))), ("created", str(mf.get("created", ""))),
               ("platform", str(mf.get("platform", "")))]
        env += [(f"version: {k}", str(v)) for k, v in (mf.get("versions") or {}).items()]
        blocks.append(Table("Seed, environment and package versions", ["item", "value"], env,
                            text=True))
        stages = mf.get("stages") or {}
        rows = []
        for name, st in stages.items():
            func = (st.get("config") or {}).get("function", "builtin")
            secs = st.get("seconds")
            rows.append([name, st.get("status", ""), f"{secs:.1f}" if _finite(secs) else MISSING,
                         str(st.get("started", ""))[:19].replace("T", " "), func])
        if rows:
            total = sum(s.get("seconds", 0) or 0 for s in stages.values())
            blocks.append(Table("Stages", ["stage", "status", "time [s]", "started (UTC)",
                                           "function"], rows,
                                notes=f"Total stage time {total:.1f} s. A stage is skipped on "
                                      "re-run when its inputs and configuration are unchanged "
                                      "and its output files are as it wrote them; "
                                      "'interrupted': its process stopped before it finished "
                                      "(it runs again on the next run)."))
        irows = []
        for name, st in stages.items():
            for path, sha in (st.get("inputs") or {}).items():
                try:
                    shown = Path(path).relative_to(root).as_posix()
                except ValueError:
                    shown = path
                irows.append([name, shown, Html(f"<code title='{html.escape(str(sha))}'>"
                                                f"{html.escape(str(sha)[:16])}…</code>")])
        if irows:
            blocks.append(Table("Input files of each stage", ["stage", "file",
                                                              "SHA-256 (first 16 hex digits)"],
                                irows, text=True))
    if not blocks:
        return []
    return [Section("Provenance", blocks, key="provenance", collapsed=True)]


def _generic_report(root: Path, title: str) -> Report:
    """A report without an analysis builder: results.json as flat tables, figures per stage."""
    rep = Report(title=title)
    res = read_json_mapping(root / "results.json")
    if res:
        rep.sections.append(Section("Results", [Table("results.json", ["quantity", "value"],
                                                      flatten(res))], key="results"))
    return rep


def _section_of(root: Path) -> str | None:
    cfg = root / "config.yaml"
    if not cfg.exists():
        return None
    import yaml

    try:
        data = yaml.safe_load(cfg.read_text())
    except yaml.YAMLError:
        return None
    if isinstance(data, Mapping):
        for key in data:
            if key in _BUILDERS or key in _DEFAULT_BUILDERS:
                return str(key)
    return None


def _builder_for(section: str) -> ReportBuilder | None:
    if section not in _BUILDERS and section in _DEFAULT_BUILDERS:
        import importlib

        mod, _, func = _DEFAULT_BUILDERS[section].partition(":")
        _BUILDERS[section] = getattr(importlib.import_module(mod), func)
    return _BUILDERS.get(section)


def build_report(run_dir: str | os.PathLike[str], title: str | None = None,
                 builder: ReportBuilder | None = None) -> Report:
    """The full :class:`Report` of a run: the builder's sections (registered for the run's
    configuration section unless given), every other PNG, then the collapsed provenance."""
    root = Path(run_dir)
    title = title or f"rediscovery run {root.name}"
    if builder is None:
        section = _section_of(root)
        builder = _builder_for(section) if section else None
    rep = builder(root) if builder is not None else _generic_report(root, title)
    rep.title = title
    shown = {Path(b.path).resolve() for s in rep.sections for b in s.blocks
             if isinstance(b, Figure)} | {Path(p).resolve() for p in rep.excluded}
    others = [p for p in sorted(root.rglob("*.png")) if p.resolve() not in shown]
    if others:
        rep.sections.append(Section("Other figures", [
            Figure(p, p.stem.replace("_", " ")) for p in others], key="other-figures"))
    rep.sections.extend(provenance_sections(root))
    return rep


def write_report(run_dir: str | os.PathLike[str], title: str | None = None,
                 builder: ReportBuilder | None = None) -> Path:
    """Write ``<run_dir>/report.html`` (see :func:`build_report`); returns its path."""
    root = Path(run_dir)
    return write_text(root / REPORT_FILE,
                      render_report(build_report(root, title, builder), root))

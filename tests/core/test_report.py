"""The self-contained HTML report (rediscovery.core.report) and its checks (report_check)."""

from __future__ import annotations

import base64
import json
import math

import pytest

from rediscovery.core.plotting import savefig
from rediscovery.core.report import (
    Figure,
    Paragraph,
    Report,
    Section,
    Table,
    build_report,
    flatten,
    fmt_asym,
    fmt_errors,
    fmt_number,
    fmt_pm,
    render_report,
    round_to_uncertainty,
    write_report,
)
from rediscovery.core.report_check import browser_check, chromium_binary, outline
from rediscovery.core.runs import Run

THIN = "\u2009"


# -- rounding ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "errors", "expected"), [
    (1.1432, (0.2071,), ("1.14", "0.21")),
    (1.1432, (0.2071, 0.1601), ("1.14", "0.21", "0.16")),  # the smallest error sets the place
    (0.96908, (0.000499,), ("0.96908", "0.00050")),
    (0.12345, (0.0996,), ("0.12", "0.10")),  # 0.0996 rounds up to 0.10: still two digits
    (9.87, (0.951,), ("9.87", "0.95")),
    (1038.6, (29.82,), ("1039", "30")),
    (355762.3, (551.93,), (f"355{THIN}760", "550")),  # to tens; thin-space groups
    (7332.04, (8.03,), ("7332.0", "8.0")),
    (-0.004, (0.0123,), ("\u22120.004", "0.012")),  # true minus sign
    (-0.0004, (0.0123,), ("0.000", "0.012")),  # no "-0.000"
    (2.5, (3.0,), ("2.5", "3.0")),
])
def test_round_to_uncertainty(value, errors, expected):
    assert round_to_uncertainty(value, *errors) == expected


def test_round_to_uncertainty_missing_and_zero_errors():
    assert round_to_uncertainty(math.nan, 0.1) == ("—", "—")
    assert round_to_uncertainty(1.25, 0.0) == ("1.25", "0")
    assert round_to_uncertainty(1.25, math.inf, 0.05) == ("1.250", "—", "0.050")
    assert round_to_uncertainty(0.5, 0.01234, digits=1) == ("0.50", "0.01")


def test_formatting_helpers():
    assert fmt_pm(0.96908, 0.000499) == "0.96908 ± 0.00050"
    assert fmt_pm(5.3227, None) == "5.323"
    assert fmt_asym(1.1447, 0.2130, 0.2064) == "1.14&#8239;±&#8239;0.21"
    asym = fmt_asym(1.1447, 0.26, 0.18)
    assert "<sup>+0.26</sup>" in asym and "<sub>\u22120.18</sub>" in asym and "1.14" in asym
    assert fmt_errors(0.14, 0.13).count("0.1") == 2
    assert fmt_number(411314) == f"411{THIN}314"
    assert fmt_number(1.19e-18, 2) == "1.2×10⁻¹⁸"
    assert fmt_number(True) == "yes"
    assert fmt_number(float("nan")) == "—"
    assert flatten({"a": {"b": [0.5, 1.5]}, "c": list(range(20)), "d": None}) == [
        ("a.b", "0.5, 1.5"), ("c", "20 values, from 0 to 19"), ("d", "—")]


# -- layout -----------------------------------------------------------------------------------
def _png(path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("μ")
    return savefig(fig, path, dpi=50)


def _demo_run(tmp_path):
    run = Run.create(tmp_path / "run", config={"demo": {"seed": 1, "params": {"depth": 3},
                                                        "range": [0.5, 1.5]}}, seed=1)
    with run.stage("fit", config={}, inputs=[]) as st:
        _png(st.dir / "scan.png")
        _png(st.dir / "extra.png")
        st.results["mu_hat"] = 1.02
    (run.path / "results.json").write_text(json.dumps(
        {"mu_hat": 1.02, "mu_68": [0.8, 1.3], "nested": {"edges": list(range(30))},
         "matrix": [[1.0, 0.1], [0.1, 1.0]]}))
    return run.path


def test_render_report_layout(tmp_path):
    png = _png(tmp_path / "a.png")
    rep = Report(title="T <1>", headline="μ̂ = 1.0 ± 0.1", subtitle="sub", sections=[
        Section("Results", [Table("Fit", ["quantity", "value [σ]"], [["Z", 5.123456]],
                                  notes="n"), Paragraph("text & more")], key="results"),
        Section("Plots", [Figure(png, "a line"), Figure(png, "again", wide=True)], key="plots"),
        Section("Provenance", [Paragraph("hidden")], key="provenance", collapsed=True)],
        warnings=["careful"])
    text = render_report(rep, tmp_path)
    o = outline(text)
    assert not o.problems, o.problems
    assert o.title == "T <1>" and o.headline == "μ̂ = 1.0 ± 0.1"
    assert o.sections == ["results", "plots", "provenance"] and o.collapsed == ["provenance"]
    assert [im["source"] for im in o.images] == ["a.png", "a.png"]
    assert all(im["src"].startswith("data:image/png;base64,") for im in o.images)
    assert base64.b64encode(png.read_bytes()).decode() in text
    assert "5.123" in o.text and "text & more" in o.text and "careful" in o.text
    assert not o.external


def test_generic_report_has_no_raw_json_and_every_figure(tmp_path):
    root = _demo_run(tmp_path)
    out = write_report(root)
    o = outline(out.read_text(encoding="utf-8"))
    assert not o.problems and not o.raw_json(), o.raw_json()
    assert o.sections == ["results", "other-figures", "provenance"]
    assert o.collapsed == ["provenance"]
    assert sorted(im["source"] for im in o.images) == ["fit/extra.png", "fit/scan.png"]
    prov = o.section_text["provenance"]
    assert "demo.params.depth" in prov and "0.5, 1.5" in prov and "seed" in prov
    assert "Stages" in prov and "fit" in prov
    assert "nested.edges" in o.text and "30 values" in o.text


def test_registered_builder_is_used_and_figures_not_repeated(tmp_path):
    from rediscovery.core import report as core_report

    root = _demo_run(tmp_path)

    def builder(r):
        return Report(title="", headline="demo result", sections=[
            Section("Scan", [Figure(r / "fit" / "scan.png", "the scan")], key="scan")])

    core_report.register_report_builder("demo", builder)
    try:
        rep = build_report(root, title="Demo")
    finally:
        core_report._BUILDERS.pop("demo")
    assert rep.title == "Demo" and rep.headline == "demo result"
    assert [s.key for s in rep.sections] == ["scan", "other-figures", "provenance"]
    assert [b.path.name for b in rep.sections[1].blocks] == ["extra.png"]


# -- the browser check ------------------------------------------------------------------------
needs_chromium = pytest.mark.skipif(chromium_binary() is None,
                                    reason="no chromium binary on PATH (apt-get install "
                                           "chromium): the browser check cannot run")


@needs_chromium
def test_browser_check_loads_a_report(tmp_path):
    out = write_report(_demo_run(tmp_path))
    res = browser_check(out)
    assert res.errors == [] and res.console == []
    assert len(res.images) == 2 and not res.broken_images
    assert res.details == 1


@needs_chromium
def test_browser_check_sees_broken_images_and_console_errors(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>t"
                    "</title></head><body><img src='data:image/png;base64,AAAA' "
                    "data-source='bad.png' alt='bad'><script>console.error('boom');</script>"
                    "</body></html>")
    res = browser_check(page)
    assert [im["source"] for im in res.broken_images] == ["bad.png"]
    assert "boom" in res.errors
    assert any("boom" in line for line in res.console)


def test_outline_flags_structure_problems():
    o = outline("<html><body><p>{\"a\": 1}</p><div></span></div></body></html>")
    assert o.raw_json() == ['{"a": 1}']
    assert any("doctype" in p for p in o.problems)
    assert any("unbalanced" in p for p in o.problems)

"""Checks of a written ``report.html``: its outline (stdlib ``html.parser``) and how a browser
renders it (headless Chromium, when installed).

:func:`outline` parses the report into its headline, the ids of its sections in order, the
figures and every text node, and collects structural problems (unbalanced tags, a missing
doctype, raw JSON in the text). :func:`browser_check` opens a copy of the report in headless
Chromium with a small script that records console errors, failed resource loads and the
``naturalWidth`` of every image, and reads the result back from the dumped DOM.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

__all__ = ["BrowserResult", "Outline", "browser_check", "chromium_binary", "outline"]

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}


@dataclass
class Outline:
    """What :func:`outline` found in a report."""

    doctype: str = ""
    title: str = ""
    headline: str = ""
    sections: list[str] = field(default_factory=list)  # ids of <section>/<details>, in order
    collapsed: list[str] = field(default_factory=list)  # ids of the <details> sections
    images: list[dict[str, str]] = field(default_factory=list)  # src prefix, alt, source
    texts: list[str] = field(default_factory=list)
    section_text: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)  # URLs of external resources

    @property
    def text(self) -> str:
        return " ".join(self.texts)

    def raw_json(self) -> list[str]:
        """Text nodes that look like raw JSON (``{"`` or ``[[``)."""
        return [t for t in self.texts if '{"' in t or "[[" in t]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = Outline()
        self.stack: list[str] = []
        self._in_headline = False
        self._in_title = False
        self._section: str | None = None
        self._style_or_script = 0

    def handle_decl(self, decl: str) -> None:
        self.out.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("style", "script"):
            self._style_or_script += 1
        if tag not in _VOID:
            self.stack.append(tag)
        if tag == "title":
            self._in_title = True
        if a.get("id") == "headline":
            self._in_headline = True
        if tag in ("section", "details") and a.get("id"):
            self._section = a["id"]
            self.out.sections.append(a["id"])
            if tag == "details":
                self.out.collapsed.append(a["id"])
        if tag == "img":
            src = a.get("src", "")
            self.out.images.append({"src": src[:40], "alt": a.get("alt", ""),
                                    "source": a.get("data-source", ""),
                                    "section": self._section or ""})
        for key in ("src", "href"):
            url = a.get(key, "")
            if re.match(r"^(https?:)?//", url):
                self.out.external.append(url)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._style_or_script -= 1
        if tag in _VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.out.problems.append(f"unbalanced </{tag}> (open: {self.stack[-3:]})")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag == "title":
            self._in_title = False
        if tag == "p" and self._in_headline:
            self._in_headline = False
        if tag in ("section", "details"):
            self._section = None

    def handle_data(self, data: str) -> None:
        if self._style_or_script:
            return
        if self._in_title:
            self.out.title += data
        if self._in_headline:
            self.out.headline += data
        if data.strip():
            self.out.texts.append(data.strip())
            if self._section:
                self.out.section_text[self._section] = (
                    self.out.section_text.get(self._section, "") + " " + data.strip())


def outline(html_text: str) -> Outline:
    """Parse a report's HTML into an :class:`Outline` (see the module docstring)."""
    p = _Parser()
    p.feed(html_text)
    p.close()
    out = p.out
    if out.doctype.lower() != "doctype html":
        out.problems.append(f"doctype is {out.doctype!r}, expected 'DOCTYPE html'")
    if p.stack:
        out.problems.append(f"unclosed tags at the end: {p.stack}")
    return out


# -- headless Chromium -----------------------------------------------------------------------
#: Injected first into <head>: records console errors, uncaught errors and failed loads, then
#: (after the load event) every image's naturalWidth, into a <pre id="__report_check"> element
#: that ``--dump-dom`` prints.
_PROBE = """<script>
(function () {
  var errors = [];
  var orig = console.error;
  console.error = function () {
    errors.push(Array.prototype.map.call(arguments, String).join(' '));
    return orig.apply(console, arguments);
  };
  window.addEventListener('error', function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) {
      errors.push('failed to load ' + String(t.src || t.href).slice(0, 60));
    } else {
      errors.push('uncaught: ' + (e.message || String(e)));
    }
  }, true);
  window.addEventListener('load', function () {
    var imgs = Array.prototype.map.call(document.images, function (im) {
      return {source: im.getAttribute('data-source') || '', complete: im.complete,
              naturalWidth: im.naturalWidth, naturalHeight: im.naturalHeight};
    });
    var pre = document.createElement('pre');
    pre.id = '__report_check';
    pre.textContent = JSON.stringify({errors: errors, images: imgs,
                                      details: document.querySelectorAll('details').length});
    document.body.appendChild(pre);
  });
})();
</script>"""


@dataclass
class BrowserResult:
    """What the browser saw: console/load ``errors``, per-image ``images`` (``source``,
    ``complete``, ``naturalWidth``, ``naturalHeight``), the number of ``<details>``, and
    the browser's own stderr lines that report a console message (``console``)."""

    errors: list[str]
    images: list[dict[str, Any]]
    details: int
    console: list[str]

    @property
    def broken_images(self) -> list[dict[str, Any]]:
        return [im for im in self.images if not im.get("complete") or
                not im.get("naturalWidth")]


def chromium_binary() -> str | None:
    """Path of a Chromium/Chrome binary on PATH (``$CHROMIUM`` first), or ``None``."""
    names = [os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome",
             "google-chrome-stable", "chrome"]
    for name in names:
        if name and (path := shutil.which(name)):
            return path
    return None


def browser_check(report: str | os.PathLike[str], *, binary: str | None = None,
                  timeout: float = 120.0) -> BrowserResult:
    """Load ``report`` in headless Chromium and return what the page saw.

    A copy of the file with :data:`_PROBE` injected after ``<head>`` is opened with
    ``--dump-dom`` (the DOM after the load event, virtual time so that the load completes);
    the probe's JSON is read back from the dumped DOM. Console messages Chromium logs on
    stderr (``--enable-logging=stderr``) are returned as well.

    Raises
    ------
    FileNotFoundError
        No Chromium binary.
    RuntimeError
        Chromium failed or the probe's result is missing from the dumped DOM.
    """
    exe = binary or chromium_binary()
    if exe is None:
        raise FileNotFoundError("no chromium binary on PATH")
    text = Path(report).read_text(encoding="utf-8")
    if "<head>" not in text:
        raise RuntimeError("the report has no <head> to inject the probe into")
    with tempfile.TemporaryDirectory(prefix="report-check-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(text.replace("<head>", "<head>" + _PROBE, 1), encoding="utf-8")
        cmd = [exe, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
               "--disable-extensions", "--disable-dev-shm-usage", "--allow-file-access-from-files",
               "--enable-logging=stderr", "--v=0", f"--user-data-dir={Path(tmp) / 'profile'}",
               "--virtual-time-budget=10000", "--dump-dom", page.as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              check=False)
    m = re.search(r'<pre id="__report_check">(.*?)</pre>', proc.stdout, re.S)
    if m is None:
        raise RuntimeError(f"chromium exited with {proc.returncode} without the probe's result; "
                           f"stderr: {proc.stderr[-2000:]}")
    import html as _html

    data = json.loads(_html.unescape(m.group(1)))
    console = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln]
    return BrowserResult(errors=list(data["errors"]), images=list(data["images"]),
                         details=int(data["details"]), console=console)

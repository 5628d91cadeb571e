"""Repository-wide checks that keep the code base in the state the style guide asks for."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    assert Path(ruff).exists(), "ruff is a dev dependency: pip install -e '.[dev]'"
    proc = subprocess.run([ruff, "check", "src", "tests", "benchmarks"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_stubs_in_the_package():
    bad = []
    for path in (ROOT / "src").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "NotImplementedError" in text or "TODO: implement" in text:
            bad.append(str(path.relative_to(ROOT)))
    assert not bad, f"stubs left in {bad}"


#: declared dependencies that no ``import`` names: what uses them instead
_USED_WITHOUT_IMPORT = {
    "pyarrow": "pandas' parquet engine (DataFrame.to_parquet / pandas.read_parquet)",
    # imported (cosmo.cmb.spectra.sht), but its wheel is a single extension module that
    # importlib.metadata.packages_distributions() does not map back to the distribution
    "ducc0": "the CMB spectra's spherical-harmonic transforms (import ducc0)",
}


def _imported_top_level_modules() -> set[str]:
    names = set()
    for path in (ROOT / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_dependency_is_imported():
    """Each distribution in ``[project].dependencies`` is imported by ``src/`` (or listed above)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_normalise(re.split(r"[\[<>=!~; ]", dep, maxsplit=1)[0])
                for dep in project["dependencies"]}
    dists_of = importlib.metadata.packages_distributions()
    imported = {_normalise(dist) for module in _imported_top_level_modules()
                for dist in dists_of.get(module, [])}
    unused = declared - imported - set(_USED_WITHOUT_IMPORT)
    assert not unused, f"declared in pyproject.toml but never imported by src/: {sorted(unused)}"

"""Layout rules of the package, checked on its source with :mod:`ast` (nothing is imported).

1. No import cycles between the package's modules. Every ``import`` counts, including those
   inside functions: a cycle that is only broken by importing late still ties the modules
   together. ``from pkg import name`` is an edge to the submodule ``pkg.name`` when that is a
   module, and to ``pkg`` (its ``__init__``) otherwise.
2. No module reaches another module's private (underscore) names: no ``from x import _y``, no
   ``import x._y`` of a private module outside its own package, no ``mod._name`` on a module
   bound by an import, and no ``obj._name`` (other than on ``self``/``cls``) for a ``_name``
   that the module does not define itself. Third-party internals that have no public
   equivalent are listed in :data:`THIRD_PARTY_INTERNALS` with the reason.
3. No module imports the facade (``__init__``) of a package it belongs to.
4. Each subpackage under ``higgs/`` and ``cosmo/`` (and ``cosmo`` itself) is a facade: its
   ``__init__`` has a docstring and an ``__all__`` whose names it defines or imports.

The failure messages name each offending module with the file and line of each import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "rediscovery"


@dataclass(frozen=True)
class Edge:
    """One import: ``source`` imports ``target`` at ``line`` of ``path``."""

    source: str
    target: str
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}  ({self.path}:{self.line})"


#: (module, attribute) pairs allowed to read a third-party library's private attribute, and why.
THIRD_PARTY_INTERNALS: dict[tuple[str, str], str] = {
    ("rediscovery.higgs.classifiers.bdt", "_predictors"): "scikit-learn has no public API for "
    "the fitted trees of HistGradientBoostingClassifier; the JSON model file needs them",
    ("rediscovery.higgs.classifiers.bdt", "_baseline_prediction"): "same (the initial raw score)",
}


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@cache
def modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the package (a package is its ``__init__``)."""
    out: dict[str, Path] = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_package(name: str) -> bool:
    return modules()[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module named by a (possibly relative) ``from ... import``."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not _is_package(module):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _owner(name: str) -> str | None:
    """The longest prefix of the dotted ``name`` that is one of the package's modules."""
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        candidate = ".".join(parts[:k])
        if candidate in modules():
            return candidate
    return None


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


@cache
def _tree(module: str) -> ast.Module:
    path = modules()[module]
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def import_edges(module: str) -> list[Edge]:
    """Every import of another package module by ``module``, at any depth of its code."""
    return sorted(set(_import_edges(module)), key=lambda e: (e.line, e.target))


def _import_edges(module: str) -> Iterator[Edge]:
    path = _relative(modules()[module])
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _owner(alias.name)
                if target is not None and target != module:
                    yield Edge(module, target, path, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            if base != PACKAGE and not base.startswith(PACKAGE + "."):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                target = sub if sub in modules() else _owner(base)
                if target is not None and target != module:
                    yield Edge(module, target, path, node.lineno)


def import_graph() -> dict[str, list[Edge]]:
    return {m: list(import_edges(m)) for m in modules()}


def strongly_connected(graph: dict[str, list[Edge]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted({e.target for e in graph[root]})))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted({e.target for e in graph[child]}))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return sorted(out)


def _describe_cycle(component: list[str], graph: dict[str, list[Edge]]) -> str:
    members = set(component)
    edges = [str(e) for m in component for e in graph[m] if e.target in members]
    return "cycle between " + ", ".join(component) + ":\n    " + "\n    ".join(edges)


def test_import_graph_sees_imports_inside_functions():
    """Self-check of the graph on known cases: features.derived imports mmc at module level,
    higgs.pipeline imports features.new inside a stage function, and ``from pkg import mod``
    points at the submodule."""
    graph = import_graph()
    targets = {e.target for e in graph["rediscovery.higgs.features.derived"]}
    assert "rediscovery.higgs.features.mmc" in targets
    targets = {e.target for e in graph["rediscovery.higgs.pipeline"]}
    assert "rediscovery.higgs.features.new" in targets
    targets = {e.target for e in graph["rediscovery.higgs.classifiers.workflow"]}
    assert "rediscovery.higgs.classifiers.metrics" in targets
    assert "rediscovery.higgs.classifiers" not in targets


def test_no_import_cycles():
    graph = import_graph()
    cycles = strongly_connected(graph)
    assert not cycles, (f"{len(cycles)} import cycle(s); break each by moving the shared code "
                        "into a module both can import:\n"
                        + "\n".join(_describe_cycle(c, graph) for c in cycles))


def test_no_module_imports_its_own_facade():
    """Inside a subpackage, modules import each other's modules, not the package ``__init__``
    (the facade imports them: going through it ties every module to every other). The root
    package, which holds only ``__version__``, is exempt."""
    graph = import_graph()
    bad = [str(e) for m, edges in graph.items() for e in edges
           if e.target != PACKAGE and _is_package(e.target) and m.startswith(e.target + ".")]
    assert not bad, ("modules importing the facade of their own package; import the module "
                     "that defines the name instead:\n  " + "\n  ".join(bad))


def private_access(module: str) -> Iterator[str]:
    """Each place where ``module`` imports or reads another module's private names."""
    path = _relative(modules()[module])
    package = module if _is_package(module) else module.rpartition(".")[0]
    bound_modules: set[str] = set()  # local names bound to modules by imports
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                private = [p for p in alias.name.split(".") if _is_private(p)]
                if private and not (_owner(alias.name) or "").startswith(package + "."):
                    yield f"{path}:{node.lineno}: import {alias.name}"
                bound_modules.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            if base == "__future__":
                continue
            parts = base.split(".")
            inside = base == package or base.startswith(package + ".")
            if any(_is_private(p) for p in parts) and not inside:
                yield f"{path}:{node.lineno}: from {base} import ..."
            for alias in node.names:
                if _is_private(alias.name):
                    yield f"{path}:{node.lineno}: from {base} import {alias.name}"
                elif f"{base}.{alias.name}" in modules():
                    bound_modules.add(alias.asname or alias.name)
    own = _own_names(_tree(module))
    for node in ast.walk(_tree(module)):
        if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
            continue
        value = node.value
        if isinstance(value, ast.Name) and value.id in bound_modules:
            yield f"{path}:{node.lineno}: {value.id}.{node.attr} (private name of a module)"
        elif isinstance(value, ast.Name) and value.id in ("self", "cls"):
            continue
        elif isinstance(value, ast.Call) and isinstance(value.func, ast.Name) \
                and value.func.id == "super":
            continue
        elif node.attr not in own and (module, node.attr) not in THIRD_PARTY_INTERNALS:
            yield (f"{path}:{node.lineno}: {ast.unparse(value)}.{node.attr} (private attribute "
                   "defined in another module)")


def _own_names(tree: ast.Module) -> set[str]:
    """Every name the module defines: functions, classes, assigned names and attributes."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def test_no_cross_module_private_access():
    found = {m: list(private_access(m)) for m in modules()}
    bad = {m: v for m, v in found.items() if v}
    assert not bad, (
        f"{len(bad)} module(s) use another module's private names; make the name public in "
        "the module that owns it (drop the underscore) or move the code:\n"
        + "\n".join(f"  {m}:\n    " + "\n    ".join(v) for m, v in sorted(bad.items())))


def facade_packages() -> list[str]:
    out = []
    for name in modules():
        parts = name.split(".")
        if len(parts) >= 2 and parts[1] in ("higgs", "cosmo") and _is_package(name):
            if len(parts) > 2 or parts[1] == "cosmo":
                out.append(name)
    return sorted(out)


def _defined_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _all_names(tree: ast.Module) -> list[str] | None:
    for node in tree.body:
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            value = ast.literal_eval(node.value) if node.value is not None else None
            return list(value) if isinstance(value, (list, tuple)) else None
    return None


def test_facade_packages_are_found():
    names = facade_packages()
    for expected in ("rediscovery.cosmo", "rediscovery.cosmo.sn", "rediscovery.cosmo.cmb",
                     "rediscovery.higgs.events", "rediscovery.higgs.features",
                     "rediscovery.higgs.classifiers"):
        assert expected in names


@pytest.mark.parametrize("package", facade_packages())
def test_subpackage_is_a_facade(package):
    tree = _tree(package)
    path = _relative(modules()[package])
    problems = []
    if not ast.get_docstring(tree):
        problems.append("no docstring (say which team owns it, what it reads and writes)")
    exported = _all_names(tree)
    if exported is None:
        problems.append("no __all__ (a literal list of the names it re-exports)")
    else:
        missing = sorted(set(exported) - _defined_names(tree))
        if missing:
            problems.append(f"__all__ names not defined or imported there: {missing}")
    assert not problems, f"{path}: " + "; ".join(problems)

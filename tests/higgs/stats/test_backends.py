"""Tests of the fit-engine interface: the registry, both engines, and the code rules around them.

Independent references: MINOS (iminuit) against the engine-agnostic root finder on the same
likelihood; the pyhf engine's delegated answers against the minuit engine's.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from rediscovery.core.errors import ConfigError
from rediscovery.higgs.stats.backends import (
    BACKENDS,
    ENGINES,
    Engine,
    MinuitEngine,
    PyhfEngine,
    make_engine,
    root_interval,
)
from rediscovery.higgs.stats.model import BinnedModel, NormSys

SRC = Path(__file__).resolve().parents[3] / "src" / "rediscovery"


def _model() -> BinnedModel:
    x = np.linspace(0.1, 0.9, 4)
    bkg = 200.0 * (1 - x) + 20.0
    return BinnedModel(20.0 * x**2 + 2.0, {"bkg": bkg}, background_sumw2={"bkg": 0.3 * bkg},
                       systematics=[NormSys("norm", {"bkg": (0.95, 1.05)})])


def _observed(model: BinnedModel) -> np.ndarray:
    return np.random.default_rng(3).poisson(model.expected(1.0)).astype(float)


def test_factory_rejects_unknown_backend_naming_the_allowed_ones() -> None:
    model = _model()
    with pytest.raises(ConfigError) as err:
        make_engine("root", model, _observed(model))
    msg = str(err.value)
    assert "'root'" in msg and all(repr(b) in msg for b in ("minuit", "pyhf"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_registered_engines_implement_the_protocol(backend: str) -> None:
    model = _model()
    eng = make_engine(backend, model, _observed(model))
    assert isinstance(eng, ENGINES[backend]) and isinstance(eng, Engine)
    assert eng.name == backend and eng.model is model
    assert set(BACKENDS) == {"minuit", "pyhf"}


def test_minos_equals_the_root_finder_on_the_same_likelihood() -> None:
    """MinuitEngine.mu_interval (MINOS) and root_interval (Brent on profiled fits) are two
    independent solutions of 2ΔNLL(μ) = 1. Brent solves it to 1e-10; MINOS stops at Minuit's
    tolerance (measured here: 2ΔNLL = 1.0004 at its upper crossing, 7e-5 of μ), hence 2e-4."""
    model = _model()
    eng = MinuitEngine(model, _observed(model))
    pars, nll, ok = eng.minimize()
    assert ok
    lo, hi, ok_m = eng.mu_interval(pars, nll, 1.0)
    lo_r, hi_r, ok_r = root_interval(eng.minimize, float(pars[0]), nll, 1.0, model.mu_range,
                                     pars)
    assert ok_m and ok_r
    assert (lo, hi) == pytest.approx((lo_r, hi_r), rel=2e-4)
    # 2σ: the level 4 (cl = 2 sigmas for MINOS)
    lo2, hi2, _ = eng.mu_interval(pars, nll, 4.0)
    lo2_r, hi2_r, _ = root_interval(eng.minimize, float(pars[0]), nll, 4.0, model.mu_range, pars)
    assert (lo2, hi2) == pytest.approx((lo2_r, hi2_r), rel=2e-4)


def test_pyhf_engine_delegates_to_the_minuit_engine() -> None:
    """Covariance, fixed-parameter fits and the stat-only interval of the pyhf engine are the
    minuit engine's on the same model and data (pyhf has no equivalent), bit for bit."""
    model = _model()
    obs = _observed(model)
    mi, py = MinuitEngine(model, obs), PyhfEngine(model, obs)
    pars, _, _ = mi.minimize()
    np.testing.assert_array_equal(py.covariance(pars), mi.covariance(pars))
    np.testing.assert_array_equal(py.uncertainties(pars), mi.uncertainties(pars))
    assert py.fit_with_fixed(pars, 1, 0.5) == mi.fit_with_fixed(pars, 1, 0.5)
    assert py.stat_only_interval(pars) == mi.stat_only_interval(pars)
    lo, hi, ok = py.fixed_interval(pars, [1])
    assert ok and (lo, hi) == mi.fixed_interval(pars, [1])[:2]
    # fixing every nuisance is the statistics-only interval, narrower than the full one
    full_lo, full_hi, _ = mi.mu_interval(pars, mi.minimize()[1])
    assert full_lo < lo < hi < full_hi


def test_cls_of_both_engines_agree() -> None:
    model = _model()
    obs = np.random.default_rng(5).poisson(model.expected(0.0)).astype(float)
    c_m, ok_m = MinuitEngine(model, obs).cls(2.0)
    c_p, ok_p = PyhfEngine(model, obs).cls(2.0)
    assert ok_m and ok_p and c_m == pytest.approx(c_p, rel=1e-3)


# -- code rules --------------------------------------------------------------------------------
def _modules(*subpackages: str) -> list[tuple[Path, ast.Module]]:
    out = []
    for sub in subpackages:
        for p in sorted((SRC / "higgs" / sub).rglob("*.py")):
            out.append((p, ast.parse(p.read_text(encoding="utf-8"))))
    return out


def test_no_backend_name_branches_in_the_library() -> None:
    """Engines are chosen by the registry only: no ``backend == "minuit"``-style comparison."""
    bad = []
    for p in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                consts = [c for c in (node.left, *node.comparators) if isinstance(c, ast.Constant)]
                if any(c.value in BACKENDS for c in consts):
                    bad.append(f"{p.relative_to(SRC)}:{node.lineno}")
    assert not bad, bad


def test_no_private_names_across_modules_in_stats_and_systematics() -> None:
    """No ``from x import _name`` of our modules and no ``obj._name`` except on self/cls."""
    bad = []
    for p, tree in _modules("stats", "systematics"):
        for node in ast.walk(tree):
            if (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rediscovery")
                    and any(a.name.startswith("_") for a in node.names)):
                bad.append(f"{p.name}:{node.lineno} imports a private name")
            if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
                continue
            on_self = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if not node.attr.startswith("__") and not on_self:
                bad.append(f"{p.name}:{node.lineno} {ast.unparse(node)}")
    assert not bad, bad


def test_submodules_do_not_import_their_package_facade() -> None:
    """A submodule of stats/ or systematics/ imports concrete modules, never a facade of its own
    packages (``from rediscovery.higgs.stats import x`` inside stats/ would close a cycle
    through ``stats/__init__.py``)."""
    bad = []
    for p, tree in _modules("stats", "systematics"):
        if p.name == "__init__.py":
            continue
        parts = p.relative_to(SRC.parent).with_suffix("").parts[:-1]
        facades = {".".join(parts[:k]) for k in range(3, len(parts) + 1)}  # higgs.<pkg>[.<sub>]
        for node in ast.walk(tree):
            mods = ([node.module] if isinstance(node, ast.ImportFrom) else
                    [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            bad += [f"{p.relative_to(SRC)}:{node.lineno} {m}" for m in mods if m in facades]
    assert not bad, bad

"""Unblinding: compare a finished run's results with the simulation's hidden truth.

Simulators write ``truth.json`` beside their data; no analysis stage reads it. This module is
the only reader: it finds every ``truth.json`` in a run directory and compares it with the
run's ``results.json`` (Higgs: μ̂ and its interval and, in a fit with systematic uncertainties,
each nuisance parameter α against the hidden value's α recorded as ``nuisance_alphas``)
and ``*_posterior.json`` files (cosmology: posterior mean, standard deviation and 68% interval
of each parameter; a parameter estimated by several fits, e.g. Ω_m by the SN-only, CMB-only and
joint fits, gets one row per fit: ``Om (sn)``, ``Om (cmb)``, ``Om (joint)``).
A run whose manifest lists a stage that is not ``done`` (running, interrupted, failed, stale)
is refused: its files may be those of an earlier run.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rediscovery.core.errors import InputError
from rediscovery.core.files import read_json
from rediscovery.core.runs import read_manifest

__all__ = ["unblind"]

#: truth key -> result key of the Higgs results contract
_HIGGS_KEYS = {"mu": "mu_hat"}


def _flat_truth(truth: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for k, v in truth.items():
        if isinstance(v, int | float) and not isinstance(v, bool):
            out[k] = float(v)
        elif isinstance(v, dict):
            for k2, v2 in v.items():
                if isinstance(v2, int | float) and not isinstance(v2, bool):
                    out.setdefault(k2, float(v2))
    return out


def _alpha_name(name: str) -> str:
    """Row name of a nuisance parameter, in units of its prior: ``tes (α)``."""
    return f"{name} (α)"


@contextlib.contextmanager
def _contract(path: Path, what: str) -> Iterator[None]:
    """Turn a malformed value in a result file into an InputError naming the file."""
    try:
        yield
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"unexpected content in the {what} ({type(exc).__name__}: {exc}); "
                         "expected the contract of docs/architecture.md", path=path) from None


def unblind(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows ``{parameter, true, estimate, lo68, hi68, pull, covered}`` for a finished run.

    ``pull`` is (estimate − true)/σ with σ the half-width of the interval on the side of the
    truth; ``covered`` tells whether the 68% interval contains the truth. Nuisance parameters
    (rows ``name (α)``) are in units of their prior, α = (value − nominal)/σ_prior (ln(value)/σ
    for a log-normal prior), with the interval α̂ ± σ(α̂) of the fit's covariance.
    """
    root = Path(run_dir)
    if not root.is_dir():
        raise InputError("not a run directory (expected the folder written by 'rediscovery "
                         "higgs run' or 'cosmo run')" if root.exists() else
                         "run directory not found", path=root)
    truths = sorted(root.rglob("truth.json"))
    if not truths:
        raise InputError("no truth.json in the run: nothing to unblind (real data?)", path=root)
    truth: dict[str, float] = {}
    for t in truths:
        content = read_json(t, what="truth.json")
        with _contract(t, "truth.json"):
            alphas = content.get("nuisance_alphas")
            if isinstance(alphas, dict):  # the fit's α of each hidden nuisance value
                truth.update({_alpha_name(k): float(v) for k, v in alphas.items()})
            truth.update(_flat_truth({k: v for k, v in content.items()
                                      if k != "nuisance_alphas"}))
    unfinished = {name: st.get("status") for name, st in
                  (read_manifest(root).get("stages") or {}).items()
                  if isinstance(st, dict) and st.get("status") != "done"}
    if unfinished:  # its files may be those of an earlier run
        listed = ", ".join(f"{n!r} is {s}" for n, s in unfinished.items())
        raise InputError(f"the run is not finished (stage {listed}): its results may be "
                         "stale; run the analysis to the end before unblinding", path=root)
    estimates: dict[str, tuple[float, float, float]] = {}
    results = root / "results.json"
    if results.exists():
        r = read_json(results, what="results.json")
        with _contract(results, "results.json"):
            if r.get("mu_hat") is None and "mu_hat" in r:
                raise InputError("mu_hat is null: the fit of this run did not converge "
                                 "(see its fit.json messages); nothing to compare",
                                 path=results)
            if "mu_hat" in r and "mu_68" in r:
                lo, hi = (float(v) for v in r["mu_68"])
                estimates["mu"] = (float(r["mu_hat"]), lo, hi)
            for name, d in (r.get("nuisances") or {}).items():
                value, error = d.get("value"), d.get("error")
                if _alpha_name(name) in truth and value is not None and error is not None:
                    estimates[_alpha_name(name)] = (float(value), float(value) - float(error),
                                                    float(value) + float(error))
    # every posterior's estimates; a parameter that several fits estimate (SN only, CMB only,
    # joint) gets one row per fit, named "Om (joint)" after the file "joint_posterior.json"
    per_file: dict[str, dict[str, tuple[float, float, float]]] = {}
    for post in sorted(root.rglob("*_posterior.json")):
        p = read_json(post, what="posterior summary")
        label = post.name[: -len("_posterior.json")] or post.parent.name
        with _contract(post, "posterior summary"):
            params = p.get("parameters", p)
            for name, s in params.items():
                if isinstance(s, dict) and {"mean", "lo68", "hi68"} <= set(s):
                    per_file.setdefault(label, {}).setdefault(
                        name, (float(s["mean"]), float(s["lo68"]), float(s["hi68"])))
    counts: dict[str, int] = {}
    for found in per_file.values():
        for name in found:
            counts[name] = counts.get(name, 0) + 1
    truth_of: dict[str, str] = {name: name for name in estimates}
    for label, found in per_file.items():
        for name, est in found.items():
            row = name if counts[name] == 1 else f"{name} ({label})"
            if row not in estimates:
                estimates[row] = est
                truth_of[row] = name
    if not estimates:
        raise InputError("no results.json or *_posterior.json: is the run finished?", path=root)
    rows = []
    for name, (est, lo, hi) in estimates.items():
        if truth_of[name] not in truth:
            continue
        true = truth[truth_of[name]]
        half = (est - lo) if true < est else (hi - est)
        rows.append({
            "parameter": name,
            "true": true,
            "estimate": est,
            "lo68": lo,
            "hi68": hi,
            "pull": (est - true) / half if half > 0 else math.nan,
            "covered": bool(lo <= true <= hi),
        })
    if not rows:
        raise InputError(
            f"truth parameters {sorted(truth)} match none of the estimates {sorted(estimates)}",
            path=root,
        )
    return rows

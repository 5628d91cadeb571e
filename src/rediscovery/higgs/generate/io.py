"""Flow folders: ``flow.pt`` (the torch ``state_dict``, loaded with ``weights_only=True``) and
``flow.json`` (configuration, processes, nuisance box, transform constants, yields, training
summary, library versions, SHA-256 of ``flow.pt``). No pickles."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import os
from pathlib import Path
from typing import Any

from rediscovery.core.errors import ModelFileError
from rediscovery.core.files import atomic_path, file_sha256, write_json
from rediscovery.higgs.generate.flow import EventFlow, FlowConfig, build_network
from rediscovery.higgs.generate.transform import EventTransform

__all__ = ["FLOW_FORMAT_VERSION", "FLOW_KIND", "load_flow", "reweighter_files", "save_flow"]

#: Format of ``flow.json``.
FLOW_FORMAT_VERSION = 4  # 2: any architecture, jets a log-linear table; 3: coupling splits by bit;
# 4: the E_T^miss representation recorded (FlowConfig.met); a version-3 folder is read as "arc"
_READABLE_VERSIONS = (3, FLOW_FORMAT_VERSION)
#: The kind string of a flow folder (also its model-card kind in ``rediscovery.models``).
FLOW_KIND = "rediscovery.higgs.generate/flow"


def _versions() -> dict[str, str]:
    out = {}
    for p in ("torch", "zuko", "numpy", "xgboost"):  # zuko: nsf, maf; xgboost: the reweighter
        try:
            out[p] = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - declared deps
            out[p] = "unknown"
    return out


def save_flow(flow: EventFlow, directory: str | os.PathLike[str]) -> Path:
    """Write ``flow.pt`` and ``flow.json`` into ``directory`` (created); returns it."""
    import torch

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    with atomic_path(d / "flow.pt") as tmp:
        torch.save(flow.net.state_dict(), tmp)
    meta: dict[str, Any] = {
        "format_version": FLOW_FORMAT_VERSION,
        "kind": FLOW_KIND,
        "config": dataclasses.asdict(flow.config),
        "processes": flow.processes,
        "box": {k: list(v) for k, v in flow.box.items()},
        "transform": flow.transform.to_json(),
        "yields": flow.yields_,
        "jets": flow.jets_,
        "shares": flow.shares_,
        "training": flow.training_info_,
        "versions": _versions(),
        "model_file": "flow.pt",
        "model_sha256": file_sha256(d / "flow.pt"),
        "reweighter": _save_reweighter(flow.reweighter_, d),
    }
    write_json(d / "flow.json", meta)
    return d


def _save_reweighter(rw: Any, d: Path) -> dict[str, Any] | None:
    """Write each process's booster as ``reweight_<process>.json`` (XGBoost's own JSON) and
    return the metadata entry (``None`` without a reweighter)."""
    if rw is None:
        return None
    files = {}
    for p, booster in rw.boosters.items():
        name = f"reweight_{p}.json"
        with atomic_path(d / name) as tmp:
            tmp.write_bytes(bytes(booster.save_raw("json")))
        files[p] = {"file": name, "sha256": file_sha256(d / name)}
    return {"clip": rw.clip, "files": files, "info": rw.info}


def _load_reweighter(entry: dict[str, Any] | None, d: Path) -> Any:
    if not entry:
        return None
    import xgboost as xgb

    from rediscovery.higgs.generate.reweight import Reweighter

    boosters = {}
    for p, f in entry["files"].items():
        path = d / f["file"]
        if not path.is_file() or file_sha256(path) != f["sha256"]:
            raise ModelFileError(
                f"{path}: the reweighting classifier is missing, corrupt or was modified"
            )
        booster = xgb.Booster()
        booster.load_model(bytearray(path.read_bytes()))
        boosters[p] = booster
    return Reweighter(boosters=boosters, clip=float(entry["clip"]), info=entry.get("info", {}))


def reweighter_files(meta: dict[str, Any]) -> list[str]:
    """The reweighting classifiers' file names listed in a ``flow.json`` (none without)."""
    entry = meta.get("reweighter") or {}
    return [f["file"] for f in entry.get("files", {}).values()]


def load_flow(directory: str | os.PathLike[str]) -> EventFlow:
    """Read a flow folder written by :func:`save_flow`.

    Raises
    ------
    ModelFileError
        Missing files, another format, a checksum mismatch, or weights that do not fit.
    """
    import torch

    d = Path(directory)
    meta_path = d / "flow.json"
    if not meta_path.is_file():
        raise ModelFileError(
            f"{d}: no flow.json; not a flow folder (rediscovery higgs generate train writes one)"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        transform = EventTransform.from_json(meta["transform"])
        # what the folder holds decides: version-3 folders have neither field
        held = {"met": transform.met, "reweight": bool(meta.get("reweighter"))}
        cfg = FlowConfig(**(meta["config"] | held))
        procs = list(meta["processes"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{meta_path}: corrupt flow metadata ({exc})") from None
    if meta.get("kind") != FLOW_KIND or meta.get("format_version") not in _READABLE_VERSIONS:
        raise ModelFileError(
            f"{meta_path}: kind {meta.get('kind')!r} format "
            f"{meta.get('format_version')!r}; expected {FLOW_KIND!r} "
            f"format {' or '.join(map(str, _READABLE_VERSIONS))}"
        )
    weights = d / "flow.pt"
    if not weights.is_file():
        raise ModelFileError(f"{weights}: flow weights missing")
    if file_sha256(weights) != meta.get("model_sha256"):
        raise ModelFileError(
            f"{weights}: checksum mismatch; the file is corrupt or was modified after saving"
        )
    net = build_network(len(procs), cfg)
    try:
        net.load_state_dict(torch.load(weights, weights_only=True, map_location="cpu"))
    except (RuntimeError, OSError, ValueError) as exc:
        raise ModelFileError(f"{weights}: weights do not fit the configuration ({exc})") from None
    net.eval()
    return EventFlow(
        processes=procs,
        box={k: (float(v[0]), float(v[1])) for k, v in meta["box"].items()},
        transform=transform,
        config=cfg,
        net=net,
        jets_={k: [[float(c) for c in row] for row in v] for k, v in meta["jets"].items()},
        yields_={k: [float(c) for c in v] for k, v in meta["yields"].items()},
        shares_={k: float(v) for k, v in meta["shares"].items()},
        training_info_=dict(meta.get("training", {})),
        reweighter_=_load_reweighter(meta.get("reweighter"), d),
    )

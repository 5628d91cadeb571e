"""The registry of trained models: the package's shipped models plus a user folder.

Layout of a user registry (one folder per model)::

    REGISTRY/
      cmb-emulator-mine/
        card.json          the model card (rediscovery.models.card)
        emulator.npz       the model's files, in their library's own format

The user registry is ``$REDISCOVERY_MODELS`` when set, else ``models/`` in the user's data
folder (:func:`platformdirs.user_data_dir`, e.g. ``~/.local/share/rediscovery/models`` on
Linux); every function and command takes an explicit ``registry`` / ``--registry DIR``.

Shipped models are the files inside the package (the CMB emulators); their cards are built
when asked from the metadata the files carry (:data:`SHIPPED`), so they cannot go stale.
Shipped names are reserved: a user model cannot take them.

Every load verifies the SHA-256 of each file the card lists; an import verifies them before
anything is written; exports and imports are written to a temporary name and renamed.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rediscovery.core.errors import ConfigError, InputError, ModelFileError
from rediscovery.core.files import TEMP_SUFFIX, atomic_path, file_sha256, read_json
from rediscovery.models.builders import (
    classifier_card,
    emulator_card,
    feature_ranges,
    flow_card,
)
from rediscovery.models.card import NAME_PATTERN, FileEntry, ModelCard, card_from_json
from rediscovery.models.kinds import (
    CURVED_EMULATOR_KIND,
    FLAT_EMULATOR_KIND,
    LoadedModel,
    open_model,
)

__all__ = [
    "CARD_FILE",
    "REGISTRY_ENV",
    "SHIPPED",
    "Entry",
    "ShippedModel",
    "default_registry",
    "export_model",
    "find_model",
    "import_model",
    "list_models",
    "load",
    "register_classifier",
    "register_emulator",
    "register_flow",
    "verify_files",
]

#: File name of a model's card inside its folder.
CARD_FILE = "card.json"
#: Environment variable naming the user registry folder.
REGISTRY_ENV = "REDISCOVERY_MODELS"
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")


@dataclass(frozen=True)
class ShippedModel:
    """A model file inside the package and what its card needs beyond the file's metadata."""

    name: str
    module: str  # module holding the path constant
    attribute: str  # the path constant
    kind: str
    command: str
    held_out_source: str
    created: str  # ISO date the file was added to the package
    required: tuple[str, ...] = ()  # inputs without a default
    #: held-out figures the documentation adds to those stored in the file
    extra_held_out: tuple[tuple[str, float], ...] = ()


#: The shipped models. Commands and accuracy sources as in docs/cosmo-cmb.md ("The shipped
#: emulator and its measured accuracy", "The shipped curved emulator and its measured
#: accuracy"); creation dates from the commits that added the files.
SHIPPED: tuple[ShippedModel, ...] = (
    ShippedModel(
        name="cmb-emulator-tt",
        module="rediscovery.cosmo.cmb.emulator",
        attribute="DEFAULT_EMULATOR_PATH",
        kind=FLAT_EMULATOR_KIND,
        command=(
            "rediscovery cosmo cmb-emulator train --samples 1000 --test-samples 50 "
            "--out emulator_tt.npz --cache train.h5 --fit-only --n-pca 16 "
            "--gp-subsample 200"
        ),
        held_out_source=(
            "docs/cosmo-cmb.md, 'The shipped emulator and its measured accuracy': "
            "python benchmarks/cmb_emulator_accuracy.py --cache train.h5 "
            "--holdout 50 (50 held-out CAMB spectra; relative errors)"
        ),
        created="2026-11-23T14:44:25+00:00",
        # docs/cosmo-cmb.md: max |ΔD_b| / σ_b binned like Planck 2018 TT, Planck's errors
        extra_held_out=(("max_err_over_sigma_planck2018_binned", 0.040),),
    ),
    ShippedModel(
        name="cmb-emulator-tt-curved",
        module="rediscovery.cosmo.cmb.curved",
        attribute="CURVED_EMULATOR_PATH",
        kind=CURVED_EMULATOR_KIND,
        command=(
            "rediscovery cosmo cmb-emulator train-curved --out emulator_tt_curved.npz "
            "--cache curved.h5 --blocks 8 --block-size 100 --test-samples 40 --seed 2026 "
            "--n-pca 24 --degree 1 --gp-subsample 200 --fit-only; then rediscovery cosmo "
            "cmb-emulator "
            "train-curved-lowl --emulator emulator_tt_curved.npz --out emulator_tt_curved.npz "
            "--cache lowl.h5 --blocks 8 --fit-only"
        ),
        held_out_source=(
            "docs/cosmo-cmb.md, 'The shipped curved emulator and its measured "
            "accuracy' (python benchmarks/cmb_curved.py accuracy --cache curved.h5: 35 "
            "held-out CAMB spectra; benchmarks/cmb_curved.py hidden: 60 hidden-universe "
            "draws) and 'The low-ℓ component' (the lowl held-out figures "
            "in the file: 51 held-out CAMB spectra, ℓ < 150); relative errors"
        ),
        created="2026-12-08T01:00:00+00:00",
        required=("h", "Om", "OL"),
    ),
)

_SHIPPED_NOTE = (
    "the HDF5 cache of CAMB spectra was not shipped (only the fitted emulator); "
    "the design is fixed by the seed and the command, which recompute it"
)


@dataclass(frozen=True)
class Entry:
    """A registered model: its card, the folder of its files, and ``source`` (``shipped`` or
    ``user``)."""

    card: ModelCard
    folder: Path
    source: str


def default_registry() -> Path:
    """The user registry: ``$REDISCOVERY_MODELS``, else ``models/`` in the user data folder."""
    env = os.environ.get(REGISTRY_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("rediscovery", appauthor=False)) / "models"


def _registry(registry: str | os.PathLike[str] | None) -> Path:
    return default_registry() if registry is None else Path(registry).expanduser()


# ----------------------------------------------------------------------------- files


def _entry(folder: Path, rel: str) -> FileEntry:
    p = folder / rel
    return FileEntry(path=rel, sha256=file_sha256(p), size=p.stat().st_size)


def verify_files(card: ModelCard, folder: str | os.PathLike[str]) -> None:
    """Check that every file the card lists exists with its recorded size and SHA-256.

    Raises
    ------
    ModelFileError
        Naming the file, and the expected and found hash (or that it is missing).
    """
    folder = Path(folder)
    for f in card.files:
        p = folder / f.path
        if not p.is_file():
            raise ModelFileError(f"{p}: file of model {card.name!r} missing (the card lists it)")
        digest = file_sha256(p)
        if digest != f.sha256:
            raise ModelFileError(
                f"{p}: SHA-256 {digest[:16]}… differs from the card's {f.sha256[:16]}… "
                f"(model {card.name!r}): the file is corrupt or was modified; re-import the "
                "model from its archive"
            )


def _read_card(folder: Path) -> ModelCard:
    path = folder / CARD_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path}: cannot read the model card ({exc})") from None
    return card_from_json(text, where=str(path))


def _check_name(name: str) -> str:
    if not re.fullmatch(NAME_PATTERN, name):
        raise ConfigError(
            f"model name {name!r}: expected lower-case letters, digits, '.', '_' "
            "or '-', starting with a letter or digit, at most 64 characters"
        )
    return name


# ----------------------------------------------------------------------------- shipped


def _shipped_path(spec: ShippedModel) -> Path:
    import importlib

    return Path(getattr(importlib.import_module(spec.module), spec.attribute))


def _npz_meta(path: Path) -> tuple[dict[str, Any], Any]:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as z:
            return json.loads(str(z["meta"])), np.asarray(z["ell"])
    except (OSError, ValueError, KeyError) as exc:
        raise ModelFileError(f"{path}: not a readable emulator file ({exc})") from None


def _emulator_defaults(names: list[str], required: tuple[str, ...]) -> dict[str, float]:
    from rediscovery.cosmo.cmb.theory import PLANCK2018_BEST_FIT

    return {
        k: PLANCK2018_BEST_FIT[k] for k in names if k in PLANCK2018_BEST_FIT and k not in required
    }


def _shipped_entry(spec: ShippedModel) -> Entry:
    path = _shipped_path(spec)
    meta, ell = _npz_meta(path)
    card = emulator_card(
        meta,
        name=spec.name,
        ell=ell,
        files=[_entry(path.parent, path.name)],
        defaults=_emulator_defaults(list(meta["names"]), spec.required),
        command=spec.command,
        created=_dt.datetime.fromisoformat(spec.created),
        held_out_source=spec.held_out_source,
        training_note=_SHIPPED_NOTE,
    )
    if spec.extra_held_out:
        card = ModelCard.model_validate(
            {**card.model_dump(), "held_out": {**card.held_out, **dict(spec.extra_held_out)}}
        )
    return Entry(card, path.parent, "shipped")


# ----------------------------------------------------------------------------- queries


def _user_entries(root: Path) -> Iterator[Entry]:
    if not root.is_dir():
        return
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and not folder.name.startswith(".") and (folder / CARD_FILE).is_file():
            yield Entry(_read_card(folder), folder, "user")


def list_models(registry: str | os.PathLike[str] | None = None) -> list[Entry]:
    """The shipped models, then the user registry's, by name."""
    return [_shipped_entry(s) for s in SHIPPED] + list(_user_entries(_registry(registry)))


def find_model(name: str, registry: str | os.PathLike[str] | None = None) -> Entry:
    """The registered model ``name`` (shipped first, then the user registry).

    Raises
    ------
    ConfigError
        No model of that name; the message lists the known ones.
    """
    for spec in SHIPPED:
        if spec.name == name:
            return _shipped_entry(spec)
    root = _registry(registry)
    folder = root / name
    if re.fullmatch(NAME_PATTERN, name) and (folder / CARD_FILE).is_file():
        return Entry(_read_card(folder), folder, "user")
    known = [s.name for s in SHIPPED] + [e.card.name for e in _user_entries(root)]
    raise ConfigError(f"no model named {name!r} (registry {root}); known: {', '.join(known)}")


def load(name: str, *, registry: str | os.PathLike[str] | None = None) -> LoadedModel:
    """The model ``name`` as a callable that refuses inputs outside its validity box.

    Examples
    --------
    >>> from rediscovery.models import load
    >>> emu = load("cmb-emulator-tt")
    >>> dl = emu(H0=67.3, ombh2=0.0224, omch2=0.120)  # D_ℓ^TT in μK², ℓ = 2 … 2508
    >>> dl.shape
    (2507,)
    >>> emu(H0=80.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rediscovery.models.card.OutsideValidityError: column 'H0': input H0 = 80 km/s/Mpc is ...

    Raises
    ------
    ConfigError
        Unknown name.
    ModelFileError
        A file missing, corrupt (hash) or unreadable.
    """
    entry = find_model(name, registry)
    verify_files(entry.card, entry.folder)
    return open_model(entry.card, entry.folder)


# ----------------------------------------------------------------------------- writing


def _reserved(name: str) -> None:
    if name in {s.name for s in SHIPPED}:
        raise ConfigError(f"model name {name!r} is a shipped model's; choose another (--name)")


def _write_folder(dest: Path, card: ModelCard, sources: dict[str, Path], *, force: bool) -> Path:
    """Copy ``sources`` (``{relative path: file}``) and the card into ``dest``: written to a
    temporary folder beside it, verified against the card, then renamed."""
    if dest.exists() and not force:
        raise ConfigError(f"{dest} already exists; use --force (force=True) to overwrite it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=TEMP_SUFFIX, dir=dest.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it owner-only; give a normal folder's mode
    try:
        for rel, src in sources.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, tmp / rel)
        verify_files(card, tmp)
        (tmp / CARD_FILE).write_text(card.to_json(), encoding="utf-8")
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        elif dest.exists() or dest.is_symlink():
            dest.unlink()
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return dest


def _is_archive(path: Path) -> bool:
    return path.name.endswith(_ARCHIVE_SUFFIXES)


def export_model(
    name: str,
    out: str | os.PathLike[str],
    *,
    registry: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> Path:
    """Write model ``name`` (card + files, hashes verified) to a folder, or to a ``.tar.gz``
    archive (one top folder named after the model) when ``out`` ends with ``.tar.gz``/``.tgz``.

    Raises
    ------
    ConfigError
        ``out`` exists and ``force`` is false; unknown name.
    ModelFileError
        A file of the model is missing or corrupt.
    """
    entry = find_model(name, registry)
    verify_files(entry.card, entry.folder)
    out = Path(out)
    sources = {f.path: entry.folder / f.path for f in entry.card.files}
    if not _is_archive(out):
        return _write_folder(out, entry.card, sources, force=force)
    if out.exists() and not force:
        raise ConfigError(f"{out} already exists; use --force (force=True) to overwrite it")
    card_bytes = entry.card.to_json().encode("utf-8")
    with atomic_path(out) as tmp, tarfile.open(tmp, "w:gz") as tar:
        info = tarfile.TarInfo(f"{name}/{CARD_FILE}")
        info.size = len(card_bytes)
        info.mtime = int(entry.card.created.timestamp())
        tar.addfile(info, io.BytesIO(card_bytes))
        for rel, src in sources.items():
            tar.add(src, arcname=f"{name}/{rel}", recursive=False)
    return out


def _extract(archive: Path, into: Path) -> Path:
    """Extract a model archive safely (regular files below one top folder); its folder."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            tops = {m.name.split("/", 1)[0] for m in members}
            bad = [m.name for m in members if not (m.isfile() or m.isdir())]
            if bad or len(tops) != 1:
                raise ModelFileError(
                    f"{archive}: not a model archive (expected one folder of "
                    f"regular files; found {sorted(tops)[:3]}, links {bad[:3]})"
                )
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ModelFileError(f"{archive}: cannot read the archive ({exc})") from None
    return into / tops.pop()


def import_model(
    source: str | os.PathLike[str],
    *,
    name: str | None = None,
    registry: str | os.PathLike[str] | None = None,
    force: bool = False,
    data: str | os.PathLike[str] | None = None,
    command: str | None = None,
) -> Entry:
    """Add a model to the user registry.

    ``source`` is one of:

    * a folder or ``.tar.gz`` made by :func:`export_model` (card + files; every file's SHA-256
      is checked against the card before anything is written);
    * a Higgs classifier: a run directory, its ``train`` folder or the model folder
      (``model.json``) — see :func:`register_classifier` (``data``, ``command``);
    * a CMB emulator ``.npz`` — see :func:`register_emulator`;
    * a Higgs event generator (flow folder with ``flow.json``) — see :func:`register_flow`.

    Parameters
    ----------
    name
        Registry name (default: the card's; required for a classifier or an emulator file).
    registry
        The user registry folder (default :func:`default_registry`).
    force
        Replace a model of the same name.

    Raises
    ------
    InputError
        ``source`` is none of the above.
    ModelFileError
        A hash mismatch, a missing file, an invalid card or an unreadable model.
    ConfigError
        The name exists (without ``force``), is reserved or malformed.
    """
    src = Path(source)
    if not src.exists():
        raise InputError("no such file or folder to import", path=src)
    if src.is_file() and _is_archive(src):
        with tempfile.TemporaryDirectory(prefix="rediscovery-import-") as tmp:
            return _import_card_folder(_extract(src, Path(tmp)), name, registry, force)
    if src.is_dir() and (src / CARD_FILE).is_file():
        return _import_card_folder(src, name, registry, force)
    if src.is_file() and src.suffix == ".npz":
        return register_emulator(
            src, name=_need_name(name, src), registry=registry, force=force, command=command
        )
    if src.is_dir() and (src / "flow.json").is_file():
        return register_flow(
            src, name=_need_name(name, src), registry=registry, force=force, command=command
        )
    if src.is_dir() and _classifier_dirs(src) is not None:
        return register_classifier(
            src,
            name=_need_name(name, src),
            registry=registry,
            force=force,
            data=data,
            command=command,
        )
    raise InputError(
        "expected an exported model (folder with card.json, or .tar.gz), a Higgs "
        "run directory / its train folder / a classifier folder with model.json, "
        "or a CMB emulator .npz",
        path=src,
    )


def _need_name(name: str | None, src: Path) -> str:
    if name is None:
        raise ConfigError(f"{src}: give the new model a registry name (--name NAME)")
    return name


def _import_card_folder(folder: Path, name: str | None, registry: Any, force: bool) -> Entry:
    card = _read_card(folder)
    verify_files(card, folder)
    new = _check_name(name or card.name)
    _reserved(new)
    card = card.with_name(new)
    open_model(card, folder)  # the model's own loader accepts the files
    dest = _write_folder(
        _registry(registry) / new, card, {f.path: folder / f.path for f in card.files}, force=force
    )
    return Entry(card, dest, "user")


def register_emulator(
    path: str | os.PathLike[str],
    *,
    name: str,
    registry: str | os.PathLike[str] | None = None,
    force: bool = False,
    command: str | None = None,
    held_out_source: str = "",
) -> Entry:
    """Register a CMB emulator file (``cosmo cmb-emulator train`` / ``train-curved`` output)
    with a card built from its metadata (box, seed, training size, held-out accuracy).

    Parameters
    ----------
    path
        The emulator ``.npz``.
    name
        Registry name.
    command
        The command that trained it (recorded in the card).
    held_out_source
        Where its held-out figures were measured.
    """
    p = Path(path)
    _reserved(_check_name(name))
    meta, ell = _npz_meta(p)
    required = ("h", "Om", "OL") if meta.get("kind") == CURVED_EMULATOR_KIND else ()
    card = emulator_card(
        meta,
        name=name,
        ell=ell,
        files=[_entry(p.parent, p.name)],
        defaults=_emulator_defaults(list(meta.get("names", [])), required),
        command=command or "not recorded",
        created=_dt.datetime.fromtimestamp(p.stat().st_mtime, _dt.UTC),
        held_out_source=held_out_source
        or ("the file's own metadata (held-out spectra of its training design)"),
        training_note="the training cache is not part of the model",
    )
    open_model(card, p.parent)
    dest = _write_folder(_registry(registry) / name, card, {p.name: p}, force=force)
    return Entry(card, dest, "user")


def _classifier_dirs(path: Path) -> tuple[Path, Path | None] | None:
    """(model folder, run directory or None) for a run, its train folder or a model folder."""
    for model_dir in (path / "train" / "model", path / "model", path):
        if (model_dir / "model.json").is_file():
            run = model_dir.parent.parent
            if model_dir.parent.name == "train" and (run / "manifest.json").is_file():
                return model_dir, run
            return model_dir, None
    return None


def register_classifier(
    path: str | os.PathLike[str],
    *,
    name: str,
    registry: str | os.PathLike[str] | None = None,
    force: bool = False,
    data: str | os.PathLike[str] | None = None,
    command: str | None = None,
) -> Entry:
    """Register a trained Higgs classifier, its card filled from its run.

    Parameters
    ----------
    path
        A ``rediscovery higgs run`` directory, its ``train`` folder, or a classifier folder
        (``model.json`` + library file, from ``Classifier.save`` or ``higgs train``).
    name
        Registry name.
    data
        The events the classifier was trained on (with its feature columns), for the validity
        box (each feature's range). Default for a run: the run's MC (``simulate/mc.parquet``
        joined with ``features/mc.parquet``); required otherwise.
    command
        The training command (default for a run: ``rediscovery higgs run`` on its config).

    The card takes from the run: the seed and library versions (``manifest.json``), the
    training configuration, the SHA-256 of the training data files, the held-out AUC and AMS
    (``train/metrics.json``: the test third of the MC, Poisson-bootstrap errors). A folder
    written by ``rediscovery higgs train --out DIR`` (``DIR/model``) takes the held-out
    figures from ``DIR/metrics.json``.

    Raises
    ------
    InputError
        Not a classifier folder; training data without the model's features.
    ConfigError
        No ``data`` for a model outside a run; the name exists (without ``force``).
    """
    src = Path(path)
    _reserved(_check_name(name))
    dirs = _classifier_dirs(src)
    if dirs is None:
        raise InputError("not a run directory or a classifier folder (no model.json)", path=src)
    model_dir, run = dirs
    meta = read_json(model_dir / "model.json", what="classifier metadata")
    try:
        feats = list(meta["features"])
        files = ["model.json", str(meta["model_file"])]
    except (KeyError, TypeError):
        raise ModelFileError(
            f"{model_dir / 'model.json'}: no features or model_file; not a "
            "saved rediscovery classifier"
        ) from None
    manifest: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    hashes: dict[str, str] = {}
    if data is not None:
        from rediscovery.higgs.events.io import read_events

        table = read_events(data, require_primaries=False)
        hashes[Path(data).name] = file_sha256(data)
    elif run is not None:
        from rediscovery.higgs.pipeline import read_with_features

        raw, feat = run / "simulate" / "mc.parquet", run / "features" / "mc.parquet"
        for p in (raw, feat):
            if not p.is_file():
                raise InputError("training data of the run missing; give --data FILE", path=p)
            hashes[p.relative_to(run).as_posix()] = file_sha256(p)
        table = read_with_features(raw, feat)
    else:
        raise ConfigError(
            f"{src}: not inside a run directory, so the training data is unknown; "
            "give --data FILE (the events it was trained on, with its features) "
            "for the validity box"
        )
    try:
        ranges = feature_ranges(table, feats)
    except InputError as exc:
        raise InputError(str(exc), path=data if data is not None else run) from None
    created = _dt.datetime.fromtimestamp((model_dir / "model.json").stat().st_mtime, _dt.UTC)
    generator = "events given with --data"
    source = ""
    metrics_path = model_dir.parent / "metrics.json"  # written beside the model by train
    if metrics_path.is_file():
        metrics = read_json(metrics_path, what="training metrics")
        where = metrics_path.relative_to(model_dir.parent.parent).as_posix()
        source = (
            f"{where}: the test third of the training events "
            f"({metrics.get('n_test', '?')} events; {metrics.get('uncertainty', '')})"
        )
    if run is not None:
        manifest = read_json(run / "manifest.json", what="run manifest")
        started = manifest.get("stages", {}).get("train", {}).get("started")
        if started:
            created = _dt.datetime.fromisoformat(started)
        generator = (
            "rediscovery higgs simulate (the run's simulate stage, seed from the "
            "manifest) with the features stage's DER_/NEW_ columns; trained on one "
            "third, validated on one third, tested on one third"
        )
        command = command or f"rediscovery higgs run --out {run.name} (its config.yaml)"
    card = classifier_card(
        meta,
        name=name,
        ranges=ranges,
        files=[_entry(model_dir, f) for f in files],
        created=created,
        command=command or "not recorded",
        metrics=metrics,
        manifest=manifest,
        data_sha256=hashes,
        generator=generator,
        held_out_source=source,
    )
    open_model(card, model_dir)
    dest = _write_folder(
        _registry(registry) / name, card, {f: model_dir / f for f in files}, force=force
    )
    return Entry(card, dest, "user")


def register_flow(
    path: str | os.PathLike[str],
    *,
    name: str,
    registry: str | os.PathLike[str] | None = None,
    force: bool = False,
    command: str | None = None,
) -> Entry:
    """Register a Higgs event generator (a flow folder: ``flow.json`` + ``flow.pt``, its
    reweighting classifiers and ``validation.json`` when present) with a card from its
    metadata."""
    from rediscovery.higgs.events.simulate import NUISANCE_DEFAULTS

    src = Path(path)
    _reserved(_check_name(name))
    meta = read_json(src / "flow.json", what="flow metadata")
    from rediscovery.higgs.generate.io import reweighter_files

    files = ["flow.json", str(meta.get("model_file", "flow.pt")), *reweighter_files(meta)]
    validation = None
    if (src / "validation.json").is_file():
        validation = read_json(src / "validation.json", what="flow validation")
        files.append("validation.json")
    try:
        card = flow_card(
            meta,
            name=name,
            files=[_entry(src, f) for f in files],
            created=_dt.datetime.fromtimestamp((src / "flow.json").stat().st_mtime, _dt.UTC),
            command=command or "not recorded",
            nominal=NUISANCE_DEFAULTS,
            validation=validation,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{src / 'flow.json'}: not a flow's metadata ({exc})") from None
    open_model(card, src)
    dest = _write_folder(_registry(registry) / name, card, {f: src / f for f in files}, force=force)
    return Entry(card, dest, "user")

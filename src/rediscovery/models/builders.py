"""Model cards built from the metadata the models already carry (pure: dicts in, card out).

* :func:`emulator_card` — a CMB emulator ``.npz``'s JSON metadata (names, box, fixed
  parameters, training seed and size, held-out accuracy) → card.
* :func:`classifier_card` — a Higgs classifier's ``model.json`` with, when it comes from a run
  directory, the run's ``manifest.json`` (seed, input hashes, versions) and
  ``train/metrics.json`` (held-out AUC and AMS) → card; the validity box is the range of each
  feature in the training data (:func:`feature_ranges`).

The file reading is in :mod:`rediscovery.models.registry`.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rediscovery.models.card import FileEntry, InputSpec, ModelCard, OutputSpec, TrainingData
from rediscovery.models.kinds import (
    CLASSIFIER_KIND_PREFIX,
    CURVED_EMULATOR_KIND,
    FLAT_EMULATOR_KIND,
    FLOW_KIND,
)

__all__ = [
    "COSMO_PARAMETERS",
    "classifier_card",
    "emulator_card",
    "feature_ranges",
    "feature_unit",
    "flow_card",
]

#: Unit and meaning of the cosmological parameters the CMB emulators take (names as in
#: :mod:`rediscovery.cosmo.cmb.theory`).
COSMO_PARAMETERS: dict[str, tuple[str, str]] = {
    "H0": ("km/s/Mpc", "Hubble constant"),
    "h": ("1", "H0 / (100 km/s/Mpc)"),
    "ombh2": ("1", "physical baryon density Ω_b h²"),
    "omch2": ("1", "physical cold dark matter density Ω_c h²"),
    "ns": ("1", "scalar spectral index n_s"),
    "ln10As": ("1", "ln(10¹⁰ A_s), primordial amplitude at k = 0.05 Mpc⁻¹"),
    "tau": ("1", "optical depth to reionization τ"),
    "Om": ("1", "matter density Ω_m today"),
    "OL": ("1", "dark-energy density Ω_Λ today"),
    "omk": ("1", "curvature density Ω_k"),
    "mnu": ("eV", "sum of the neutrino masses"),
}

_DL_UNIT = "uK^2"
#: An angle range reaching beyond ±3 rad of (−π, π] covers the circle up to sampling gaps.
_FULL_TURN = 3.0


def _emulator_inputs(meta: Mapping[str, Any], defaults: Mapping[str, float]) -> list[InputSpec]:
    out = []
    for name in meta["names"]:
        lo, hi = meta["box"][name]
        unit, what = COSMO_PARAMETERS.get(name, ("1", ""))
        out.append(
            InputSpec(
                name=name,
                unit=unit,
                low=float(lo),
                high=float(hi),
                default=defaults.get(name),
                description=what,
            )
        )
    return out


def emulator_card(
    meta: Mapping[str, Any],
    *,
    name: str,
    ell: np.ndarray,
    files: Sequence[FileEntry],
    defaults: Mapping[str, float],
    command: str,
    created: _dt.datetime,
    held_out_source: str = "",
    library_versions: Mapping[str, str] | None = None,
    description: str = "",
    training_sha256: Mapping[str, str] | None = None,
    training_note: str = "",
) -> ModelCard:
    """The card of a CMB TT emulator from the JSON metadata stored in its ``.npz``.

    Parameters
    ----------
    meta
        The file's ``meta`` (``kind``, ``names``, ``box``, ``fixed``, ``metadata`` with
        ``seed``, ``n_train``, ``camb_accuracy``, ``held_out``; curved files add
        ``derived_box``).
    name
        Registry name.
    ell
        The multipoles of the output.
    files
        The model's files with their hashes.
    defaults
        Values of inputs the caller may leave out (the emulators fill missing parameters with
        the Planck 2018 best fit; the curved one needs h, Om and OL).
    command
        The command that trained it.
    created
        Creation time (UTC).
    held_out_source
        Where the held-out figures were measured (command, document).
    library_versions
        Versions of the training environment, when known.
    description
        One line for ``models list``.
    training_sha256, training_note
        Hashes of the training data, or why there are none.
    """
    md = dict(meta.get("metadata", {}))
    kind = str(meta.get("kind", FLAT_EMULATOR_KIND))
    held = dict(md.get("held_out", {}))
    fixed = {k: float(v) for k, v in meta.get("fixed", {}).items()}
    box_desc = ", ".join(f"{k} {lo:g}..{hi:g}" for k, (lo, hi) in meta["box"].items())
    notes = f"fixed parameters: {json.dumps(fixed)}."
    if "derived_box" in meta:
        derived = ", ".join(
            f"{k} in [{lo:g}, {hi:g}]" for k, (lo, hi) in meta["derived_box"].items()
        )
        notes += (
            f" Valid only where also {derived} (omch2 from h and Om, scale = the "
            "acoustic scale ℓ_A / ℓ_A,Planck from h, Om, OL); the emulator checks these "
            "itself and names them when refused."
        )
    accuracy = md.get("camb_accuracy", {})
    generator = (
        f"CAMB lensed TT spectra (accuracy settings {json.dumps(accuracy)}) on a "
        f"Latin hypercube (scipy.stats.qmc, random-cd) over {box_desc}"
    )
    lmin, lmax = int(ell[0]), int(ell[-1])
    return ModelCard(
        name=name,
        kind=kind,
        description=description
        or (
            f"{'curved' if kind == CURVED_EMULATOR_KIND else 'flat ΛCDM'} emulator of CAMB's "
            f"lensed D_ℓ^TT, ℓ = {lmin}…{lmax}"
        ),
        inputs=_emulator_inputs(meta, defaults),
        outputs=[
            OutputSpec(
                name="dl_tt",
                unit=_DL_UNIT,
                shape=[len(ell)],
                description=f"lensed D_ℓ^TT = ℓ(ℓ+1)C_ℓ/2π at ℓ = {lmin}…{lmax}",
            )
        ],
        training_data=TrainingData(
            generator=generator,
            seed=None if md.get("seed") is None else int(md["seed"]),
            size=int(md.get("n_train", 0)),
            held_out_size=None if "n_test" not in held else int(held["n_test"]),
            sha256=dict(training_sha256 or {}),
            description=training_note,
        ),
        parameters={
            k: md[k]
            for k in ("n_pca", "degree", "blocks", "block_size", "design_samples")
            if k in md
        },
        held_out=held,
        held_out_source=held_out_source,
        library_versions=dict(library_versions or {}),
        command=command,
        created=created,
        files=list(files),
        notes=notes,
    )


def feature_unit(name: str) -> str:
    """Unit of a Higgs feature from its HiggsML name: GeV for momenta, masses and energy sums,
    rad for azimuths and their differences, 1 otherwise (pseudorapidities, counts, ratios,
    centralities, ΔR)."""
    n = name.lower()
    if any(
        w in n
        for w in (
            "centrality",
            "ratio",
            "significance",
            "deltar",
            "deta",
            "eta",
            "num",
            "_x_",
            "cos_",
        )
    ):
        return "1"
    if "phi" in n:
        return "rad"
    if any(w in n for w in ("pt", "mass", "met", "sumet", "_mt", "energy")):
        return "GeV"
    return "1"


def feature_ranges(df: Any, features: Sequence[str]) -> dict[str, tuple[float, float, bool]]:
    """``{feature: (min, max, has NaN)}`` over the rows of ``df`` (NaN ignored in min/max).

    Raises
    ------
    InputError
        A feature column missing, or one with no finite value.
    """
    from rediscovery.core.errors import InputError

    missing = [f for f in features if f not in df.columns]
    if missing:
        raise InputError(
            f"the training data has no columns {missing}, which the model uses", column=missing[0]
        )
    x = df[list(features)].to_numpy(dtype=float)
    finite = np.isfinite(x)
    empty = [f for f, ok in zip(features, finite.any(axis=0), strict=True) if not ok]
    if empty:
        raise InputError(
            f"features {empty} have no finite value in the training data", column=empty[0]
        )
    lo = np.where(finite, x, np.inf).min(axis=0)
    hi = np.where(finite, x, -np.inf).max(axis=0)
    nan = np.isnan(x).any(axis=0)
    return {
        f: (float(a), float(b), bool(c)) for f, a, b, c in zip(features, lo, hi, nan, strict=True)
    }


def classifier_card(
    model_meta: Mapping[str, Any],
    *,
    name: str,
    ranges: Mapping[str, tuple[float, float, bool]],
    files: Sequence[FileEntry],
    created: _dt.datetime,
    command: str,
    metrics: Mapping[str, Any] | None = None,
    manifest: Mapping[str, Any] | None = None,
    data_sha256: Mapping[str, str] | None = None,
    generator: str = "",
    held_out_source: str = "",
) -> ModelCard:
    """The card of a Higgs classifier from its ``model.json`` (and its run's files).

    Parameters
    ----------
    model_meta
        The classifier's ``model.json`` (``kind``, ``features``, ``params``, ``seed``,
        ``versions``, ``training``).
    name
        Registry name.
    ranges
        :func:`feature_ranges` of the training data: the validity box.
    files
        The model's files with their hashes.
    created, command
        Creation time and the command that trained it.
    metrics
        The training's ``metrics.json`` (held-out ``auc``, ``ams_best`` with errors, ``n_test``).
    manifest
        The run's ``manifest.json`` (``seed``, ``versions``, per-stage ``config``).
    data_sha256
        ``{file label: SHA-256}`` of the training data files.
    generator
        What made the training events.
    held_out_source
        Where the held-out figures come from.
    """
    metrics = dict(metrics or {})
    manifest = dict(manifest or {})
    training = dict(model_meta.get("training", {}))
    feats = list(model_meta["features"])
    inputs = []
    for f in feats:
        lo, hi, nan = ranges[f]
        unit, what = feature_unit(f), "range of the training data"
        if unit == "rad" and lo < -_FULL_TURN and hi > _FULL_TURN:
            # an azimuth the training data covers all round: any angle is inside
            lo, hi, what = -math.pi, math.pi, "an azimuth: the whole circle"
        inputs.append(
            InputSpec(name=f, unit=unit, low=lo, high=hi, allow_nan=nan, description=what)
        )
    versions = {k: str(v) for k, v in manifest.get("versions", {}).items()}
    for k, v in model_meta.get("versions", {}).items():
        if str(v) != "unknown":  # a distribution named otherwise (xgboost-cpu) is "unknown"
            versions[k] = str(v)
    hashes = dict(data_sha256 or {})
    if "data_sha256" in training:
        hashes["training arrays (features, labels, weights)"] = str(training["data_sha256"])
    held: dict[str, Any] = {
        k: metrics[k]
        for k in (
            "auc",
            "auc_err",
            "ams_best",
            "ams_best_err",
            "ams_threshold",
            "n_test",
            "uncertainty",
        )
        if k in metrics
    }
    train_cfg = manifest.get("stages", {}).get("train", {}).get("config", {})
    seed = manifest.get("seed", model_meta.get("seed"))
    kind = str(model_meta["kind"])
    return ModelCard(
        name=name,
        kind=CLASSIFIER_KIND_PREFIX + kind,
        description=f"{kind} signal/background classifier for H→ττ events, {len(feats)} features",
        inputs=inputs,
        outputs=[
            OutputSpec(
                name="score", unit="1", shape=[], description="signal score in [0, 1] per event"
            )
        ],
        training_data=TrainingData(
            generator=generator or "events given to the training (origin not recorded)",
            seed=None if seed is None else int(seed),
            size=int(training.get("n_train", 0)),
            held_out_size=None if "n_test" not in metrics else int(metrics["n_test"]),
            sha256=hashes,
            description=f"{training.get('n_valid', 0)} validation events for early stopping",
        ),
        parameters={
            "params": dict(model_meta.get("params", {})),
            "balance_classes": model_meta.get("balance_classes"),
            "seed": model_meta.get("seed"),
            **({"run": train_cfg} if train_cfg else {}),
        },
        held_out=held,
        held_out_source=held_out_source,
        library_versions=versions,
        command=command,
        created=created,
        files=list(files),
    )


def flow_card(
    meta: Mapping[str, Any],
    *,
    name: str,
    files: Sequence[FileEntry],
    created: _dt.datetime,
    command: str,
    nominal: Mapping[str, float],
    validation: Mapping[str, Any] | None = None,
) -> ModelCard:
    """The card of a Higgs event generator from its ``flow.json`` (and, when present, the
    ``validation.json`` of its two-sample tests).

    Parameters
    ----------
    meta
        ``flow.json``: ``config``, ``processes``, ``box`` of the nuisances, ``training``,
        ``versions``.
    nominal
        Nominal nuisance values (the defaults of the inputs).
    validation
        Held-out figures (two-sample AUC per process ...).
    """
    training = dict(meta.get("training", {}))
    inputs = []
    for k, (lo, hi) in meta["box"].items():
        default = float(nominal[k]) if lo <= nominal[k] <= hi else float(lo)
        unit = "GeV" if k == "soft_met" else "1"
        inputs.append(
            InputSpec(
                name=k,
                unit=unit,
                low=float(lo),
                high=float(hi),
                default=default,
                description="detector nuisance",
            )
        )
    return ModelCard(
        name=name,
        kind=FLOW_KIND,
        description=f"conditional flow generating H→ττ events of {', '.join(meta['processes'])}",
        inputs=inputs,
        outputs=[
            OutputSpec(
                name="events",
                unit="table",
                shape=[],
                description="events table: EventId, 17 PRI_*, Weight, Label, Process",
            )
        ],
        training_data=TrainingData(
            generator="rediscovery higgs simulate at the nuisance points of the box",
            seed=meta.get("config", {}).get("seed"),
            size=int(training.get("n_train", 0)),
            held_out_size=training.get("n_valid"),
            description="events simulated for the training are not kept",
        ),
        parameters=dict(meta.get("config", {})),
        held_out=dict(validation or {"valid_loss": training.get("valid_loss", [])[-1:]}),
        held_out_source="validation.json of the flow folder"
        if validation
        else "held-out negative log-likelihood of the last epoch",
        library_versions={k: str(v) for k, v in meta.get("versions", {}).items()},
        command=command,
        created=created,
        files=list(files),
    )

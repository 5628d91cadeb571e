"""The model card: what a trained model takes, returns, was trained on and how well it does.

A card is a JSON file (``card.json``) stored beside the model's files, in the spirit of
"Model Cards for Model Reporting" (Mitchell et al. 2019, FAT* '19, 220) and of the Les Houches
2019 plan for a database of trained networks callable as ``Likelihood(model, parameters)``
(Brooijmans et al. 2020, arXiv:2002.12220, section on machine learning). The fields:

``name`` and ``kind``
    The registry name (``cmb-emulator-tt``) and the format of the files, which says how to load
    them (the kind string the model file itself carries, e.g.
    ``rediscovery.cosmo.cmb.emulator/TT``).
``inputs``
    One entry per input with its unit and its validity range (``low``, ``high``): together the
    *validity box*; a model refuses inputs outside it (:func:`check_inputs`).
``outputs``
    Name, unit and shape of what the model returns.
``training_data``
    Generator, seed, size and SHA-256 of the training data.
``held_out`` and ``held_out_source``
    The accuracy measured on data not used in the fit, and where it was measured (the command
    or document that printed it).
``library_versions``, ``command``, ``created``
    Provenance: the versions of the training environment, the command that trained the model,
    the creation date (UTC).
``files``
    Every file of the model (path relative to the card, SHA-256, size): loading and importing
    verify them.

This module is pure (no file I/O): cards are read and written by
:mod:`rediscovery.models.registry`.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rediscovery.core.errors import InputError, ModelFileError

__all__ = [
    "CARD_SCHEMA_VERSION",
    "NAME_PATTERN",
    "FileEntry",
    "InputSpec",
    "ModelCard",
    "OutputSpec",
    "OutsideValidityError",
    "TrainingData",
    "box_text",
    "card_from_json",
    "check_inputs",
]

#: Version of the card format written by this package.
CARD_SCHEMA_VERSION = 1

#: Registry names: lower-case letters, digits, ``.``, ``_`` and ``-``, starting with a letter
#: or digit, at most 64 characters (safe as a folder name on every file system).
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"


class OutsideValidityError(InputError):
    """An input outside a model's validity box (the model would extrapolate).

    Attributes
    ----------
    model, input, value, low, high
        The model name, the input's name, the first offending value and the input's range.
    row
        Index of the first offending row (``None`` for a scalar input).
    """

    def __init__(
        self,
        message: str,
        *,
        model: str,
        input: str,
        value: float,
        low: float | None,
        high: float | None,
        row: int | None,
    ) -> None:
        super().__init__(message, column=input)
        self.model = model
        self.input = input
        self.value = value
        self.low = low
        self.high = high
        self.row = row


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSpec(_Strict):
    """One input of a model: name, unit and validity range (``None``: unbounded)."""

    name: str = Field(min_length=1)
    unit: str = "1"
    low: float | None = None
    high: float | None = None
    #: NaN allowed (the package's "undefined", e.g. jet features of events without jets)
    allow_nan: bool = False
    #: value used when the caller leaves the input out (``None``: the input is required)
    default: float | None = None
    description: str = ""

    @field_validator("high")
    @classmethod
    def _ordered(cls, high: float | None, info: Any) -> float | None:
        low = info.data.get("low")
        if high is not None and low is not None and not low <= high:
            raise ValueError(f"low {low} must be <= high {high}")
        return high


class OutputSpec(_Strict):
    """One output: name, unit, shape of one evaluation (``[]`` for a scalar)."""

    name: str = Field(min_length=1)
    unit: str = "1"
    shape: list[int] = Field(default_factory=list)
    description: str = ""


class TrainingData(_Strict):
    """Where the training data came from and how to recognise it."""

    generator: str
    seed: int | None = None
    size: int = Field(ge=0)
    held_out_size: int | None = Field(default=None, ge=0)
    #: ``{label: SHA-256}`` of the training data files or arrays (empty when not kept: say why
    #: in ``description``)
    sha256: dict[str, str] = Field(default_factory=dict)
    description: str = ""


class FileEntry(_Strict):
    """One file of a model, relative to the card's folder."""

    path: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)

    @field_validator("path")
    @classmethod
    def _relative(cls, path: str) -> str:
        parts = path.split("/")
        if path.startswith("/") or "\\" in path or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"{path!r} must be a plain relative path inside the model folder")
        return path


class ModelCard(_Strict):
    """The card of one trained model (see the module docstring for the fields)."""

    schema_version: int = CARD_SCHEMA_VERSION
    name: str = Field(pattern=NAME_PATTERN)
    kind: str = Field(min_length=1)
    description: str = ""
    inputs: list[InputSpec] = Field(min_length=1)
    outputs: list[OutputSpec] = Field(min_length=1)
    training_data: TrainingData
    #: training configuration (hyper-parameters, the run's settings), as given
    parameters: dict[str, Any] = Field(default_factory=dict)
    held_out: dict[str, Any] = Field(default_factory=dict)
    held_out_source: str = ""
    library_versions: dict[str, str] = Field(default_factory=dict)
    command: str = ""
    created: _dt.datetime
    files: list[FileEntry] = Field(min_length=1)
    notes: str = ""

    @field_validator("inputs")
    @classmethod
    def _unique_inputs(cls, inputs: list[InputSpec]) -> list[InputSpec]:
        names = [i.name for i in inputs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"input names must be unique, repeated: {dup}")
        return inputs

    @property
    def input_names(self) -> list[str]:
        """Input names, in the order the model takes them."""
        return [i.name for i in self.inputs]

    @property
    def box(self) -> dict[str, tuple[float | None, float | None]]:
        """The validity box ``{input: (low, high)}``."""
        return {i.name: (i.low, i.high) for i in self.inputs}

    def with_name(self, name: str) -> ModelCard:
        """The same card under another registry name."""
        return ModelCard.model_validate({**self.model_dump(), "name": name})

    def to_json(self) -> str:
        """The card as indented JSON text."""
        return self.model_dump_json(indent=2) + "\n"


def card_from_json(text: str, *, where: str = "card.json") -> ModelCard:
    """Parse and validate a card.

    Raises
    ------
    ModelFileError
        Not JSON, a missing or wrong field (named), or a newer card format.
    """
    try:
        card = ModelCard.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ModelFileError(
            f"{where}: not a valid model card: field {loc}: {first['msg']} "
            f"({exc.error_count()} problem(s))"
        ) from None
    if card.schema_version > CARD_SCHEMA_VERSION:
        raise ModelFileError(
            f"{where}: card format {card.schema_version} is newer than this "
            f"rediscovery reads ({CARD_SCHEMA_VERSION}); upgrade rediscovery"
        )
    return card


def box_text(card: ModelCard, max_inputs: int = 8) -> str:
    """The validity box on one line: ``H0 in [61, 74] km/s/Mpc, ...`` (the first
    ``max_inputs`` inputs, then a count)."""
    parts = []
    for i in card.inputs[:max_inputs]:
        lo = "-inf" if i.low is None else f"{i.low:g}"
        hi = "+inf" if i.high is None else f"{i.high:g}"
        unit = "" if i.unit in ("", "1") else f" {i.unit}"
        parts.append(f"{i.name} in [{lo}, {hi}]{unit}")
    more = len(card.inputs) - max_inputs
    if more > 0:
        parts.append(f"… and {more} more (rediscovery models show {card.name})")
    return ", ".join(parts)


def check_inputs(card: ModelCard, values: Mapping[str, Any]) -> None:
    """Refuse values outside the card's validity box.

    Parameters
    ----------
    card
        The model card.
    values
        ``{input name: scalar or 1-D array}``; every input of the card must be present (fill
        defaults first). Extra keys are ignored.

    Raises
    ------
    OutsideValidityError
        Naming the model, the input, the first offending value (and row), the input's range
        and the whole box. NaN counts as outside unless the input allows NaN; ±inf always.
    InputError
        A required input is missing.
    """
    for spec in card.inputs:
        if spec.name not in values:
            raise InputError(
                f"model {card.name!r} needs input {spec.name!r} "
                f"(inputs: {', '.join(card.input_names)})",
                column=spec.name,
            )
        v = np.asarray(values[spec.name], dtype=float)
        scalar = v.ndim == 0
        v = np.atleast_1d(v).ravel()
        nan = np.isnan(v)
        bad = np.isinf(v) if spec.allow_nan else ~np.isfinite(v)
        if spec.low is not None:
            bad |= v < spec.low
        if spec.high is not None:
            bad |= v > spec.high
        if spec.allow_nan:
            bad &= ~nan
        if not np.any(bad):
            continue
        i = int(np.flatnonzero(bad)[0])
        value = float(v[i])
        lo = "-inf" if spec.low is None else f"{spec.low:g}"
        hi = "+inf" if spec.high is None else f"{spec.high:g}"
        unit = "" if spec.unit in ("", "1") else f" {spec.unit}"
        where = "" if scalar else f" (row {i}, {int(bad.sum())} of {v.size} rows outside)"
        what = "NaN (undefined)" if math.isnan(value) else f"{value:.6g}{unit}"
        raise OutsideValidityError(
            f"input {spec.name} = {what}{where} is outside the validity box of model "
            f"{card.name!r}: {spec.name} must be in [{lo}, {hi}]{unit} (box: {box_text(card)}); "
            "the model would extrapolate there",
            model=card.name,
            input=spec.name,
            value=value,
            low=spec.low,
            high=spec.high,
            row=None if scalar else i,
        )

"""Model cards: validation of the JSON, the validity-box check."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from rediscovery.core.errors import InputError, ModelFileError
from rediscovery.models.card import (
    FileEntry,
    InputSpec,
    ModelCard,
    OutputSpec,
    OutsideValidityError,
    TrainingData,
    card_from_json,
    check_inputs,
)


def _card(**kw) -> ModelCard:
    base = dict(
        name="toy",
        kind="toy/kind",
        inputs=[
            InputSpec(name="a", unit="GeV", low=0.0, high=10.0),
            InputSpec(name="b", low=-1.0, high=1.0, allow_nan=True),
        ],
        outputs=[OutputSpec(name="y")],
        training_data=TrainingData(generator="toy", seed=1, size=10),
        created=dt.datetime(2026, 12, 6, tzinfo=dt.UTC),
        files=[FileEntry(path="m.npz", sha256="0" * 64, size=1)],
    )
    base.update(kw)
    return ModelCard(**base)


def test_inside_passes_and_nan_only_where_allowed():
    card = _card()
    check_inputs(card, {"a": np.array([0.0, 5.0, 10.0]), "b": np.array([np.nan, 0.0, 1.0])})
    with pytest.raises(OutsideValidityError, match=r"input a = NaN"):
        check_inputs(card, {"a": np.nan, "b": 0.0})
    with pytest.raises(OutsideValidityError, match=r"input b = inf"):
        check_inputs(card, {"a": 1.0, "b": np.inf})


def test_outside_names_input_value_row_and_box():
    card = _card()
    with pytest.raises(OutsideValidityError) as info:
        check_inputs(card, {"a": np.array([1.0, 12.5, 11.0]), "b": 0.0})
    err = info.value
    assert (err.model, err.input, err.value, err.row) == ("toy", "a", 12.5, 1)
    assert (err.low, err.high) == (0.0, 10.0)
    msg = str(err)
    assert "a = 12.5 GeV (row 1, 2 of 3 rows outside)" in msg
    assert "[0, 10] GeV" in msg and "b in [-1, 1]" in msg
    assert isinstance(err, InputError) and err.column == "a"


def test_missing_input_is_named():
    with pytest.raises(InputError, match="needs input 'b'"):
        check_inputs(_card(), {"a": 1.0})


def test_json_round_trip_and_refusals():
    card = _card()
    assert card_from_json(card.to_json()) == card
    bad = card.to_json().replace('"0000', '"zzzz', 1)
    with pytest.raises(ModelFileError, match=r"field files\.0\.sha256"):
        card_from_json(bad, where="x/card.json")
    newer = card.to_json().replace('"schema_version": 1', '"schema_version": 99')
    with pytest.raises(ModelFileError, match="newer"):
        card_from_json(newer)
    with pytest.raises(ModelFileError, match="not a valid model card"):
        card_from_json("[1, 2]")


@pytest.mark.parametrize("path", ["../m.npz", "/etc/passwd", "a//b", "./m"])
def test_file_entries_stay_inside_the_folder(path):
    with pytest.raises(ValueError, match="relative path"):
        FileEntry(path=path, sha256="0" * 64, size=1)


def test_names_and_ranges_validated():
    with pytest.raises(ValueError, match="name"):
        _card(name="Bad Name")
    with pytest.raises(ValueError, match=r"low 2\.0 must be <= high 1\.0"):
        InputSpec(name="x", low=2.0, high=1.0)
    with pytest.raises(ValueError, match="unique"):
        _card(inputs=[InputSpec(name="a"), InputSpec(name="a")])

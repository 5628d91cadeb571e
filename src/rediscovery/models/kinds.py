"""How each kind of model is loaded from its files and called: the ``Likelihood(model,
parameters)`` interface of the Les Houches 2019 plan (Brooijmans et al. 2020,
arXiv:2002.12220).

:func:`open_model` returns a :class:`LoadedModel`: a callable that checks its inputs against
the card's validity box (:func:`~rediscovery.models.card.check_inputs`) before it evaluates the
model. Three families:

* :class:`ParameterModel` — a function of a few named parameters (the CMB emulators):
  ``model(H0=67.3, ombh2=0.0224)`` or ``model({"H0": [66, 68], ...})``; inputs the card gives a
  default may be left out; scalars give one output, arrays (broadcast together) one row each.
* :class:`GeneratorModel` — an event generator (the Higgs flows): ``model(n, seed=1,
  tes=1.01)`` returns an events table;
* :class:`EventClassifierModel` — a per-event classifier (the Higgs classifiers):
  ``model(df)`` with a DataFrame (or a mapping of columns) holding the card's inputs, returning
  one signal score per row.

Each kind string names the library format; the model's own loader reads it (the emulators'
``.npz``, the classifiers' ``model.json`` + XGBoost JSON / LightGBM text / torch state_dict).
No pickles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rediscovery.core.errors import InputError, ModelFileError
from rediscovery.cosmo.cmb.curved import CURVED_EMULATOR_KIND
from rediscovery.cosmo.cmb.emulator import EMULATOR_KIND
from rediscovery.higgs.generate.io import FLOW_KIND  # the flow folders' own kind
from rediscovery.models.card import ModelCard, check_inputs

__all__ = [
    "CLASSIFIER_KIND_PREFIX",
    "CURVED_EMULATOR_KIND",
    "FLAT_EMULATOR_KIND",
    "FLOW_KIND",
    "KNOWN_KINDS",
    "EventClassifierModel",
    "GeneratorModel",
    "LoadedModel",
    "ParameterModel",
    "open_model",
]

#: Kind of the flat-ΛCDM TT emulator files (the ``kind`` their own metadata carries).
FLAT_EMULATOR_KIND = EMULATOR_KIND
#: Prefix of the Higgs classifier kinds; the classifier's own kind follows (``…/xgboost``).
CLASSIFIER_KIND_PREFIX = "rediscovery.higgs.classifiers/"


class LoadedModel:
    """A model with its card; calling it checks the inputs, then evaluates.

    Attributes
    ----------
    card
        The :class:`~rediscovery.models.card.ModelCard`.
    model
        The underlying object (an emulator, a classifier), for what the card does not cover.
    folder
        Where the model's files are.
    """

    def __init__(self, card: ModelCard, model: Any, folder: Path) -> None:
        self.card = card
        self.model = model
        self.folder = folder

    @property
    def name(self) -> str:
        return self.card.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.card.name!r}, kind={self.card.kind!r})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - overridden
        raise TypeError(f"{type(self).__name__} is abstract")


class ParameterModel(LoadedModel):
    """A model of a few named parameters: ``model(name=value, ...)`` (see the module doc).

    ``predict`` is the underlying batch function ``(X (n, d), check) -> (n, ...)`` with columns
    in the card's input order; with ``check`` it may refuse further conditions itself (the
    curved emulator's derived box).
    """

    def __init__(
        self,
        card: ModelCard,
        model: Any,
        folder: Path,
        predict: Callable[[np.ndarray, bool], np.ndarray],
    ) -> None:
        super().__init__(card, model, folder)
        self._predict = predict

    def values(
        self, params: Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> dict[str, np.ndarray]:
        """The full input mapping (defaults filled), each a float array; unknown names refused."""
        given = {**dict(params or {}), **kwargs}
        unknown = sorted(set(given) - set(self.card.input_names))
        if unknown:
            raise InputError(
                f"model {self.card.name!r} has no input(s) {unknown}; its inputs "
                f"are {self.card.input_names}",
                column=unknown[0],
            )
        out = {}
        for spec in self.card.inputs:
            if spec.name in given:
                out[spec.name] = np.asarray(given[spec.name], dtype=float)
            elif spec.default is not None:
                out[spec.name] = np.asarray(spec.default, dtype=float)
            else:
                raise InputError(
                    f"model {self.card.name!r} needs input {spec.name!r} "
                    f"({spec.unit}); required inputs: "
                    f"{[s.name for s in self.card.inputs if s.default is None]}",
                    column=spec.name,
                )
        return out

    def __call__(
        self, params: Mapping[str, Any] | None = None, /, *, check: bool = True, **kwargs: Any
    ) -> np.ndarray:
        """Evaluate at ``params`` (a mapping) and/or keyword values.

        Scalars give one output (shape of the card's first output); 1-D arrays, broadcast
        together, give one row per element. ``check=False`` skips the validity box (the model
        then extrapolates; its own checks may still refuse).
        """
        vals = self.values(params, **kwargs)
        try:
            arrays = np.broadcast_arrays(*vals.values())
        except ValueError:
            shapes = {k: np.shape(v) for k, v in vals.items()}
            raise InputError(
                f"model {self.card.name!r}: input shapes {shapes} do not broadcast together"
            ) from None
        scalar = arrays[0].ndim == 0
        if arrays[0].ndim > 1:
            raise InputError(
                f"model {self.card.name!r}: inputs must be scalars or 1-D arrays, "
                f"got shape {arrays[0].shape}"
            )
        if check:
            check_inputs(self.card, dict(zip(vals, arrays, strict=True)))
        x = np.column_stack([np.atleast_1d(a) for a in arrays])
        out = np.asarray(self._predict(x, check))
        return out[0] if scalar else out


class EventClassifierModel(LoadedModel):
    """A per-event classifier: ``model(events)`` → signal score per row (see the module doc)."""

    def __call__(self, events: Any, /, *, check: bool = True) -> np.ndarray:
        """Scores in [0, 1] for ``events`` (a DataFrame or a mapping of columns holding the
        card's inputs; NaN where a feature is undefined). ``check=False`` skips the validity
        box."""
        import pandas as pd

        df = events if isinstance(events, pd.DataFrame) else pd.DataFrame(dict(events))
        missing = [c for c in self.card.input_names if c not in df.columns]
        if missing:
            raise InputError(
                f"model {self.card.name!r} needs columns {missing} that the events do not have",
                column=missing[0],
            )
        if check:
            check_inputs(self.card, {c: df[c].to_numpy(dtype=float) for c in self.card.input_names})
        return np.asarray(self.model.predict(df[self.card.input_names]))


class GeneratorModel(LoadedModel):
    """An event generator: ``model(n_events, seed=..., tes=..., ...)`` → events table; the
    nuisances are checked against the card's box (nominal values where left out)."""

    def __call__(
        self,
        n_events: int,
        /,
        *,
        seed: int,
        check: bool = True,
        shares: Mapping[str, float] | None = None,
        **nuisances: float,
    ) -> Any:
        unknown = sorted(set(nuisances) - set(self.card.input_names))
        if unknown:
            raise InputError(
                f"model {self.card.name!r} has no input(s) {unknown}; its inputs "
                f"are {self.card.input_names}",
                column=unknown[0],
            )
        values = {s.name: nuisances.get(s.name, s.default) for s in self.card.inputs}
        if check:
            check_inputs(self.card, values)
        return self.model.sample(n_events, seed=seed, nuisances=nuisances, shares=shares)


def _main_file(card: ModelCard, folder: Path, suffix: str) -> Path:
    hits = [f for f in card.files if f.path.endswith(suffix)]
    if len(hits) != 1:
        raise ModelFileError(
            f"{folder}: the card of {card.name!r} (kind {card.kind}) should list "
            f"exactly one {suffix} file, it lists {[f.path for f in card.files]}"
        )
    return folder / hits[0].path


def _open_flat(card: ModelCard, folder: Path) -> LoadedModel:
    from rediscovery.cosmo.cmb.emulator import load_emulator

    emu = load_emulator(_main_file(card, folder, ".npz"))
    _same_inputs(card, emu.names, folder)
    return ParameterModel(card, emu, folder, lambda x, check: emu.predict(x, check=check))


def _open_curved(card: ModelCard, folder: Path) -> LoadedModel:
    from rediscovery.cosmo.cmb.curved import load_curved_emulator

    emu = load_curved_emulator(_main_file(card, folder, ".npz"))
    _same_inputs(card, emu.names, folder)
    return ParameterModel(card, emu, folder, lambda x, check: emu.predict(x, check=check))


def _open_classifier(card: ModelCard, folder: Path) -> LoadedModel:
    from rediscovery.higgs.classifiers.registry import load_model

    meta = _main_file(card, folder, "model.json")
    clf = load_model(meta.parent, features=card.input_names)
    expected = card.kind.removeprefix(CLASSIFIER_KIND_PREFIX)
    if clf.kind != expected:
        raise ModelFileError(f"{meta}: holds a {clf.kind!r} classifier, the card says {expected!r}")
    return EventClassifierModel(card, clf, folder)


def _same_inputs(card: ModelCard, names: list[str], folder: Path) -> None:
    if list(names) != card.input_names:
        raise ModelFileError(
            f"{folder}: the model file takes {list(names)}, its card lists "
            f"{card.input_names}; the card does not belong to this file"
        )


def _open_flow(card: ModelCard, folder: Path) -> LoadedModel:
    from rediscovery.higgs.generate.io import load_flow

    flow = load_flow(_main_file(card, folder, "flow.json").parent)
    return GeneratorModel(card, flow, folder)


_OPENERS: dict[str, Callable[[ModelCard, Path], LoadedModel]] = {
    FLOW_KIND: _open_flow,
    FLAT_EMULATOR_KIND: _open_flat,
    CURVED_EMULATOR_KIND: _open_curved,
}

#: Kinds :func:`open_model` loads (classifier kinds: the prefix and any classifier kind).
KNOWN_KINDS: tuple[str, ...] = (*_OPENERS, CLASSIFIER_KIND_PREFIX + "<xgboost|lightgbm|hgb|nn>")


def open_model(card: ModelCard, folder: str | Path) -> LoadedModel:
    """Load the model described by ``card`` from ``folder`` (its files already verified).

    Raises
    ------
    ModelFileError
        An unknown kind, or files the model's own loader refuses.
    """
    folder = Path(folder)
    if card.kind.startswith(CLASSIFIER_KIND_PREFIX):
        return _open_classifier(card, folder)
    opener = _OPENERS.get(card.kind)
    if opener is None:
        raise ModelFileError(
            f"{folder}: model {card.name!r} has kind {card.kind!r}, which this "
            f"version of rediscovery cannot load; known kinds: "
            f"{', '.join(KNOWN_KINDS)}"
        )
    return opener(card, folder)

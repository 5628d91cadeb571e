"""The classifier interface shared by the BDTs and the neural network.

A classifier is built with its hyper-parameters (stored as given), fitted with
``fit(X, y, w, X_val, y_val, w_val)`` and then exposes ``predict(X)``, a signal score in
[0, 1], plus ``save(directory)`` and the class method ``load(directory)``.

Weights
-------
``w`` are the physics weights (expected events). Training can use them as they are
(``balance_classes=False``; they are only rescaled to a mean of one, which changes nothing
but the numerical scale seen by the library) or re-weighted so that signal and background
carry the same total weight (``balance_classes=True``, the default: the HiggsML signal weights
are ~1000 times smaller than the background ones). Evaluation
(:mod:`rediscovery.higgs.classifiers.metrics`)
always uses the physics weights.

Saved model directory
---------------------
``model.json``
    Metadata: ``kind``, ``features`` (ordered), hyper-parameters, ``balance_classes``, seed,
    library versions, training summary (sizes, best iteration, SHA-256 of the training
    arrays), the name and SHA-256 of the model file, and for the network the scaler.
model file
    The library's own format: XGBoost JSON, LightGBM text, torch ``state_dict`` (``.pt``,
    loaded with ``weights_only=True``), or for scikit-learn's HistGradientBoosting the tree
    arrays in a NumPy ``.npz`` (see :mod:`rediscovery.higgs.classifiers.bdt`). No pickles.

Loading checks the checksum, the kind and, when asked, the feature list; any mismatch or
corruption raises :class:`~rediscovery.core.errors.ModelFileError`.

Hyper-parameters
----------------
Each implementation declares its hyper-parameters' types and ranges in ``constraints``
(:class:`Param`, after scikit-learn's ``_parameter_constraints``); they are checked when the
model is built, before any data is read, and a wrong value is a
:class:`~rediscovery.core.errors.ConfigError` naming the hyper-parameter (``--param NAME`` on
the command line) and what it expects. An error the library still raises during training
because of a changed hyper-parameter becomes a ``ConfigError`` listing the changed ones.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import math
import platform
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from rediscovery import __version__
from rediscovery.core.errors import ConfigError, InputError, ModelFileError, RediscoveryError
from rediscovery.core.files import file_sha256, write_json
from rediscovery.higgs.schema import DER_COLUMNS, PRI_COLUMNS

__all__ = [
    "METADATA_FILE",
    "Classifier",
    "Param",
    "resolve_features",
    "training_weights",
]

logger = logging.getLogger(__name__)

#: Name of the metadata file in a saved model directory.
METADATA_FILE = "model.json"
#: Version of the saved-model layout, bumped on incompatible changes.
FORMAT_VERSION = 1

_REGISTRY: dict[str, type[Classifier]] = {}


@dataclass(frozen=True)
class Param:
    """Declared type and range of one hyper-parameter.

    Parameters
    ----------
    kind
        ``int``, ``float`` or ``str``. An ``int`` also accepts an integral float (``3.0``);
        a ``float`` accepts an int; booleans are refused for both.
    low, high
        Bounds (``None``: unbounded); ``low_open``/``high_open`` exclude the bound.
    none
        ``None`` is accepted (e.g. "no depth limit").
    choices
        For strings: the accepted values.
    """

    kind: type
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    none: bool = False
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        """What the parameter expects, in words: ``an integer >= 1``."""
        if self.kind is str:
            text = f"one of {', '.join(self.choices)}" if self.choices else "a string"
        else:
            text = "an integer" if self.kind is int else "a number"
            lo = None if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
            hi = None if self.high is None else f"{'<' if self.high_open else '<='} {self.high:g}"
            if lo and hi:
                text += f" in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}" \
                        f"{')' if self.high_open else ']'}"
            elif lo or hi:
                text += f" {lo or hi}"
        return text + (" or null" if self.none else "")

    def check(self, value: Any) -> Any:
        """The value converted to ``kind``; ``ValueError`` (with :meth:`describe`) if wrong."""
        if value is None and self.none:
            return None
        if self.kind is str:
            if isinstance(value, str) and (not self.choices or value in self.choices):
                return value
            raise ValueError(self.describe())
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            raise ValueError(self.describe())
        if self.kind is int:
            if value != int(value):
                raise ValueError(self.describe())
            value = int(value)
        else:
            value = float(value)
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            raise ValueError(self.describe())
        if self.high is not None and (value > self.high
                                      or (self.high_open and value == self.high)):
            raise ValueError(self.describe())
        return value


def _show(value: Any) -> str:
    """A user's value in a message: ``'abc'``, ``-1``, ``0.5`` (no numpy reprs)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return repr(value)
    if isinstance(value, int | float | np.number):
        return f"{float(value):g}" if isinstance(value, float | np.floating) else str(int(value))
    return repr(value)


def resolve_features(columns: Sequence[str], spec: str | Sequence[str]) -> list[str]:
    """Turn a feature specification into an ordered list of column names.

    Parameters
    ----------
    columns
        Columns available in the events table.
    spec
        ``"pri"``: the 17 ``PRI_*`` features; ``"all"``: ``PRI_*`` plus every ``DER_*`` and
        ``NEW_*`` column present (in schema order, then ``NEW_*`` in table order); a
        comma-separated string or a sequence: those columns.

    Raises
    ------
    InputError
        If a requested column is absent, or ``spec`` is empty.
    """
    cols = list(columns)
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key == "pri":
            wanted = list(PRI_COLUMNS)
        elif key == "all":
            wanted = (list(PRI_COLUMNS) + [c for c in DER_COLUMNS if c in cols]
                      + [c for c in cols if c.startswith("NEW_")])
        else:
            wanted = [c.strip() for c in spec.split(",") if c.strip()]
    else:
        wanted = list(spec)
    if not wanted:
        raise InputError("empty feature list; use 'pri', 'all' or a comma-separated list",
                         column="features")
    if len(set(wanted)) != len(wanted):
        raise InputError(f"duplicated features in {wanted}", column="features")
    missing = [c for c in wanted if c not in cols]
    if missing:
        raise InputError(
            f"features {missing} are not in the events table (available: {len(cols)} columns "
            f"such as {cols[:5]})",
            column=missing[0],
        )
    return wanted


def training_weights(
    y: NDArray[np.int8], w: NDArray[np.float64], *, balance_classes: bool
) -> NDArray[np.float64]:
    """Weights used for training, from the physics weights.

    Balanced: each class is rescaled to a total of ``n / 2``; otherwise all weights are
    scaled together to a mean of one. Either way the mean training weight is one, so the
    libraries' absolute regularisation (e.g. XGBoost ``min_child_weight``) keeps its meaning.
    """
    pos = y == 1
    out = np.empty_like(w, dtype=np.float64)
    if balance_classes:
        out[pos] = w[pos] * (0.5 * w.size / w[pos].sum())
        out[~pos] = w[~pos] * (0.5 * w.size / w[~pos].sum())
    else:
        out[:] = w * (w.size / w.sum())
    return out


def _array_hash(*arrays: NDArray[Any]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _versions(*packages: str) -> dict[str, str]:
    out = {"rediscovery": __version__, "python": platform.python_version()}
    for p in ("numpy", *packages):
        try:
            out[p] = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - declared deps
            out[p] = "unknown"
    return out


class Classifier(ABC):
    """Base class: a binary signal/background classifier with a fixed, ordered feature list.

    Parameters
    ----------
    features
        Ordered feature names. ``None``: taken from the columns of the ``X`` passed to
        :meth:`fit` (which must then be a DataFrame).
    balance_classes
        Train with class-balanced weights (see the module docstring).
    seed
        Seed of every random step of the training.
    n_threads
        CPU threads of the library (default 1: on the 2-core project machine shared by other
        jobs, 2 OpenMP threads measured 6-20 times *slower* than 1, see
        ``docs/higgs-classifiers.md``; raise it on an idle multi-core machine).
    **params
        Hyper-parameters of the implementation (see each subclass); unknown names raise
        :class:`~rediscovery.core.errors.ConfigError`.

    Attributes
    ----------
    features_
        Feature list after fitting.
    training_info_
        Sizes, best iteration, data hash, ... after fitting.
    """

    #: Short name used by the CLI and in ``model.json``.
    kind: ClassVar[str] = ""
    #: Default hyper-parameters.
    defaults: ClassVar[dict[str, Any]] = {}
    #: File name of the library-format model inside the saved directory.
    model_file: ClassVar[str] = ""
    #: Libraries whose versions are recorded.
    libraries: ClassVar[tuple[str, ...]] = ()
    #: Type and range of each hyper-parameter (see :class:`Param`).
    constraints: ClassVar[dict[str, Param]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _REGISTRY[cls.kind] = cls

    def __init__(
        self,
        features: Sequence[str] | None = None,
        *,
        balance_classes: bool = True,
        seed: int = 0,
        n_threads: int = 1,
        **params: Any,
    ) -> None:
        from rediscovery.core.errors import ConfigError

        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ConfigError(
                f"unknown {self.kind} hyper-parameters {', '.join(unknown)} (--param); "
                f"known: {', '.join(sorted(self.defaults))}"
            )
        for name, value in list(params.items()):
            spec = self.constraints.get(name)
            if spec is None:
                continue
            try:
                params[name] = spec.check(value)
            except ValueError as exc:
                raise ConfigError(
                    f"--param {name}={_show(value)}: the {self.kind} hyper-parameter {name} "
                    f"must be {exc}"
                ) from None
        self.features = None if features is None else list(features)
        self.balance_classes = bool(balance_classes)
        self.seed = int(seed)
        if int(n_threads) < 1:
            raise ConfigError(f"--threads {n_threads}: expected an integer >= 1")
        self.n_threads = int(n_threads)
        self.params = {**self.defaults, **params}
        self.features_: list[str] | None = None
        self.training_info_: dict[str, Any] = {}

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.params.items() if self.defaults.get(k) != v}
        return f"{type(self).__name__}({changed}, balance_classes={self.balance_classes})"

    # ---------------------------------------------------------------- inputs

    def _matrix(self, X: ArrayLike | pd.DataFrame, features: Sequence[str]) -> NDArray[np.float64]:
        """Feature matrix in the model's column order; missing columns are an InputError."""
        if isinstance(X, pd.DataFrame):
            missing = [c for c in features if c not in X.columns]
            if missing:
                raise InputError(
                    f"the {self.kind} model needs features {missing} that are not in the data",
                    column=missing[0],
                )
            arr = X.loc[:, list(features)].to_numpy(dtype=np.float64)
        else:
            arr = np.asarray(X, dtype=np.float64)
            if arr.ndim != 2 or arr.shape[1] != len(features):
                raise InputError(
                    f"expected a 2-d array with {len(features)} feature columns "
                    f"({list(features)}), got shape {arr.shape}"
                )
        if np.any(np.isinf(arr)):
            bad = [features[int(j)] for j in np.flatnonzero(np.isinf(arr).any(axis=0))]
            raise InputError("infinite feature values (missing values must be NaN)",
                             column=bad[0])
        return arr

    def _check_training(
        self, X: ArrayLike | pd.DataFrame, y: ArrayLike, w: ArrayLike | None, what: str
    ) -> tuple[NDArray[np.float64], NDArray[np.int8], NDArray[np.float64]]:
        assert self.features_ is not None
        Xa = self._matrix(X, self.features_)
        ya = np.asarray(y).ravel()
        wa = np.ones(ya.size) if w is None else np.asarray(w, dtype=np.float64).ravel()
        if Xa.shape[0] == 0:
            raise InputError(f"the {what} set is empty")
        if not (Xa.shape[0] == ya.size == wa.size):
            raise InputError(
                f"{what} set: X has {Xa.shape[0]} rows, y {ya.size} and w {wa.size}"
            )
        if not np.all(np.isin(np.unique(ya), (0, 1))):
            raise InputError(f"{what} labels must be 0 or 1", column="Label")
        ya = ya.astype(np.int8)
        if np.unique(ya).size < 2:
            raise InputError(
                f"the {what} set has a single class (Label = {int(ya[0])}); need both signal "
                "and background events",
                column="Label",
            )
        if not np.all(np.isfinite(wa)):
            raise InputError(f"{int(np.sum(~np.isfinite(wa)))} {what} weights are NaN or "
                             "infinite", column="Weight")
        for cls, name in ((1, "signal"), (0, "background")):
            tot = wa[ya == cls].sum()
            if tot <= 0:
                raise InputError(
                    f"the total {name} weight of the {what} set is {tot:.6g}; it must be > 0",
                    column="Weight",
                )
        return Xa, ya, wa

    # ---------------------------------------------------------------- interface

    def fit(
        self,
        X: ArrayLike | pd.DataFrame,
        y: ArrayLike,
        w: ArrayLike | None = None,
        X_val: ArrayLike | pd.DataFrame | None = None,
        y_val: ArrayLike | None = None,
        w_val: ArrayLike | None = None,
    ) -> Self:
        """Train on ``(X, y, w)``; the validation set, if given, drives early stopping.

        Parameters
        ----------
        X
            DataFrame holding the features (or an array with columns in ``features`` order).
        y
            Labels, 1 signal, 0 background.
        w
            Physics weights (``None``: unit weights).
        X_val, y_val, w_val
            Validation set, same conventions.

        Returns
        -------
        self

        Raises
        ------
        InputError
            Empty set, a single class, NaN/infinite weights, non-positive total weight of a
            class, missing feature columns.
        """
        if self.features is not None:
            self.features_ = list(self.features)
        elif isinstance(X, pd.DataFrame):
            self.features_ = [str(c) for c in X.columns]
        else:
            raise InputError("give the feature names (features=...) when X is an array")
        Xa, ya, wa = self._check_training(X, y, w, "training")
        val = None
        if X_val is not None or y_val is not None:
            if X_val is None or y_val is None:
                raise InputError("give both X_val and y_val (and optionally w_val)")
            val = self._check_training(X_val, y_val, w_val, "validation")
        tw = training_weights(ya, wa, balance_classes=self.balance_classes)
        val_train = None
        if val is not None:
            val_train = (val[0], val[1],
                         training_weights(val[1], val[2], balance_classes=self.balance_classes))
        self.training_info_ = {
            "n_train": int(ya.size),
            "n_valid": 0 if val is None else int(val[1].size),
            "data_sha256": _array_hash(Xa, ya, wa),
        }
        logger.info("training %s on %d events x %d features", self.kind, *Xa.shape)
        try:
            self._fit(Xa, ya, tw, val_train)
        except RediscoveryError:
            raise
        except Exception as exc:
            changed = {k: v for k, v in self.params.items() if self.defaults.get(k) != v}
            library = type(exc).__module__.split(".")[0]
            if not changed or not (isinstance(exc, ValueError | TypeError)
                                   or library in ("xgboost", "lightgbm", "sklearn", "torch")):
                raise  # not caused by the user's hyper-parameters (or an HPO pruning signal)
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ConfigError(
                f"{self.kind} training failed with the hyper-parameters "
                f"{', '.join(f'{k}={_show(v)}' for k, v in changed.items())} (--param): "
                f"{first}"
            ) from exc
        return self

    def predict(self, X: ArrayLike | pd.DataFrame) -> NDArray[np.float64]:
        """Signal score in [0, 1] for each row of ``X`` (a DataFrame with the model's features,
        or an array with the columns in :attr:`features_` order)."""
        if self.features_ is None:
            raise InputError(f"the {self.kind} model is not fitted; call fit() or load()")
        Xa = self._matrix(X, self.features_)
        if Xa.shape[0] == 0:
            return np.empty(0)
        return np.clip(np.asarray(self._predict(Xa), dtype=np.float64).ravel(), 0.0, 1.0)

    def save(self, directory: str | Path) -> Path:
        """Write the model file and ``model.json`` into ``directory`` (created); returns it."""
        if self.features_ is None:
            raise InputError(f"the {self.kind} model is not fitted; nothing to save")
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        extra = self._save_model(d / self.model_file)
        meta = {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "features": self.features_,
            "params": self.params,
            "balance_classes": self.balance_classes,
            "seed": self.seed,
            "versions": _versions(*self.libraries),
            "training": self.training_info_,
            "model_file": self.model_file,
            "model_sha256": file_sha256(d / self.model_file),
            **extra,
        }
        write_json(d / METADATA_FILE, meta)
        return d

    @classmethod
    def load(cls, directory: str | Path, *, features: Sequence[str] | None = None,
             n_threads: int = 1) -> Classifier:
        """Load a saved model.

        Called on :class:`Classifier` it dispatches on the saved ``kind``; on a subclass the
        kind must match.

        Parameters
        ----------
        directory
            A directory written by :meth:`save`.
        features
            If given, the feature list the caller will use; it must equal the saved one
            (same names, same order).
        n_threads
            CPU threads for prediction.

        Raises
        ------
        ModelFileError
            Missing/corrupt files, checksum mismatch, other kind, other feature list.
        """
        d = Path(directory)
        meta_path = d / METADATA_FILE
        if not meta_path.is_file():
            raise ModelFileError(f"{d}: no {METADATA_FILE}; not a saved rediscovery model")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            kind, feats = meta["kind"], list(meta["features"])
            mfile = d / meta["model_file"]
        except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise ModelFileError(f"{meta_path}: corrupt model metadata ({exc})") from exc
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(
                f"{meta_path}: format_version {meta.get('format_version')!r}, this version of "
                f"rediscovery reads {FORMAT_VERSION}"
            )
        target = _REGISTRY.get(kind)
        if target is None:
            raise ModelFileError(f"{meta_path}: unknown model kind {kind!r}; known "
                                 f"{sorted(_REGISTRY)}")
        if cls is not Classifier and not issubclass(target, cls):
            raise ModelFileError(f"{d}: holds a {kind!r} model, not {cls.kind!r}")
        if features is not None and list(features) != feats:
            raise ModelFileError(
                f"{d}: the model was trained on features {feats}, but {list(features)} were "
                "given; the feature list (names and order) must match"
            )
        if not mfile.is_file():
            raise ModelFileError(f"{mfile}: model file missing")
        if file_sha256(mfile) != meta.get("model_sha256"):
            raise ModelFileError(f"{mfile}: checksum mismatch; the model file is corrupt or was "
                                 "modified after saving")
        obj = target(feats, balance_classes=meta.get("balance_classes", True),
                     seed=meta.get("seed", 0), n_threads=n_threads, **meta.get("params", {}))
        obj.features_ = feats
        obj.training_info_ = dict(meta.get("training", {}))
        try:
            obj.load_library_file(mfile, meta)
        except ModelFileError:
            raise
        except Exception as exc:  # each library raises its own exception types
            raise ModelFileError(f"{mfile}: cannot read the {kind} model ({exc})") from exc
        return obj

    def _check_n_features(self, path: Path, n_features: int) -> None:
        """Raise :class:`ModelFileError` unless a loaded model file takes as many features as
        ``model.json`` lists."""
        if n_features != len(self.features_ or ()):
            raise ModelFileError(f"{path}: the booster has {n_features} features, "
                                 f"model.json lists {len(self.features_ or ())}")

    # ---------------------------------------------------------------- implementation hooks

    @abstractmethod
    def _fit(
        self,
        X: NDArray[np.float64],
        y: NDArray[np.int8],
        w: NDArray[np.float64],
        val: tuple[NDArray[np.float64], NDArray[np.int8], NDArray[np.float64]] | None,
    ) -> None:
        """Train on validated arrays; ``w`` are already the training weights."""

    @abstractmethod
    def _predict(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Scores for a validated matrix."""

    @abstractmethod
    def _save_model(self, path: Path) -> dict[str, Any]:
        """Write the library-format file; return extra metadata for ``model.json``."""

    @abstractmethod
    def load_library_file(self, path: Path, meta: dict[str, Any]) -> None:
        """Read the library-format file written by :meth:`_save_model`."""


def registered_classes() -> dict[str, type[Classifier]]:
    """The :class:`Classifier` subclasses defined so far, by ``kind`` (a copy).

    Each subclass with a ``kind`` registers itself when its module is imported;
    :mod:`rediscovery.higgs.classifiers.registry` imports all of them.
    """
    return dict(_REGISTRY)

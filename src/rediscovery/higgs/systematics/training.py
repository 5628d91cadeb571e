"""Systematics-aware training: data augmentation over nuisances and parameterised classifiers.

Three ways to train the signal/background classifier whose score the fit histograms:

``nominal``
    on nominal simulation only (the classifiers stage's default).
``augmented``
    on ``n_copies`` copies of the training set, each altered with its own draw of the nuisance
    parameters from their priors
    (:func:`~rediscovery.higgs.systematics.variations.draw_nuisances`), weights
    divided by ``n_copies``: the classifier sees the spread of detector conditions it will meet
    and learns features that are robust to them (data augmentation, e.g. Estrade et al.,
    "Adversarial learning to eliminate systematic errors", 2017, and the Fair Universe starting
    kits).
``parameterised``
    the same altered copies with the standardised nuisance values α as extra inputs
    (``ALPHA_tes``, ``ALPHA_jes``, ``ALPHA_soft_met``): a classifier parameterised in the
    nuisance parameters (Baldi, Cranmer, Faucett, Sadowski, Whiteson, "Parameterized neural
    networks for high-energy physics", Eur. Phys. J. C 76 (2016) 235, arXiv:1601.07913). The
    copies are placed on a grid of α, the way that paper trains on a grid of masses.
    Each copy is split into groups with independent prior draws, so the α's of the
    different nuisances vary independently in training (an earlier scheme put the copies on
    a cycled grid where one copy fixed all three α's: the nominal point α = 0 was never
    seen, see docs/higgs-systematics.md). The fit uses it through
    :class:`rediscovery.higgs.systematics.methods.ParameterisedInference`: templates at a
    grid of classifier α's, data re-scored at the profiled α.

The classifier itself is any model of :mod:`rediscovery.higgs.classifiers` (default XGBoost).
:class:`ClassifierScorer` turns a fitted classifier into the ``scorer(df) -> scores`` callable
that :func:`~rediscovery.higgs.systematics.templates.build_templates` and the challenge use.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.schema import LABEL, WEIGHT
from rediscovery.higgs.systematics.templates import SHAPE_NUISANCES
from rediscovery.higgs.systematics.variations import (
    FAIR_UNIVERSE_PRIORS,
    NuisancePrior,
    apply_systematics,
    draw_nuisances,
)

__all__ = [
    "PARAMETERISED_NUISANCES",
    "TRAINING_MODES",
    "ClassifierScorer",
    "alpha_column",
    "augment",
    "train_classifier",
]

log = logging.getLogger(__name__)

#: Training modes understood by :func:`train_classifier`.
TRAINING_MODES: tuple[str, ...] = ("nominal", "augmented", "parameterised")
#: Nuisances given as inputs to the parameterised classifier: the kinematic (shape) ones.
PARAMETERISED_NUISANCES: tuple[str, ...] = SHAPE_NUISANCES


def alpha_column(name: str) -> str:
    """Name of the input column holding the standardised nuisance α of ``name``."""
    return f"ALPHA_{name}"


@dataclass
class ClassifierScorer:
    """A fitted classifier as a ``scorer(df) -> scores`` callable (picklable).

    Parameters
    ----------
    model
        Fitted classifier with ``predict(DataFrame) -> scores``.
    features
        Event feature columns it reads.
    alphas
        For a parameterised classifier: nuisance name → α at which to evaluate it.
    """

    model: Any
    features: list[str]
    alphas: dict[str, float] = field(default_factory=dict)

    def __call__(self, df: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.features if c not in df.columns]
        if missing:
            raise InputError(f"events lack the classifier features {missing}",
                             column=missing[0])
        X = df[self.features].copy()
        for n, a in self.alphas.items():
            X[alpha_column(n)] = float(a)
        return np.asarray(self.model.predict(X), dtype=float)


def augment(df: pd.DataFrame, *, n_copies: int, seed: int,
            priors: Mapping[str, NuisancePrior] = FAIR_UNIVERSE_PRIORS,
            grid: Sequence[float] | None = None,
            parameterised: Sequence[str] = (), n_groups: int = 1) -> pd.DataFrame:
    """Copies of ``df`` altered with different nuisance values, weights divided by the count.

    Parameters
    ----------
    df
        Nominal labelled events (with the ``DER_*`` columns the classifier uses).
    n_copies
        Number of altered copies.
    seed
        Seed of the nuisance draws and of the soft-MET terms.
    priors
        Priors of the random draws (default: the challenge's).
    grid
        If given, each copy puts every nuisance of ``parameterised`` at one value of α from
        this grid (cycled, shifted per nuisance so that the combinations differ) and the others
        at nominal; otherwise every nuisance is drawn from its prior. With a grid the α's of
        the different nuisances are *fully correlated* across copies (copy ``k`` fixes all of
        them), so most combinations, the nominal one included, are never seen in training:
        use it only to reproduce the earlier behaviour.
    parameterised
        Nuisances whose α is stored as an input column (:func:`alpha_column`).
    n_groups
        Each copy is split into this many random groups of events, each altered with its own
        draw (prior draws only): ``n_copies × n_groups`` independent nuisance points, so that a
        parameterised classifier sees the α's of the different nuisances vary independently.

    Returns
    -------
    DataFrame
        The concatenated copies (fresh index), with ``ALPHA_*`` columns for ``parameterised``.
    """
    if n_copies < 1:
        raise ConfigError(f"n_copies must be >= 1, got {n_copies}")
    if n_groups < 1:
        raise ConfigError(f"n_groups must be >= 1, got {n_groups}")
    if grid is not None and n_groups != 1:
        raise ConfigError("n_groups > 1 needs prior draws (grid=None)")
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(n_copies):
        groups = (np.array_split(rng.permutation(len(df)), n_groups) if n_groups > 1
                  else [None])
        for idx in groups:
            sub = df if idx is None else df.iloc[np.sort(idx)]
            if grid is None:
                vals = draw_nuisances(rng, priors)
                alphas = {n: float(priors[n].alpha(max(vals[n], 1e-6))) for n in priors}
            else:
                g = list(grid)
                alphas = {n: float(g[(k + 3 * j) % len(g)])
                          for j, n in enumerate(parameterised)}
                vals = {n: float(np.clip(priors[n].value(alphas.get(n, 0.0)), priors[n].lo,
                                         priors[n].hi)) for n in priors}
            part = apply_systematics(
                sub, tes=vals.get("tes", 1.0), jes=vals.get("jes", 1.0),
                soft_met=vals.get("soft_met", 0.0), ttbar_scale=vals.get("ttbar_scale"),
                diboson_scale=vals.get("diboson_scale"), bkg_scale=vals.get("bkg_scale"),
                seed=rng, mmc=False)
            part[WEIGHT] = part[WEIGHT] / n_copies
            for n in parameterised:
                part[alpha_column(n)] = alphas.get(n, 0.0)
            parts.append(part)
    return pd.concat(parts, ignore_index=True)


def train_classifier(train: pd.DataFrame, features: Sequence[str], *, mode: str = "nominal",
                     kind: str = "xgboost", seed: int = 0, n_copies: int = 5,
                     grid: Sequence[float] | None = None, n_groups: int = 20,
                     valid: pd.DataFrame | None = None,
                     priors: Mapping[str, NuisancePrior] = FAIR_UNIVERSE_PRIORS,
                     **params: Any) -> ClassifierScorer:
    """Train a classifier nominally, with augmentation, or parameterised in the nuisances.

    Parameters
    ----------
    train
        Nominal labelled events (``Weight``, ``Label``, the ``features``).
    features
        Event feature columns.
    mode
        One of :data:`TRAINING_MODES`.
    kind
        Model kind of :func:`rediscovery.higgs.classifiers.make_model`.
    seed
        Seed of the augmentation and of the training.
    n_copies
        Altered copies for ``augmented`` and ``parameterised``.
    grid
        α grid of the parameterised copies (the earlier scheme, α's of all nuisances
        correlated, see :func:`augment`); default ``None``: prior draws in ``n_groups``
        groups per copy.
    n_groups
        Independent nuisance draws per copy for ``parameterised`` (:func:`augment`).
    valid
        Optional nominal validation events (early stopping; altered like the training set).
    **params
        Hyper-parameters of the model.

    Returns
    -------
    ClassifierScorer
        Scores evaluated at α = 0 for the parameterised mode.
    """
    from rediscovery.higgs.classifiers import make_model

    if mode not in TRAINING_MODES:
        raise ConfigError(f"unknown training mode {mode!r}; choose among {TRAINING_MODES}")
    for c in (WEIGHT, LABEL, *features):
        if c not in train.columns:
            raise InputError("training events lack a column", column=c)
    feats = list(features)
    par: tuple[str, ...] = PARAMETERISED_NUISANCES if mode == "parameterised" else ()
    if mode == "nominal":
        tr, va = train, valid
    else:
        g = grid if mode == "parameterised" else None
        ng = n_groups if mode == "parameterised" and g is None else 1
        tr = augment(train, n_copies=n_copies, seed=seed, priors=priors, grid=g,
                     parameterised=par, n_groups=ng)
        va = None if valid is None else augment(valid, n_copies=n_copies, seed=seed + 1,
                                                priors=priors, grid=g, parameterised=par,
                                                n_groups=ng)
    cols = feats + [alpha_column(n) for n in par]
    model = make_model(kind, cols, seed=seed, **params)
    if va is None:
        model.fit(tr[cols], tr[LABEL].to_numpy(), tr[WEIGHT].to_numpy())
    else:
        model.fit(tr[cols], tr[LABEL].to_numpy(), tr[WEIGHT].to_numpy(), va[cols],
                  va[LABEL].to_numpy(), va[WEIGHT].to_numpy())
    log.info("trained %s classifier (%s) on %d events", kind, mode, len(tr))
    return ClassifierScorer(model=model, features=feats, alphas={n: 0.0 for n in par})

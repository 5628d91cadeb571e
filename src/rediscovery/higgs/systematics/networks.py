"""The small torch networks of the pivot and INFERNO methods: inputs, shape, forward pass.

Both methods feed an MLP with standardised event features (plus a 0/1 indicator for each
feature that can be undefined) and store the trained weights as numpy arrays, so that their
scorers are picklable and rebuild the network in the process that scores (an executor
worker). This module holds what they share: the standardisation fitted on the training
events, the MLP shape, and the forward pass of a stored network on an events table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rediscovery.core.errors import InputError

__all__ = ["StoredNetwork", "fit_standardisation", "mlp", "network_outputs", "standardise"]


def mlp(n_in: int, n_out: int, width: int, depth: int):
    """``depth`` hidden layers of ``width`` ReLU units and a linear output layer
    (``torch.nn.Sequential``; its ``state_dict`` keys are those of the stored networks)."""
    from torch import nn

    layers: list[nn.Module] = []
    w = n_in
    for _ in range(depth):
        layers += [nn.Linear(w, width), nn.ReLU()]
        w = width
    layers.append(nn.Linear(w, n_out))
    return nn.Sequential(*layers)


def fit_standardisation(X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted mean and width of each feature (NaN ignored) and the features with NaNs.

    Returns ``(mean, std, missing)`` for :func:`standardise` (a constant feature gets width 1).
    """
    ok = ~np.isnan(X)
    wsum = (w[:, None] * ok).sum(axis=0)
    mean = np.where(wsum > 0, np.nansum(w[:, None] * X, axis=0) / np.maximum(wsum, 1e-300), 0.0)
    var = np.nansum(w[:, None] * (X - mean) ** 2, axis=0) / np.maximum(wsum, 1e-300)
    std = np.where(var > 0, np.sqrt(var), 1.0)
    return mean, std, np.flatnonzero((~ok).any(axis=0))


def standardise(
    X: np.ndarray, mean: np.ndarray, std: np.ndarray, missing: np.ndarray
) -> np.ndarray:
    """Network inputs: standardised features (NaN → 0) plus a 0/1 indicator per ``missing``
    feature (float32, shape ``(n, n_features + missing.size)``)."""
    miss = np.isnan(X)
    z = np.where(miss, 0.0, (X - mean) / std)
    return np.concatenate([z, miss[:, missing].astype(float)], axis=1).astype(np.float32)


def network_outputs(
    df: pd.DataFrame,
    *,
    features: Sequence[str],
    mean: np.ndarray,
    std: np.ndarray,
    missing: np.ndarray,
    state: Mapping[str, np.ndarray],
    n_out: int,
    width: int,
    depth: int,
    what: str,
) -> np.ndarray:
    """Raw outputs ``(n_events, n_out)`` of the stored MLP on the events ``df``.

    ``what`` names the network in the error raised when ``df`` lacks one of ``features``.
    Single-threaded (the scorers run inside executor workers).
    """
    import torch

    absent = [c for c in features if c not in df.columns]
    if absent:
        raise InputError(f"events lack the {what} features {absent}", column=absent[0])
    torch.set_num_threads(1)
    net = mlp(len(features) + int(missing.size), n_out, width, depth)
    net.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    X = standardise(df[list(features)].to_numpy(dtype=float), mean, std, missing)
    with torch.no_grad():
        return net(torch.from_numpy(X)).numpy()


@dataclass
class StoredNetwork:
    """A trained MLP kept as numpy arrays with its input standardisation: the picklable part
    the pivot and INFERNO scorers share.

    Attributes
    ----------
    features, mean, std, missing
        Inputs and their standardisation (:func:`standardise`).
    state
        The network's ``state_dict`` (numpy arrays); ``width``, ``depth`` its shape.
    """

    features: list[str]
    mean: np.ndarray
    std: np.ndarray
    missing: np.ndarray
    state: dict[str, np.ndarray]
    width: int
    depth: int

    def outputs(self, df: pd.DataFrame, n_out: int, what: str) -> np.ndarray:
        """Raw outputs ``(n_events, n_out)`` on the events ``df`` (:func:`network_outputs`)."""
        return network_outputs(df, features=self.features, mean=self.mean, std=self.std,
                               missing=self.missing, state=self.state, n_out=n_out,
                               width=self.width, depth=self.depth, what=what)

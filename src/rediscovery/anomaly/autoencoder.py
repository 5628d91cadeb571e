"""Autoencoder anomaly score: the reconstruction error of a network that learnt the SM.

A small fully connected autoencoder (torch, CPU) is trained on the labelled Standard Model
reference sample to reproduce its standardised features through a narrow bottleneck; an event
unlike the SM is reconstructed badly, so the mean squared reconstruction error is the anomaly
score (M. Farina, Y. Nakai, D. Shih, "Searching for new physics with deep autoencoders",
Phys. Rev. D 101 (2020) 075021; T. Heimel et al., SciPost Phys. 6 (2019) 030).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from rediscovery.anomaly.bumphunt import BumpHuntConfig
from rediscovery.anomaly.methods import (
    MethodResult,
    ReferenceFeatures,
    limited_threads,
    need_reference,
    selected_bump_hunt,
)
from rediscovery.core.errors import ConfigError
from rediscovery.core.training import train_torch

__all__ = ["AutoencoderMethod", "reconstruction_error", "train_autoencoder"]


@dataclass
class AutoencoderMethod:
    """Autoencoder trained on the reference, scoring the data by reconstruction error.

    Attributes
    ----------
    hidden, bottleneck
        Width of the two hidden layers and of the bottleneck.
    epochs, batch_size, learning_rate
        Adam training on the reference's weighted events (weights: the reference's
        ``Weight`` normalised, so the mixture is that of the SM).
    keep
        Top-scored fraction of the data sent to the bump hunt.
    seed
        Seed of the initialisation and the batches.
    """

    hidden: int = 32
    bottleneck: int = 4
    epochs: int = 15
    batch_size: int = 512
    learning_rate: float = 2e-3
    keep: float = 0.1
    seed: int = 2019
    threads: int = 1
    bump: BumpHuntConfig | None = None
    name: str = "autoencoder"

    def __post_init__(self) -> None:
        if self.bottleneck < 1 or self.hidden < self.bottleneck:
            raise ConfigError(
                f"hidden {self.hidden}, bottleneck {self.bottleneck}: expected "
                "1 <= bottleneck <= hidden"
            )
        if self.epochs < 1:
            raise ConfigError(f"epochs {self.epochs}: expected at least 1")

    def fit_score(self, data: pd.DataFrame, reference: pd.DataFrame | None) -> MethodResult:
        t0 = time.perf_counter()
        ref = need_reference(self.name, reference)
        feats = ReferenceFeatures(ref)
        x_ref = feats.transform(ref)
        w = ref["Weight"].to_numpy(dtype=float) if "Weight" in ref.columns else None
        with limited_threads(self.threads):
            model, losses = train_autoencoder(x_ref, w, self)
            s = reconstruction_error(model, feats.transform(data))
        bump = selected_bump_hunt(data, s, self.keep, self.bump)
        summary = {
            "method": self.name,
            "features": feats.features,
            "train_loss": losses,
            "settings": {k: v for k, v in asdict(self).items() if k != "bump"},
            "seconds": time.perf_counter() - t0,
        }
        return MethodResult(self.name, s, bump, summary)


def train_autoencoder(x: np.ndarray, weights: np.ndarray | None, cfg: AutoencoderMethod):
    """Train the autoencoder on (n, d) standardised features; return (model, loss per epoch).

    Batches are drawn with probability ∝ weight (the SM mixture), ``n`` per epoch.
    """
    import torch
    from torch import nn

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    d = x.shape[1]
    model = nn.Sequential(
        nn.Linear(d, cfg.hidden),
        nn.ELU(),
        nn.Linear(cfg.hidden, cfg.bottleneck),
        nn.ELU(),
        nn.Linear(cfg.bottleneck, cfg.hidden),
        nn.ELU(),
        nn.Linear(cfg.hidden, d),
    )
    xt = torch.as_tensor(x, dtype=torch.float32)
    p = None
    if weights is not None:
        p = np.clip(weights, 0.0, None)
        p = p / p.sum()

    def batch_loss(idx: np.ndarray):
        batch = xt[idx]
        return ((model(batch) - batch) ** 2).mean()

    hist = train_torch(
        model,
        batch_loss,
        np.arange(len(x)),
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate,
        rng=rng,
        probabilities=p,
    )
    return model, hist.train


def reconstruction_error(model, x: np.ndarray) -> np.ndarray:
    """Mean squared reconstruction error per event."""
    import torch

    with torch.no_grad():
        xt = torch.as_tensor(x, dtype=torch.float32)
        return ((model(xt) - xt) ** 2).mean(dim=1).numpy().astype(float)

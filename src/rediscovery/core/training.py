"""One torch training loop for the package's networks (the anomaly autoencoder, CATHODE's flow
and the parameterised classifier; the event generators of :mod:`rediscovery.higgs.generate`):
Adam on mini-batches, optionally a cosine learning-rate schedule (Loshchilov & Hutter 2017,
arXiv:1608.03983) and the state of the epoch with the lowest validation loss kept. A network
trained against an adversary (a GAN's generator and its critic) passes the adversary as an
:class:`Adversary`: the two get their own optimisers and alternate within the same loop."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError

__all__ = ["COSINE_SCHEDULES", "Adversary", "TrainingHistory", "train_torch"]

#: ``train_torch(cosine=…)``: anneal the learning rate once per epoch or once per batch.
COSINE_SCHEDULES: tuple[str, ...] = ("epoch", "step")


@dataclass
class TrainingHistory:
    """Losses per epoch: ``train`` (mean over the epoch's batches, weighted by their sizes) and
    ``validation`` (empty without a validation loss); ``best_epoch`` the kept one (0-based);
    ``adversary`` the adversary's mean loss per epoch (empty without one)."""

    train: list[float] = field(default_factory=list)
    validation: list[float] = field(default_factory=list)
    best_epoch: int = -1
    adversary: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Adversary:
    """A network trained against the model, as a GAN's critic (Goodfellow et al. 2014,
    arXiv:1406.2661): its own Adam optimiser over ``parameters`` minimises
    ``batch_loss(index)`` on every batch, and the model (whose optimiser then leaves these
    parameters out) is updated on every ``ratio``-th batch and on an epoch's last one
    (Gulrajani et al. 2017, arXiv:1704.00028, update the critic five times per generator
    update).

    Attributes
    ----------
    parameters
        The adversary's ``torch`` parameters (they may be held by the model's module too).
    batch_loss
        ``batch_loss(index)`` → scalar torch loss of the adversary on the training rows
        ``index``.
    ratio
        Adversary updates per model update (an integer >= 1).
    """

    parameters: Sequence[Any]
    batch_loss: Callable[[np.ndarray], Any]
    ratio: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.ratio, bool) or not isinstance(self.ratio, int) or self.ratio < 1:
            raise ConfigError(f"ratio: expected an integer >= 1, got {self.ratio!r}")


def train_torch(
    model: Any,
    batch_loss: Callable[[np.ndarray], Any],
    rows: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    rng: np.random.Generator,
    probabilities: np.ndarray | None = None,
    validation_loss: Callable[[], float] | None = None,
    cosine: str | None = None,
    final_lr_ratio: float = 0.0,
    epoch_done: Callable[[], None] | None = None,
    adversary: Adversary | None = None,
    betas: tuple[float, float] = (0.9, 0.999),
) -> TrainingHistory:
    """Train ``model`` in place with Adam.

    Parameters
    ----------
    model
        A ``torch.nn.Module``.
    batch_loss
        ``batch_loss(index)`` → scalar torch loss (the mean over the batch) of the training
        rows ``index`` (an int array).
    rows
        The training rows (indices into the caller's arrays).
    epochs, batch_size, learning_rate
        Each epoch visits ``len(rows)`` rows in batches of ``batch_size``.
    rng
        Draws the batches: a permutation of ``rows`` per epoch, or with ``probabilities``
        (one per row, summing to 1) ``len(rows)`` rows drawn with replacement (weighted
        events as an unweighted stream).
    validation_loss
        ``validation_loss()`` → float, evaluated after each epoch with the model in eval mode
        and no gradient; the state of the best epoch is loaded at the end.
    cosine
        Cosine annealing of the learning rate from ``learning_rate`` to
        ``final_lr_ratio * learning_rate``: ``"epoch"`` steps it once per epoch (over
        ``epochs``), ``"step"`` once per batch (over all the batches of the training);
        ``None``: a constant learning rate.
    final_lr_ratio
        The annealed learning rate's floor, in units of ``learning_rate``.
    epoch_done
        Called after each epoch (e.g. to advance a progress bar).
    adversary
        A network trained against ``model`` (:class:`Adversary`); the learning rate, its
        schedule and ``betas`` apply to both optimisers, and a ``"step"`` schedule steps each
        optimiser's learning rate when that optimiser steps.
    betas
        Adam's decay rates of the gradient's moments (GANs use a small first one:
        Gulrajani et al. 2017 train with (0, 0.9)).

    Raises
    ------
    ConfigError
        An unknown ``cosine`` schedule.
    """
    import torch

    if cosine is not None and cosine not in COSINE_SCHEDULES:
        raise ConfigError(f"cosine: expected one of {COSINE_SCHEDULES} or None, got {cosine!r}")
    rows = np.asarray(rows)
    batches = max(1, -(-rows.size // batch_size))
    adv_ids = set() if adversary is None else {id(p) for p in adversary.parameters}
    opts = [
        torch.optim.Adam(
            [p for p in model.parameters() if id(p) not in adv_ids], lr=learning_rate, betas=betas
        )
    ]
    steps = [batches if adversary is None else -(-batches // adversary.ratio)]
    if adversary is not None:
        opts.append(torch.optim.Adam(adversary.parameters, lr=learning_rate, betas=betas))
        steps.append(batches)
    scheds = []
    if cosine is not None:
        scheds = [
            torch.optim.lr_scheduler.CosineAnnealingLR(
                o, epochs * (n if cosine == "step" else 1), eta_min=final_lr_ratio * learning_rate
            )
            for o, n in zip(opts, steps, strict=True)
        ]

    def update(k: int, loss: Any) -> None:  # one step of optimiser k (0 the model's)
        opts[k].zero_grad()
        loss.backward()
        opts[k].step()
        if cosine == "step":
            scheds[k].step()

    hist = TrainingHistory()
    best, state = np.inf, None
    for epoch in range(epochs):
        model.train()
        if probabilities is None:
            order = rng.permutation(rows)
        else:
            order = rows[rng.choice(rows.size, rows.size, replace=True, p=probabilities)]
        total, seen, adv_total = 0.0, 0, 0.0
        for b, start in enumerate(range(0, order.size, batch_size)):
            batch = order[start : start + batch_size]
            if adversary is not None:
                loss = adversary.batch_loss(batch)
                update(1, loss)
                adv_total += float(loss.detach()) * batch.size
                if (b + 1) % adversary.ratio and start + batch_size < order.size:
                    continue
            loss = batch_loss(batch)
            update(0, loss)
            total += float(loss.detach()) * batch.size
            seen += batch.size
        hist.train.append(total / max(seen, 1))
        if adversary is not None:
            hist.adversary.append(adv_total / max(order.size, 1))
        if cosine == "epoch":
            for sc in scheds:
                sc.step()
        if validation_loss is not None:
            model.eval()
            with torch.no_grad():
                v = float(validation_loss())
            hist.validation.append(v)
            if v < best:
                best, hist.best_epoch = v, epoch
                state = {k: t.clone() for k, t in model.state_dict().items()}
        if epoch_done is not None:
            epoch_done()
    if state is not None:
        model.load_state_dict(state)
    else:
        hist.best_epoch = epochs - 1
    model.eval()
    return hist

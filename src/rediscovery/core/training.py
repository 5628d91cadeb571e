"""One torch training loop for the package's networks (the anomaly autoencoder, CATHODE's flow
and the parameterised classifier; the event generators of :mod:`rediscovery.higgs.generate`):
Adam on mini-batches, optionally a cosine learning-rate schedule (Loshchilov & Hutter 2017,
arXiv:1608.03983) and the state of the epoch with the lowest validation loss kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError

__all__ = ["COSINE_SCHEDULES", "TrainingHistory", "train_torch"]

#: ``train_torch(cosine=…)``: anneal the learning rate once per epoch or once per batch.
COSINE_SCHEDULES: tuple[str, ...] = ("epoch", "step")


@dataclass
class TrainingHistory:
    """Losses per epoch: ``train`` (mean over the epoch's batches, weighted by their sizes) and
    ``validation`` (empty without a validation loss); ``best_epoch`` the kept one (0-based)."""

    train: list[float] = field(default_factory=list)
    validation: list[float] = field(default_factory=list)
    best_epoch: int = -1


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

    Raises
    ------
    ConfigError
        An unknown ``cosine`` schedule.
    """
    import torch

    if cosine is not None and cosine not in COSINE_SCHEDULES:
        raise ConfigError(f"cosine: expected one of {COSINE_SCHEDULES} or None, got {cosine!r}")
    rows = np.asarray(rows)
    opt = torch.optim.Adam(model.parameters(), lr=learning_rate)
    sched = None
    if cosine is not None:
        batches = max(1, -(-rows.size // batch_size))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            opt,
            epochs * (batches if cosine == "step" else 1),
            eta_min=final_lr_ratio * learning_rate,
        )
    hist = TrainingHistory()
    best, state = np.inf, None
    for epoch in range(epochs):
        model.train()
        if probabilities is None:
            order = rng.permutation(rows)
        else:
            order = rows[rng.choice(rows.size, rows.size, replace=True, p=probabilities)]
        total = 0.0
        for start in range(0, order.size, batch_size):
            batch = order[start : start + batch_size]
            loss = batch_loss(batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if cosine == "step":
                sched.step()
            total += float(loss.detach()) * batch.size
        hist.train.append(total / max(order.size, 1))
        if cosine == "epoch":
            sched.step()
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

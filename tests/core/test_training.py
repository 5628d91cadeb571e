"""The shared torch training loop: a least-squares fit it must solve, its schedules, the kept
best epoch and its refusals."""

from __future__ import annotations

import numpy as np
import pytest

from rediscovery.core.errors import ConfigError
from rediscovery.core.training import train_torch

torch = pytest.importorskip("torch")


def _line_problem(seed: int = 0):
    """y = 2 x − 1 + noise (σ 0.1): a linear model whose least-squares solution is known in
    closed form (numpy's lstsq is the independent reference)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, 2000)
    y = 2.0 * x - 1.0 + 0.1 * rng.standard_normal(2000)
    return torch.as_tensor(x[:, None], dtype=torch.float32), torch.as_tensor(y), x, y


@pytest.mark.parametrize("cosine", [None, "epoch", "step"])
def test_train_torch_reaches_the_least_squares_line(cosine):
    xt, yt, x, y = _line_problem()
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1)

    def loss(idx):
        return ((model(xt[idx])[:, 0] - yt[idx].float()) ** 2).mean()

    hist = train_torch(
        model,
        loss,
        np.arange(len(x)),
        epochs=30,
        batch_size=64,
        learning_rate=0.05,
        rng=np.random.default_rng(1),
        cosine=cosine,
        final_lr_ratio=0.05,
    )
    slope, intercept = np.linalg.lstsq(np.column_stack([x, np.ones_like(x)]), y, rcond=None)[0]
    assert model.weight.item() == pytest.approx(slope, abs=0.03)
    assert model.bias.item() == pytest.approx(intercept, abs=0.03)
    assert len(hist.train) == 30 and hist.train[-1] < hist.train[0]
    assert hist.validation == [] and hist.best_epoch == 29


def test_train_torch_keeps_the_best_validation_epoch():
    """A validation loss that is lowest after the second epoch: that epoch's weights come back."""
    xt, yt, x, _ = _line_problem()
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1)
    scores = iter([3.0, 1.0, 2.0, 5.0])
    seen = []

    def val():
        seen.append(model.weight.detach().clone())
        return next(scores)

    hist = train_torch(
        model,
        lambda idx: ((model(xt[idx])[:, 0] - yt[idx].float()) ** 2).mean(),
        np.arange(len(x)),
        epochs=4,
        batch_size=256,
        learning_rate=0.05,
        rng=np.random.default_rng(1),
        validation_loss=val,
    )
    assert hist.best_epoch == 1 and hist.validation == [3.0, 1.0, 2.0, 5.0]
    assert torch.equal(model.weight.detach(), seen[1])


def test_train_torch_refuses_an_unknown_schedule():
    model = torch.nn.Linear(1, 1)
    with pytest.raises(ConfigError, match="cosine: expected one of"):
        train_torch(
            model,
            lambda idx: model.weight.sum(),
            np.arange(4),
            epochs=1,
            batch_size=2,
            learning_rate=0.1,
            rng=np.random.default_rng(0),
            cosine="linear",
        )

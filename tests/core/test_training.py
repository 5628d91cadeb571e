"""The shared torch training loop: a least-squares fit it must solve, its schedules, the kept
best epoch, a Wasserstein GAN trained with an adversary, and its refusals."""

from __future__ import annotations

import numpy as np
import pytest

from rediscovery.core.errors import ConfigError
from rediscovery.core.training import Adversary, train_torch

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


def test_an_adversary_trains_a_wasserstein_gan_to_a_gaussian():
    """A generator ``A z + b`` against an MLP critic with the gradient penalty (WGAN-GP,
    Gulrajani et al. 2017, arXiv:1704.00028) learns the mean of data drawn from
    N((2, −1), diag(0.5², 0.3²)), within 0.3 (from about 0 at the start), and the critic's
    Wasserstein estimate shrinks; the critic steps on every batch, the generator on every
    third one. (In one dimension the two-sided penalty has a local minimum at a critic slope
    of the wrong sign, hence more than one.) A GAN ends where its game oscillates: over 28 seeds of
    torch this set-up ended 0.02-0.20 from the data's mean (median 0.11), hence 0.3."""
    rng = np.random.default_rng(0)
    data = torch.as_tensor(rng.normal([2.0, -1.0], [0.5, 0.3], (2000, 2)), dtype=torch.float32)
    torch.manual_seed(0)
    gen = torch.nn.Linear(2, 2)
    critic = torch.nn.Sequential(
        torch.nn.Linear(2, 32), torch.nn.LeakyReLU(0.2), torch.nn.Linear(32, 1)
    )
    model = torch.nn.ModuleDict({"generator": gen, "critic": critic})
    calls = {"generator": 0, "critic": 0}

    def fake(n):
        return gen(torch.randn(n, 2))

    def critic_loss(idx):
        calls["critic"] += 1
        y = data[idx]
        with torch.no_grad():
            f = fake(len(idx))
        eps = torch.rand(len(idx), 1)
        mix = (eps * y + (1 - eps) * f).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(mix).sum(), mix, create_graph=True)
        return (critic(f) - critic(y)).mean() + 10.0 * ((grad.norm(dim=1) - 1) ** 2).mean()

    def generator_loss(idx):
        calls["generator"] += 1
        return -critic(fake(len(idx))).mean()

    epochs, batches = 80, -(-2000 // 64)  # 32 batches: the generator steps 11 times an epoch
    hist = train_torch(
        model,
        generator_loss,
        np.arange(2000),
        epochs=epochs,
        batch_size=64,
        learning_rate=1e-2,
        rng=np.random.default_rng(1),
        adversary=Adversary(parameters=list(critic.parameters()), batch_loss=critic_loss, ratio=3),
        betas=(0.0, 0.9),
        cosine="step",
        final_lr_ratio=0.1,
    )
    assert calls == {"generator": epochs * 11, "critic": epochs * batches}
    assert len(hist.adversary) == epochs and hist.best_epoch == epochs - 1
    assert abs(np.mean(hist.adversary[-5:])) < 0.25 * max(np.abs(hist.adversary))
    with torch.no_grad():
        out = fake(50_000).numpy()
    np.testing.assert_allclose(out.mean(axis=0), [2.0, -1.0], atol=0.3)


def test_adversary_refuses_a_ratio_below_one():
    with pytest.raises(ConfigError, match="ratio: expected an integer >= 1"):
        Adversary(parameters=[], batch_loss=lambda idx: 0.0, ratio=0)

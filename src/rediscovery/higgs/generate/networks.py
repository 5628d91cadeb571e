"""The networks that learn p(y | context), the kinematic part of an event generator.

Every architecture is a ``torch.nn.Module`` with the same two methods, so that
:class:`~rediscovery.higgs.generate.flow.EventFlow` trains, samples and saves any of them:

* ``event_loss(y, ctx)``: the training loss of each event of a batch (a tensor of shape
  ``(n,)``; the caller weights and averages it);
* ``sample(ctx)``: one draw of ``y`` per row of ``ctx`` (torch's global generator, which the
  caller seeds);
* adversarial architectures (:data:`ADVERSARIAL`) also have ``critic_loss(y, ctx)`` (per
  event, like ``event_loss``, which is then the generator's loss) and ``critic`` (the module
  whose parameters the critic's optimiser trains).

With ``FlowConfig.whiten`` (the default) the network is wrapped so that it learns the
whitened vector ``L⁻¹ (y − m)`` (``m``, ``L``: mean and Cholesky factor of the covariance of
the process's training events, set once before training by ``fit_whitening(y, weight)``):
the linear correlations, the bulk of what ties the τ, the lepton and E_T^miss together, are
then exact from the start and the network learns what is left.

Architectures (``FlowConfig.architecture``), three families:

Normalizing flows (loss: the negative log-likelihood)
    ``maf``: affine couplings (RealNVP, Dinh et al. 2017, arXiv:1605.08803);
    ``nsf``: rational-quadratic spline couplings (Durkan et al. 2019, arXiv:1906.04032); both
    from ``zuko``'s masked transforms with two passes (a coupling layer: half of the features
    transformed given the other half, one network pass to sample). Which features form the
    halves changes from layer to layer by :func:`coupling_groups`: the k-th layer splits by
    the k-th bit of the feature index, so that any two features are in different halves in
    some layer and the flow can correlate them (with one fixed split, features of the same
    half were only ever correlated through the other half: the τ–lepton η correlation of
    H→ττ, 0.73 in the simulator, came out 0.0, and the generated visible mass 20 % high).
Continuous-time generative models in plain torch (an MLP of ``transforms`` hidden layers of
``hidden`` SiLU units that sees the noisy vector, a sinusoidal embedding of the time and the
context)
    ``fm``: conditional flow matching (Lipman et al. 2023, arXiv:2210.02747, with the straight
    "rectified flow" path of Liu et al. 2023, arXiv:2209.03003): the velocity v(x_t, t | ctx)
    is regressed on ``y − z`` along ``x_t = (1 − t) z + t y``, ``z ~ N(0, 1)``; sampling
    integrates dx/dt = v from ``t = 0`` to 1 with ``steps`` midpoint (second-order
    Runge–Kutta) steps.
    ``ddpm``: a denoising diffusion model (Ho et al. 2020, arXiv:2006.11239) in continuous
    time with the cosine schedule (Nichol & Dhariwal 2021, arXiv:2102.09672) written as an
    angle, ``x_φ = cos φ · y + sin φ · ε``, φ ∈ [0, π/2], and the network predicting
    ``v = cos φ · ε − sin φ · y`` (Salimans & Ho 2022, arXiv:2202.00512; no division by a
    vanishing signal level); sampling runs the deterministic DDIM update (Song et al. 2021,
    arXiv:2010.02502) from pure noise at φ = π/2 to φ = 0 in ``steps`` equal steps of φ.
A generative adversarial network in plain torch
    ``cgan``: a conditional GAN (Mirza & Osindero 2014, arXiv:1411.1784) with the Wasserstein
    loss and gradient penalty (WGAN-GP, Gulrajani et al. 2017, arXiv:1704.00028): a generator
    MLP ``G(z, ctx)`` of noise ``z ~ N(0, 1)`` (as many numbers as features) and the context,
    and a critic MLP ``D(y, ctx)`` (``transforms`` hidden layers of ``hidden`` LeakyReLU units
    each; no batch normalisation, as the penalty is per event). The critic minimises
    ``D(G(z)) − D(y) + λ (‖∇D(ŷ)‖ − 1)²`` at ``ŷ`` uniform on the segment from ``y`` to
    ``G(z)`` (λ = ``FlowConfig.gradient_penalty``, 10 in the paper), the generator
    ``−D(G(z))``; both per event, so that the caller's event weights apply (an event's weight
    multiplies its real term as it should; the fake and penalty terms, drawn independently of
    the weight, keep their expectation because the weights average to 1 per process).
    Sampling is one pass of the generator. ``zuko`` and the other libraries of the field
    offer no conditional GAN, hence the few lines here.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

__all__ = ["ADVERSARIAL", "ARCHITECTURES", "build_kinematics", "coupling_groups"]

#: Architectures of the kinematic network (``FlowConfig.architecture``).
ARCHITECTURES: tuple[str, ...] = ("nsf", "maf", "fm", "ddpm", "cgan")
#: Architectures trained against a critic (their networks have ``critic_loss`` and
#: ``critic``): ``FlowConfig.critic_steps`` critic updates per generator update.
ADVERSARIAL: tuple[str, ...] = ("cgan",)

#: Frequencies (in units of 2π) of the sinusoidal embedding of the flow-matching time.
_TIME_FREQUENCIES = (1.0, 2.0, 4.0, 8.0)


def coupling_groups(n_features: int, n_layers: int) -> list[np.ndarray]:
    """Per coupling layer, the half (0 or 1) of each feature: layers ``2j`` and ``2j + 1``
    split by bit ``j mod B`` of the feature index (``B`` bits number the features), the
    second with the halves swapped (as RealNVP alternates its masks). Every feature is thus
    transformed given others in one layer of each pair, and any two features fall in
    different halves within ``2B`` layers (two features whose indices differ in a low bit
    sooner: the first 8 within 6 layers)."""
    if n_features < 2:
        raise ValueError(f"a coupling flow needs at least 2 features, got {n_features}")
    bits = max(1, math.ceil(math.log2(n_features)))
    idx = np.arange(n_features)
    out = []
    for k in range(n_layers):
        group = (idx >> ((k // 2) % bits)) & 1
        out.append((group if k % 2 == 0 else 1 - group).astype(np.int64))
    return out


def _coupling_inverse(flow: Any, ctx: Any) -> Any:
    """One draw of a ``zuko`` flow of two-pass masked (coupling) layers per row of ``ctx``,
    with half of the hyper-network evaluations of ``flow(ctx).sample()`` and the same result
    (to float rounding; ``tests/higgs/generate/test_flow.py`` checks it against zuko).

    ``zuko`` inverts a layer of ``passes`` passes by evaluating its hyper-network ``passes``
    times on all rows, the first time at ``x = 0``. In a coupling layer the first pass only
    fixes the features of the first half, whose parameters depend on the context alone; the
    generator's contexts take a handful of values (one setting, four jet classes), so that
    pass is evaluated on the distinct contexts and broadcast. zuko offers no such sampler,
    hence these lines (written against zuko 1.6's ``MaskedAutoregressiveTransform``)."""
    import torch
    from zuko.transforms import DependentTransform
    from zuko.utils import unpack

    layers = list(flow.transform.transforms)
    if any(getattr(layer, "passes", None) != 2 for layer in layers):
        return flow(ctx).sample()

    def transform(layer: Any, phi: Any) -> Any:  # as MaskedAutoregressiveTransform.meta
        phi = unpack(phi.unflatten(-1, (-1, layer.total)), layer.shapes)
        return DependentTransform(layer.univariate(*phi), 1)

    y = flow(ctx).base.rsample()  # zuko's draw of the base noise
    # the distinct contexts: rows compared as bytes (torch.unique(dim=0) sorts 30 times slower)
    rows = np.ascontiguousarray(ctx.numpy())
    _, first, where = np.unique(
        rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel(),
        return_index=True,
        return_inverse=True,
    )
    uniq, where = ctx[torch.from_numpy(first)], torch.from_numpy(where.ravel())
    zeros = torch.zeros(len(uniq), y.shape[-1], dtype=y.dtype)
    for layer in reversed(layers):
        first = layer.hyper(torch.cat([zeros, uniq], dim=-1))[where]
        x = transform(layer, first).inv(y)  # right for the first half's features
        y = transform(layer, layer.hyper(torch.cat([x, ctx], dim=-1))).inv(y)
    return y


def build_kinematics(n_features: int, n_context: int, cfg: Any) -> Any:
    """The untrained network of architecture ``cfg.architecture`` (a ``FlowConfig``) for
    ``n_features`` dimensions given ``n_context`` conditioning numbers."""
    import torch

    class ZukoFlow(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            from zuko.distributions import DiagNormal
            from zuko.flows import Flow, MaskedAutoregressiveTransform, UnconditionalDistribution
            from zuko.transforms import MonotonicRQSTransform

            extra: dict[str, Any] = {}
            if cfg.architecture == "nsf":
                extra = {
                    "univariate": functools.partial(MonotonicRQSTransform, slope=1e-3),
                    "shapes": [(cfg.bins,), (cfg.bins,), (cfg.bins - 1,)],
                }
            half = -(-n_features // 2)  # zuko's pass of a feature is order // half
            layers = [
                MaskedAutoregressiveTransform(
                    features=n_features,
                    context=n_context,
                    passes=2,
                    order=torch.as_tensor(group * half),
                    hidden_features=[cfg.hidden] * 2,
                    **extra,
                )
                for group in coupling_groups(n_features, cfg.transforms)
            ]
            base = UnconditionalDistribution(
                DiagNormal,
                loc=torch.zeros(n_features),
                scale=torch.ones(n_features),
                buffer=True,
            )
            self.flow = Flow(layers, base)

        def event_loss(self, y: Any, ctx: Any) -> Any:
            return -self.flow(ctx).log_prob(y)

        def sample(self, ctx: Any) -> Any:
            return _coupling_inverse(self.flow, ctx)

    class TimeMLP(torch.nn.Module):
        """An MLP of (x, sinusoidal embedding of a time in [0, 1], context) → n_features."""

        def __init__(self) -> None:
            super().__init__()
            n_in = n_features + 2 * len(_TIME_FREQUENCIES) + n_context
            layers: list[torch.nn.Module] = []
            for _ in range(cfg.transforms):
                layers += [torch.nn.Linear(n_in, cfg.hidden), torch.nn.SiLU()]
                n_in = cfg.hidden
            layers.append(torch.nn.Linear(n_in, n_features))
            self.velocity = torch.nn.Sequential(*layers)  # the name of saved flows' weights
            self.register_buffer(
                "freq", 2.0 * torch.pi * torch.tensor(_TIME_FREQUENCIES), persistent=False
            )

        def _v(self, x: Any, t: Any, ctx: Any) -> Any:
            arg = t[:, None] * self.freq[None, :]
            return self.velocity(torch.cat([x, torch.sin(arg), torch.cos(arg), ctx], dim=1))

    class FlowMatching(TimeMLP):
        def event_loss(self, y: Any, ctx: Any) -> Any:
            z = torch.randn_like(y)
            t = torch.rand(len(y), dtype=y.dtype)
            xt = (1.0 - t[:, None]) * z + t[:, None] * y
            return torch.sum((self._v(xt, t, ctx) - (y - z)) ** 2, dim=1)

        def sample(self, ctx: Any) -> Any:
            x = torch.randn(len(ctx), n_features)
            h = 1.0 / cfg.steps
            for k in range(cfg.steps):  # ODE steps (a handful), each vectorised over events
                t = torch.full((len(ctx),), k * h)
                mid = x + 0.5 * h * self._v(x, t, ctx)
                x = x + h * self._v(mid, t + 0.5 * h, ctx)
            return x

    class Diffusion(TimeMLP):
        # time t in [0, 1] ↔ angle φ = t π/2: t = 0 the data, t = 1 pure noise
        def event_loss(self, y: Any, ctx: Any) -> Any:
            eps = torch.randn_like(y)
            t = torch.rand(len(y), dtype=y.dtype)
            c, s = torch.cos(0.5 * torch.pi * t)[:, None], torch.sin(0.5 * torch.pi * t)[:, None]
            v = c * eps - s * y
            return torch.sum((self._v(c * y + s * eps, t, ctx) - v) ** 2, dim=1)

        def sample(self, ctx: Any) -> Any:
            x = torch.randn(len(ctx), n_features)
            for k in range(cfg.steps, 0, -1):  # DDIM steps from t = 1 to 0
                t = torch.full((len(ctx),), k / cfg.steps)
                phi, phi_next = 0.5 * math.pi * k / cfg.steps, 0.5 * math.pi * (k - 1) / cfg.steps
                v = self._v(x, t, ctx)
                x0 = math.cos(phi) * x - math.sin(phi) * v
                eps = math.sin(phi) * x + math.cos(phi) * v
                x = math.cos(phi_next) * x0 + math.sin(phi_next) * eps
            return x

    def mlp(n_in: int, n_out: int) -> torch.nn.Sequential:
        layers: list[torch.nn.Module] = []
        for _ in range(cfg.transforms):
            layers += [torch.nn.Linear(n_in, cfg.hidden), torch.nn.LeakyReLU(0.2)]
            n_in = cfg.hidden
        return torch.nn.Sequential(*layers, torch.nn.Linear(n_in, n_out))

    class ConditionalGAN(torch.nn.Module):
        """WGAN-GP generator ``G(z, ctx)`` and critic ``D(y, ctx)`` (see the module docstring)."""

        def __init__(self) -> None:
            super().__init__()
            self.generator = mlp(n_features + n_context, n_features)
            self.critic = mlp(n_features + n_context, 1)

        def _fake(self, ctx: Any) -> Any:
            z = torch.randn(len(ctx), n_features, dtype=ctx.dtype)
            return self.generator(torch.cat([z, ctx], dim=1))

        def _d(self, y: Any, ctx: Any) -> Any:
            return self.critic(torch.cat([y, ctx], dim=1))[:, 0]

        def event_loss(self, y: Any, ctx: Any) -> Any:  # the generator's (y: its count only)
            return -self._d(self._fake(ctx), ctx)

        def critic_loss(self, y: Any, ctx: Any) -> Any:
            with torch.no_grad():
                fake = self._fake(ctx)
            eps = torch.rand(len(y), 1, dtype=y.dtype)
            mix = (eps * y + (1.0 - eps) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(self._d(mix, ctx).sum(), mix, create_graph=True)
            penalty = (torch.linalg.vector_norm(grad, dim=1) - 1.0) ** 2
            return self._d(fake, ctx) - self._d(y, ctx) + cfg.gradient_penalty * penalty

        def sample(self, ctx: Any) -> Any:
            return self._fake(ctx)

    class Whitened(torch.nn.Module):
        """A network learning ``L⁻¹ (y − m)`` instead of ``y``: ``m`` and the Cholesky factor
        ``L`` of the training events' covariance (buffers, set by :meth:`fit_whitening`; the
        identity until then) remove the linear correlations before the network sees them."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner
            self.register_buffer("shift", torch.zeros(n_features))
            self.register_buffer("chol", torch.eye(n_features))

        def fit_whitening(self, y: Any, weight: Any) -> None:
            w = weight / weight.sum()
            mean = (w[:, None] * y).sum(dim=0)
            d = y - mean
            cov = (w[:, None] * d).T @ d + 1e-6 * torch.eye(n_features)
            self.shift.copy_(mean)
            self.chol.copy_(torch.linalg.cholesky(cov))

        def event_loss(self, y: Any, ctx: Any) -> Any:
            return self.inner.event_loss(self._whitened(y), ctx)

        def _whitened(self, y: Any) -> Any:
            return torch.linalg.solve_triangular(self.chol, (y - self.shift).T, upper=False).T

        def critic_loss(self, y: Any, ctx: Any) -> Any:  # adversarial networks only
            return self.inner.critic_loss(self._whitened(y), ctx)

        @property
        def critic(self) -> Any:  # adversarial networks only
            return self.inner.critic

        def sample(self, ctx: Any) -> Any:
            return self.inner.sample(ctx) @ self.chol.T + self.shift

    inner = {"fm": FlowMatching, "ddpm": Diffusion, "cgan": ConditionalGAN}.get(
        cfg.architecture, ZukoFlow
    )()
    return Whitened(inner) if cfg.whiten else inner

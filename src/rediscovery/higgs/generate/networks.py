"""The networks that learn p(y | context), the kinematic part of an event generator.

Every architecture is a ``torch.nn.Module`` with the same two methods, so that
:class:`~rediscovery.higgs.generate.flow.EventFlow` trains, samples and saves any of them:

* ``loss(y, ctx)``: the training loss of a batch (a scalar tensor);
* ``sample(ctx)``: one draw of ``y`` per row of ``ctx`` (torch's global generator, which the
  caller seeds).

Architectures (``FlowConfig.architecture``):

``nsf``
    Neural spline flow (Durkan et al. 2019, arXiv:1906.04032), rational-quadratic spline
    couplings from ``zuko``; loss: the negative log-likelihood.
``maf``
    Affine couplings (RealNVP, Dinh et al. 2017, arXiv:1605.08803) from ``zuko``; less
    flexible, several times faster to sample on CPU (no spline softmax).
``fm``
    Conditional flow matching (Lipman et al. 2023, arXiv:2210.02747, with the straight
    "rectified flow" path of Liu et al. 2023, arXiv:2209.03003) in plain torch: an MLP
    velocity field v(x_t, t | ctx) is regressed on ``y − z`` along
    ``x_t = (1 − t) z + t y``, ``z ~ N(0, 1)``; sampling integrates dx/dt = v from ``t = 0``
    to 1 with ``steps`` midpoint (second-order Runge–Kutta) steps.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ARCHITECTURES", "build_kinematics"]

#: Architectures of the kinematic network (``FlowConfig.architecture``).
ARCHITECTURES: tuple[str, ...] = ("nsf", "maf", "fm")

#: Frequencies (in units of 2π) of the sinusoidal embedding of the flow-matching time.
_TIME_FREQUENCIES = (1.0, 2.0, 4.0, 8.0)


def build_kinematics(n_features: int, n_context: int, cfg: Any) -> Any:
    """The untrained network of architecture ``cfg.architecture`` (a ``FlowConfig``) for
    ``n_features`` dimensions given ``n_context`` conditioning numbers."""
    import torch
    import zuko

    class ZukoFlow(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            common = {
                "features": n_features,
                "context": n_context,
                "transforms": cfg.transforms,
                "hidden_features": [cfg.hidden] * 2,
                "passes": 2,
            }  # passes=2: coupling layers, one network pass to sample
            if cfg.architecture == "nsf":
                self.flow = zuko.flows.NSF(bins=cfg.bins, **common)
            else:
                self.flow = zuko.flows.MAF(**common)

        def loss(self, y: Any, ctx: Any) -> Any:
            return -self.flow(ctx).log_prob(y).mean()

        def sample(self, ctx: Any) -> Any:
            return self.flow(ctx).sample()

    class FlowMatching(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            n_in = n_features + 2 * len(_TIME_FREQUENCIES) + n_context
            layers: list[torch.nn.Module] = []
            for _ in range(cfg.transforms):
                layers += [torch.nn.Linear(n_in, cfg.hidden), torch.nn.SiLU()]
                n_in = cfg.hidden
            layers.append(torch.nn.Linear(n_in, n_features))
            self.velocity = torch.nn.Sequential(*layers)
            self.register_buffer(
                "freq", 2.0 * torch.pi * torch.tensor(_TIME_FREQUENCIES), persistent=False
            )

        def _v(self, x: Any, t: Any, ctx: Any) -> Any:
            arg = t[:, None] * self.freq[None, :]
            return self.velocity(torch.cat([x, torch.sin(arg), torch.cos(arg), ctx], dim=1))

        def loss(self, y: Any, ctx: Any) -> Any:
            z = torch.randn_like(y)
            t = torch.rand(len(y), dtype=y.dtype)
            xt = (1.0 - t[:, None]) * z + t[:, None] * y
            return torch.mean((self._v(xt, t, ctx) - (y - z)) ** 2) * n_features

        def sample(self, ctx: Any) -> Any:
            x = torch.randn(len(ctx), n_features)
            h = 1.0 / cfg.steps
            for k in range(cfg.steps):  # ODE steps (a handful), each vectorised over events
                t = torch.full((len(ctx),), k * h)
                mid = x + 0.5 * h * self._v(x, t, ctx)
                x = x + h * self._v(mid, t + 0.5 * h, ctx)
            return x

    if cfg.architecture == "fm":
        return FlowMatching()
    return ZukoFlow()

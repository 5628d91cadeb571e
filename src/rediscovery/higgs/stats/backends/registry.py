"""The engine registry: a fit back-end by name.

:data:`ENGINES` maps each back-end name to its engine class (an implementation of
:class:`~rediscovery.higgs.stats.backends.base.Engine`); :func:`make_engine` is the one place where
a name becomes an engine, so no caller needs an ``if backend == ...`` branch.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from rediscovery.core.errors import ConfigError
from rediscovery.higgs.stats.backends.base import Engine
from rediscovery.higgs.stats.backends.minuit import MinuitEngine
from rediscovery.higgs.stats.backends.pyhf import PyhfEngine
from rediscovery.higgs.stats.model import BinnedModel

__all__ = ["BACKENDS", "ENGINES", "Backend", "make_engine"]

#: Back-end name → engine class.
ENGINES: dict[str, type[MinuitEngine] | type[PyhfEngine]] = {
    "pyhf": PyhfEngine,
    "minuit": MinuitEngine,
}
#: The registered back-end names.
BACKENDS: tuple[str, ...] = tuple(ENGINES)
Backend = Literal["pyhf", "minuit"]


def make_engine(backend: str, model: BinnedModel, observed: np.ndarray,
                aux_gamma: np.ndarray | None = None, aux_alpha: np.ndarray | None = None,
                mu_bounds: tuple[float, float] | None = None) -> Engine:
    """The engine of back-end ``backend`` for ``model`` and one dataset.

    Raises
    ------
    ConfigError
        If ``backend`` is not registered; the message lists the allowed names.
    """
    try:
        cls = ENGINES[backend]
    except (KeyError, TypeError):
        raise ConfigError(f"backend must be one of {BACKENDS}, got {backend!r}") from None
    return cls(model, observed, aux_gamma, aux_alpha, mu_bounds)

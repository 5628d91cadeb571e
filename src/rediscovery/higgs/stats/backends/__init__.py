"""Fit back-ends of the binned likelihood, behind one engine interface (team STAT).

Reads a :class:`~rediscovery.higgs.stats.model.BinnedModel` and observed/auxiliary data.
Writes nothing: returns fitted parameters, NLL values, intervals and CLs to the inference layer.
"""

from rediscovery.higgs.stats.backends.base import Engine, root_interval
from rediscovery.higgs.stats.backends.minuit import AsymptoticCLs, MinuitEngine
from rediscovery.higgs.stats.backends.pyhf import PyhfEngine, workspace_spec
from rediscovery.higgs.stats.backends.registry import BACKENDS, ENGINES, Backend, make_engine

__all__ = [
    "BACKENDS",
    "ENGINES",
    "AsymptoticCLs",
    "Backend",
    "Engine",
    "MinuitEngine",
    "PyhfEngine",
    "make_engine",
    "root_interval",
    "workspace_spec",
]

"""Generative fast simulation, owned by the generative-models team: a conditional generator
(a normalizing flow, a flow-matching or diffusion network, or a conditional GAN) that learns
the simulator's events per process and detector nuisances.
Reads: simulated events (the simulator's table with the nuisance point of each event).
Writes: generated events tables (the simulator's columns), flow folders (``flow.pt`` torch
state_dict + ``flow.json``, and per process ``reweight_<process>.json``, the XGBoost classifier
that weights generated events like simulated ones), two-sample test results.
"""

from __future__ import annotations

from rediscovery.higgs.generate.flow import (
    NUISANCES,
    EventFlow,
    FlowConfig,
    simulate_training_set,
    train_flow,
)
from rediscovery.higgs.generate.transform import FLOW_COLUMNS, EventTransform

__all__ = [
    "FLOW_COLUMNS",
    "NUISANCES",
    "EventFlow",
    "EventTransform",
    "FlowConfig",
    "simulate_training_set",
    "train_flow",
]

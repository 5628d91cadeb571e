"""Events, owned by the simulation/data team: the HiggsML-like simulator, readers and validation.
Reads: HiggsML CSV (Kaggle, CERN Open Data), Fair Universe and Parquet events; simulation config.
Writes: events Parquet/CSV (EventId, PRI_*, Weight, Label, Process), truth.json; DataFrames.
"""

from __future__ import annotations

from rediscovery.higgs.events.io import read_events, split_events, validate_events, write_events
from rediscovery.higgs.events.simulate import (
    DETECTOR,
    NUISANCE_DEFAULTS,
    NUISANCE_PRIORS,
    SELECTION,
    DetectorModel,
    Selection,
    draw_nuisances,
    simulate_events,
    simulate_pseudo_data,
)
from rediscovery.higgs.events.validation import compare_to_reference, load_reference

__all__ = [
    "DETECTOR",
    "NUISANCE_DEFAULTS",
    "NUISANCE_PRIORS",
    "SELECTION",
    "DetectorModel",
    "Selection",
    "compare_to_reference",
    "draw_nuisances",
    "load_reference",
    "read_events",
    "simulate_events",
    "simulate_pseudo_data",
    "split_events",
    "validate_events",
    "write_events",
]

"""The methods of ``rediscovery anomaly run --method``, by name."""

from __future__ import annotations

from rediscovery.anomaly.autoencoder import AutoencoderMethod
from rediscovery.anomaly.cathode import CathodeMethod
from rediscovery.anomaly.methods import BumpHuntMethod, IsolationForestMethod, KNNDensityMethod
from rediscovery.anomaly.overdensity import CWoLaMethod
from rediscovery.anomaly.supervised import ParameterisedMethod

__all__ = ["METHODS", "NEEDS_REFERENCE"]

#: name -> method class (each a dataclass with defaults: ``METHODS[name]()`` works).
METHODS: dict[str, type] = {
    "isolation-forest": IsolationForestMethod,
    "knn": KNNDensityMethod,
    "autoencoder": AutoencoderMethod,
    "cwola": CWoLaMethod,
    "cathode": CathodeMethod,
    "parameterised": ParameterisedMethod,
    "bumphunt": BumpHuntMethod,
}
#: Methods that learn the Standard Model from the labelled reference sample.
NEEDS_REFERENCE: frozenset[str] = frozenset({"knn", "autoencoder", "parameterised"})

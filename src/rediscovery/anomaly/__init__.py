"""Anomaly detection, owned by the anomaly-challenge team: find new physics nobody described.

Reads: an events table (any file :func:`rediscovery.higgs.events.io.read_events` reads), the
labelled SM reference MC and, only in scoring, ``truth.json``.
Writes: ``data.parquet``, ``reference.parquet``, ``truth.json`` (``anomaly simulate``, the ττ
or the dijet data set);
``scores.parquet`` (``EventId, anomaly_score, rank``), ``anomaly.json``, ``scores.png``,
``spectrum.png`` (``anomaly run``); the table of methods (``anomaly score``).

Modules: :mod:`~rediscovery.anomaly.datasets` (the challenge data),
:mod:`~rediscovery.anomaly.methods` (the interface, k-NN, bump-hunt method),
:mod:`~rediscovery.anomaly.outliers` (isolation forest), :mod:`~rediscovery.anomaly.autoencoder`,
:mod:`~rediscovery.anomaly.overdensity` (CWoLa hunting), :mod:`~rediscovery.anomaly.cathode`
(CATHODE: a conditional flow of the sidebands), :mod:`~rediscovery.anomaly.dijet` (the
LHC-Olympics-like dijet data set), :mod:`~rediscovery.anomaly.bumphunt`,
:mod:`~rediscovery.anomaly.supervised` (the parameterised supervised classifier of a resonance
family), :mod:`~rediscovery.anomaly.windows` (mass-window bookkeeping),
:mod:`~rediscovery.anomaly.kfold` (the k-fold classifier of CWoLa and CATHODE),
:mod:`~rediscovery.anomaly.scoring`, :mod:`~rediscovery.anomaly.registry`, ``plots``. The
networks train with the package's one torch loop, :func:`rediscovery.core.training.train_torch`.
"""

from __future__ import annotations

from rediscovery.anomaly.autoencoder import AutoencoderMethod
from rediscovery.anomaly.bumphunt import BumpHuntConfig, BumpHuntResult, bump_hunt
from rediscovery.anomaly.cathode import CathodeMethod, FlowSettings, cathode_scores
from rediscovery.anomaly.datasets import Challenge, ChallengeConfig, simulate_challenge
from rediscovery.anomaly.dijet import DIJET_SIGNAL_REGION, DijetConfig, simulate_dijet
from rediscovery.anomaly.methods import (
    AnomalyMethod,
    BumpHuntMethod,
    IsolationForestMethod,
    KNNDensityMethod,
    MethodResult,
)
from rediscovery.anomaly.outliers import (
    IsolationForestConfig,
    OutlierResult,
    isolation_forest_scores,
)
from rediscovery.anomaly.overdensity import CWoLaMethod
from rediscovery.anomaly.registry import METHODS
from rediscovery.anomaly.scoring import idealised_scores, score_method, sic_curve
from rediscovery.anomaly.supervised import ParameterisedMethod, simulate_signal_family

__all__ = [
    "DIJET_SIGNAL_REGION",
    "METHODS",
    "AnomalyMethod",
    "AutoencoderMethod",
    "BumpHuntConfig",
    "BumpHuntMethod",
    "BumpHuntResult",
    "CWoLaMethod",
    "CathodeMethod",
    "Challenge",
    "ChallengeConfig",
    "DijetConfig",
    "FlowSettings",
    "IsolationForestConfig",
    "IsolationForestMethod",
    "KNNDensityMethod",
    "MethodResult",
    "OutlierResult",
    "ParameterisedMethod",
    "bump_hunt",
    "cathode_scores",
    "idealised_scores",
    "isolation_forest_scores",
    "score_method",
    "sic_curve",
    "simulate_challenge",
    "simulate_dijet",
    "simulate_signal_family",
]

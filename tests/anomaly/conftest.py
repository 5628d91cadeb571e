"""Small challenge data sets shared by the anomaly tests (simulated once per session)."""

from __future__ import annotations

import pytest

from rediscovery.anomaly.datasets import ChallengeConfig, simulate_challenge

#: about 12,000 SM events, 2,000 reference events: a few seconds each. The MMC keeps its
#: default 256 points: with 64 its mass spectrum has structure that fakes bumps
SMALL = {"lumi_factor": 0.03, "n_reference": 2000}


@pytest.fixture(scope="session")
def resonance_challenge():
    """X(500 GeV) → ττ at inclusive S/√B = 5 (about 550 events)."""
    return simulate_challenge(
        ChallengeConfig(signal="resonance", strength=5.0, mass=500.0, seed=11, **SMALL)
    )


@pytest.fixture(scope="session")
def outlier_challenge():
    """The VBF X(1.2 TeV) outlier population at inclusive S/√B = 2 (about 220 events)."""
    return simulate_challenge(
        ChallengeConfig(signal="outlier", strength=2.0, mass=1200.0, seed=12, **SMALL)
    )


@pytest.fixture(scope="session")
def empty_challenge():
    """No signal."""
    return simulate_challenge(ChallengeConfig(signal="none", seed=13, **SMALL))

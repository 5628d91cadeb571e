"""Small challenge data sets shared by the anomaly tests (simulated once per session)."""

from __future__ import annotations

import pytest

from rediscovery.anomaly.datasets import ChallengeConfig, simulate_challenge

#: about 20,000 SM events, 3,000 reference events, a coarse MMC: a few seconds each
SMALL = {"lumi_factor": 0.05, "n_reference": 3000, "mmc_points": 64}


@pytest.fixture(scope="session")
def resonance_challenge():
    """X(500 GeV) → ττ at inclusive S/√B = 5 (about 720 events)."""
    return simulate_challenge(
        ChallengeConfig(signal="resonance", strength=5.0, mass=500.0, seed=11, **SMALL)
    )


@pytest.fixture(scope="session")
def outlier_challenge():
    """The VBF X(1.2 TeV) outlier population at inclusive S/√B = 2 (about 290 events)."""
    return simulate_challenge(
        ChallengeConfig(signal="outlier", strength=2.0, mass=1200.0, seed=12, **SMALL)
    )


@pytest.fixture(scope="session")
def empty_challenge():
    """No signal."""
    return simulate_challenge(ChallengeConfig(signal="none", seed=13, **SMALL))

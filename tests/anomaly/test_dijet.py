"""The LHC-Olympics-like dijet generator against its definition (Kasieczka et al. 2021)."""

from __future__ import annotations

import numpy as np
import pytest

from rediscovery.anomaly import DIJET_SIGNAL_REGION, DijetConfig, simulate_dijet
from rediscovery.anomaly.dijet import SIGNAL_MASSES
from rediscovery.core.errors import ConfigError


@pytest.fixture(scope="module")
def dijet():
    return simulate_dijet(DijetConfig(n_background=50_000, s_over_b=0.05, seed=3))


def test_signal_hidden_at_the_requested_s_over_b(dijet):
    data, _, truth = dijet
    assert "Label" not in data.columns and len(data) == 50_000 + truth["n_signal"]
    # S/B in the signal region as asked, within the binomial spread of the SR share
    s_b = truth["n_signal_in_sr"] / truth["n_background_in_sr"]
    assert s_b == pytest.approx(0.05, rel=0.15)
    sig = np.isin(data["EventId"], truth["signal_event_ids"])
    lo, hi = DIJET_SIGNAL_REGION
    m = data["mjj"].to_numpy()
    assert truth["n_signal_in_sr"] == int((sig & (m >= lo) & (m < hi)).sum())


def test_signal_and_background_shapes(dijet):
    data, _, truth = dijet
    sig = np.isin(data["EventId"], truth["signal_event_ids"])
    s, b = data[sig], data[~sig]
    m_w, m_x, m_y = SIGNAL_MASSES
    # the signal: jet masses at m_Y (lighter) and m_X - m_Y (difference), two-pronged
    assert np.median(s["mj1"]) == pytest.approx(m_y, rel=0.05)
    assert np.median(s["delta_mj"]) == pytest.approx(m_x - m_y, rel=0.05)
    assert np.median(s["mjj"]) == pytest.approx(m_w, rel=0.03)
    assert s["tau21_1"].mean() < 0.4 < 0.6 < b["tau21_1"].mean()
    # QCD: a falling m_jj spectrum, jet masses growing with m_jj, tau21 falling with the mass
    counts = np.histogram(b["mjj"], bins=np.linspace(2600, 5000, 9))[0]
    assert np.all(np.diff(counts) < 0)
    assert np.corrcoef(np.log(b["mjj"]), np.log(b["mj1"]))[0, 1] > 0.1
    assert np.corrcoef(np.log(b["mj1"]), b["tau21_1"])[0, 1] < -0.05


def test_seeded_and_signal_free():
    a = simulate_dijet(DijetConfig(n_background=2000, seed=1))[0]
    b = simulate_dijet(DijetConfig(n_background=2000, seed=1))[0]
    assert a.equals(b)
    data, _, truth = simulate_dijet(DijetConfig(n_background=2000, s_over_b=0.0))
    assert truth["n_signal"] == 0 and truth["signal"] == "none" and len(data) == 2000
    with pytest.raises(ConfigError, match="s_over_b"):
        DijetConfig(s_over_b=2.0)


def test_jet_masses_shifted_by_a_fraction_of_mjj():
    # m_J -> m_J + c m_jj for every jet: the same events (same seed) with c = 0.1 differ from
    # those with c = 0 by exactly 0.1 m_jj in the lighter jet's mass, delta_mj unchanged;
    # the signal's lighter jet moves from m_Y to m_Y + 0.1 m_W'
    plain = simulate_dijet(DijetConfig(n_background=5000, s_over_b=0.05, seed=4))[0]
    data, _, truth = simulate_dijet(
        DijetConfig(n_background=5000, s_over_b=0.05, seed=4, mjj_correlation=0.1)
    )
    np.testing.assert_allclose(data["mj1"], plain["mj1"] + 0.1 * plain["mjj"], rtol=1e-12)
    np.testing.assert_allclose(data["delta_mj"], plain["delta_mj"], rtol=1e-9, atol=1e-9)
    sig = np.isin(data["EventId"], truth["signal_event_ids"])
    m_w, _, m_y = SIGNAL_MASSES
    assert np.median(data.loc[sig, "mj1"]) == pytest.approx(m_y + 0.1 * m_w, rel=0.05)
    with pytest.raises(ConfigError, match="mjj_correlation"):
        DijetConfig(mjj_correlation=-0.1)

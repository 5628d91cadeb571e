"""Unblinding compares results with the hidden truth (rediscovery.core.unblind)."""

from __future__ import annotations

import json

import pytest

from rediscovery.cli import main
from rediscovery.core.errors import InputError
from rediscovery.core.unblind import unblind


def test_higgs_and_cosmo_results_against_truth(tmp_path, capsys):
    (tmp_path / "simulate").mkdir()
    (tmp_path / "simulate" / "truth.json").write_text(json.dumps(
        {"mu": 1.2, "nuisances": {"tes": 1.0}, "H0": 70.0}))
    (tmp_path / "results.json").write_text(json.dumps({"mu_hat": 1.0, "mu_68": [0.9, 1.1]}))
    (tmp_path / "sn_posterior.json").write_text(json.dumps(
        {"H0": {"mean": 69.0, "lo68": 68.0, "hi68": 71.0, "std": 1.5}}))
    rows = {r["parameter"]: r for r in unblind(tmp_path)}
    assert rows["mu"]["pull"] == pytest.approx((1.0 - 1.2) / 0.1)
    assert rows["mu"]["covered"] is False
    assert rows["H0"]["covered"] is True
    assert rows["H0"]["pull"] == pytest.approx(-1.0 / 2.0)
    assert main(["unblind", str(tmp_path)]) == 0
    assert "mu" in capsys.readouterr().out


def test_no_truth_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match=r"no truth\.json"):
        unblind(tmp_path)


def test_a_parameter_of_several_fits_gets_one_row_per_fit(tmp_path):
    """SN-only, CMB-only and joint posteriors of Ωm: three rows against the same truth."""
    (tmp_path / "simulate").mkdir()
    (tmp_path / "simulate" / "truth.json").write_text(json.dumps({"Om": 0.3, "H0": 70.0}))
    for fit, mean in (("sn", 0.25), ("cmb", 0.4), ("joint", 0.31)):
        (tmp_path / fit).mkdir()
        (tmp_path / fit / f"{fit}_posterior.json").write_text(json.dumps(
            {"Om": {"mean": mean, "std": 0.05, "lo68": mean - 0.05, "hi68": mean + 0.05}}))
    (tmp_path / "joint" / "joint_posterior.json").write_text(json.dumps(
        {"Om": {"mean": 0.31, "std": 0.05, "lo68": 0.26, "hi68": 0.36},
         "H0": {"mean": 72.0, "std": 2.0, "lo68": 70.0, "hi68": 74.0}}))
    rows = {r["parameter"]: r for r in unblind(tmp_path)}
    assert set(rows) == {"Om (sn)", "Om (cmb)", "Om (joint)", "H0"}  # H0: one fit, plain name
    assert rows["Om (cmb)"]["true"] == 0.3 and rows["Om (cmb)"]["covered"] is False
    assert rows["Om (sn)"]["pull"] == pytest.approx(-1.0)
    assert rows["Om (joint)"]["covered"] is True and rows["H0"]["pull"] == pytest.approx(1.0)

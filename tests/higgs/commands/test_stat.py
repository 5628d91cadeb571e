"""The ``rediscovery higgs fit`` command, run in-process on small synthetic score files."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from rediscovery.cli import main

matplotlib.use("Agg")

CONTRACT_KEYS = {"mu_hat", "mu_68", "mu_stat_68", "z_discovery_observed",
                 "z_discovery_expected", "ams_best", "converged"}


def write_inputs(tmp_path: Path, n_s: int = 3000, n_b: int = 20000, seed: int = 0,
                 ) -> tuple[Path, Path]:
    """Fixed score function: signal ~ Beta(5, 2), background ~ Beta(2, 5); s = 70, b = 4000."""
    rng = np.random.default_rng(seed)
    s, b = rng.beta(5, 2, n_s), rng.beta(2, 5, n_b)
    mc = pd.DataFrame({
        "score": np.r_[s, b],
        "Weight": np.r_[np.full(n_s, 70.0 / n_s), np.full(n_b, 4000.0 / n_b)],
        "Label": np.r_[np.ones(n_s, int), np.zeros(n_b, int)],
        "Process": np.r_[np.full(n_s, "htautau"), rng.choice(["ztautau", "ttbar"], n_b)],
    })
    scores = tmp_path / "scores.parquet"
    mc.to_parquet(scores)
    obs = np.r_[rng.beta(5, 2, rng.poisson(70)), rng.beta(2, 5, rng.poisson(4000))]
    observed = tmp_path / "observed.csv"
    pd.DataFrame({"score": obs}).to_csv(observed, index=False)
    return scores, observed


def test_fit_cli_writes_contract_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture,
                                           check_png) -> None:
    scores, observed = write_inputs(tmp_path)
    out = tmp_path / "fit"
    code = main(["higgs", "fit", "--scores", str(scores), "--observed", str(observed),
                 "--out", str(out), "--min-bkg", "50", "--max-bins", "5"])
    assert code == 0, capsys.readouterr().err
    res = json.loads((out / "fit.json").read_text())
    assert CONTRACT_KEYS <= set(res)
    assert res["converged"] is True
    lo, hi = res["mu_68"]
    assert lo < res["mu_hat"] < hi
    assert res["mu_stat_68"][0] >= lo and res["mu_stat_68"][1] <= hi
    assert res["cross_check"]["backend"] == "pyhf"
    assert res["cross_check"]["rel_diff_mu_hat"] < 1e-3
    assert res["cross_check"]["rel_diff_z_discovery"] < 1e-3
    assert res["n_bins"] <= 5 and len(res["edges"]) == res["n_bins"] + 1
    assert res["nuisances"] and all("pull" in v for v in res["nuisances"].values())
    for name in ("prefit.png", "postfit.png", "likelihood_scan.png", "pulls.png"):
        check_png(out / name)
    import pyhf

    pyhf.Workspace(json.loads((out / "workspace.json").read_text())).model()
    assert "mu =" in capsys.readouterr().out


def test_fit_cli_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    scores, observed = write_inputs(tmp_path, n_s=300, n_b=2000)
    pd.read_parquet(scores).drop(columns=["Weight"]).to_parquet(tmp_path / "bad.parquet")
    code = main(["higgs", "fit", "--scores", str(tmp_path / "bad.parquet"), "--observed",
                 str(observed), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert "column 'Weight'" in err and err.count("\n") == 1
    code = main(["higgs", "fit", "--scores", str(scores), "--observed",
                 str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o")])
    assert code == 2 and "missing.csv" in capsys.readouterr().err
    bad_obs = tmp_path / "bad_obs.csv"
    pd.DataFrame({"score": [0.5, float("nan")]}).to_csv(bad_obs, index=False)
    code = main(["higgs", "fit", "--scores", str(scores), "--observed", str(bad_obs),
                 "--out", str(tmp_path / "o"), "--min-bkg", "50"])
    err = capsys.readouterr().err
    assert code == 2 and "bad_obs.csv" in err and "row 1" in err


def test_fit_cli_non_convergence_flagged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture) -> None:
    """A failed fit writes converged: false and no numbers, and exits with code 3."""
    from rediscovery.higgs.stats import score_fit

    real_fit = score_fit.fit

    def failing_fit(*args, **kwargs):  # type: ignore[no-untyped-def]
        res = real_fit(*args, **kwargs)
        res.converged = False
        res.messages.append("parameter 'mu' is at its bound (test)")
        return res

    monkeypatch.setattr(score_fit, "fit", failing_fit)
    scores, observed = write_inputs(tmp_path, n_s=300, n_b=2000)
    out = tmp_path / "fit"
    code = main(["higgs", "fit", "--scores", str(scores), "--observed", str(observed),
                 "--out", str(out), "--min-bkg", "50", "--no-plots"])
    assert code == 3
    res = json.loads((out / "fit.json").read_text())
    assert res["converged"] is False and res["mu_hat"] is None and res["mu_68"] is None
    assert "'mu'" in capsys.readouterr().err


def test_toys_cli(tmp_path: Path, capsys: pytest.CaptureFixture, check_png) -> None:
    scores, _ = write_inputs(tmp_path, n_s=500, n_b=4000)
    out = tmp_path / "toys"
    code = main(["higgs", "toys", "--scores", str(scores), "--out", str(out), "--n-toys", "20",
                 "--seed", "3", "--workers", "1", "--min-bkg", "100", "--max-bins", "4"])
    assert code == 0, capsys.readouterr().err
    summ = json.loads((out / "toys.json").read_text())
    assert summ["n_toys"] == 20 and 0 <= summ["coverage"] <= 1
    assert len(pd.read_parquet(out / "toys.parquet")) == 20
    check_png(out / "toy_pulls.png")

"""The SN commands run end to end in-process (tiny sizes) and fail cleanly on bad input."""

from __future__ import annotations

import json

import pandas as pd

from rediscovery.cli import main


def test_sn_pipeline_end_to_end(tmp_path, capsys, check_png):
    sim, lc, fit = tmp_path / "sim", tmp_path / "lc", tmp_path / "fit"
    assert main(["cosmo", "sn-simulate", "--out", str(sim), "--n-sne", "10", "--seed", "5",
                 "--z-max", "0.5"]) == 0
    assert "truth hidden" in capsys.readouterr().out
    truth = json.loads((sim / "truth.json").read_text())
    assert {"H0", "Om", "OL"} <= set(truth)
    assert main(["cosmo", "sn-lightcurves", "--lightcurves", str(sim / "lightcurves.csv"),
                 "--redshifts", str(sim / "redshifts.csv"), "--out", str(lc), "--workers", "1",
                 "--no-progress"]) == 0
    hub = pd.read_csv(lc / "hubble.csv")
    assert {"sn_id", "z", "mu", "mu_err"} <= set(hub.columns) and len(hub) >= 7
    assert (lc / "salt2_fits.csv").is_file() and (lc / "tripp.json").is_file()
    assert main(["cosmo", "sn-fit", str(lc / "hubble.csv"), "--model", "lcdm", "--out",
                 str(fit), "--n-steps", "300", "--n-walkers", "8", "--no-progress",
                 "--truth", str(sim / "truth.json"), "--allow-unconverged"]) == 0
    out = capsys.readouterr().out
    assert "P(ΩΛ>0)" in out
    post = json.loads((fit / "sn_posterior.json").read_text())
    for k in ("Om", "OL"):
        assert {"mean", "std", "median", "lo68", "hi68"} <= set(post[k])
    assert {"n_samples", "rhat", "autocorr_tau", "converged", "dark_energy_evidence"} <= set(post)
    assert post["converged"] is False  # 300 steps are too few, and the JSON says so
    assert pd.read_parquet(fit / post["chain"]).shape[0] == post["n_samples"]
    for png in ("hubble_diagram.png", "om_ol.png", "triangle.png"):
        check_png(fit / png)


def test_sn_fit_bad_input(tmp_path, capsys):
    p = tmp_path / "t.csv"
    p.write_text("z,mu,mu_err\n0.1,38.3,0.1\n0.2,39.9,-0.1\n")
    assert main(["cosmo", "sn-fit", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "t.csv" in err and "mu_err" in err and "[2]" in err
    assert main(["cosmo", "sn-fit", str(p), "--format", "fits", "--out", str(tmp_path)]) == 2
    assert "unknown Hubble-table format 'fits'" in capsys.readouterr().err
    assert main(["cosmo", "sn-fit", str(p), "--model", "ocdm", "--out", str(tmp_path)]) == 2
    assert "--model 'ocdm' unknown" in capsys.readouterr().err

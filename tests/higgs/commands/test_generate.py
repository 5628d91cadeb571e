"""`rediscovery higgs generate train|sample|validate`, run as a user runs them (tiny sizes)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rediscovery.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("generate")
    code = main(
        [
            "higgs",
            "generate",
            "train",
            "--out",
            str(root / "flow"),
            "--events",
            "3000",
            "--epochs",
            "2",
            "--architecture",
            "maf",
            "--transforms",
            "2",
            "--hidden",
            "16",
            "--process",
            "ztautau",
            "--process",
            "wjets",
            "--name",
            "tiny-gen",
            "--registry",
            str(root / "reg"),
        ]
    )
    assert code == 0
    return root


def test_train_writes_a_generator_and_registers_it_with_its_command(trained):
    meta = json.loads((trained / "flow" / "flow.json").read_text())
    assert meta["config"]["architecture"] == "maf" and meta["processes"] == ["ztautau", "wjets"]
    card = json.loads((trained / "reg" / "tiny-gen" / "card.json").read_text())
    assert card["command"].startswith("rediscovery higgs generate train")
    box = {i["name"]: (i["low"], i["high"]) for i in card["inputs"]}
    assert box["tes"] == [0.97, 1.03] or tuple(box["tes"]) == (0.97, 1.03)


def test_sample_by_folder_and_by_name_are_the_same_events(trained):
    a, b = trained / "a.parquet", trained / "b.parquet"
    assert (
        main(
            [
                "higgs",
                "generate",
                "sample",
                str(trained / "flow"),
                "--out",
                str(a),
                "--events",
                "500",
                "--tes",
                "1.01",
                "--seed",
                "4",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "higgs",
                "generate",
                "sample",
                "tiny-gen",
                "--registry",
                str(trained / "reg"),
                "--out",
                str(b),
                "--events",
                "500",
                "--tes",
                "1.01",
                "--seed",
                "4",
            ]
        )
        == 0
    )
    da, db = pd.read_parquet(a), pd.read_parquet(b)
    assert len(da) == 500 and da.equals(db)
    assert set(da["Process"].astype(str)) == {"ztautau", "wjets"}


def test_sample_refuses_a_setting_outside_the_training_range(trained, capsys):
    code = main(
        [
            "higgs",
            "generate",
            "sample",
            str(trained / "flow"),
            "--out",
            str(trained / "c.parquet"),
            "--tes",
            "1.1",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "tes = 1.1 is outside" in err and len(err.strip().splitlines()) == 1
    assert not (trained / "c.parquet").exists()
    assert (
        main(
            [
                "higgs",
                "generate",
                "sample",
                "no-such-model",
                "--out",
                str(trained / "c.parquet"),
                "--registry",
                str(trained / "reg"),
            ]
        )
        == 2
    )


def test_validate_writes_auc_ks_and_labelled_plots(trained, check_png):
    out = trained / "val"
    assert (
        main(
            [
                "higgs",
                "generate",
                "validate",
                str(trained / "flow"),
                "--out",
                str(out),
                "--events",
                "1500",
                "--tes",
                "1.0",
            ]
        )
        == 0
    )
    res = json.loads((out / "validation.json").read_text())
    assert set(res["two_sample_auc"]) == {"ztautau", "wjets"}
    for p, auc in res["two_sample_auc"].items():
        assert 0.4 < auc <= 1.0 and res["two_sample_auc_err"][p] > 0
    ks = pd.read_csv(out / "ks.csv")
    assert set(ks["process"]) == {"ztautau", "wjets"} and ks["pvalue"].between(0, 1).all()
    for p in ("ztautau", "wjets"):
        check_png(out / f"features_{p}.png")
    assert np.isfinite(list(res["min_ks_pvalue"].values())).all()

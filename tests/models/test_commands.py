"""``rediscovery models list|show|export|import``, run as the real command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rediscovery.models import load

POINT = {"H0": 69.0, "omch2": 0.118}


def test_list_show_export_import_load(run_cli, capsys, tmp_path, tiny_run):
    reg = tmp_path / "reg"
    code, _ = run_cli(["models", "show", "cmb-emulator-tt", "--registry", reg])
    assert code == 0
    code, _ = run_cli(["models", "export", "cmb-emulator-tt", "--out", tmp_path / "e.tar.gz"])
    assert code == 0 and (tmp_path / "e.tar.gz").is_file()
    code, _ = run_cli(
        ["models", "import", tmp_path / "e.tar.gz", "--name", "emu", "--registry", reg]
    )
    assert code == 0
    code, _ = run_cli(["models", "import", tiny_run / "train", "--name", "bdt", "--registry", reg])
    assert code == 0
    main_out = []
    from rediscovery.cli import main

    assert main(["models", "list", "--registry", str(reg)]) == 0
    main_out.append(capsys.readouterr().out)
    for name in ("cmb-emulator-tt", "cmb-emulator-tt-curved", "emu", "bdt", "AUC"):
        assert name in main_out[0]
    assert main(["models", "show", "bdt", "--registry", str(reg)]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["name"] == "bdt" and card["training_data"]["seed"] == 5
    assert np.array_equal(load("emu", registry=reg)(POINT), load("cmb-emulator-tt")(POINT))


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["models", "show", "nope"], "no model named 'nope'"),
        (["models", "import", "{tmp}/missing"], "no such file or folder"),
        (["models", "import", "{tmp}/e.tar.gz", "--name", "emu"], "already exists; use --force"),
        (["models", "import", "{tmp}/e.tar.gz"], "shipped model"),
        (["models", "import", "{tmp}/bad", "--name", "x"], "differs from the card"),
        (["models", "export", "cmb-emulator-tt", "--out", "{tmp}/e.tar.gz"], "already exists"),
        (["models", "import", "{run}/train/model", "--name", "x"], "--data FILE"),
    ],
    ids=["unknown", "missing", "overwrite", "reserved", "corrupt", "export-exists", "no-data"],
)
def test_refusals_are_one_line_exit_2(run_cli, tmp_path, tiny_run, argv, fragment):
    import shutil

    from rediscovery.models import export_model, import_model

    reg = tmp_path / "reg"
    export_model("cmb-emulator-tt", tmp_path / "e.tar.gz")
    import_model(tmp_path / "e.tar.gz", name="emu", registry=reg)
    bad = export_model("cmb-emulator-tt", tmp_path / "bad")
    (bad / "emulator_tt.npz").write_bytes(b"junk")
    run = tmp_path / "run"
    shutil.copytree(tiny_run / "train" / "model", run / "train" / "model")  # no manifest
    args = [a.format(tmp=tmp_path, run=run) for a in argv]
    code, err = run_cli([*args, "--registry", reg] if args[1] != "export" else args)
    assert code == 2 and fragment in err

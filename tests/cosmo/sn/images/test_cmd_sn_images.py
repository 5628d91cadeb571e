"""``rediscovery cosmo sn-images`` end to end at a tiny size, and its refusals."""

from __future__ import annotations

import json

import pytest

from rediscovery.cosmo.sn.images import list_survey, read_image

SIM = "rediscovery.cosmo.sn.images.simulate:draw_scene"


def test_cli_writes_every_file(tmp_path, run_cli, check_png):
    out = tmp_path / "imgs"
    code, err = run_cli(["cosmo", "sn-images", "--out", out, "--seed", "2", "--fields", "2",
                         "--epochs", "2", "--size", "64", "--bands", "ri", "--sne-per-field",
                         "2", "--no-progress"])
    assert code == 0, err
    for name in ("survey.json", "stars.csv", "hosts.csv", "truth.json", "truth_fluxes.csv"):
        assert (out / name).is_file(), name
    check_png(out / "thumbnails.png")
    layout = list_survey(out)
    assert list(layout) == ["field00", "field01"] and list(layout["field01"]) == ["r", "i"]
    assert all(len(b.epochs) == 2 for f in layout.values() for b in f.values())
    survey = json.loads((out / "survey.json").read_text())
    assert survey["bands"] == {"r": "sdssr", "i": "sdssi"}
    epochs = survey["epochs"]["field01"]["i"]
    assert [e["path"] for e in epochs] == ["field01/i/epoch000.fits", "field01/i/epoch001.fits"]
    assert read_image(out / epochs[1]["path"]).mjd == pytest.approx(epochs[1]["mjd"])
    assert len(json.loads((out / "truth.json").read_text())["sne"]) == 4
    assert not list(out.rglob(".*.tmp"))


@pytest.mark.parametrize(("args", "fragment"), [
    (["--bands", "gu"], "--bands 'gu'"), (["--size", "0"], "--size 0"),
    (["--fields", "0"], "--fields 0"), (["--epochs", "-2"], "--epochs -2"),
    (["--z-max", "0.05"], "--z-max 0.05"), (["--h0", "5"], "H0"),
    (["--size", "400000"], "GiB of memory"), (["--z-max", "nan"], "--z-max nan"),
    (["--seed", "-1"], "'--seed'"), (["--pixel-scale", "0"], "--pixel-scale 0"),
])
def test_cli_refuses_bad_options_before_work(tmp_path, run_cli, forbid, args, fragment):
    forbid(SIM)
    code, err = run_cli(["cosmo", "sn-images", "--out", tmp_path / "o", *args])
    assert code == 2 and fragment in err, err


def test_cli_refuses_out_file(tmp_path, run_cli, forbid):
    forbid(SIM)
    (tmp_path / "f").write_text("x")
    code, err = run_cli(["cosmo", "sn-images", "--out", tmp_path / "f"])
    assert code == 2 and "is an existing file" in err


def test_cli_replaces_a_survey_only_with_overwrite(tmp_path, run_cli):
    out = tmp_path / "s"
    base = ["cosmo", "sn-images", "--out", out, "--fields", "1", "--size", "32", "--bands",
            "r", "--no-progress", "--no-plot"]
    assert run_cli([*base, "--epochs", "3"])[0] == 0
    code, err = run_cli([*base, "--epochs", "2"])
    assert code == 2 and "holds a survey already" in err and "--overwrite" in err
    assert run_cli([*base, "--epochs", "2", "--overwrite"])[0] == 0
    # the third epoch of the first survey is gone: the folder holds one survey only
    assert [p.name for p in list_survey(out)["field00"]["r"].epochs] == [
        "epoch000.fits", "epoch001.fits"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    code, err = run_cli([*base[:3], other, *base[4:], "--overwrite"])
    assert code == 2 and "holds no survey" in err
    assert (other / "notes.txt").read_text() == "mine"

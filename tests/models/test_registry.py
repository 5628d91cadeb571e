"""The registry: shipped models by name, export → import → load round trips, hash checks."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import ConfigError, InputError, ModelFileError
from rediscovery.core.files import file_sha256
from rediscovery.models import (
    REGISTRY_ENV,
    OutsideValidityError,
    default_registry,
    export_model,
    find_model,
    import_model,
    list_models,
    load,
    register_classifier,
)

from .conftest import FEATURES

#: a point inside both emulators' boxes, away from the Planck best fit
FLAT_POINT = {"H0": 70.1, "ombh2": 0.0231, "omch2": 0.115, "ns": 0.98, "ln10As": 3.0, "tau": 0.07}
CURVED_POINT = {"h": 0.65, "Om": 0.35, "OL": 0.6, "ns": 0.97, "ln10As": 3.05, "tau": 0.06}


def test_shipped_emulators_by_name_equal_the_direct_call():
    from rediscovery.cosmo.cmb import load_curved_emulator, load_emulator

    flat = load("cmb-emulator-tt")
    assert np.array_equal(flat(FLAT_POINT), load_emulator()(FLAT_POINT))
    assert np.array_equal(flat(H0=70.1), load_emulator()({"H0": 70.1}))  # Planck defaults
    h0 = np.array([62.0, 67.0, 73.0])
    batch = flat(H0=h0, tau=0.06)
    direct = np.stack([load_emulator()({"H0": h, "tau": 0.06}) for h in h0])
    np.testing.assert_allclose(batch, direct, rtol=1e-12)
    curved = load("cmb-emulator-tt-curved")
    assert np.array_equal(curved(CURVED_POINT), load_curved_emulator()(CURVED_POINT))


def test_shipped_cards_carry_the_files_metadata():
    from rediscovery.cosmo.cmb.emulator import DEFAULT_BOX, DEFAULT_EMULATOR_PATH

    card = find_model("cmb-emulator-tt").card
    assert card.box == DEFAULT_BOX  # the box the emulator was trained on
    assert card.files[0].sha256 == file_sha256(DEFAULT_EMULATOR_PATH)
    # docs/cosmo-cmb.md: 286 spectra, seed 2018, 50 held out, max error 0.051 %, 0.040 sigma
    assert (card.training_data.size, card.training_data.seed) == (286, 2018)
    assert card.training_data.held_out_size == 50
    assert round(100 * card.held_out["max_rel_err"], 3) == 0.051
    assert card.held_out["max_err_over_sigma_planck2018_binned"] == 0.040
    assert card.outputs[0].unit == "uK^2" and card.outputs[0].shape == [2507]
    assert "docs/cosmo-cmb.md" in card.held_out_source
    curved = find_model("cmb-emulator-tt-curved").card
    assert [i.name for i in curved.inputs if i.default is None] == ["h", "Om", "OL"]
    assert "omch2 in [0.044, 0.25]" in curved.notes


def test_out_of_box_input_refused_with_name_value_and_box():
    emu = load("cmb-emulator-tt")
    with pytest.raises(OutsideValidityError, match=r"H0 = 80 km/s/Mpc .*\[61, 74\]") as info:
        emu(H0=80.0)
    assert info.value.input == "H0" and info.value.value == 80.0
    with pytest.raises(OutsideValidityError, match=r"row 2"):
        emu(H0=[65.0, 66.0, 60.0])
    with pytest.raises(InputError, match="no input"):
        emu(Om=0.3)
    # the curved emulator's own derived box still applies inside the card's box
    from rediscovery.cosmo.cmb import OutOfBoxError

    with pytest.raises(OutOfBoxError, match=r"acoustic scale|Ωc h²"):
        load("cmb-emulator-tt-curved")(h=1.0, Om=0.9, OL=-0.5)


def test_emulator_round_trip_through_archive_and_folder(tmp_path):
    reg = tmp_path / "registry"
    archive = export_model("cmb-emulator-tt", tmp_path / "emu.tar.gz")
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == [
            "cmb-emulator-tt/card.json",
            "cmb-emulator-tt/emulator_tt.npz",
        ]
    entry = import_model(archive, name="my-emu", registry=reg)
    assert entry.folder == reg / "my-emu" and entry.card.name == "my-emu"
    mine = load("my-emu", registry=reg)
    assert np.array_equal(mine(FLAT_POINT), load("cmb-emulator-tt")(FLAT_POINT))
    folder = export_model("my-emu", tmp_path / "exported", registry=reg)
    import_model(folder, name="my-emu-2", registry=reg)
    assert np.array_equal(load("my-emu-2", registry=reg)(FLAT_POINT), mine(FLAT_POINT))
    assert [e.card.name for e in list_models(reg) if e.source == "user"] == ["my-emu", "my-emu-2"]
    assert not [p for p in reg.iterdir() if p.name.startswith(".")]  # no temporary left


def test_corrupted_file_refused_by_hash(tmp_path):
    reg = tmp_path / "registry"
    folder = export_model("cmb-emulator-tt", tmp_path / "exported")
    npz = folder / "emulator_tt.npz"
    data = bytearray(npz.read_bytes())
    data[1000] ^= 0xFF
    npz.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"emulator_tt\.npz: SHA-256 .* differs"):
        import_model(folder, name="bad", registry=reg)
    assert not (reg / "bad").exists()
    # corrupted after import: load refuses
    good = export_model("cmb-emulator-tt", tmp_path / "good")
    import_model(good, name="ok", registry=reg)
    (reg / "ok" / "emulator_tt.npz").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="corrupt or was modified"):
        load("ok", registry=reg)
    (reg / "ok" / "emulator_tt.npz").unlink()
    with pytest.raises(ModelFileError, match="missing"):
        load("ok", registry=reg)


def test_overwrite_refused_without_force(tmp_path):
    reg = tmp_path / "registry"
    archive = export_model("cmb-emulator-tt", tmp_path / "emu.tgz")
    import_model(archive, name="emu", registry=reg)
    with pytest.raises(ConfigError, match="already exists; use --force"):
        import_model(archive, name="emu", registry=reg)
    import_model(archive, name="emu", registry=reg, force=True)
    with pytest.raises(ConfigError, match="already exists"):
        export_model("emu", archive, registry=reg)
    with pytest.raises(ConfigError, match="shipped model"):
        import_model(archive, registry=reg)  # the card's own name is the shipped one
    with pytest.raises(ConfigError, match="lower-case"):
        import_model(archive, name="Bad/Name", registry=reg)


def test_unsafe_archives_and_unknown_sources_refused(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        for name in ("a/card.json", "b/x.npz"):
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"{}"))
    with pytest.raises(ModelFileError, match="not a model archive"):
        import_model(evil, registry=tmp_path / "reg")
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tar file")
    with pytest.raises(ModelFileError, match="cannot read the archive"):
        import_model(tmp_path / "junk.tar.gz", registry=tmp_path / "reg")
    (tmp_path / "plain.txt").write_text("x")
    with pytest.raises(InputError, match="expected an exported model"):
        import_model(tmp_path / "plain.txt", registry=tmp_path / "reg")
    with pytest.raises(ConfigError, match=r"no model named 'nope'.*cmb-emulator-tt"):
        load("nope", registry=tmp_path / "reg")


def test_default_registry_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(REGISTRY_ENV, str(tmp_path / "mine"))
    assert default_registry() == tmp_path / "mine"
    monkeypatch.delenv(REGISTRY_ENV)
    assert default_registry().name == "models" and "rediscovery" in str(default_registry())


def _events(run):
    from rediscovery.higgs.pipeline import read_with_features

    return read_with_features(run / "simulate" / "mc.parquet", run / "features" / "mc.parquet")


def test_classifier_card_filled_from_the_run(tiny_run, tmp_path):
    entry = register_classifier(tiny_run / "train", name="bdt", registry=tmp_path / "reg")
    card = entry.card
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    metrics = json.loads((tiny_run / "train" / "metrics.json").read_text())
    assert card.kind == "rediscovery.higgs.classifiers/xgboost"
    assert card.input_names == FEATURES
    assert card.training_data.seed == manifest["seed"] == 5
    sha = card.training_data.sha256
    assert sha["simulate/mc.parquet"] == file_sha256(tiny_run / "simulate" / "mc.parquet")
    assert sha["features/mc.parquet"] == file_sha256(tiny_run / "features" / "mc.parquet")
    assert card.held_out["auc"] == metrics["auc"] and card.held_out["n_test"] == metrics["n_test"]
    assert card.library_versions["numpy"] == np.__version__
    assert card.parameters["params"]["n_estimators"] == 20
    df = _events(tiny_run)  # the box is the range of the training data
    for spec in card.inputs:
        assert spec.low == df[spec.name].min() and spec.high == df[spec.name].max()
        assert spec.allow_nan == bool(df[spec.name].isna().any())
    assert card.box["PRI_tau_pt"][0] >= 20.0 and card.inputs[0].unit == "GeV"
    assert [i.allow_nan for i in card.inputs] == [False, False, False, True, False]


def test_classifier_round_trip_and_box(tiny_run, tmp_path):
    from rediscovery.higgs.classifiers import load_model

    import_model(tiny_run, name="bdt", registry=tmp_path / "a")  # the run directory itself
    archive = export_model("bdt", tmp_path / "bdt.tar.gz", registry=tmp_path / "a")
    import_model(archive, registry=tmp_path / "b")
    clf = load("bdt", registry=tmp_path / "b")
    df = _events(tiny_run)
    expected = load_model(tiny_run / "train" / "model").predict(df)
    assert np.array_equal(clf(df), expected)
    assert np.array_equal(clf({c: df[c].to_numpy() for c in FEATURES}), expected)
    odd = df.copy()
    odd.loc[odd.index[3], "PRI_met"] = 1e5
    with pytest.raises(OutsideValidityError, match=r"PRI_met = 100000 GeV \(row 3"):
        clf(odd)
    assert np.isfinite(clf(odd, check=False)).all()
    with pytest.raises(InputError, match="needs columns"):
        clf(df.drop(columns=["DER_mass_vis"]))


def test_classifier_outside_a_run_needs_its_data(tiny_run, tmp_path):
    import shutil

    # the layout of `rediscovery higgs train --out DIR`: DIR/model, DIR/metrics.json
    model = shutil.copytree(tiny_run / "train", tmp_path / "bdt") / "model"
    with pytest.raises(ConfigError, match="--data FILE"):
        register_classifier(model, name="bdt", registry=tmp_path / "reg")
    data = tmp_path / "events.parquet"
    _events(tiny_run).to_parquet(data)
    entry = register_classifier(model, name="bdt", registry=tmp_path / "reg", data=data)
    assert entry.card.training_data.sha256["events.parquet"] == file_sha256(data)
    metrics = json.loads((tiny_run / "train" / "metrics.json").read_text())
    assert entry.card.held_out["auc"] == metrics["auc"]
    assert entry.card.held_out_source.startswith("bdt/metrics.json")
    assert entry.card.command == "not recorded"
    pd.DataFrame({"x": [1.0]}).to_parquet(tmp_path / "other.parquet")
    with pytest.raises(InputError, match="no columns"):
        register_classifier(
            model, name="bdt2", registry=tmp_path / "reg", data=tmp_path / "other.parquet"
        )

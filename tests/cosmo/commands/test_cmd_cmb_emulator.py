"""``rediscovery cosmo cmb-emulator train-curved-lowl``: from a cache of low-ℓ spectra (here a
stand-in written directly, no CAMB) to an emulator file with the component, its JSON card and
the held-out figures printed; bad options refused before any work."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rediscovery.cosmo.cmb.curved import (
    CURVED_BOX,
    CURVED_EMULATOR_PATH,
    CURVED_FIXED,
    curved_design,
    load_curved_emulator,
)

pytestmark = pytest.mark.skipif(
    not CURVED_EMULATOR_PATH.is_file(), reason="the trained curved emulator is not in this checkout"
)


def _write_cache(path, groups: dict[str, np.ndarray], emu) -> None:
    """A training cache in the layout of ``compute_curved_spectra`` (read_training_set's):
    the shipped emulator's spectra to ℓ = 150 with an open-model step at ℓ = 18."""
    import h5py

    ell = np.arange(2, 151)
    with h5py.File(path, "w") as h5:
        h5.attrs["box"] = json.dumps({k: list(v) for k, v in CURVED_BOX.items()})
        h5.attrs["fixed"] = json.dumps(CURVED_FIXED)
        h5.attrs["lmax"] = 150
        for name, x in groups.items():
            ok = emu.derived(x)["Ok"]
            step = np.where(ell >= 18, np.exp(-(ell - 18) / 5.0), 0.0)
            tt = emu.predict(x)[:, : len(ell)] * np.exp(-0.1 * np.maximum(ok, 0)[:, None] * step)
            g = h5.create_group(name)
            g["params"] = x
            g["tt"] = tt
            g["te"] = np.zeros_like(tt)
            g["ee"] = np.zeros_like(tt)
            g["index"] = np.arange(len(x))


def test_train_curved_lowl_fit_only(tmp_path, run_cli, monkeypatch):
    import rediscovery.cosmo.cmb.curved_lowl as lowl

    # no lensing in the stand-in (and no CAMB): the fiducial ratio is 1
    monkeypatch.setattr(lowl, "fiducial_lensing", lambda lmax=300: np.ones(lmax - 1))
    emu = load_curved_emulator()
    train = curved_design(80, 1)
    test = curved_design(20, 2)
    cache = tmp_path / "lowl.h5"
    _write_cache(cache, {"train": train[emu.in_box(train)], "test": test[emu.in_box(test)]}, emu)
    out = tmp_path / "emu.npz"
    code, err = run_cli(
        ["cosmo", "cmb-emulator", "train-curved-lowl", "--out", out, "--cache", cache,
         "--fit-only", "--gp-subsample", "60", "--no-progress"]
    )
    assert code == 0, err
    new = load_curved_emulator(out)
    assert "lowl_mean" in new.arrays
    card = json.loads(out.with_suffix(".json").read_text())
    held = card["lowl"]["held_out"]
    assert held["n_test"] == int(emu.in_box(test).sum())
    # the figures of both emulators per ℓ range (how well ~70 spectra learn is not the point
    # here: tests/cosmo/cmb/test_cmb_curved_lowl.py)
    assert set(held["after"]) == set(held["before"]) == {"2-29", "30-59", "60-99", "100-150"}
    assert 0 < held["after"]["2-29"]["median"] < 0.1


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--blocks", "0"], "--blocks 0"),
        (["--gp-subsample", "0"], "--gp-subsample 0"),
        (["--workers", "0"], "--workers 0"),
    ],
)
def test_train_curved_lowl_refuses_bad_options(tmp_path, run_cli, forbid, extra, fragment):
    forbid("rediscovery.cosmo.cmb.curved_lowl:generate_lowl_training_set")
    code, err = run_cli(
        ["cosmo", "cmb-emulator", "train-curved-lowl", "--out", tmp_path / "e.npz", *extra]
    )
    assert code == 2 and fragment in err, err


def test_train_curved_lowl_refuses_a_cache_with_too_few_spectra(tmp_path, run_cli, monkeypatch):
    import rediscovery.cosmo.cmb.curved_lowl as lowl

    monkeypatch.setattr(lowl, "fiducial_lensing", lambda lmax=300: np.ones(lmax - 1))
    emu = load_curved_emulator()
    x = curved_design(10, 3)
    cache = tmp_path / "lowl.h5"
    _write_cache(cache, {"train": x[emu.in_box(x)]}, emu)
    code, err = run_cli(
        ["cosmo", "cmb-emulator", "train-curved-lowl", "--out", tmp_path / "e.npz", "--cache",
         cache, "--fit-only", "--no-progress"]
    )
    assert code == 2 and "training spectra" in err and "lowl.h5" in err, err

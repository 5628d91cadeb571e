"""Tests of the CAMB emulator (rediscovery.cosmo.cmb.emulator).

The machinery (design, resumable cache, PCA + GP fit, save/load) is tested on a cheap smooth
stand-in for CAMB; the shipped emulator is tested against CAMB itself and against Planck's
best-fit theory spectrum.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from rediscovery.core.errors import ConfigError, ModelFileError
from rediscovery.cosmo.cmb import emulator as emod
from rediscovery.cosmo.cmb.emulator import (
    DEFAULT_BOX,
    DEFAULT_EMULATOR_PATH,
    OutOfBoxError,
    accuracy_report,
    fit_emulator,
    generate_training_set,
    latin_hypercube,
    load_emulator,
    read_training_set,
)
from rediscovery.cosmo.cmb.theory import PLANCK2018_BEST_FIT, TheorySpectra

LMAX = 300


def fake_spectra(params, *, lmax, accuracy=None):
    """A smooth, positive stand-in for CAMB with CAMB's output layout."""
    ell = np.arange(2, lmax + 1)
    p = dict(PLANCK2018_BEST_FIT)
    p.update(params)
    amp = np.exp(p["ln10As"] - 2 * p["tau"])
    shape = (ell / 100.0) ** (p["ns"] - 1) * (
        2.0 + np.cos(ell * p["H0"] / 6000.0 + 50 * p["omch2"]) * (1 + 10 * p["ombh2"]))
    tt = 100.0 * amp * shape
    return TheorySpectra(ell=ell, tt=tt, te=0.1 * tt, ee=0.01 * tt, params=p)


def test_latin_hypercube_strata():
    x = latin_hypercube(DEFAULT_BOX, 20, seed=3)
    assert x.shape == (20, len(DEFAULT_BOX))
    for j, (lo, hi) in enumerate(DEFAULT_BOX.values()):
        # one point in each of the 20 equal strata of every dimension
        strata = np.floor((x[:, j] - lo) / (hi - lo) * 20).astype(int)
        assert sorted(strata.tolist()) == list(range(20))
    np.testing.assert_array_equal(x, latin_hypercube(DEFAULT_BOX, 20, seed=3))
    with pytest.raises(ConfigError):
        latin_hypercube({"H0": (70.0, 60.0)}, 5, seed=0)


def test_training_set_resumes(tmp_path, monkeypatch):
    calls = []

    def counting(params, **kw):
        calls.append(params)
        if len(calls) == 7:
            raise KeyboardInterrupt  # an interrupted run
        return fake_spectra(params, **kw)

    monkeypatch.setattr(emod, "camb_spectra", counting)
    cache = tmp_path / "c.h5"
    with pytest.raises(KeyboardInterrupt):
        generate_training_set(cache, 10, n_test=2, seed=1, lmax=LMAX, n_workers=1,
                              chunk_size=3, progress=False)
    assert read_training_set(cache)["params"].shape == (6, 6)  # two chunks of 3 saved
    calls.clear()
    monkeypatch.setattr(emod, "camb_spectra", fake_spectra)
    generate_training_set(cache, 10, n_test=2, seed=1, lmax=LMAX, n_workers=1, chunk_size=3,
                          progress=False)
    tr = read_training_set(cache)
    te = read_training_set(cache, "test")
    assert tr["params"].shape == (10, 6) and te["tt"].shape == (2, LMAX - 1)
    np.testing.assert_allclose(tr["params"], latin_hypercube(DEFAULT_BOX, 10, seed=1))
    expect = fake_spectra(dict(zip(tr["names"], tr["params"][4], strict=True)), lmax=LMAX).tt
    np.testing.assert_allclose(tr["tt"][4], expect)
    # a different design on the same cache is refused
    with pytest.raises(ConfigError, match="different design"):
        generate_training_set(cache, 11, n_test=2, seed=1, lmax=LMAX, n_workers=1,
                              progress=False)


@pytest.fixture(scope="module")
def small_emulator(tmp_path_factory):
    box = DEFAULT_BOX
    names = list(box)
    x = latin_hypercube(box, 80, seed=0)
    tt = np.array([fake_spectra(dict(zip(names, r, strict=True)), lmax=LMAX).tt for r in x])
    emu = fit_emulator(x, tt, names=names, box=box, fixed={"mnu": 0.06, "omk": 0.0},
                       ell=np.arange(2, LMAX + 1), n_pca=8, degree=1, progress=False)
    return emu


def test_fit_save_load(small_emulator, tmp_path):
    emu = small_emulator
    names = emu.names
    xt = latin_hypercube(DEFAULT_BOX, 20, seed=9)
    tt = np.array([fake_spectra(dict(zip(names, r, strict=True)), lmax=LMAX).tt for r in xt])
    rep = accuracy_report(emu, xt, tt, ell_range=(30, 290))
    assert rep["max_rel_err"] < 5e-3
    path = emu.save(tmp_path / "e.npz")
    # no pickle inside: np.load with allow_pickle=False reads every array
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
    assert meta["names"] == names
    back = load_emulator(path)
    np.testing.assert_allclose(back.predict(xt), emu.predict(xt), rtol=1e-12)
    np.testing.assert_allclose(back(PLANCK2018_BEST_FIT | {"omk": 0.0}),
                               emu.predict(back.params_vector(PLANCK2018_BEST_FIT))[0])


def test_out_of_box(small_emulator):
    with pytest.raises(OutOfBoxError, match="H0 = 90 is outside") as err:
        small_emulator({"H0": 90.0})
    assert "--theory camb" in str(err.value)
    with pytest.raises(OutOfBoxError, match=r"fixed at 0\.06"):
        small_emulator({"mnu": 0.2})
    x = np.array([[67.0, 0.0224, 0.12, 0.965, 3.04, 0.05], [80.0, 0.0224, 0.12, 0.965, 3.04, 0.05]])
    assert small_emulator.in_box(x).tolist() == [True, False]


def test_missing_or_bad_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        load_emulator(tmp_path / "none.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="not a readable emulator"):
        load_emulator(bad)


shipped = pytest.mark.skipif(not DEFAULT_EMULATOR_PATH.is_file(),
                             reason="the trained emulator file is not in this checkout")


@shipped
def test_shipped_emulator_against_camb():
    from rediscovery.cosmo.cmb.theory import camb_spectra

    emu = load_emulator()
    assert emu.metadata["held_out"]["max_rel_err"] < 0.01
    rng = np.random.default_rng(7)
    lo = np.array([emu.box[k][0] for k in emu.names])
    hi = np.array([emu.box[k][1] for k in emu.names])
    # two random points in the central 80 % of the box (CAMB costs ~1.5 s each)
    for x in lo + (hi - lo) * (0.1 + 0.8 * rng.random((2, len(lo)))):
        p = dict(zip(emu.names, x, strict=True))
        ref = camb_spectra(p, lmax=emu.lmax).tt
        m = (emu.ell > 30) & (emu.ell < 2000)
        assert np.max(np.abs(emu(p)[m] / ref[m] - 1)) < 0.005


@shipped
def test_shipped_emulator_at_planck_best_fit(reference_data):
    ref = np.loadtxt(reference_data / "planck2018/COM_PowerSpect_CMB-base-plikHM-TTTEEE-lowl-"
                     "lowE-lensing-minimum-theory_R3.01.txt", skiprows=1)
    emu = load_emulator()
    dl = emu(PLANCK2018_BEST_FIT)
    m = (emu.ell > 30) & (emu.ell < 2000)
    assert np.max(np.abs(dl[m] / ref[m, 1] - 1)) < 0.01


def test_cli_train(tmp_path, monkeypatch, capsys):
    from rediscovery.cli import main

    monkeypatch.setattr(emod, "camb_spectra", fake_spectra)
    out = tmp_path / "emu.npz"
    args = ["cosmo", "cmb-emulator", "train", "--samples", "24", "--test-samples", "4",
            "--out", str(out), "--workers", "1", "--n-pca", "4", "--degree", "0",
            "--no-progress"]
    assert main(args) == 0
    assert "held-out accuracy (4 CAMB spectra" in capsys.readouterr().out
    emu = load_emulator(out)
    assert emu.metadata["held_out"]["n_test"] == 4
    assert emu.metadata["n_train"] == 24
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["box"]["H0"] == list(DEFAULT_BOX["H0"])
    # resume: nothing left to compute, CAMB is not called again
    monkeypatch.setattr(emod, "camb_spectra", None)
    assert main([*args, "--fit-only"]) == 0
    assert main([*args[:-1], "--box", "H0=70", "--no-progress"]) == 2

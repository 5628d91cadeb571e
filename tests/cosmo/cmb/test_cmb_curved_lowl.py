"""Tests of the curved emulator's low-ℓ component (rediscovery.cosmo.cmb.curved_lowl).

The mechanism (one Gaussian process per multipole with max(Ωk, 0) as an input) is tested on a
stand-in for CAMB: smooth low-ℓ spectra with a step between ℓ = 17 and 18 whose size grows with
Ωk > 0 and is zero for closed models, as CAMB's open models have; the fit must learn it. The
shipped component is checked against fresh CAMB spectra in a slow test.
"""

from __future__ import annotations

import numpy as np
import pytest

from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.cmb.curved import (
    CURVED_EMULATOR_PATH,
    curved_design,
    load_curved_emulator,
)
from rediscovery.cosmo.cmb.curved_lowl import (
    LOWL_ACCURACY,
    SPURIOUS_STEP,
    fit_lowl_component,
    lens_at_scale,
    lowl_accuracy,
    spurious_steps,
)
from rediscovery.cosmo.cmb.emulator import fit_pca_gp, predict_pca_gp

shipped = pytest.mark.skipif(
    not CURVED_EMULATOR_PATH.is_file(), reason="the trained curved emulator is not in this checkout"
)

BLEND = (20, 26)  # a short component keeps the fit to a few seconds


def fake_camb(emu, x: np.ndarray) -> np.ndarray:
    """Stand-in low-ℓ spectra (ℓ = 2 … 40): a smooth function of the parameters (a tilted
    plateau with a late-ISW-like rise that grows with ΩΛ and falls with ℓ h), with an
    open-model step of −10 % × Ωk between ℓ = 17 and 18 that decays over ~5 multipoles."""
    h, om, ol, ns, ln10as, tau = x.T
    ell = np.arange(2, 41)
    ok = emu.derived(x)["Ok"]
    plateau = 1000.0 * np.exp(ln10as - 2 * tau)[:, None] * (ell / 20.0) ** (ns[:, None] - 1)
    isw = 1.0 + 0.3 * (ol + 0.5)[:, None] * np.exp(-ell / (8.0 * h[:, None])) * (1 + om[:, None])
    shape = np.where(ell >= 18, np.exp(-(ell - 18) / 5.0), 0.0)
    return plateau * isw * np.exp(-0.1 * np.maximum(ok, 0.0)[:, None] * shape)


@pytest.fixture(scope="module")
def base():
    if not CURVED_EMULATOR_PATH.is_file():
        pytest.skip("the trained curved emulator is not in this checkout")
    return load_curved_emulator().without_low_ell()


@pytest.fixture(scope="module")
def fitted(base):
    x = np.concatenate([curved_design(100, seed) for seed in (11, 12)])
    x = x[base.in_box(x)]
    return fit_lowl_component(
        base, x, fake_camb(base, x), blend=BLEND, gp_subsample=120, progress=False
    )


def test_fit_pca_gp_without_pca_is_one_regression_per_column():
    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, (80, 2))
    y = np.column_stack([np.sin(2 * u[:, 0]), u[:, 1] ** 2, np.maximum(u[:, 0], 0.0)])
    f = fit_pca_gp(u, y, pca=False, degree=1, progress=False)
    f.pop("metadata")
    np.testing.assert_array_equal(f["basis"], np.eye(3))
    ut = rng.uniform(-0.9, 0.9, (40, 2))
    yt = np.column_stack([np.sin(2 * ut[:, 0]), ut[:, 1] ** 2, np.maximum(ut[:, 0], 0.0)])
    pred = predict_pca_gp(ut, *(f[k] for k in ("mean", "basis", "exponents", "poly_coef",
                                                "x_train", "gp_alpha", "gp_inv_ls2")))
    assert np.abs(pred[:, :2] - yt[:, :2]).max() < 5e-3
    assert np.abs(pred[:, 2] - yt[:, 2]).max() < 0.05  # the kink at 0 is smoothed, not lost


def test_component_learns_the_open_model_step(base, fitted):
    xt = curved_design(40, 99)
    xt = xt[base.in_box(xt)]
    ref = fake_camb(base, xt)
    ell = np.arange(2, 41)
    ok = base.derived(xt)["Ok"]
    assert (ok > 0.2).any() and (ok < 0).any()
    rel_new = np.abs(fitted.predict(xt)[:, :39] / ref - 1)
    rel_old = np.abs(base.predict(xt)[:, :39] / ref - 1)
    at_step = (ell >= 18) & (ell < BLEND[0])
    # the PCA emulator does not know the stand-in (errors of per cent); the component learns
    # it, step included (173 training spectra: measured 1e-5 at the step, 2e-4 median below
    # ℓ = 20)
    assert rel_old[:, at_step].max() > 0.02
    assert rel_new[:, at_step].max() < 1e-3, rel_new[:, at_step].max()
    assert np.median(rel_new[:, ell < BLEND[0]].max(axis=1)) < 1e-3
    assert rel_new[:, ell < BLEND[0]].max() < 5e-3, rel_new[:, ell < BLEND[0]].max()
    # above the blend the emulator is untouched
    np.testing.assert_array_equal(
        fitted.predict(xt)[:, BLEND[1] - 1 :], base.predict(xt)[:, BLEND[1] - 1 :]
    )
    rep = lowl_accuracy(fitted, xt, ref, ranges=((2, 20), (20, 41)))
    assert rep["2-19"]["max"] == pytest.approx(rel_new[:, ell < 20].max())
    assert set(rep["2-19"]) == {
        "median",
        "max",
        "max_abs_Ok_le_0.3",
    }


def test_component_survives_save_and_load(fitted, tmp_path):
    path = fitted.save(tmp_path / "emu.npz")
    back = load_curved_emulator(path)
    xt = curved_design(20, 5)
    xt = xt[back.in_box(xt)]
    np.testing.assert_allclose(back.predict(xt), fitted.predict(xt), rtol=1e-12)
    assert back.metadata["lowl"]["blend"] == list(BLEND)


def test_fit_lowl_component_refuses_bad_blend_and_short_spectra(base):
    x = curved_design(30, 3)
    x = x[base.in_box(x)]
    tt = fake_camb(base, x)
    with pytest.raises(ConfigError, match="blend"):
        fit_lowl_component(base, x, tt, blend=(30, 20), progress=False)
    with pytest.raises(ConfigError, match="end at"):
        fit_lowl_component(base, x, tt, blend=(40, 60), progress=False)


def test_spurious_steps_flag_a_step_above_ell_20_only():
    ell = np.arange(2, 151)
    smooth = 1000.0 * (ell / 50.0) ** -0.3
    open_step = smooth * np.where(ell >= 18, 0.96, 1.0)  # CAMB's open-model step, kept
    glitch = smooth * np.where(ell >= 31, 1.03, 1.0)  # a 3 % spurious step at ℓ 30 → 31
    k = spurious_steps(np.stack([smooth, open_step, glitch]))
    assert k[0] < 1e-4 and k[1] < 1e-4  # a power law's kinks are ~1e-5
    assert k[2] == pytest.approx(np.log(1.03), rel=0.01)
    assert (k > SPURIOUS_STEP).tolist() == [False, False, True]


def test_fit_leaves_out_spectra_with_a_spurious_step(base):
    x = np.concatenate([curved_design(100, seed) for seed in (21,)])
    x = x[base.in_box(x)]
    tt = fake_camb(base, x)
    ell = np.arange(2, 41)
    tt[:5] *= np.where(ell >= 31, 1.05, 1.0)  # five spectra with a 5 % spurious step
    emu = fit_lowl_component(base, x, tt, blend=BLEND, gp_subsample=60, progress=False)
    assert emu.metadata["lowl"]["n_left_out_spurious_step"] == 5
    assert emu.metadata["lowl"]["n_train"] == len(x) - 5


def test_lens_at_scale():
    unl = np.ones((2, 50))
    fid = 1.0 + 0.01 * np.arange(2, 200)  # ratio at ℓ = 2 … 199
    out = lens_at_scale(np.array([1.0, 2.0]), unl, fid)
    ell = np.arange(2, 52)
    np.testing.assert_allclose(out[0], 1 + 0.01 * ell)
    # taken at ℓ/s (below the table's ℓ = 2 its first value)
    np.testing.assert_allclose(out[1], 1 + 0.01 * np.maximum(ell / 2, 2))
    with pytest.raises(ConfigError, match="fiducial lensing"):
        lens_at_scale(np.array([0.2]), unl, fid)  # ℓ/s reaches 255 > 199


def test_camb_params_takes_accuracy_fields():
    pytest.importorskip("camb")
    from rediscovery.cosmo.cmb.theory import camb_params

    pars = camb_params({}, lmax=100, accuracy=LOWL_ACCURACY | {"TimeStepBoost": 3})
    assert pars.Accuracy.TimeStepBoost == 3 and pars.Accuracy.lSampleBoost == 4
    assert not pars.DoLensing
    assert camb_params({}, lmax=100).Accuracy.TimeStepBoost == 1
    with pytest.raises(ConfigError, match="unknown CAMB accuracy setting"):
        camb_params({}, lmax=100, accuracy={"NoSuchBoost": 2})


@shipped
def test_shipped_emulator_has_the_component_and_its_held_out_figures():
    emu = load_curved_emulator()
    if "lowl_mean" not in emu.arrays:
        pytest.skip("the shipped curved emulator has no low-ℓ component")
    held = emu.metadata["lowl"]["held_out"]
    # the documented figures (docs/cosmo-cmb.md, "The low-ℓ component"): below ℓ = 100 within
    # 0.3 % of every held-out CAMB spectrum without a spurious step, over the whole box
    assert held["n_test"] == 51 and held["n_test_without_spurious_step"] == 45
    clean, before = held["after_without_spurious_step"], held["before"]
    for r in ("2-29", "30-59", "60-99"):
        assert clean[r]["max"] < 3e-3, (r, clean[r])
    assert before["30-59"]["max_abs_Ok_le_0.3"] > 0.01  # the PCA regression alone: 1.46 %


@shipped
@pytest.mark.slow
def test_shipped_component_against_camb():
    """A closed and an open universe of the hidden-universe range against fresh CAMB low-ℓ
    spectra made like the training ones (~30 s of CAMB)."""
    pytest.importorskip("camb")
    from rediscovery.cosmo.cmb.curved_lowl import fiducial_lensing
    from rediscovery.cosmo.cmb.theory import camb_spectra, densities_to_physical

    emu = load_curved_emulator()
    if "lowl_mean" not in emu.arrays:
        pytest.skip("the shipped curved emulator has no low-ℓ component")
    lens = fiducial_lensing()
    for h, om, ol in [(0.7, 0.3, 0.9), (0.75, 0.2, 0.5)]:
        x = np.array([[h, om, ol, 0.965, 3.05, 0.06]])
        cp = densities_to_physical(h, om, ol) | {"ns": 0.965, "ln10As": 3.05, "tau": 0.06}
        unl = camb_spectra(cp, lmax=100, accuracy=LOWL_ACCURACY).tt
        ref = lens_at_scale(emu.derived(x)["scale"], unl[None, :], lens)[0]
        rel = np.abs(emu.predict(x)[0, :99] / ref - 1)
        assert rel.max() < 3e-3, (h, om, ol, rel.max(), int(rel.argmax()) + 2)

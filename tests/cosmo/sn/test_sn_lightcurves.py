"""Simulator + SALT2 fits: simulation truth recovered (pulls), bad input, offline model files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import InputError, ModelFileError
from rediscovery.cosmo.sn import salt2
from rediscovery.cosmo.sn.lightcurves import fit_lightcurve, fit_lightcurves
from rediscovery.cosmo.sn.simulate import Survey, draw_truth, simulate_lightcurves


@pytest.fixture(scope="module")
def simulated():
    truth = draw_truth(0, 70.0, 0.3, 0.7)
    lcs, zs, params = simulate_lightcurves(16, truth, seed=3, survey=Survey(z_max=0.6))
    return truth, lcs, zs, params


def test_salt2_files_are_salt24_from_the_wheel():
    d, version = salt2.salt2_modeldir()
    assert "SALT2.4" in version and (d / "salt2_template_0.dat").is_file()
    # SALT2.4 colour law (Betoule et al. 2014): first coefficient −0.504294
    assert "-0.504294" in (d / "salt2_color_correction.dat").read_text()
    # m_B definition round-trips
    assert float(salt2.mb_from_x0(salt2.x0_from_mb(22.3))) == pytest.approx(22.3)


def test_missing_model_files_say_how_to_install(monkeypatch):
    monkeypatch.setattr(salt2, "_CANDIDATES", (("no_such_pkg_xyz", ("initfiles",), "x"),))
    with pytest.raises(ModelFileError, match=r"requirements-modelfiles\.txt"):
        salt2.salt2_modeldir()


def test_simulation_outputs(simulated):
    truth, lcs, zs, _params = simulated
    assert list(lcs.columns) == ["sn_id", "time", "band", "flux", "fluxerr", "zp", "zpsys"]
    assert set(zs.columns) == {"sn_id", "z"} and len(zs) == 16
    assert (lcs["fluxerr"] > 0).all() and (zs["z"] > 0).all()
    assert truth.hidden is False and truth.population["alpha"] == pytest.approx(0.14)
    # reproducible with the seed
    lcs2, _, _ = simulate_lightcurves(16, truth, seed=3, survey=Survey(z_max=0.6))
    np.testing.assert_array_equal(lcs["flux"].to_numpy(), lcs2["flux"].to_numpy())


def test_hidden_truth_is_drawn():
    t = draw_truth(42)
    assert t.hidden and 60 <= t.H0 <= 80 and 0.2 <= t.Om <= 0.4 and 0.5 <= t.OL <= 0.9
    assert draw_truth(42).H0 == t.H0
    flat = draw_truth(42, flat=True)
    assert flat.Om + flat.OL == pytest.approx(1.0) and flat.Om == t.Om


def test_salt2_fits_recover_simulated_parameters(simulated):
    """Simulation truth: pulls of m_B, x1, c, t0 have mean ≈ 0 and width ≈ 1 (16 SNe:
    tolerances of ~3/sqrt(16) on the mean and ±45% on the width)."""
    _, lcs, zs, params = simulated
    fits = fit_lightcurves(lcs, zs, n_workers=1, progress=False)
    assert fits["success"].all()
    assert fits["quality"].mean() > 0.9
    m = fits.merge(params, on="sn_id", suffixes=("", "_true"))
    for k in ("mb", "x1", "c", "t0"):
        pull = (m[k] - m[f"{k}_true"]) / m[f"{k}_err"]
        assert abs(pull.mean()) < 0.75, k
        assert 0.55 < pull.std() < 1.45, k


def test_too_few_points_names_the_sn(simulated):
    _, lcs, zs, _ = simulated
    sparse = lcs[lcs["sn_id"] == "SN00003"].head(3)
    lcs2 = lcs[lcs["sn_id"].isin(["SN00000", "SN00003"])]
    lcs2 = lcs2[(lcs2["sn_id"] != "SN00003")]
    lcs2 = pd.concat([lcs2, sparse])
    with pytest.raises(InputError, match=r"SN\(s\) \['SN00003'\] have fewer than 5 points"):
        fit_lightcurves(lcs2, zs, n_workers=1, progress=False, source="lc.csv")
    with pytest.raises(InputError, match="SN SN00003: 3 points"):
        fit_lightcurve("SN00003", 0.1, sparse)
    out = fit_lightcurves(lcs2, zs, n_workers=1, progress=False, drop_sparse=True)
    row = out.set_index("sn_id").loc["SN00003"]
    assert not row["quality"] and "fit failed" in row["quality_reason"]


def test_missing_redshift_and_unknown_band(simulated):
    _, lcs, zs, _ = simulated
    with pytest.raises(InputError, match=r"no redshift for SN\(s\) \['SN00001'\]"):
        fit_lightcurves(lcs, zs[zs["sn_id"] != "SN00001"], n_workers=1, progress=False)
    one = lcs[lcs["sn_id"] == "SN00001"].assign(band="lsstq")
    with pytest.raises(InputError, match="unknown bandpass 'lsstq'"):
        fit_lightcurve("SN00001", 0.2, one)

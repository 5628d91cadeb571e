"""JLA light-curve parameters: reader, Tripp + host-mass step + cosmology fit, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rediscovery.cli import main
from rediscovery.core.errors import InputError
from rediscovery.cosmo.sn.io import read_hubble_table, read_jla_lcparams
from rediscovery.cosmo.sn.jla import BETOULE2014, JLALikelihood, fit_jla

HEADER = ("#name zcmb zhel dz mb dmb x1 dx1 color dcolor 3rdvar d3rdvar cov_m_s cov_m_c "
          "cov_s_c set ra dec biascor")


@pytest.fixture(scope="module")
def lcparams(reference_data):
    return read_jla_lcparams(reference_data / "jla" / "jla_lcparams.txt")


@pytest.fixture(scope="module")
def flat_fit(lcparams):
    return fit_jla(lcparams, "flat-lcdm")


def test_read_real_lcparams(lcparams):
    assert len(lcparams) == 740  # Betoule et al. 2014: the JLA sample has 740 SNe
    assert int((lcparams["3rdvar"] >= 10).sum()) == 422
    assert lcparams["name"].iloc[0] == "03D1au"
    assert lcparams["zcmb"].between(0.01, 1.3).all()


def _write(tmp_path, rows, header=HEADER):
    p = tmp_path / "lc.txt"
    p.write_text("\n".join(([header] if header else []) + rows) + "\n")
    return p


GOOD = "a 0.1 0.1 0 19.3 0.1 0.5 0.2 0.01 0.03 10.5 0.1 0.001 0.0004 0.0001 3 0 0 0"


@pytest.mark.parametrize(("rows", "header", "match"), [
    ([GOOD], None, "header"),
    ([GOOD, "b 0.2 0.2 0"], HEADER, "line 3: 4 fields"),
    ([GOOD, GOOD.replace("a 0.1", "b x.1", 1)], HEADER, "line 3: non-numeric value 'x.1'"),
    ([GOOD, GOOD], HEADER, "line 3: SN 'a' listed twice"),
    ([GOOD.replace("0.1 0.1", "-0.1 0.1", 1)], HEADER, "line 2: redshift -0.1"),
    ([GOOD.replace(" 0.2 ", " 0 ", 1)], HEADER, "column 'dx1': line 2"),
    ([], HEADER, "no data rows"),
    (["a 0.1"], "#name zcmb", "missing column"),
])
def test_read_lcparams_bad_input(tmp_path, rows, header, match):
    with pytest.raises(InputError, match=match) as exc:
        read_jla_lcparams(_write(tmp_path, rows, header))
    assert "lc.txt" in str(exc.value)


def test_read_lcparams_comments_and_good_row(tmp_path):
    df = read_jla_lcparams(_write(tmp_path, ["# a comment", GOOD, ""]))
    assert len(df) == 1 and df["x1"].iloc[0] == 0.5


def test_public_dmb_already_holds_coherent_and_pecvel_dispersion(lcparams):
    """The low-z sub-sample's dmb² grows with σ_pec² (150 km/s) at unit slope and starts at
    σ_coh² ≈ 0.134² (Betoule et al. 2014, low-z σ_coh): dmb is not the fit error alone."""
    low = lcparams[lcparams["set"] == 3]
    pec2 = (5 / np.log(10) * 150 / 299792.458 / low["zcmb"]) ** 2
    slope, icpt = np.polyfit(pec2, low["dmb"] ** 2, 1)
    assert 0.85 < slope < 1.05
    assert 0.134**2 < icpt < 0.134**2 + 0.05**2


def test_flat_lcdm_matches_betoule2014(flat_fit):
    """Betoule et al. 2014 (A&A 568, A22) Table 10 with the full C_stat + C_sys covariance:
    α = 0.141 ± 0.006, β = 3.101 ± 0.075, Ωm = 0.295 ± 0.034, ΔM = −0.070 ± 0.023. α and β
    are statistics-limited (their systematic share is small), so the diagonal fit must
    agree within 3 σ (both errors in quadrature) with errors within 25% of the published ones.
    Ωm's published error is dominated by calibration systematics (C_sys): ours, from the
    diagonal alone, must be smaller and the value within 1 σ of the published one.
    Measured: α = 0.1400 ± 0.0064, β = 3.142 ± 0.077, Ωm = 0.287 ± 0.018, ΔM = −0.060 ± 0.012."""
    r = flat_fit
    cmp = r.compare_published()
    for k in ("alpha", "beta", "delta_M", "M"):
        assert abs(cmp[k]["pull"]) < 3, (k, cmp[k])
    for k in ("alpha", "beta"):
        assert r.errors[k] == pytest.approx(BETOULE2014[k][1], rel=0.25)
    val, err = BETOULE2014["Om"]
    assert abs(r.values["Om"] - val) < err
    assert r.errors["Om"] < err
    # dmb already holds JLA's dispersion: no extra sigma_int, chi2/dof just below 1
    assert r.sigma_int == 0.0
    assert 0.93 < r.chi2_no_sigma_int / r.dof < 1.0
    assert r.n_high_mass == 422 and r.dof == 740 - 5


def test_lcdm_fit_runs(lcparams):
    r = fit_jla(lcparams, "lcdm")
    assert 0.1 < r.values["Om"] < 0.45 and 0.4 < r.values["OL"] < 0.9  # measured 0.245, 0.647
    assert r.errors["OL"] > r.errors["Om"]


def _synthetic(seed: int, n: int = 500) -> tuple[pd.DataFrame, dict[str, float]]:
    truth = {"alpha": 0.13, "beta": 3.0, "M": -19.1, "delta_M": -0.08, "Om": 0.3, "sig": 0.12}
    rng = np.random.default_rng(seed)
    z = np.sort(rng.uniform(0.02, 1.0, n))
    x1 = rng.normal(0, 1, n)
    c = rng.normal(0, 0.1, n)
    mass = rng.normal(10.0, 0.6, n)
    dmb, dx1, dc = np.full(n, 0.04), np.full(n, 0.05), np.full(n, 0.01)
    df = pd.DataFrame({"name": [f"sn{i}" for i in range(n)], "zcmb": z, "zhel": z, "mb": 0.0,
                       "dmb": dmb, "x1": x1, "dx1": dx1, "color": c, "dcolor": dc,
                       "3rdvar": mass, "cov_m_s": 0.0, "cov_m_c": 0.0, "cov_s_c": 0.0})
    like = JLALikelihood(df, dmb_includes_dispersion=False)
    mu = like.mu_model(truth["Om"], 1 - truth["Om"])
    sd = np.sqrt(dmb**2 + truth["sig"] ** 2 + like.v_extra)
    df["mb"] = (mu + truth["M"] - truth["alpha"] * x1 + truth["beta"] * c
                + truth["delta_M"] * (mass >= 10) + sd * rng.standard_normal(n))
    df["x1"] = x1 + dx1 * rng.standard_normal(n)
    df["color"] = c + dc * rng.standard_normal(n)
    return df, truth


def test_inject_and_recover():
    df, truth = _synthetic(3)
    r = fit_jla(df, "flat-lcdm", dmb_includes_dispersion=False)
    for k in ("alpha", "beta", "M", "delta_M", "Om"):
        assert abs(r.values[k] - truth[k]) < 3.5 * r.errors[k], (k, r.values[k], r.errors[k])
    lo, hi = r.sigma_int_range
    assert lo - 0.01 < truth["sig"] < hi + 0.01 and lo < r.sigma_int < hi


def test_cli_jla_lcparams(reference_data, tmp_path, capsys):
    out = tmp_path / "jla"
    code = main(["cosmo", "sn-fit", str(reference_data / "jla" / "jla_lcparams.txt"),
                 "--format", "jla-lcparams", "--out", str(out), "--n-steps", "200",
                 "--n-walkers", "12", "--no-progress", "--allow-unconverged"])
    assert code == 0
    text = capsys.readouterr().out
    assert "alpha = 0.1" in text and "delta_M" in text and "sigma_int" in text
    post = json.loads((out / "sn_posterior.json").read_text())
    for k in ("alpha", "beta", "M", "delta_M", "Om"):
        assert {"mean", "std", "median", "lo68", "hi68"} <= set(post[k])
    assert post["best_fit"]["alpha"] == pytest.approx(0.140, abs=0.003)
    assert post["published_betoule2014"]["beta"]["published"] == 3.101
    fit = json.loads((out / "jla_fit.json").read_text())
    assert fit["n_sne"] == 740 and fit["sigma_int"] == 0.0
    hub = read_hubble_table(out / "hubble.csv", "csv")  # sn-fit can read it back
    assert hub.n == 740
    assert (out / "triangle.png").is_file()


def test_cli_jla_lcparams_refuses_cov(reference_data, tmp_path, capsys):
    code = main(["cosmo", "sn-fit", str(reference_data / "jla" / "jla_lcparams.txt"),
                 "--format", "jla-lcparams", "--cov", str(tmp_path / "c.txt"), "--out",
                 str(tmp_path / "o")])
    assert code == 2
    assert "--cov" in capsys.readouterr().err

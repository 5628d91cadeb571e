"""Readers of Hubble tables, light curves and redshifts: real files and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import InputError
from rediscovery.cosmo.sn.io import (
    HubbleTable,
    read_hubble_table,
    read_lightcurves,
    read_redshifts,
)


def test_read_union21(reference_data):
    t = read_hubble_table(reference_data / "union2.1" / "SCPUnion2.1_mu_vs_z.txt", "union2.1")
    assert t.n == 580  # Suzuki et al. 2012: 580 SNe in Union2.1
    assert t.is_diagonal
    assert t.sn_id[0] == "1993ah" and t.z[0] == pytest.approx(0.028488)
    assert t.mu_err[0] == pytest.approx(0.223905932998)


def test_read_jla_binned(reference_data):
    t = read_hubble_table(reference_data / "jla" / "jla_mub.txt", "jla-binned",
                          reference_data / "jla" / "jla_mub_covmatrix.txt")
    assert t.n == 31  # Betoule et al. 2014, table F.1: 31 bins
    assert t.cov.shape == (31, 31) and not t.is_diagonal
    np.testing.assert_allclose(t.cov, t.cov.T)
    # without --cov the reader finds jla_mub_covmatrix.txt beside the table
    t2 = read_hubble_table(reference_data / "jla" / "jla_mub.txt", "jla-binned")
    np.testing.assert_array_equal(t2.cov, t.cov)


def _csv(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_with_and_without_cov(tmp_path):
    p = _csv(tmp_path, "sn_id,z,mu,mu_err,host\na,0.1,38.3,0.1,x\nb,0.5,42.3,0.2,y\n")
    t = read_hubble_table(p)
    assert t.n == 2 and list(t.extra.columns) == ["host"]
    np.testing.assert_allclose(t.mu_err, [0.1, 0.2])
    c = _csv(tmp_path, "2\n0.01 0.001\n0.001 0.04\n", "cov.txt")
    t = read_hubble_table(p, "csv", c)
    assert t.cov[0, 1] == 0.001


@pytest.mark.parametrize(("text", "match"), [
    ("z,mu\n0.1,38\n", r"missing column\(s\) \['mu_err'\]"),
    ("z,mu,mu_err\n0.1,38,0.1\n0.2,39,0\n", r"column 'mu_err'.*row\(s\) \[2\]"),
    ("z,mu,mu_err\n0.1,38,0.1\n-0.2,39,0.1\n", r"column 'z'.*row\(s\) \[2\] have z <= 0"),
    ("z,mu,mu_err\n0.1,38,0.1\n0.2,abc,0.1\n", r"column 'mu'.*row\(s\) \[2\]"),
])
def test_csv_bad_input(tmp_path, text, match):
    p = _csv(tmp_path, text)
    with pytest.raises(InputError, match=match) as exc:
        read_hubble_table(p)
    assert str(p) in str(exc.value)


def test_bad_covariance(tmp_path):
    p = _csv(tmp_path, "z,mu,mu_err\n0.1,38,0.1\n0.2,39,0.1\n")
    wrong = _csv(tmp_path, "1 0 0\n0 1 0\n0 0 1\n", "c3.txt")
    with pytest.raises(InputError, match=r"9 values, expected 2x2"):
        read_hubble_table(p, "csv", wrong)
    not_pd = _csv(tmp_path, "0.01 0.02\n0.02 0.01\n", "npd.txt")
    with pytest.raises(InputError, match="not positive definite"):
        read_hubble_table(p, "csv", not_pd)
    asym = _csv(tmp_path, "0.01 0.002\n0.0 0.01\n", "asym.txt")
    with pytest.raises(InputError, match="not symmetric"):
        read_hubble_table(p, "csv", asym)


def test_unknown_format_and_missing_file(tmp_path):
    p = _csv(tmp_path, "z,mu,mu_err\n0.1,38,0.1\n")
    with pytest.raises(InputError, match=r"unknown Hubble-table format 'fits'.*'csv'"):
        read_hubble_table(p, "fits")
    with pytest.raises(InputError, match="file not found"):
        read_hubble_table(tmp_path / "nope.csv")


def test_jla_needs_covariance(tmp_path):
    p = _csv(tmp_path, "0.01 33.0\n0.02 34.0\n", "mub.txt")
    with pytest.raises(InputError, match="give their covariance"):
        read_hubble_table(p, "jla-binned")


def test_union_bad_line(tmp_path):
    p = _csv(tmp_path, "# header\nsn1\t0.1\t38.0\n", "u.txt")
    with pytest.raises(InputError, match="line 2: expected name, z, mu, sigma_mu"):
        read_hubble_table(p, "union2.1")


def test_hubble_table_validation_in_memory():
    with pytest.raises(InputError, match="covariance has shape"):
        HubbleTable(np.array([0.1, 0.2]), np.array([38.0, 39.0]), np.eye(3), np.array(["a", "b"]))


def test_hubble_table_from_a_simulated_frame():
    from rediscovery.cosmo.sn.simulate import draw_truth, simulate_hubble_table

    df = simulate_hubble_table(50, draw_truth(1), seed=2, mu_err=0.12)
    t = HubbleTable.from_frame(df, source="sim")
    np.testing.assert_array_equal(t.mu, df["mu"])
    np.testing.assert_allclose(t.mu_err, 0.12)
    assert t.is_diagonal and list(t.sn_id[:1]) == [df["sn_id"][0]]
    with pytest.raises(InputError, match=r"sim: missing column\(s\) \['mu_err'\]"):
        HubbleTable.from_frame(df.drop(columns="mu_err"), source="sim")
    with pytest.raises(InputError, match=r"column 'mu'.*non-numeric"):
        HubbleTable.from_frame(df.assign(mu="x"), source="sim")


def test_lightcurve_and_redshift_readers(tmp_path):
    lc = pd.DataFrame({"sn_id": ["a"] * 2, "time": [1.0, 2.0], "band": ["bessellb"] * 2,
                       "flux": [1.0, 2.0], "fluxerr": [0.1, 0.1], "zp": [27.5] * 2,
                       "zpsys": ["ab"] * 2})
    p = tmp_path / "lc.csv"
    lc.to_csv(p, index=False)
    assert len(read_lightcurves(p)) == 2
    lc.drop(columns="zp").to_csv(p, index=False)
    with pytest.raises(InputError, match=r"missing column\(s\) \['zp'\]"):
        read_lightcurves(p)
    lc.assign(fluxerr=[0.1, -1.0]).to_csv(p, index=False)
    with pytest.raises(InputError, match=r"fluxerr.*row\(s\) \[2\] \(SN a\)"):
        read_lightcurves(p)
    z = tmp_path / "z.csv"
    z.write_text("sn_id,z\na,0.1\nb,0.0\n")
    with pytest.raises(InputError, match=r"column 'z'.*row\(s\) \[2\] \(SN b\)"):
        read_redshifts(z)
    z.write_text("sn_id,z\na,0.1\na,0.2\n")
    with pytest.raises(InputError, match="duplicate sn_id 'a'"):
        read_redshifts(z)

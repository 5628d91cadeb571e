"""Tests of the binned-spectrum readers (rediscovery.cosmo.cmb.io) on Planck 2018 files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import InputError
from rediscovery.cosmo.cmb.io import (
    BinnedSpectrum,
    check_units,
    read_planck_binned,
    read_spectrum,
    read_spectrum_csv,
    write_spectrum_csv,
)

TT_BINNED = "planck2018/COM_PowerSpect_CMB-TT-binned_R3.01.txt"


@pytest.fixture(scope="module")
def planck_tt(reference_data):
    return read_planck_binned(reference_data / TT_BINNED)


def test_planck_binned_edges(planck_tt, reference_data):
    s = planck_tt
    raw = np.loadtxt(reference_data / TT_BINNED)
    assert s.n_bins == len(raw) == 83
    assert s.kind == "TT"
    # Planck 2018 V binning: Δℓ = 30 from ℓ = 30, last bin 2490-2508
    assert (s.ell_min[0], s.ell_max[0]) == (30, 59)
    assert (s.ell_min[-1], s.ell_max[-1]) == (2490, 2508)
    np.testing.assert_array_equal(s.dl, raw[:, 1])
    np.testing.assert_array_equal(s.dl_err_lo, raw[:, 2])
    np.testing.assert_array_equal(s.dl_err_hi, raw[:, 3])


def test_te_ee_files_read(reference_data):
    for kind in ("TE", "EE"):
        name = f"planck2018/COM_PowerSpect_CMB-{kind}-binned_R3.02.txt"
        s = read_planck_binned(reference_data / name)
        assert s.kind == kind and s.n_bins == 66 and s.ell_max[-1] == 1996


def test_csv_round_trip(planck_tt, tmp_path):
    path = write_spectrum_csv(planck_tt, tmp_path / "spectrum.csv")
    df = pd.read_csv(path)
    assert list(df.columns) == ["ell_min", "ell_max", "ell_eff", "dl", "dl_err"]
    back = read_spectrum(path, "csv")
    np.testing.assert_allclose(back.dl, planck_tt.dl, rtol=1e-9)
    np.testing.assert_array_equal(back.ell_min, planck_tt.ell_min)


def _csv(tmp_path, **overrides):
    df = pd.DataFrame({"ell_min": [30, 60, 90], "ell_max": [59, 89, 119],
                       "ell_eff": [45.0, 75.0, 105.0], "dl": [1500.0, 2000.0, 2900.0],
                       "dl_err": [50.0, 55.0, 65.0]})
    for k, v in overrides.items():
        df[k] = v
    path = tmp_path / "s.csv"
    df.to_csv(path, index=False)
    return path


def test_cl_instead_of_dl_is_detected(tmp_path):
    ell = np.array([45.0, 75.0, 105.0])
    dl = np.array([1500.0, 2000.0, 2900.0])
    cl = 2 * np.pi * dl / (ell * (ell + 1))
    with pytest.raises(InputError, match="C_ℓ in μK²") as err:
        read_spectrum_csv(_csv(tmp_path, dl=cl, dl_err=cl / 30))
    assert "column 'dl'" in str(err.value) and "s.csv" in str(err.value)
    with pytest.raises(InputError, match="K²"):
        read_spectrum_csv(_csv(tmp_path, dl=dl * 1e-12, dl_err=dl * 1e-14))


def test_unsorted_duplicated_negative(tmp_path):
    with pytest.raises(InputError, match="not sorted"):
        read_spectrum_csv(_csv(tmp_path, ell_min=[60, 30, 90], ell_max=[89, 59, 119],
                               ell_eff=[75.0, 45.0, 105.0]))
    with pytest.raises(InputError, match="duplicated"):
        read_spectrum_csv(_csv(tmp_path, ell_eff=[45.0, 45.0, 105.0], ell_min=[30, 30, 90],
                               ell_max=[59, 59, 119]))
    with pytest.raises(InputError, match="not positive"):
        read_spectrum_csv(_csv(tmp_path, dl_err=[50.0, -1.0, 65.0]))
    with pytest.raises(InputError, match="missing column"):
        read_spectrum_csv(_drop(tmp_path))
    with pytest.raises(InputError, match="not found"):
        read_spectrum_csv(tmp_path / "nope.csv")


def _drop(tmp_path):
    path = _csv(tmp_path)
    pd.read_csv(path).drop(columns="dl_err").to_csv(path, index=False)
    return path


def test_planck_file_unsorted_rejected(reference_data, tmp_path):
    lines = (reference_data / TT_BINNED).read_text().splitlines()
    lines[2], lines[3] = lines[3], lines[2]
    bad = tmp_path / "COM_PowerSpect_CMB-TT-binned_R3.01.txt"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="unsorted or duplicated"):
        read_planck_binned(bad)


def test_check_units_accepts_real_dl(planck_tt):
    check_units(planck_tt)
    dimless = BinnedSpectrum(planck_tt.ell_min, planck_tt.ell_max, planck_tt.ell_eff,
                             planck_tt.dl / 2.7255e6**2, planck_tt.dl_err_lo, planck_tt.dl_err_hi)
    with pytest.raises(InputError, match="T_CMB"):
        check_units(dimless)


# ----------------------------------------------------------------------------- three columns


def _write_three(path, ell, dl, sig, sep=" "):
    rows = "\n".join(f"{a:d}{sep}{b:.10g}{sep}{c:.10g}" for a, b, c in zip(ell, dl, sig,
                                                                          strict=True))
    path.write_text("# ell Dl sigma_noise\n" + rows + "\n")
    return path


def test_three_column_knox_binning(tmp_path):
    from rediscovery.cosmo.cmb.io import read_three_column

    ell = np.arange(2, 1001)
    dl = 1000.0 + 3000.0 * np.exp(-(((ell - 220) / 80.0) ** 2))
    sig = 5.0 + 0.02 * ell
    path = _write_three(tmp_path / "s.txt", ell, dl, sig)
    s = read_three_column(path, fsky=0.4, delta_ell=50)
    assert s.n_bins == 20 and (s.ell_min[0], s.ell_max[0]) == (2, 51)
    assert (s.ell_min[-1], s.ell_max[-1]) == (952, 1000)  # the short last bin is kept
    # bin 3 by hand: Knox (1995), σ² = Σ 2/((2ℓ+1) f) (D_b + N_ℓ)² / n², N_ℓ = σ_n √((2ℓ+1)f/2)
    m = (ell >= 152) & (ell <= 201)
    d_b = dl[m].mean()
    knox = 2.0 / ((2 * ell[m] + 1) * 0.4)
    var = np.sum(knox * (d_b + sig[m] / np.sqrt(knox)) ** 2) / m.sum() ** 2
    assert s.dl[3] == pytest.approx(d_b, rel=1e-9)  # the file holds 10 digits
    assert s.dl_err[3] == pytest.approx(np.sqrt(var), rel=1e-9)
    assert s.ell_eff[3] == pytest.approx(176.5)
    # no noise, one multipole per bin: the pure cosmic variance √(2/(2ℓ+1)/f) D_ℓ
    s1 = read_three_column(_write_three(tmp_path / "n.csv", ell, dl, 0 * sig, sep=","),
                           fsky=1.0, delta_ell=1)
    np.testing.assert_allclose(s1.dl_err, np.sqrt(2.0 / (2 * ell + 1)) * dl, rtol=1e-9)
    assert read_spectrum(path, "three-column", fsky=0.4, delta_ell=50).n_bins == 20


def test_three_column_bad_input(tmp_path):
    from rediscovery.core.errors import ConfigError
    from rediscovery.cosmo.cmb.io import read_three_column

    ell = np.arange(2, 300)
    dl = np.full(len(ell), 2000.0)
    sig = np.full(len(ell), 10.0)
    sig_neg = sig.copy()
    sig_neg[40] = -1.0
    neg = _write_three(tmp_path / "neg.txt", ell, dl, sig_neg)
    with pytest.raises(InputError, match=r"row 40 \(ℓ = 42\): σ_noise = -1 is negative") as e:
        read_three_column(neg, fsky=0.5, delta_ell=30)
    assert "neg.txt" in str(e.value) and "sigma_noise" in str(e.value)
    gap = _write_three(tmp_path / "gap.txt", np.delete(ell, 10), dl[1:], sig[1:])
    with pytest.raises(InputError, match="not contiguous"):
        read_three_column(gap, fsky=0.5, delta_ell=30)
    (tmp_path / "two.txt").write_text("2 100\n3 100\n")
    with pytest.raises(InputError, match="expected 3 columns"):
        read_three_column(tmp_path / "two.txt", fsky=0.5, delta_ell=30)
    f = 2 * np.pi / (ell * (ell + 1))
    cl = _write_three(tmp_path / "cl.txt", ell, dl * f, sig * f)
    with pytest.raises(InputError, match="C_ℓ in μK²"):
        read_three_column(cl, fsky=0.5, delta_ell=30)
    ok = _write_three(tmp_path / "ok.txt", ell, dl, sig)
    for fsky, dell in ((0.0, 30), (1.5, 30), (0.5, 0)):
        with pytest.raises(ConfigError):
            read_three_column(ok, fsky=fsky, delta_ell=dell)
    with pytest.raises(ConfigError, match="--fsky"):
        read_spectrum(ok, "three-column")

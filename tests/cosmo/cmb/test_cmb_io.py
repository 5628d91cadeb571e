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

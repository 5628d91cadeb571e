"""Hostile inputs to the cosmology commands: every mutation of a valid table that would give a
wrong number (or hang) must stop with exit code 2 and a message naming the file and the column;
a fit stuck at a prior bound exits 3 unless the user accepts it.

The valid tables are small simulated ones (and the real Union2.1 / JLA tables, which must still
be accepted).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rediscovery.cli import main
from rediscovery.cosmo.mcmc import MCMCResult, Uniform, acceptance_problems
from rediscovery.cosmo.sn.io import read_hubble_table
from rediscovery.cosmo.sn.simulate import Truth, simulate_hubble_table

FAST = ["--n-steps", "60", "--n-walkers", "8", "--no-progress"]


@pytest.fixture(scope="module")
def hubble() -> pd.DataFrame:
    return simulate_hubble_table(40, Truth(H0=70.0, Om=0.3, OL=0.7), seed=4, mu_err=0.15)


def _set(col: str, value: float, row: int = 3) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def mutate(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        df[col] = df[col].astype(float)
        df.loc[row, col] = value
        return df
    return mutate


def _to_mpc(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(mu=10.0 ** ((df["mu"] - 25.0) / 5.0))  # luminosity distance in Mpc


def _one_row_mpc(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df.loc[5, "mu"] = 10.0 ** ((df.loc[5, "mu"] - 25.0) / 5.0)
    return df


def _shift(row: int, dmag: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def mutate(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        df.loc[row, "mu"] += dmag
        return df
    return mutate


def _duplicate_row(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df, df.iloc[[7]]], ignore_index=True)


# (id, mutation, fragments the message must hold)
HUBBLE_CASES = [
    ("mu-sentinel", _set("mu", -999.0), ["'mu'", "-999", "row 4"]),
    ("mu-nan", _set("mu", np.nan), ["'mu'", "[4]"]),
    ("mu-inf", _set("mu", np.inf), ["'mu'", "[4]"]),
    ("mu-absurd", _set("mu", 1e300), ["'mu'", "1e+300"]),
    ("mu-in-mpc", _to_mpc, ["'mu'", "Mpc"]),
    ("one-row-in-mpc", _one_row_mpc, ["'mu'", "row 6"]),
    ("one-row-8-mag-off", _shift(9, 8.0), ["'mu'", "Hubble relation", "row 10"]),
    ("mu-negative", _set("mu", -3.0), ["'mu'", "-3"]),
    ("z-huge", _set("z", 1e6), ["'z'", "1000000", "row 4", "10"]),
    ("z-sentinel", _set("z", -999.0), ["'z'", "[4]"]),
    ("z-zero", _set("z", 0.0), ["'z'", "[4]"]),
    ("z-inf", _set("z", np.inf), ["'z'"]),
    ("err-sentinel", _set("mu_err", -999.0), ["'mu_err'", "[4]"]),
    ("err-zero", _set("mu_err", 0.0), ["'mu_err'"]),
    ("err-absurd", _set("mu_err", 1e300), ["'mu_err'", "1e+300"]),
    ("err-tiny", _set("mu_err", 1e-9), ["'mu_err'", "1e-09"]),
    ("duplicate-sn", _duplicate_row, ["'sn_id'", "twice"]),
    ("duplicate-row-no-id", lambda d: _duplicate_row(d).drop(columns="sn_id"),
     ["identical to an earlier row", "twice"]),
]


@pytest.mark.parametrize(("mutate", "fragments"), [c[1:] for c in HUBBLE_CASES],
                         ids=[c[0] for c in HUBBLE_CASES])
@pytest.mark.parametrize("command", ["sn-fit", "joint-fit"])
def test_hubble_mutations_refused(hubble, tmp_path, capsys, command, mutate, fragments):
    path = tmp_path / "hubble.csv"
    mutate(hubble).to_csv(path, index=False)
    out = tmp_path / "out"
    code = main(["cosmo", command, str(path), "--out", str(out), *FAST])
    err = capsys.readouterr().err
    assert code == 2, err
    assert str(path) in err and err.count("\n") == 1, err
    for frag in fragments:
        assert frag in err, (frag, err)
    assert not out.exists()


def test_union_format_sentinel_refused(reference_data, tmp_path, capsys):
    lines = (reference_data / "union2.1" / "SCPUnion2.1_mu_vs_z.txt").read_text().splitlines()
    data = [i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")]
    parts = lines[data[2]].split("\t")
    parts[2] = "-999"
    lines[data[2]] = "\t".join(parts)
    path = tmp_path / "union.txt"
    path.write_text("\n".join(lines) + "\n")
    code = main(["cosmo", "sn-fit", str(path), "--format", "union2.1", "--out",
                 str(tmp_path / "o"), *FAST])
    err = capsys.readouterr().err
    assert code == 2 and "'mu'" in err and "-999" in err and "row 3" in err, err


def test_real_tables_still_accepted(reference_data):
    union = read_hubble_table(reference_data / "union2.1" / "SCPUnion2.1_mu_vs_z.txt",
                              "union2.1")
    jla = read_hubble_table(reference_data / "jla" / "jla_mub.txt", "jla-binned")
    assert union.n == 580 and jla.n == 31


@pytest.mark.parametrize(("column", "value", "fragments"), [
    (1, "-999", ["'dl'", "-999"]),
    (1, "1e300", ["'dl'", "1e+300", "μK²"]),
    (2, "-999", ["'dl_err_lo'", "-999"]),
    (3, "1e300", ["'dl_err_hi'", "1e+300"]),
], ids=["dl-sentinel", "dl-absurd", "err-sentinel", "err-absurd"])
def test_cmb_spectrum_mutations_refused(reference_data, tmp_path, capsys, column, value,
                                        fragments):
    name = "COM_PowerSpect_CMB-TT-binned_R3.01.txt"
    lines = (reference_data / "planck2018" / name).read_text().splitlines()
    row = lines[5].split()
    row[column] = value
    lines[5] = "   ".join(row)
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    code = main(["cosmo", "cmb-fit", str(path), "--format", "planck-binned", "--out",
                 str(tmp_path / "o"), "--steps", "10", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and str(path) in err, err
    for frag in fragments:
        assert frag in err, (frag, err)


# ------------------------------------------------------------------- light curves
@pytest.fixture(scope="module")
def simulated_sne(tmp_path_factory) -> Path:
    sim = tmp_path_factory.mktemp("sim")
    assert main(["cosmo", "sn-simulate", "--out", str(sim), "--n-sne", "6", "--seed", "3",
                 "--z-max", "0.4"]) == 0
    return sim


def _lc_set(col: str, value: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return _set(col, value, row=4)


LC_CASES = [
    ("flux-absurd", "lightcurves", _lc_set("flux", 1e300), ["'flux'", "AB mag"]),
    ("fluxerr-absurd", "lightcurves", _lc_set("fluxerr", 1e300), ["'fluxerr'"]),
    ("zp-sentinel", "lightcurves", _lc_set("zp", -999.0), ["'zp'", "-999"]),
    ("time-sentinel", "lightcurves", _lc_set("time", -999.0), ["'time'", "-999"]),
    ("fluxerr-sentinel", "lightcurves", _lc_set("fluxerr", -999.0), ["'fluxerr'"]),
    ("time-nan", "lightcurves", _lc_set("time", np.nan), ["'time'"]),
    ("point-twice", "lightcurves", _duplicate_row, ["identical to an earlier row"]),
    ("z-huge", "redshifts", _set("z", 1e6, row=1), ["'z'", "1000000"]),
    ("z-sentinel", "redshifts", _set("z", -999.0, row=1), ["'z'"]),
    ("sn-twice", "redshifts", lambda d: pd.concat([d, d.iloc[[0]]], ignore_index=True),
     ["'sn_id'", "duplicate"]),
]


@pytest.mark.parametrize("abs_mag", ["19.25", "-1e300", "nan"])
def test_sn_lightcurves_abs_mag_refused(simulated_sne, tmp_path, capsys, abs_mag):
    code = main(["cosmo", "sn-lightcurves", "--lightcurves",
                 str(simulated_sne / "lightcurves.csv"), "--redshifts",
                 str(simulated_sne / "redshifts.csv"), "--out", str(tmp_path / "o"),
                 "--abs-mag", abs_mag, "--workers", "1", "--no-progress"])
    err = capsys.readouterr().err
    # nan: the CLI refuses any non-finite number option before the command runs
    expected = "finite number" if abs_mag == "nan" else "[-21.25, -17.25]"
    assert code == 2 and "--abs-mag" in err and expected in err, err


@pytest.mark.parametrize(("which", "mutate", "fragments"), [c[1:] for c in LC_CASES],
                         ids=[c[0] for c in LC_CASES])
def test_lightcurve_mutations_refused(simulated_sne, tmp_path, capsys, which, mutate,
                                      fragments):
    files = {k: simulated_sne / f"{k}.csv" for k in ("lightcurves", "redshifts")}
    bad = tmp_path / f"{which}.csv"
    mutate(pd.read_csv(files[which])).to_csv(bad, index=False)
    files[which] = bad
    code = main(["cosmo", "sn-lightcurves", "--lightcurves", str(files["lightcurves"]),
                 "--redshifts", str(files["redshifts"]), "--out", str(tmp_path / "o"),
                 "--workers", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert str(bad) in err and err.count("\n") == 1, err
    for frag in fragments:
        assert frag in err, (frag, err)


@pytest.mark.parametrize(("argv", "fragments"), [
    (["--z-max", "1e6"], ["'z_max'", "[0.1, 10]"]),
    (["--h0", "-70"], ["'H0'", "[20, 200]"]),
    (["--h0", "70000"], ["'H0'"]),
    (["--om", "-1"], ["'Om'", "[0, 1.5]"]),
    (["--ol", "1e300"], ["'OL'"]),
    (["--n-sne", "100000000000"], ["GiB of memory", "available"]),
], ids=["z-max-huge", "h0-negative", "h0-in-m-per-s", "om-negative", "ol-absurd",
        "n-sne-huge"])
def test_sn_simulate_parameters_refused(tmp_path, capsys, argv, fragments):
    out = tmp_path / "sim"
    code = main(["cosmo", "sn-simulate", "--out", str(out), "--n-sne", "5", *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    for frag in fragments:
        assert frag in err, (frag, err)
    assert not (out / "lightcurves.csv").exists()


def test_sn_fit_chain_beyond_memory_refused(hubble, tmp_path, capsys):
    path = tmp_path / "h.csv"
    hubble.to_csv(path, index=False)
    code = main(["cosmo", "sn-fit", str(path), "--out", str(tmp_path / "o"), "--n-steps",
                 "1000000000000", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "GiB of memory" in err, err


# ------------------------------------------------------------------- fits at a bound
def test_sn_fit_stuck_at_prior_bound_exits_3(hubble, tmp_path, capsys):
    """Moduli that fall faster than any flat ΛCDM allows pile Ω_m against its bound 1."""
    steep = hubble.assign(mu=hubble["mu"] - 2.0 * hubble["z"], mu_err=0.05)
    path = tmp_path / "steep.csv"
    steep.to_csv(path, index=False)
    argv = ["cosmo", "sn-fit", str(path), "--out", str(tmp_path / "o"), "--n-steps", "400",
            "--n-walkers", "8", "--no-progress", "--allow-unconverged"]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "Om" in err and "bound of its prior [0, 1]" in err and "--allow-boundary" in err
    assert json.loads((tmp_path / "o" / "sn_posterior.json").read_text())["Om"]["mean"] > 0.99
    assert main([*argv, "--allow-boundary"]) == 0, capsys.readouterr().err


def test_unconverged_sn_fit_exits_3(hubble, tmp_path, capsys):
    path = tmp_path / "h.csv"
    hubble.to_csv(path, index=False)
    assert main(["cosmo", "sn-fit", str(path), "--out", str(tmp_path / "o"), *FAST]) == 3
    assert "did not converge" in capsys.readouterr().err


def _result(samples: np.ndarray, converged: bool = True) -> MCMCResult:
    chain = samples.reshape(-1, 4, samples.shape[-1])
    return MCMCResult(names=["Om", "w"][: samples.shape[-1]], chain=chain,
                      log_prob_chain=np.zeros(chain.shape[:2]), burn=0, thin=1,
                      autocorr_tau=np.ones(chain.shape[2]), rhat=np.ones(chain.shape[2]),
                      converged=converged, acceptance_fraction=np.full(4, 0.3),
                      messages=[] if converged else ["too short"])


def test_acceptance_problems():
    rng = np.random.default_rng(0)
    priors = [Uniform(0.0, 1.0), Uniform(-3.0, 0.0)]
    good = np.column_stack([rng.normal(0.3, 0.05, 400), rng.normal(-1.0, 0.2, 400)])
    assert acceptance_problems(_result(good), priors) == []
    collapsed = good.copy()
    collapsed[:, 0] = 0.0
    probs = acceptance_problems(_result(collapsed), priors)
    assert len(probs) == 1 and "no spread" in probs[0] and probs[0].startswith("Om = 0")
    piled = good.copy()
    piled[:, 1] = -np.abs(rng.normal(0.0, 0.003, 400))
    assert "runs into a bound" in acceptance_problems(_result(piled), priors)[0]
    assert acceptance_problems(_result(piled), priors, allow_boundary=True) == []
    assert "did not converge (too short)" in acceptance_problems(_result(good, False),
                                                                   priors)[0]

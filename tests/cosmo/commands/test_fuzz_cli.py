"""Hostile command lines for the cosmology commands: every refusal is one line, exit code 2,
no traceback, and argument or output-path problems are found before any sampling or fitting.

Each row: (argv with ``{placeholders}``, expected fragment of the message, functions that must
not be called). Placeholders: the small inputs below and the shared ``bad_files``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SIMULATE = "rediscovery.cosmo.sn.simulate:simulate_lightcurves"
LC_FIT = "rediscovery.cosmo.sn.lightcurves:fit_lightcurves"
SN_FIT = "rediscovery.cosmo.sn.hubble:fit_hubble"
CMB_FIT = "rediscovery.cosmo.cmb.likelihood:fit_cmb"
EMU = "rediscovery.cosmo.cmb.emulator:generate_training_set"
JOINT = "rediscovery.cosmo.joint:fit_joint"
RUN = "rediscovery.cosmo.commands.pipeline:run_pipeline"


@pytest.fixture(scope="session")
def inputs(tmp_path_factory, bad_files) -> dict[str, Path]:
    """A 5-supernova Hubble table, light curves and redshifts with a header and no rows."""
    root = tmp_path_factory.mktemp("cosmo_fuzz")
    (root / "hubble.csv").write_text("z,mu,mu_err\n0.1,38.3,0.1\n0.2,39.9,0.1\n0.3,40.9,0.1\n"
                                     "0.5,42.2,0.1\n0.8,43.4,0.1\n")
    (root / "lc_header.csv").write_text("sn_id,time,band,flux,fluxerr,zp,zpsys\n")
    (root / "lc.csv").write_text("sn_id,time,band,flux,fluxerr,zp,zpsys\n"
                                 "sn1,55000,bessellb,100,10,25,ab\n")
    (root / "z.csv").write_text("sn_id,z\nsn1,0.1\n")
    (root / "spectrum.csv").write_text("ell_min,ell_max,ell_eff,dl,dl_err\n"
                                       "30,59,44.5,1500,50\n60,89,74.5,1700,50\n")
    return {**bad_files, "hubble": root / "hubble.csv", "lc_header": root / "lc_header.csv",
            "lc": root / "lc.csv", "z": root / "z.csv", "spectrum": root / "spectrum.csv"}


def _fill(argv: list[str], paths: dict[str, Path], tmp: Path) -> list[str]:
    return [a.format(tmp=tmp, **paths) for a in argv]


LC = ["cosmo", "sn-lightcurves", "--no-progress", "--workers", "1"]
SNFIT = ["cosmo", "sn-fit", "{hubble}", "--no-progress", "--n-steps", "50", "--n-walkers", "8"]
CMBFIT = ["cosmo", "cmb-fit", "{hubble}", "--no-progress"]
JOINTFIT = ["cosmo", "joint-fit", "{hubble}", "--no-progress"]

CASES: list[tuple[str, list[str], str, tuple[str, ...]]] = [
    # -- sn-simulate
    ("sn-simulate-out-file", ["cosmo", "sn-simulate", "--out", "{file}"], "is an existing file",
     (SIMULATE,)),
    ("sn-simulate-out-unwritable", ["cosmo", "sn-simulate", "--out", "{unwritable}"],
     "cannot write", (SIMULATE,)),
    ("sn-simulate-out-under-file", ["cosmo", "sn-simulate", "--out", "{under_file}"],
     "is a file, not a folder", (SIMULATE,)),
    ("sn-simulate-n-sne-0", ["cosmo", "sn-simulate", "--out", "{tmp}/s", "--n-sne", "0"],
     "'--n-sne'", (SIMULATE,)),
    ("sn-simulate-z-max-0", ["cosmo", "sn-simulate", "--out", "{tmp}/s", "--z-max", "0"],
     "z_max", (SIMULATE,)),
    ("sn-simulate-cadence-negative", ["cosmo", "sn-simulate", "--out", "{tmp}/s",
                                      "--cadence", "-1"], "--cadence -1", (SIMULATE,)),
    ("sn-simulate-z-max-huge", ["cosmo", "sn-simulate", "--out", "{tmp}/s", "--z-max", "1e20"],
     "z_max", (SIMULATE,)),
    ("sn-simulate-cadence-beyond-season", ["cosmo", "sn-simulate", "--out", "{tmp}/s",
                                           "--cadence", "1000"], "--cadence 1000", (SIMULATE,)),
    ("sn-simulate-om-negative", ["cosmo", "sn-simulate", "--out", "{tmp}/s", "--om", "-1"],
     "'Om'", (SIMULATE,)),
    ("sn-simulate-h0-zero", ["cosmo", "sn-simulate", "--out", "{tmp}/s", "--h0", "0"],
     "'H0'", (SIMULATE,)),
    ("sn-simulate-bouncing-universe", ["cosmo", "sn-simulate", "--out", "{tmp}/s", "--om",
                                       "0", "--ol", "2.5"], "--om 0 --ol 2.5: this universe",
     (SIMULATE,)),
    ("sn-simulate-hidden-om-not-shown", ["cosmo", "sn-simulate", "--out", "{tmp}/s", "--ol",
                                         "2.5"], "error: --ol 2.5: this universe", (SIMULATE,)),
    # -- sn-lightcurves: empty, corrupt, folder inputs; output folder
    ("sn-lightcurves-empty", [*LC, "--lightcurves", "{empty_csv}", "--redshifts", "{z}",
                              "--out", "{tmp}/l"], "empty.csv: file is empty", (LC_FIT,)),
    ("sn-lightcurves-junk", [*LC, "--lightcurves", "{junk_csv}", "--redshifts", "{z}",
                             "--out", "{tmp}/l"], "junk.csv", (LC_FIT,)),
    ("sn-lightcurves-dir", [*LC, "--lightcurves", "{dir}", "--redshifts", "{z}", "--out",
                            "{tmp}/l"], "is a folder", (LC_FIT,)),
    ("sn-lightcurves-missing", [*LC, "--lightcurves", "{tmp}/nope.csv", "--redshifts", "{z}",
                                "--out", "{tmp}/l"], "not found", (LC_FIT,)),
    ("sn-lightcurves-redshifts-empty", [*LC, "--lightcurves", "{lc}", "--redshifts",
                                        "{empty_csv}", "--out", "{tmp}/l"], "empty",
     (LC_FIT,)),
    ("sn-lightcurves-redshifts-binary", [*LC, "--lightcurves", "{lc}", "--redshifts",
                                         "{junk_parquet}", "--out", "{tmp}/l"],
     "junk.parquet", (LC_FIT,)),
    ("sn-lightcurves-no-rows", [*LC, "--lightcurves", "{lc_header}", "--redshifts", "{z}",
                                "--out", "{tmp}/l"], "no light-curve points", (LC_FIT,)),
    ("sn-lightcurves-out-file", [*LC, "--lightcurves", "{lc_header}", "--redshifts", "{z}",
                                 "--out", "{file}"], "is an existing file", (LC_FIT,)),
    ("sn-lightcurves-workers-0", ["cosmo", "sn-lightcurves", "--lightcurves", "{lc_header}",
                                  "--redshifts", "{z}", "--out", "{tmp}/l", "--workers", "0"],
     "'--workers'", (LC_FIT,)),
    ("sn-lightcurves-scheduler", [*LC, "--lightcurves", "{lc}", "--redshifts", "{z}",
                                  "--out", "{tmp}/l", "--scheduler", "localhost"],
     "--scheduler 'localhost'", (LC_FIT,)),
    # -- sn-fit
    ("sn-fit-out-file", [*SNFIT, "--out", "{file}"], "is an existing file", (SN_FIT,)),
    ("sn-fit-out-unwritable", [*SNFIT, "--out", "{unwritable}"], "cannot write", (SN_FIT,)),
    ("sn-fit-n-walkers-3", [*SNFIT, "--out", "{tmp}/f", "--n-walkers", "3"],
     "--n-walkers 3", (SN_FIT,)),
    ("sn-fit-n-steps-5", [*SNFIT, "--out", "{tmp}/f", "--n-steps", "5"], "--n-steps 5",
     (SN_FIT,)),
    ("sn-fit-model", [*SNFIT, "--out", "{tmp}/f", "--model", "ocdm"], "--model 'ocdm'",
     (SN_FIT,)),
    ("sn-fit-format", [*SNFIT, "--out", "{tmp}/f", "--format", "fits"],
     "unknown Hubble-table format 'fits'", (SN_FIT,)),
    ("sn-fit-table-empty", ["cosmo", "sn-fit", "{empty_csv}", "--out", "{tmp}/f"],
     "file is empty", (SN_FIT,)),
    ("sn-fit-table-junk", ["cosmo", "sn-fit", "{junk_csv}", "--out", "{tmp}/f"], "junk.csv",
     (SN_FIT,)),
    ("sn-fit-union-binary", ["cosmo", "sn-fit", "{junk_parquet}", "--format", "union2.1",
                             "--out", "{tmp}/f"], "not a text file", (SN_FIT,)),
    ("sn-fit-truth-bad-json", [*SNFIT, "--out", "{tmp}/f", "--truth", "{bad_json}"],
     "bad.json: not valid JSON", (SN_FIT,)),
    ("sn-fit-truth-list", [*SNFIT, "--out", "{tmp}/f", "--truth", "{list_json}"],
     "expected a JSON object", (SN_FIT,)),
    ("sn-fit-truth-missing", [*SNFIT, "--out", "{tmp}/f", "--truth", "{tmp}/nope.json"],
     "not found", (SN_FIT,)),
    ("sn-fit-cov-junk", [*SNFIT, "--out", "{tmp}/f", "--cov", "{junk_csv}"], "covariance",
     (SN_FIT,)),
    # -- cmb-fit
    ("cmb-fit-out-file", [*CMBFIT, "--out", "{file}"], "is an existing file", (CMB_FIT,)),
    ("cmb-fit-walkers-3", [*CMBFIT, "--out", "{tmp}/c", "--walkers", "3"], "--walkers 3",
     (CMB_FIT,)),
    ("cmb-fit-steps-5", [*CMBFIT, "--out", "{tmp}/c", "--steps", "5"], "--steps 5",
     (CMB_FIT,)),
    ("cmb-fit-format", [*CMBFIT, "--out", "{tmp}/c", "--format", "fits"], "--format",
     (CMB_FIT,)),
    ("cmb-fit-theory", [*CMBFIT, "--out", "{tmp}/c", "--theory", "class"], "--theory",
     (CMB_FIT,)),
    ("cmb-fit-errors", [*CMBFIT, "--out", "{tmp}/c", "--errors", "max"], "--errors",
     (CMB_FIT,)),
    ("cmb-fit-binning", [*CMBFIT, "--out", "{tmp}/c", "--binning", "log"], "--binning",
     (CMB_FIT,)),
    ("cmb-fit-tau-prior-negative-sigma", [*CMBFIT, "--out", "{tmp}/c", "--tau-prior",
                                          "0.05,-1"], "--tau-prior", (CMB_FIT,)),
    ("cmb-fit-tau-prior-text", [*CMBFIT, "--out", "{tmp}/c", "--tau-prior", "abc"],
     "--tau-prior", (CMB_FIT,)),
    ("cmb-fit-lmin-above-lmax", [*CMBFIT, "--out", "{tmp}/c", "--lmin", "100", "--lmax",
                                 "50"], "--lmin 100", (CMB_FIT,)),
    ("cmb-fit-burn", [*CMBFIT, "--out", "{tmp}/c", "--steps", "100", "--burn", "200"],
     "--burn 200", (CMB_FIT,)),
    ("cmb-fit-params-empty", [*CMBFIT, "--out", "{tmp}/c", "--params", ","], "--params",
     (CMB_FIT,)),
    ("cmb-fit-params-unknown", [*CMBFIT, "--out", "{tmp}/c", "--params", "H0,foo"],
     "--params 'H0,foo': unknown foo", (CMB_FIT,)),
    ("cmb-fit-params-twice", [*CMBFIT, "--out", "{tmp}/c", "--params", "H0,H0"],
     "given twice", (CMB_FIT,)),
    ("cmb-fit-emulator-junk", ["cosmo", "cmb-fit", "{spectrum}", "--no-progress", "--out",
                               "{tmp}/c", "--emulator", "{junk_parquet}"],
     "junk.parquet", (CMB_FIT,)),
    ("cmb-fit-spectrum-empty", ["cosmo", "cmb-fit", "{empty_csv}", "--no-progress", "--out",
                                "{tmp}/c"], "file is empty", (CMB_FIT,)),
    ("cmb-fit-spectrum-junk", ["cosmo", "cmb-fit", "{junk_csv}", "--no-progress", "--out",
                               "{tmp}/c"], "junk.csv", (CMB_FIT,)),
    ("cmb-fit-spectrum-dir", ["cosmo", "cmb-fit", "{dir}", "--no-progress", "--out",
                              "{tmp}/c"], "a_folder", (CMB_FIT,)),
    # -- cmb-emulator train
    ("emulator-out-txt", ["cosmo", "cmb-emulator", "train", "--out", "{tmp}/emu.txt"],
     "unknown extension '.txt'", (EMU,)),
    ("emulator-out-dir", ["cosmo", "cmb-emulator", "train", "--out", "{dir}"],
     "is an existing folder", (EMU,)),
    ("emulator-out-unwritable", ["cosmo", "cmb-emulator", "train", "--out",
                                 "{unwritable}/emu.npz"], "cannot write", (EMU,)),
    ("emulator-samples-0", ["cosmo", "cmb-emulator", "train", "--out", "{tmp}/emu.npz",
                            "--samples", "0"], "--samples 0", (EMU,)),
    ("emulator-box", ["cosmo", "cmb-emulator", "train", "--out", "{tmp}/emu.npz", "--box",
                      "omk"], "--box", (EMU,)),
    ("emulator-scheduler", ["cosmo", "cmb-emulator", "train", "--out", "{tmp}/emu.npz",
                            "--scheduler", "x y"], "--scheduler 'x y'", (EMU,)),
    ("emulator-cache-ext", ["cosmo", "cmb-emulator", "train", "--out", "{tmp}/emu.npz",
                            "--cache", "{tmp}/c.txt"], "--cache", (EMU,)),
    # -- joint-fit
    ("joint-fit-out-file", [*JOINTFIT, "--out", "{file}"], "is an existing file", (JOINT,)),
    ("joint-fit-model", [*JOINTFIT, "--out", "{tmp}/j", "--model", "ocdm"],
     "--model 'ocdm'", (JOINT,)),
    ("joint-fit-cmb", [*JOINTFIT, "--out", "{tmp}/j", "--cmb", "wmap"], "--cmb 'wmap'",
     (JOINT,)),
    ("joint-fit-n-walkers-3", [*JOINTFIT, "--out", "{tmp}/j", "--n-walkers", "3"],
     "--n-walkers 3", (JOINT,)),
    ("joint-fit-n-steps-0", [*JOINTFIT, "--out", "{tmp}/j", "--n-steps", "0"],
     "--n-steps 0", (JOINT,)),
    ("joint-fit-table-empty", ["cosmo", "joint-fit", "{empty_csv}", "--out", "{tmp}/j"],
     "file is empty", (JOINT,)),
    # -- run
    ("run-out-file", ["cosmo", "run", "--out", "{file}"], "is an existing file", (RUN,)),
    ("run-out-unwritable", ["cosmo", "run", "--out", "{unwritable}"], "cannot write", (RUN,)),
    ("run-n-sne-0", ["cosmo", "run", "--out", "{tmp}/r", "--n-sne", "0"], "--n-sne (n_sne) = 0",
     (RUN,)),
    ("run-workers-0", ["cosmo", "run", "--out", "{tmp}/r", "--workers", "0"], "--workers",
     (RUN,)),
    ("run-config-list", ["cosmo", "run", "--out", "{tmp}/r", "--config", "{list_json}"],
     "--config", (RUN,)),
    ("run-cmb-unknown", ["cosmo", "run", "--out", "{tmp}/r", "--cmb", "maps"], "--cmb",
     (RUN,)),
    # -- numbers: non-finite floats and integers beyond int64, for every option of every command
    ("sn-simulate-om-nan", ["cosmo", "sn-simulate", "--out", "{tmp}/s", "--om", "nan"],
     "--om nan: expected a finite number", (SIMULATE,)),
    ("sn-simulate-h0-inf", ["cosmo", "sn-simulate", "--out", "{tmp}/s", "--h0", "inf"],
     "--h0 inf", (SIMULATE,)),
    ("sn-fit-n-steps-huge", [*SNFIT, "--out", "{tmp}/f", "--n-steps", "9" * 20],
     "--n-steps 99999999999999999999: too large", (SN_FIT,)),
    ("emulator-samples-huge", ["cosmo", "cmb-emulator", "train", "--out", "{tmp}/emu.npz",
                               "--samples", "9" * 20], "too large", (EMU,)),
    # -- seeds
    ("sn-simulate-seed-negative", ["cosmo", "sn-simulate", "--out", "{tmp}/s", "--seed",
                                   "-1"], "'--seed'", (SIMULATE,)),
    ("sn-fit-seed-negative", [*SNFIT, "--out", "{tmp}/f", "--seed", "-5"], "'--seed'",
     (SN_FIT,)),
    ("joint-fit-seed-negative", [*JOINTFIT, "--out", "{tmp}/j", "--seed", "-5"], "'--seed'",
     (JOINT,)),
    # -- usage
    ("unknown-command", ["cosmo", "nosuch"], "No such command", ()),
    ("bad-int", [*SNFIT, "--out", "{tmp}/f", "--seed", "x"], "'--seed'", (SN_FIT,)),
]


@pytest.mark.parametrize(("argv", "fragment", "forbidden"),
                         [pytest.param(a, f, g, id=i) for i, a, f, g in CASES])
def test_refused_in_one_line_with_exit_2(argv, fragment, forbidden, inputs, tmp_path, run_cli,
                                         forbid) -> None:
    forbid(*forbidden)
    code, err = run_cli(_fill(argv, inputs, tmp_path))
    assert code == 2, err
    assert fragment in err, err


def test_case_ids_are_unique() -> None:
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))

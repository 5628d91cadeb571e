"""The root command line (rediscovery.cli)."""

from __future__ import annotations

import subprocess
import sys

from rediscovery import __version__
from rediscovery.cli import main


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "higgs" in out and "cosmo" in out


def test_unknown_command_fails(capsys):
    assert main(["nonsense"]) != 0


def test_console_script_runs_as_module():
    proc = subprocess.run(
        [sys.executable, "-m", "rediscovery", "--version"], capture_output=True, text=True,
        check=False,
    )
    assert proc.returncode == 0 and __version__ in proc.stdout


def test_bad_input_is_one_line_with_file_and_column(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    code = main(["higgs", "alter", str(bad), str(tmp_path / "out.parquet"), "--tes", "1.02"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error: ") and str(bad) in err and "PRI_tau_pt" in err
    assert not (tmp_path / "out.parquet").exists()

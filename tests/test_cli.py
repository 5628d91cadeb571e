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

"""``rediscovery higgs simulate`` / ``validate-sim``: the events stage."""

from __future__ import annotations

import typer

app = typer.Typer()

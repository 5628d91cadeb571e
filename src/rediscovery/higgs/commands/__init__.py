"""Command-line verbs of the Higgs pipeline, one module per stage, each owned by that stage's team.
Reads and writes the files of its stage (see each module); no Python objects are shared here.
The CLI (:mod:`rediscovery.cli`) loads each module's typer ``app`` by name: nothing to re-export.
"""

__all__: list[str] = []

"""Command-line verbs of the cosmology pipeline, one module per stage, each owned by its team.
Reads and writes the files of its stage (see each module); no Python objects are shared here.
The CLI (:mod:`rediscovery.cli`) loads each module's typer ``app`` by name: nothing to re-export.
"""

__all__: list[str] = []

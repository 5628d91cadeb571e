"""Command-line verbs of the Higgs pipeline, one module per stage (see rediscovery.cli)."""

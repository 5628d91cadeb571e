"""Command-line verbs of the cosmology pipeline, one module per stage (see rediscovery.cli)."""

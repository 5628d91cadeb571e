"""``python -m rediscovery`` runs the command-line interface."""

from rediscovery.cli import main

if __name__ == "__main__":
    main()

"""The `ragkeeper` command line (entry point: `ragkeeper.cli:main`)."""

from ragkeeper.cli.app import main

__all__ = ["main"]

"""The `negsim` command line (typer): `app` holds the commands, `main` runs them."""

from sim.cli.app import app, main

__all__ = ["app", "main"]

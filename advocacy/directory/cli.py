"""The `advocacy mps` commands."""

import click


@click.group("mps")
def mps_command() -> None:
    """The MP directory."""

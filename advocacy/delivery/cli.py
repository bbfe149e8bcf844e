"""The `advocacy worker` command."""

import click


@click.command("worker")
@click.option("--once", is_flag=True, help="Drain what is due, then exit.")
def worker_command(once: bool) -> None:
    """Send queued letters and system emails."""
    raise click.ClickException("not built yet")

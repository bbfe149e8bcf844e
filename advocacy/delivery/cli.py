"""The `advocacy worker` command."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import click
from flask import current_app
from flask.cli import with_appcontext

from advocacy.delivery.mail import make_backend
from advocacy.delivery.worker import RetryPolicy, Worker


@contextmanager
def _on_shutdown_signals(callback: Callable[[], None]) -> Iterator[None]:
    """Call `callback` on SIGTERM or SIGINT while inside the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        callback()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@click.command("worker")
@click.option("--once", is_flag=True, help="Drain what is due, then exit.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=None,
    help="Requests in flight at once (default: WORKER_CONCURRENCY).",
)
@click.option("--batch-size", type=click.IntRange(1, 1000), default=None, hidden=True)
@click.option("--max-attempts", type=click.IntRange(1, 100), default=8, hidden=True)
@click.option("--retry-base", type=click.FloatRange(0.0), default=30.0, hidden=True)
@with_appcontext
def worker_command(
    once: bool,
    concurrency: int | None,
    batch_size: int | None,
    max_attempts: int,
    retry_base: float,
) -> None:
    """Send queued letters and system emails."""
    settings = current_app.config["SETTINGS"]
    worker = Worker(
        settings,
        make_backend(settings),
        concurrency=concurrency,
        batch_size=batch_size,
        retry=RetryPolicy(max_attempts=max_attempts, base_seconds=retry_base),
    )
    with _on_shutdown_signals(worker.stop):
        report = worker.run(once=once)
    click.echo(f"Worker stopped: {report.summary()}.")
    if report.auth_failed:
        raise click.ClickException(
            "SendGrid refused the API key, so sending stopped with the queue intact. "
            "Check SENDGRID_API_KEY (it needs the Mail Send permission) and start the worker again."
        )

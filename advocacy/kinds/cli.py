"""`advocacy petitions`: targets, delivery schedule and bundles of petition campaigns."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.delivery.mail import make_backend
from advocacy.extensions import db
from advocacy.kinds import bundles, pledge, targets
from advocacy.models import Campaign, DeliveryBundle


def _campaign(session: Session, slug: str) -> Campaign:
    campaign = targets.campaign_by_slug(session, slug)
    if campaign is None:
        raise click.ClickException(f"There is no campaign {slug!r}.")
    return campaign


@click.group("petitions")
def petitions_command() -> None:
    """Targets, delivery schedule and bundles of petitions."""


@petitions_command.command("add-target")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--role", default="")
@click.option("--email", default=None)
@click.option("--address", default=None, help="Postal address; use \\n between lines.")
@click.option("--country", default=None, help="ISO 3166 code of the postal address (CN, US...).")
@with_appcontext
def add_target_command(
    slug: str, name: str, role: str, email: str | None, address: str | None, country: str | None
) -> None:
    """Add a target (an official, an embassy) to a campaign."""
    with db.transaction() as session:
        try:
            target = targets.add_target(
                session,
                _campaign(session, slug),
                name=name,
                role=role,
                email=email,
                postal_address=address.replace("\\n", "\n") if address else None,
                country_code=country,
            )
        except targets.TargetError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"Target {target.id} added ({target.kind}).")


@petitions_command.command("targets")
@click.argument("slug")
@with_appcontext
def list_targets_command(slug: str) -> None:
    """List a campaign's targets."""
    with db.transaction() as session:
        for target in _campaign(session, slug).targets:
            click.echo(f"{target.id}\t{target.kind}\t{target.name}\t{target.role}")


@petitions_command.command("remove-target")
@click.argument("slug")
@click.argument("target_id", type=int)
@with_appcontext
def remove_target_command(slug: str, target_id: int) -> None:
    """Take a target off a campaign."""
    with db.transaction() as session:
        if not targets.remove_target(session, _campaign(session, slug), target_id):
            raise click.ClickException(f"Target {target_id} is not on this campaign.")
    click.echo(f"Target {target_id} removed.")


@petitions_command.command("schedule")
@click.argument("slug")
@click.option("--every-days", type=click.IntRange(1, 365), default=None)
@click.option("--off", is_flag=True, help="Deliver only when asked.")
@with_appcontext
def schedule_command(slug: str, every_days: int | None, off: bool) -> None:
    """Set how often the worker delivers new signatures to the targets."""
    if off == (every_days is not None):
        raise click.UsageError("Give either --every-days N or --off.")
    with db.transaction() as session:
        _campaign(session, slug).bundle_every_days = None if off else every_days
    click.echo("Deliveries only when asked." if off else f"Deliveries every {every_days} days.")


@petitions_command.command("digests")
@click.argument("slug")
@click.option("--every-days", type=click.IntRange(1, 365), default=None)
@click.option("--off", is_flag=True, help="Send MPs no digests.")
@with_appcontext
def digests_command(slug: str, every_days: int | None, off: bool) -> None:
    """Send each MP a digest of their own constituents who signed (petitions and pledges)."""
    if off == (every_days is not None):
        raise click.UsageError("Give either --every-days N or --off.")
    with db.transaction() as session:
        _campaign(session, slug).digest_every_days = None if off else every_days
    click.echo("No MP digests." if off else f"MP digests every {every_days} days.")


@petitions_command.command("deliver")
@click.argument("slug")
@click.option("--send/--no-send", default=True, help="Send email bundles now (default).")
@with_appcontext
def deliver_command(slug: str, send: bool) -> None:
    """Make bundles of the new signatures for every target now, and send them."""
    with db.transaction() as session:
        made = bundles.make_bundles(session, _campaign(session, slug))
        lines = [f"{b.id}\t{b.state}\t{b.signature_count}\t{b.target_name}" for b in made]
    click.echo("\n".join(lines) if lines else "No new signatures to deliver.")
    if send and made:
        sent = bundles.send_due(
            current_app.config["SETTINGS"], make_backend(current_app.config["SETTINGS"])
        )
        click.echo(f"{sent} sent by email.")


@petitions_command.command("bundles")
@click.argument("slug")
@with_appcontext
def list_bundles_command(slug: str) -> None:
    """List a campaign's bundles: when, to whom, how many, and their delivery state."""
    with db.transaction() as session:
        campaign = _campaign(session, slug)
        rows = session.scalars(
            select(DeliveryBundle)
            .where(DeliveryBundle.campaign_id == campaign.id)
            .order_by(DeliveryBundle.id)
        )
        click.echo("id\tmade\tstate\tnew\tbefore\tmessage\ttarget")
        for b in rows:
            click.echo(
                f"{b.id}\t{b.created_at:%Y-%m-%d %H:%M}\t{b.state}\t{b.signature_count}\t"
                f"{b.previous_count}\t{b.message_id or '-'}\t{b.target_name}"
            )


@petitions_command.command("bundle-files")
@click.argument("bundle_id", type=int)
@click.option("--output", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@with_appcontext
def bundle_files_command(bundle_id: int, output: Path) -> None:
    """Write a bundle's PDF and CSV (for postal targets: print the PDF and post it)."""
    with db.transaction() as session:
        bundle = session.get(DeliveryBundle, bundle_id)
        if bundle is None:
            raise click.ClickException(f"There is no bundle {bundle_id}.")
        files = bundles.build_files(session, bundle)
    output.mkdir(parents=True, exist_ok=True)
    for suffix, data in (("pdf", files.pdf), ("csv", files.csv)):
        path = output / f"{files.stem}.{suffix}"
        path.write_bytes(data)
        click.echo(str(path))


@click.group("pledges")
def pledges_command() -> None:
    """Demands of pledges, their versions and counts."""


@pledges_command.command("set-demands")
@click.argument("slug")
@click.option("--demand", "demands", multiple=True, required=True, help="In order; repeat.")
@with_appcontext
def set_demands_command(slug: str, demands: tuple[str, ...]) -> None:
    """Save a pledge's numbered demands as a new version."""
    with db.transaction() as session:
        try:
            version = pledge.set_demands(session, _campaign(session, slug), list(demands))
        except pledge.PledgeError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"Demands saved as version {version.version}.")


@pledges_command.command("counts")
@click.argument("slug")
@with_appcontext
def counts_command(slug: str) -> None:
    """Signatures per version of a pledge's demands."""
    with db.transaction() as session:
        for version, count in pledge.signatures_per_version(session, _campaign(session, slug)):
            click.echo(f"version {version}\t{count}")


@pledges_command.command("chain")
@click.argument("slug")
@click.option("--to", "next_slug", default=None, help="The campaign offered after signing.")
@with_appcontext
def chain_command(slug: str, next_slug: str | None) -> None:
    """Offer another campaign (an MP letter) to people who have signed this one."""
    with db.transaction() as session:
        campaign = _campaign(session, slug)
        campaign.next_campaign_id = _campaign(session, next_slug).id if next_slug else None
    click.echo(f"After signing: {next_slug or 'nothing'}.")

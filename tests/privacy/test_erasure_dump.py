"""Fill every table for one person through the real journey, erase them, search the dump.

On SQLite the dump is `iterdump()`; on PostgreSQL every column of every row of every table
is selected as text. Nothing of the person (name, email, address, postcode, words) may be
found anywhere, and every count must survive.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import MetaData, func, select, text
from sqlalchemy.orm import Session

from advocacy.delivery.compose import compose_notification
from advocacy.delivery.mail import make_backend
from advocacy.delivery.worker import Worker
from advocacy.extensions import db
from advocacy.models import (
    Campaign,
    ConsentWording,
    Letter,
    Notification,
    NotificationKind,
    Partner,
    PartnerConsent,
    Signature,
)
from advocacy.models.staff import AuditEvent, StaffSession, StaffTokenPurpose
from advocacy.privacy import services
from advocacy.privacy.registry import registry
from advocacy.workspace.access import Role
from advocacy.workspace.services import create_user, issue_token
from tests.campaigns.conftest import csrf_token
from tests.privacy.conftest import Person
from tests.words.conftest import campaign, postcodes_io, seeded, settings, write_and_confirm

__all__ = ["campaign", "postcodes_io", "seeded", "settings"]

WRITER = Person(
    name="Mihrigul Abdukerim",
    email="Mihrigul.A+letters@example.org",
    address="Flat 9, Quincewood Court\nSt Michael's Road",
    postcode="GU11 1AA",
    words=(
        "My aunt Patigul was a teacher in Hotan until the spring of 2017. Since then my "
        "mother calls every Sunday and nobody answers."
    ),
)
NEIGHBOUR = Person(
    name="Harriet Oyelaran",
    email="harriet.o@example.net",
    address="2 Fenland Drove\nSpalding",
    postcode="PE12 6AA",
    words="I farm near Spalding and I will not buy cotton that was picked by people in camps.",
)


def dump(session: Session) -> Iterator[str]:
    """Every row of every table as text."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        yield from conn.connection.dbapi_connection.iterdump()  # type: ignore[union-attr]
        return
    tables = MetaData()
    tables.reflect(conn)
    for table in tables.sorted_tables:
        for row in conn.execute(select(table)):
            yield f"{table.name}: " + " | ".join(str(value) for value in row)


def find_in_dump(session: Session, person: Person) -> list[str]:
    """The lines of the dump that hold any piece of the person (case-insensitively)."""
    needles = [n.lower() for n in person.needles() if len(n) >= 5]
    return [
        line[:200]
        for line in dump(session)
        for needle in needles
        if needle in line.lower() or needle.replace("'", "''") in line.lower()
    ]


def _deliver(settings_: object) -> None:
    worker = Worker(settings_, make_backend(settings_), poll_seconds=0.01)  # type: ignore[arg-type]
    worker.run(once=True)


def _add_staff_member(session: Session, person: Person) -> None:
    """The writer also volunteers for the campaign: an account, a sign-in, a link, an action."""
    user = create_user(session, person.email, Role.EDITOR, name=person.name)
    issue_token(session, user, StaffTokenPurpose.SET_PASSWORD)
    session.add(StaffSession(token_hash="0" * 64, user_id=user.id, csrf_token="c" * 32))
    session.add(AuditEvent(actor_id=user.id, actor_label=user.email, action="campaign.edit"))
    session.commit()


def _add_partner_consent(session: Session, campaign: Campaign, person: Person) -> None:
    """The writer also ticked a partner's "keep me informed" box, and confirmed."""
    partner = Partner(slug="uyghur-aid", name="Uyghur Aid", website="https://aid.example")
    session.add(partner)
    session.flush()
    wording = ConsentWording(partner_id=partner.id, version=1, text="Keep me informed.")
    session.add(wording)
    session.flush()
    letter = session.scalars(select(Letter).where(Letter.sender_email == person.email)).one()
    session.add(
        PartnerConsent(
            partner_id=partner.id,
            wording_id=wording.id,
            campaign_id=campaign.id,
            letter_id=letter.id,
            email_digest=letter.email_digest,
            name=person.name,
            email=person.email,
            confirmed_at=letter.queued_at,
        )
    )
    session.commit()


def _ask_for_link(app: Flask, client: FlaskClient, session: Session, person: Person) -> str:
    page = client.get("/privacy/my-data").get_data(as_text=True)
    client.post("/privacy/my-data", data={"csrf_token": csrf_token(page), "email": person.email})
    note = session.scalars(
        select(Notification).where(Notification.kind == NotificationKind.PRIVACY_LINK)
    ).one()
    email = compose_notification(note, app.config["SETTINGS"])
    match = re.search(r"http://localhost(/privacy/my-data/view\?t=\S+)", email.text)
    assert match
    return match.group(1)


def test_erase_then_search_the_whole_database_finds_nothing(
    app: Flask, client: FlaskClient, session: Session, campaign: Campaign
) -> None:
    for person in (WRITER, NEIGHBOUR):
        found = client.get(
            f"/campaigns/{campaign.slug}/mp", query_string={"postcode": person.postcode}
        )
        assert found.status_code in {200, 303}
    write_and_confirm(
        client,
        app,
        session,
        email=WRITER.email,
        words=WRITER.words,
        name=WRITER.name,
        address=WRITER.address,
        postcode=WRITER.postcode,
    )
    write_and_confirm(
        client,
        app,
        session,
        email=NEIGHBOUR.email,
        words=NEIGHBOUR.words,
        name=NEIGHBOUR.name,
        address=NEIGHBOUR.address,
        postcode=NEIGHBOUR.postcode,
        constituency="E14001487",
        lookup_postcode=NEIGHBOUR.postcode,
    )
    _add_staff_member(session, WRITER)
    _add_partner_consent(session, campaign, WRITER)
    link = _ask_for_link(app, client, session, WRITER)
    _deliver(app.config["SETTINGS"])
    session.expire_all()

    subject = WRITER.subject
    held = services.held_counts(session, subject)
    empty = sorted(t for t, n in held.items() if n == 0)
    assert not empty, f"fill these tables for the writer in this test: {empty}"
    assert set(held) == set(registry())
    assert find_in_dump(session, WRITER), "the dump search finds nothing even before erasure"
    signatures = session.scalar(select(func.count(Signature.id)))
    letters = session.scalar(select(func.count(Letter.id)))

    page = client.get(link).get_data(as_text=True)
    erased = client.post(
        link.replace("/view?", "/erase?"), data={"csrf_token": csrf_token(page), "confirm": "y"}
    )
    assert erased.status_code == 200
    session.close()
    session = db.session
    session.execute(text("SELECT 1"))

    assert find_in_dump(session, WRITER) == []
    # The counts survive, and the neighbour is untouched.
    assert session.scalar(select(func.count(Signature.id))) == signatures
    assert session.scalar(select(func.count(Letter.id))) == letters
    assert find_in_dump(session, NEIGHBOUR)
    kept = services.held_counts(session, NEIGHBOUR.subject)
    for table in ("letters", "signatures", "letter_fingerprints", "postcode_cache"):
        assert kept[table] > 0, table

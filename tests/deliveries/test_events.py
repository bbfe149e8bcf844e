"""Letter-writing events: fewest letters first, then one batch PDF for the organisers."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.kinds import events
from advocacy.models import EventLetter, LetterEvent, utcnow
from tests.campaigns.conftest import csrf_token
from tests.kinds.conftest import pdf_text
from tests.kinds.test_postal import OTHER, POSTAL, PRISONER, make_postal
from tests.workspace.conftest import form_token


def _write(client: FlaskClient, url: str, name: str, words: str) -> str:
    page = client.get(url).get_data(as_text=True)
    recipient = re.search(r"<h2>You are writing to ([^<]+)</h2>", page)
    assert recipient
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(page),
            "recipient": re.search(r'name="recipient" type="hidden" value="(\d+)"', page).group(1),  # type: ignore[union-attr]
            "name": name,
            "country": "DE",
            "personal_words": words,
            "use_return_address": "y",
        },
    )
    assert response.status_code == 303
    return recipient.group(1)


def test_an_event_hands_out_recipients_fairly_and_prints_one_batch(
    seeded: Flask,
    client: FlaskClient,
    session: Session,
    staff_client: Callable[..., FlaskClient],
) -> None:
    make_postal(session)
    editor = staff_client("editor")
    page = editor.get(f"/workspace/deliveries/{POSTAL}").get_data(as_text=True)
    response = editor.post(
        f"/workspace/deliveries/{POSTAL}/events",
        data={"csrf_token": form_token(page), "name": "Berlin, 12 May"},
    )
    assert response.status_code == 303
    event = session.scalars(select(LetterEvent)).one()
    url = f"/campaigns/{POSTAL}/events/{event.code}"
    assert client.get(f"/campaigns/{POSTAL}/events/not-the-code").status_code == 404

    first = _write(client, url, "Anna Schmidt", "Wir denken an Sie, jeden Tag, und hoffen.")
    second = _write(client, url, "Jonas Weber", "You are not alone: many people here ask for you.")
    assert {first, second} == {PRISONER, OTHER}

    pdf = editor.get(f"/workspace/deliveries/events/{event.id}/pdf")
    assert pdf.status_code == 200
    data = pdf.get_data()
    assert len(PdfReader(io.BytesIO(data)).pages) == 2
    text = " ".join(pdf_text(data).split())
    for expected in ("Anna Schmidt", "Wir denken an Sie", "Jonas Weber", "Ilham Tohti", "Rahile"):
        assert expected in text, expected
    assert (
        staff_client("viewer").get(f"/workspace/deliveries/events/{event.id}/pdf").status_code
        == 403
    )

    # Printed letters go after the retention period; the counts stay.
    assert events.purge_printed(session, 30, utcnow()) == 0
    assert events.purge_printed(session, 30, utcnow() + timedelta(days=31)) == 2
    session.commit()
    assert session.scalars(select(EventLetter)).first() is None

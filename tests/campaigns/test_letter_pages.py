"""The MP, write, preview and print pages as people use them: with a screen reader, on a
phone, without JavaScript, and for an MP who publishes no email address."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.models import LetterTemplate
from tests.campaigns.conftest import CAMPAIGN, visible_text, write_page_url

pytestmark = pytest.mark.usefixtures("seeded")

MP_PAGE = f"/campaigns/{CAMPAIGN}/mp?postcode=GU11+1AA"
ONE_LETTER = "Each person sends one letter per campaign"


def _keep_one_letter(session: Session) -> None:
    """Leave the campaign with only its general letter."""
    other = session.scalars(
        select(LetterTemplate).where(LetterTemplate.slug == "womens-rights")
    ).one()
    other.removed_at = datetime.now(UTC)
    session.commit()


def test_each_write_link_names_its_letter(client: FlaskClient) -> None:
    page = client.get(MP_PAGE).get_data(as_text=True)
    links = re.findall(r'<a class="button" href="[^"]*/write\?[^"]*">(.*?)</a>', page)
    assert links == [
        'Write this letter<span class="visually-hidden">: The persecution of the Uyghurs</span>',
        'Write this letter<span class="visually-hidden">: The oppression of Uyghur women</span>',
    ]


def test_with_several_letters_the_mp_and_write_pages_say_one_per_person(
    client: FlaskClient,
) -> None:
    mp = visible_text(client.get(MP_PAGE))
    # Said before the letters, so it is read before choosing.
    assert ONE_LETTER in mp
    assert mp.index(ONE_LETTER) < mp.index("Write this letter")
    assert ONE_LETTER in visible_text(client.get(write_page_url(client)))


def test_with_one_letter_there_is_no_choice_to_warn_about(
    client: FlaskClient, session: Session
) -> None:
    _keep_one_letter(session)
    assert ONE_LETTER not in visible_text(client.get(MP_PAGE))
    assert ONE_LETTER not in visible_text(client.get(write_page_url(client)))

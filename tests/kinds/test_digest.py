"""MP digests: each MP hears only of their own constituents, and only when there are new ones."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from advocacy import kinds
from advocacy.config import Settings
from advocacy.delivery.mail import make_backend
from advocacy.kinds import bundles
from advocacy.models import Campaign, utcnow
from tests.fakes.sendgrid import FakeSendGrid
from tests.kinds.conftest import signed

ALDERSHOT_MP = "alex.baker.mp@parliament.uk"
SOUTH_HOLLAND_MP = "davieshm@parliament.uk"


def _digests(fake: FakeSendGrid) -> dict[str, str]:
    return {m.to[0]: m.content("text/plain") or "" for m in fake.accepted_for("kind", "mp_digest")}


def test_each_mp_hears_only_of_their_own_constituents(
    petition: Campaign,
    client: FlaskClient,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    campaign = session.get_one(Campaign, petition.id)
    campaign.digest_every_days = 7
    session.commit()
    uk = {"country": "GB", "postcode": "GU11 1AA"}
    signed(client, session, settings, name="Ayesha Khan", email="a@x.uk", share_with_mp="y", **uk)
    signed(client, session, settings, name="Quiet Person", email="q@x.uk", **uk)
    signed(
        client, session, settings, name="Tom Baker", email="t@x.uk", share_with_mp="y",
        country="GB", postcode="PE12 6AA",
    )  # fmt: skip
    signed(client, session, settings, name="Marie Dupont", email="m@x.fr", share_with_mp="y")
    kind = kinds.for_campaign(campaign)
    later = utcnow() + bundles.SETTLE + timedelta(seconds=1)
    kind.deliver_due(settings, make_backend(settings), later)

    digests = _digests(fake_sendgrid)
    assert set(digests) == {ALDERSHOT_MP, SOUTH_HOLLAND_MP}
    aldershot = digests[ALDERSHOT_MP]
    assert "2 of your constituents in Aldershot" in aldershot
    assert "- Ayesha Khan" in aldershot
    assert "Quiet Person" not in aldershot
    assert "without their names" in aldershot
    assert "Tom Baker" not in aldershot
    assert "Marie Dupont" not in aldershot
    south = digests[SOUTH_HOLLAND_MP]
    assert "1 of your constituents" in south
    assert "- Tom Baker" in south
    assert "Ayesha Khan" not in south

    # Nothing new: no MP hears anything.
    fake_sendgrid.clear_accepted()
    kind.deliver_due(settings, make_backend(settings), later + timedelta(days=8))
    assert _digests(fake_sendgrid) == {}
    # One new constituent: only their MP hears, of them alone.
    signed(client, session, settings, name="New One", email="n@x.uk", share_with_mp="y", **uk)
    kind.deliver_due(settings, make_backend(settings), later + timedelta(days=16))
    digests = _digests(fake_sendgrid)
    assert list(digests) == [ALDERSHOT_MP]
    assert "1 of your constituents" in digests[ALDERSHOT_MP]
    assert "after the 2 we told you about before" in digests[ALDERSHOT_MP]
    assert "Ayesha Khan" not in digests[ALDERSHOT_MP]


def test_a_signer_abroad_cannot_be_named_to_an_mp(
    petition: Campaign, client: FlaskClient, session: Session, settings: Settings
) -> None:
    letter = signed(client, session, settings, share_with_mp="y", country="FR")
    assert letter.is_name_shared_with_mp is False

"""Letter-writing events: each writer is handed the recipient with the fewest letters, and
the organisers print the event's letters together, one after another."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from advocacy.kinds import postal
from advocacy.kinds.printed import PrintedLetter
from advocacy.models import Campaign, EventLetter, LetterEvent, Target, utcnow


def create_event(session: Session, campaign: Campaign, name: str) -> LetterEvent:
    """A new event with an unguessable link for the venue."""
    event = LetterEvent(campaign_id=campaign.id, name=" ".join(name.split()) or "Event")
    session.add(event)
    session.flush()
    return event


def by_code(session: Session, campaign: Campaign, code: str) -> LetterEvent | None:
    """The campaign's event with this link code."""
    return session.scalars(
        select(LetterEvent).where(LetterEvent.campaign_id == campaign.id, LetterEvent.code == code)
    ).first()


def events_of(session: Session, campaign: Campaign) -> list[tuple[LetterEvent, int]]:
    """The campaign's events, newest first, with their letters so far."""
    events = session.scalars(
        select(LetterEvent)
        .where(LetterEvent.campaign_id == campaign.id)
        .order_by(LetterEvent.id.desc())
    ).all()
    return [(e, len(letters(session, e))) for e in events]


def write(
    session: Session,
    event: LetterEvent,
    campaign: Campaign,
    target: Target,
    *,
    sender_name: str,
    country_code: str,
    personal_words: str,
    use_return_address: bool,
) -> EventLetter:
    """Keep one letter for the event's batch, and count it for its recipient."""
    letter = EventLetter(
        event_id=event.id,
        target_id=target.id,
        sender_name=sender_name,
        country_code=country_code,
        personal_words=personal_words,
        use_return_address=use_return_address,
    )
    session.add(letter)
    postal.record_letter(session, campaign, target, country_code)
    return letter


def letters(session: Session, event: LetterEvent) -> list[EventLetter]:
    """The event's letters, in the order they were written."""
    return list(
        session.scalars(
            select(EventLetter).where(EventLetter.event_id == event.id).order_by(EventLetter.id)
        )
    )


def batch(session: Session, event: LetterEvent, today: date | None = None) -> list[PrintedLetter]:
    """The event's letters ready to print, one after another; marks them printed."""
    campaign = session.get_one(Campaign, event.campaign_id)
    out = []
    now = utcnow()
    for letter in letters(session, event):
        target = session.get(Target, letter.target_id) if letter.target_id else None
        if target is None:
            continue
        out.append(
            postal.build_letter(
                campaign,
                target,
                sender_name=letter.sender_name,
                country_code=letter.country_code,
                personal_words=letter.personal_words,
                return_address=campaign.return_address if letter.use_return_address else "",
                today=today or letter.created_at.date(),
            )
        )
        letter.printed_at = letter.printed_at or now
    session.flush()
    return out


def purge_printed(session: Session, retention_days: int, now: datetime) -> int:
    """Delete event letters printed more than the retention period ago; counts stay."""
    result = session.execute(
        delete(EventLetter)
        .where(EventLetter.printed_at <= now - timedelta(days=retention_days))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)

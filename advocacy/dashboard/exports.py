"""CSV exports, streamed: memory stays flat however many rows there are.

Every cell that a spreadsheet could read as a formula is neutralised. Personal data leaves
only through `personal_rows`, for letters still inside the retention period; the view that
serves it checks the permission and writes the audit event.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from advocacy.dashboard.services import Breakdown
from advocacy.delivery.queue import PURGEABLE_STATES
from advocacy.models import Campaign, Letter, MemberOfParliament, Partner, Signature, utcnow

# A spreadsheet treats a cell starting with one of these as a formula (or, for tab and
# carriage return, strips them and then may): "=HYPERLINK(...)" in a name must stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 1000


def neutralise(value: object) -> str:
    """A cell's text, prefixed with an apostrophe if a spreadsheet would run it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def stream_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """CSV text in chunks of about BATCH rows, every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    pending = 0
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        pending += 1
        if pending >= BATCH:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


SIGNATURE_HEADER = (
    "signed_at",
    "constituency_code",
    "constituency",
    "mp",
    "party",
    "partner",
    "source",
    "delivery_state",
)


def signature_rows(session: Session, campaign: Campaign) -> Iterator[Sequence[object]]:
    """One row per signature (no personal data), read in batches from a streaming cursor."""
    query = (
        select(
            Signature.created_at,
            Letter.constituency_code,
            Letter.constituency_name,
            Letter.recipient_name,
            MemberOfParliament.party,
            Partner.name,
            Letter.source,
            Letter.state,
        )
        .join(Letter, Letter.signature_id == Signature.id)
        .outerjoin(
            MemberOfParliament, MemberOfParliament.constituency_code == Letter.constituency_code
        )
        .outerjoin(Partner, Partner.id == Letter.partner_id)
        .where(Signature.campaign_id == campaign.id)
        .order_by(Signature.id)
        .execution_options(stream_results=True, yield_per=BATCH)
    )
    for row in session.execute(query):
        yield tuple(row)


BREAKDOWN_COUNTS = ("written", "confirmed", "sent", "delivered", "bounced", "held", "awaiting")


def breakdown_header(label: str) -> tuple[str, ...]:
    """The header of a per-constituency or per-MP table."""
    return (label.lower(), "code", "detail", *BREAKDOWN_COUNTS)


def breakdown_rows(table: Breakdown) -> Iterator[Sequence[object]]:
    """A breakdown table's rows, by label."""
    for row in table.sorted("label", descending=False):
        yield (
            row.label,
            row.key,
            row.detail,
            *(getattr(row.counts, name) for name in BREAKDOWN_COUNTS),
        )


PERSONAL_HEADER = (
    "name",
    "email",
    "address",
    "postcode",
    "constituency",
    "written_at",
    "delivery_state",
)


def personal_rows(
    session: Session, campaign: Campaign, retention_days: int, now: datetime | None = None
) -> Iterator[Sequence[object]]:
    """Names and addresses of letters still inside the retention period, streamed.

    A letter whose delivery settled more than `retention_days` ago is out, even if the
    purge has not run yet: the promise is the period, not the purge's timetable.
    """
    now = now or utcnow()
    settled = Letter.state.in_(PURGEABLE_STATES)
    query = (
        select(
            Letter.sender_name,
            Letter.sender_email,
            Letter.sender_address,
            Letter.sender_postcode,
            Letter.constituency_name,
            Letter.created_at,
            Letter.state,
        )
        .where(
            Letter.campaign_id == campaign.id,
            Letter.purged_at.is_(None),
            or_(
                ~settled,
                and_(settled, Letter.state_changed_at > now - timedelta(days=retention_days)),
            ),
        )
        .order_by(Letter.id)
        .execution_options(stream_results=True, yield_per=BATCH)
    )
    for row in session.execute(query):
        yield tuple(row)

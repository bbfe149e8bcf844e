"""The counters behind every figure, and their rebuild from the letters.

Triggers (migration 0010) keep `campaign_counts` in the same transaction as every change of
a letter's state, so a page reads a few hundred counter rows whatever the number of letters.
`rebuild` recomputes them from the letters and signatures: after a bulk load with the
triggers off, or to check them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import String, case, cast, delete, func, insert, literal, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from advocacy.models import CampaignCount, Dimension, Letter, LetterState, Signature

S = LetterState
# Current-state counter columns and the states each counts; the same buckets as the triggers.
STATE_COLUMNS: dict[str, tuple[LetterState, ...]] = {
    "state_awaiting": (S.AWAITING_CONFIRMATION,),
    "state_queued": (S.QUEUED, S.SENDING),
    "state_held": (S.HELD,),
    "state_sent": (S.SENT,),
    "state_deferred": (S.DEFERRED,),
    "state_delivered": (S.DELIVERED,),
    "state_bounced": (S.BOUNCED,),
    "state_dropped": (S.DROPPED,),
    "state_failed": (S.FAILED,),
    "state_expired": (S.EXPIRED,),
}
del S


def _letter_items() -> dict[Dimension, ColumnElement[str]]:
    return {
        Dimension.CAMPAIGN: literal(""),
        Dimension.CONSTITUENCY: func.coalesce(Letter.constituency_code, ""),
        Dimension.MEMBER: func.coalesce(cast(Letter.recipient_member_id, String(20)), ""),
        Dimension.PARTNER: func.coalesce(cast(Letter.partner_id, String(20)), ""),
        Dimension.SOURCE: func.coalesce(Letter.source, ""),
    }


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _day(session: Session) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", Signature.created_at), "YYYY-MM-DD")
    return func.substr(Signature.created_at, 1, 10)


def _in(states: Sequence[LetterState]) -> ColumnElement[bool]:
    return Letter.state.in_([state.value for state in states])


def rebuild(session: Session) -> int:
    """Recompute every counter from the letters and signatures; return the rows written.

    Runs in the caller's transaction. On PostgreSQL it first blocks writers to letters and
    signatures until the commit, so no change falls between the recount and the swap.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE letters, signatures IN SHARE MODE"))
    session.execute(delete(CampaignCount))
    never_confirmed = _in((LetterState.AWAITING_CONFIRMATION, LetterState.EXPIRED))
    columns = ["campaign_id", "dimension", "item", "written", "confirmed", "sent"]
    columns += list(STATE_COLUMNS)
    for dimension, item in _letter_items().items():
        query = select(
            Letter.campaign_id,
            literal(dimension.value),
            item,
            func.count(),
            _count_if(~never_confirmed),
            _count_if(Letter.sent_at.is_not(None)),
            *(_count_if(_in(states)) for states in STATE_COLUMNS.values()),
        ).group_by(Letter.campaign_id, item)
        session.execute(insert(CampaignCount).from_select(columns, query))
    day = _day(session)
    session.execute(
        insert(CampaignCount).from_select(
            ["campaign_id", "dimension", "item", "signatures"],
            select(Signature.campaign_id, literal(Dimension.DAY.value), day, func.count()).group_by(
                Signature.campaign_id, day
            ),
        )
    )
    signed = session.execute(
        select(Signature.campaign_id, func.count()).group_by(Signature.campaign_id)
    ).all()
    for campaign_id, signatures in signed:
        row = session.get(CampaignCount, (campaign_id, Dimension.CAMPAIGN, ""))
        if row is None:
            session.add(
                CampaignCount(
                    campaign_id=campaign_id,
                    dimension=Dimension.CAMPAIGN,
                    item="",
                    signatures=signatures,
                )
            )
        else:
            row.signatures = signatures
    session.flush()
    return int(session.scalar(select(func.count()).select_from(CampaignCount)) or 0)


def snapshot(session: Session) -> dict[tuple[int, str, str], dict[str, int]]:
    """Every counter row as plain values, without zero columns (for comparisons)."""
    names = [c.key for c in CampaignCount.__table__.columns][3:]
    rows = session.scalars(select(CampaignCount)).all()
    result = {}
    for row in rows:
        values = {name: getattr(row, name) for name in names if getattr(row, name)}
        if values:
            result[(row.campaign_id, str(row.dimension), row.item)] = values
    return result

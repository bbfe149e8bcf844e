"""Staff accounts, their sessions and links, and the audit log, as the retention registry sees them.

A staff member is a data subject like anyone else: found by their account's address. The
audit log holds staff actions, never supporters' data; the label that names who acted is
blanked when that person is erased, and entries go after the longest retention period.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.models.staff import AuditEvent, StaffSession, StaffToken, StaffUser
from advocacy.privacy.registry import (
    DataSubject,
    JSONRow,
    PersonalDataTable,
    RetentionRule,
    delete_rows,
    rowcount,
)
from advocacy.security import email_digest

ERASED_LABEL = "erased staff member"


def _matches(address: str, subject: DataSubject) -> bool:
    # A self-service link knows the person only by the keyed hash of their address.
    canonical = address.strip().lower()
    return canonical == subject.email or email_digest(canonical) == subject.digest


def _user_ids(session: Session, subject: DataSubject) -> list[int]:
    # Staff accounts are few, so hashing each address here costs nothing.
    rows = session.execute(select(StaffUser.id, StaffUser.email))
    return [user_id for user_id, address in rows if _matches(address, subject)]


def _labels(session: Session, subject: DataSubject) -> list[str]:
    rows = session.scalars(
        select(AuditEvent.actor_label).where(AuditEvent.actor_label != "").distinct()
    )
    return [label for label in rows if _matches(label, subject)]


def _count(session: Session, model: type, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _find_user(session: Session, subject: DataSubject) -> int:
    return _count(session, StaffUser, StaffUser.id.in_(_user_ids(session, subject)))


def _export_user(session: Session, subject: DataSubject) -> list[JSONRow]:
    return [
        {
            "email": user.email,
            "name": user.name,
            "role": user.role,
            "is_active": user.is_active,
            "created_at": _iso(user.created_at),
            "last_login_at": _iso(user.last_login_at),
        }
        for user in session.scalars(
            select(StaffUser).where(StaffUser.id.in_(_user_ids(session, subject)))
        )
    ]


def _erase_user(session: Session, subject: DataSubject, now: datetime) -> int:
    return delete_rows(session, StaffUser, StaffUser.id.in_(_user_ids(session, subject)))


def _expire_user(session: Session, settings: Settings, now: datetime) -> int:
    due = now - timedelta(days=settings.personal_data_retention_days)
    gone = select(StaffUser.id).where(
        StaffUser.is_active.is_(False), StaffUser.deactivated_at <= due
    )
    _blank_labels(session, AuditEvent.actor_id.in_(gone))
    return delete_rows(session, StaffUser, StaffUser.id.in_(gone))


def _owned(
    session: Session, model: type[StaffSession] | type[StaffToken], subject: DataSubject
) -> Any:
    return model.user_id.in_(_user_ids(session, subject))


def _find_sessions(session: Session, subject: DataSubject) -> int:
    return _count(session, StaffSession, _owned(session, StaffSession, subject))


def _export_sessions(session: Session, subject: DataSubject) -> list[JSONRow]:
    rows = session.scalars(select(StaffSession).where(_owned(session, StaffSession, subject)))
    return [
        {"signed_in_at": _iso(s.created_at), "last_seen_at": _iso(s.last_seen_at)} for s in rows
    ]


def _erase_sessions(session: Session, subject: DataSubject, now: datetime) -> int:
    return delete_rows(session, StaffSession, _owned(session, StaffSession, subject))


def _expire_sessions(session: Session, settings: Settings, now: datetime) -> int:
    due = now - timedelta(days=settings.personal_data_retention_days)
    return delete_rows(session, StaffSession, StaffSession.last_seen_at <= due)


def _find_tokens(session: Session, subject: DataSubject) -> int:
    return _count(session, StaffToken, _owned(session, StaffToken, subject))


def _export_tokens(session: Session, subject: DataSubject) -> list[JSONRow]:
    rows = session.scalars(select(StaffToken).where(_owned(session, StaffToken, subject)))
    return [
        {"purpose": str(t.purpose), "created_at": _iso(t.created_at), "used_at": _iso(t.used_at)}
        for t in rows
    ]


def _erase_tokens(session: Session, subject: DataSubject, now: datetime) -> int:
    return delete_rows(session, StaffToken, _owned(session, StaffToken, subject))


def _expire_tokens(session: Session, settings: Settings, now: datetime) -> int:
    # A used or expired link is worth nothing and says when someone was invited.
    return delete_rows(
        session, StaffToken, or_(StaffToken.used_at.is_not(None), StaffToken.expires_at <= now)
    )


def _audit_rows(session: Session, subject: DataSubject) -> Any:
    return or_(
        AuditEvent.actor_id.in_(_user_ids(session, subject)),
        AuditEvent.actor_label.in_(_labels(session, subject)),
    )


def _blank_labels(session: Session, where: Any) -> int:
    return rowcount(
        session.execute(
            update(AuditEvent)
            .where(where, AuditEvent.actor_label != ERASED_LABEL)
            .values(actor_label=ERASED_LABEL, actor_id=None)
            .execution_options(synchronize_session=False)
        )
    )


def _find_audit(session: Session, subject: DataSubject) -> int:
    return _count(session, AuditEvent, _audit_rows(session, subject))


def _export_audit(session: Session, subject: DataSubject) -> list[JSONRow]:
    rows = session.scalars(
        select(AuditEvent).where(_audit_rows(session, subject)).order_by(AuditEvent.id)
    )
    return [{"action": e.action, "target": e.target, "at": _iso(e.created_at)} for e in rows]


def _erase_audit(session: Session, subject: DataSubject, now: datetime) -> int:
    return _blank_labels(session, _audit_rows(session, subject))


def _expire_audit(session: Session, settings: Settings, now: datetime) -> int:
    due = now - timedelta(days=settings.personal_data_retention_days)
    return delete_rows(session, AuditEvent, AuditEvent.created_at <= due)


STAFF_RULE = RetentionRule(
    setting="personal_data_retention_days",
    env="PERSONAL_DATA_RETENTION_DAYS",
    what="Campaign staff accounts",
    when="are erased {n} {unit} after they are deactivated",
)

TABLES = (
    PersonalDataTable(
        table="audit_events",
        holds="what you did as campaign staff (never supporters' data)",
        find=_find_audit,
        export=_export_audit,
        erase=_erase_audit,
        expire=_expire_audit,
        rules=(
            RetentionRule(
                setting="personal_data_retention_days",
                env="PERSONAL_DATA_RETENTION_DAYS",
                what="The staff audit log",
                when="is erased {n} {unit} after each entry",
            ),
        ),
        # It finds entries through the account, so it goes before the account.
        order=20,
    ),
    PersonalDataTable(
        table="staff_sessions",
        holds="when you signed in to the staff workspace",
        find=_find_sessions,
        export=_export_sessions,
        erase=_erase_sessions,
        expire=_expire_sessions,
        order=20,
    ),
    PersonalDataTable(
        table="staff_tokens",
        holds="invitation and password links sent to you as campaign staff",
        find=_find_tokens,
        export=_export_tokens,
        erase=_erase_tokens,
        expire=_expire_tokens,
        order=20,
    ),
    PersonalDataTable(
        table="staff_users",
        holds="your campaign staff account",
        find=_find_user,
        export=_export_user,
        erase=_erase_user,
        expire=_expire_user,
        rules=(STAFF_RULE,),
    ),
)

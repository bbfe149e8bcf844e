"""Delivery bundles of a petition: made per target, sent by the worker, tracked by the webhook.

A bundle carries the signatures with ids in (after, through]: signature ids are given at
confirmation, so each later bundle carries exactly the signatures confirmed since the last
one to the same target. Only signatures older than `SETTLE` are taken, so one confirmed in a
transaction still open when the bundle is made cannot be skipped by a higher id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from advocacy.delivery.mail import (
    Attachment,
    MailAuthError,
    OutgoingEmail,
    PermanentMailError,
    TransientMailError,
)
from advocacy.delivery.queue import ERASED
from advocacy.extensions import db
from advocacy.kinds import countries
from advocacy.kinds.bundle_pdf import BundleSummary, bundle_csv, bundle_pdf, iter_rows
from advocacy.models import (
    BUNDLE_TRANSITIONS,
    BundleState,
    Campaign,
    CampaignKind,
    CampaignStatus,
    DeliveryBundle,
    Letter,
    LetterState,
    MemberOfParliament,
    Signature,
    Target,
    TargetKind,
    utcnow,
)

if TYPE_CHECKING:
    from advocacy.config import Settings
    from advocacy.delivery.mail import MailBackend

logger = logging.getLogger(__name__)

SETTLE = timedelta(minutes=1)
TARGET, MP_DIGEST = "target", "mp_digest"
BUNDLE_KEY_ARG = "bundle_key"
BUNDLE_KIND = "bundle"
MAX_ATTEMPTS = 8
SEND_BATCH = 10
NAME_NOT_KEPT = "(name no longer kept)"


def _range(bundle: DeliveryBundle) -> tuple[Any, ...]:
    return (
        Signature.campaign_id == bundle.campaign_id,
        Signature.id > bundle.after_signature_id,
        Signature.id <= bundle.through_signature_id,
    )


def make_bundles(
    session: Session,
    campaign: Campaign,
    now: datetime | None = None,
    *,
    settle: timedelta | None = None,
) -> list[DeliveryBundle]:
    """A bundle for each target with signatures it has not had yet; in the caller's transaction."""
    now = now or utcnow()
    settle = SETTLE if settle is None else settle
    through = session.scalar(
        select(func.max(Signature.id)).where(
            Signature.campaign_id == campaign.id, Signature.created_at <= now - settle
        )
    )
    if through is None:
        # Nothing signed yet: the first delivery goes as soon as there is something.
        return []
    campaign.last_bundle_at = now
    made = []
    for target in campaign.targets:
        after = (
            session.scalar(
                select(func.max(DeliveryBundle.through_signature_id)).where(
                    DeliveryBundle.campaign_id == campaign.id,
                    DeliveryBundle.kind == TARGET,
                    DeliveryBundle.target_id == target.id,
                )
            )
            or 0
        )
        if through <= after:
            continue
        count, previous = session.execute(
            select(
                func.count(Signature.id).filter(Signature.id > after),
                func.count(Signature.id).filter(Signature.id <= after),
            ).where(Signature.campaign_id == campaign.id, Signature.id <= through)
        ).one()
        if not count:
            continue
        by_email = target.kind == TargetKind.EMAIL and bool(target.email)
        bundle = DeliveryBundle(
            campaign_id=campaign.id,
            target_id=target.id,
            target_name=target.name,
            target_email=target.email if by_email else None,
            after_signature_id=after,
            through_signature_id=through,
            signature_count=int(count),
            previous_count=int(previous),
            state=BundleState.QUEUED if by_email else BundleState.TO_PRINT,
            next_attempt_at=now if by_email else None,
            created_at=now,
            state_changed_at=now,
        )
        session.add(bundle)
        made.append(bundle)
    session.flush()
    return made


def _settled_through(session: Session, campaign: Campaign, now: datetime) -> int | None:
    return session.scalar(
        select(func.max(Signature.id)).where(
            Signature.campaign_id == campaign.id, Signature.created_at <= now - SETTLE
        )
    )


def make_digests(
    session: Session, campaign: Campaign, now: datetime | None = None
) -> list[DeliveryBundle]:
    """A digest for each MP with constituents who signed since the last digest; none for
    an MP without, a vacant seat or an MP with no email address."""
    now = now or utcnow()
    through = _settled_through(session, campaign, now)
    if through is None:
        return []
    campaign.last_digest_at = now
    after = (
        session.scalar(
            select(func.max(DeliveryBundle.through_signature_id)).where(
                DeliveryBundle.campaign_id == campaign.id, DeliveryBundle.kind == MP_DIGEST
            )
        )
        or 0
    )
    if through <= after:
        return []
    new_by_seat = session.execute(
        select(Signature.constituency_code, func.count(Signature.id))
        .where(
            Signature.campaign_id == campaign.id,
            Signature.id > after,
            Signature.id <= through,
            Signature.constituency_code.is_not(None),
        )
        .group_by(Signature.constituency_code)
    ).all()
    made = []
    for code, count in new_by_seat:
        mp = session.get(MemberOfParliament, code)
        if mp is None or not mp.email or mp.member_id is None:
            continue
        before = session.scalar(
            select(func.count(Signature.id)).where(
                Signature.campaign_id == campaign.id,
                Signature.constituency_code == code,
                Signature.id <= after,
            )
        )
        digest = DeliveryBundle(
            campaign_id=campaign.id,
            kind=MP_DIGEST,
            constituency_code=code,
            target_name=mp.name_display or "",
            target_email=mp.email,
            after_signature_id=after,
            through_signature_id=through,
            signature_count=int(count),
            previous_count=int(before or 0),
            state=BundleState.QUEUED,
            next_attempt_at=now,
            created_at=now,
            state_changed_at=now,
        )
        session.add(digest)
        made.append(digest)
    session.flush()
    return made


def digest_names(session: Session, digest: DeliveryBundle) -> list[str]:
    """Names of the digest's constituents who agreed their MP may see them."""
    names = session.scalars(
        select(Letter.sender_name)
        .select_from(Signature)
        .join(Letter, Letter.signature_id == Signature.id)
        .where(
            *_range(digest),
            Signature.constituency_code == digest.constituency_code,
            Signature.is_name_shared_with_mp.is_(True),
        )
        .order_by(Signature.id)
    ).all()
    return [name for name in names if name]


def compose_digest(session: Session, digest: DeliveryBundle, settings: Settings) -> OutgoingEmail:
    """An MP's digest: how many of their constituents signed, and who, if they agreed."""
    campaign = session.get_one(Campaign, digest.campaign_id)
    mp = session.get(MemberOfParliament, digest.constituency_code)
    context = {
        "campaign_title": campaign.title,
        "campaign_name": campaign.sender_name,
        "mp_name": digest.target_name,
        "constituency": mp.constituency_name if mp else "",
        "count": digest.signature_count,
        "previous_count": digest.previous_count,
        "names": digest_names(session, digest),
    }
    render = current_app.jinja_env.get_template
    return OutgoingEmail(
        to_email=digest.target_email or "",
        to_name=digest.target_name,
        from_email=settings.mail_from,
        from_name=campaign.sender_name or settings.mail_from_name,
        reply_to_email=None,
        reply_to_name=None,
        subject=" ".join(render("emails/mp_digest/subject.txt").render(**context).split()),
        text=render("emails/mp_digest/body.txt").render(**context).strip() + "\n",
        html=render("emails/mp_digest/body.html").render(**context),
        custom_args={BUNDLE_KEY_ARG: digest.idempotency_key, "kind": MP_DIGEST},
        categories=(MP_DIGEST, campaign.slug[:255]),
    )


def signers(session: Session, bundle: DeliveryBundle) -> Iterator[tuple[str, str]]:
    """(name, country) of each signature in the bundle, in signing order, streamed."""
    rows = session.execute(
        select(Letter.sender_name, Signature.country_code)
        .join(Letter, Letter.signature_id == Signature.id)
        .where(*_range(bundle))
        .order_by(Signature.id)
        .execution_options(yield_per=2000)
    )
    for name, code in rows:
        yield (name or NAME_NOT_KEPT), countries.name(code)


def summary(session: Session, bundle: DeliveryBundle) -> BundleSummary:
    """The bundle's letter and counts, by country and by UK constituency."""
    from advocacy import kinds
    from advocacy.kinds.services import fixed_letter

    campaign = session.get_one(Campaign, bundle.campaign_id)
    subject, body = fixed_letter(
        campaign, kinds.for_campaign(campaign).recipients(session, campaign)
    )
    by_country = session.execute(
        select(Signature.country_code, func.count(Signature.id))
        .where(*_range(bundle))
        .group_by(Signature.country_code)
    ).all()
    by_constituency = session.execute(
        select(MemberOfParliament.constituency_name, func.count(Signature.id))
        .join(
            MemberOfParliament, MemberOfParliament.constituency_code == Signature.constituency_code
        )
        .where(*_range(bundle))
        .group_by(MemberOfParliament.constituency_name)
    ).all()
    target = session.get(Target, bundle.target_id) if bundle.target_id else None
    return BundleSummary(
        campaign_title=campaign.title,
        target_name=bundle.target_name,
        target_role=target.role if target else "",
        subject=subject,
        body=body,
        made_at=bundle.created_at,
        count=bundle.signature_count,
        previous_count=bundle.previous_count,
        by_country=_by_count((countries.name(code) or "Not given", n) for code, n in by_country),
        by_constituency=_by_count((name, n) for name, n in by_constituency),
    )


def _by_count(rows: Any) -> list[tuple[str, int]]:
    return sorted(((str(label), int(n)) for label, n in rows), key=lambda r: (-r[1], r[0]))


@dataclass(frozen=True)
class BundleFiles:
    """A bundle's PDF and CSV."""

    pdf: bytes
    csv: bytes
    stem: str


def build_files(session: Session, bundle: DeliveryBundle) -> BundleFiles:
    """Render the bundle's PDF and CSV from the database, each in one streamed pass."""
    about = summary(session, bundle)
    pdf = bundle_pdf(about, iter_rows(signers(session, bundle)))
    csv = bundle_csv(about, iter_rows(signers(session, bundle)))
    campaign = session.get_one(Campaign, bundle.campaign_id)
    return BundleFiles(pdf=pdf, csv=csv, stem=f"{campaign.slug}-{bundle.id}")


def compose(session: Session, bundle: DeliveryBundle, settings: Settings) -> OutgoingEmail:
    """The email that carries a bundle to its target, with the PDF and CSV attached."""
    if not bundle.target_email:
        raise ValueError("this bundle's target has no email address")
    campaign = session.get_one(Campaign, bundle.campaign_id)
    files = build_files(session, bundle)
    context = {
        "campaign_title": campaign.title,
        "campaign_name": campaign.sender_name,
        "target_name": bundle.target_name,
        "count": bundle.signature_count,
        "previous_count": bundle.previous_count,
        "total": bundle.signature_count + bundle.previous_count,
    }
    render = current_app.jinja_env.get_template
    return OutgoingEmail(
        to_email=bundle.target_email,
        to_name=bundle.target_name,
        from_email=settings.mail_from,
        from_name=campaign.sender_name or settings.mail_from_name,
        reply_to_email=None,
        reply_to_name=None,
        subject=" ".join(render("emails/bundle/subject.txt").render(**context).split()),
        text=render("emails/bundle/body.txt").render(**context).strip() + "\n",
        html=render("emails/bundle/body.html").render(**context),
        custom_args={BUNDLE_KEY_ARG: bundle.idempotency_key, "kind": BUNDLE_KIND},
        categories=(BUNDLE_KIND, campaign.slug[:255]),
        attachments=(
            Attachment(f"{files.stem}.pdf", "application/pdf", files.pdf),
            Attachment(f"{files.stem}.csv", "text/csv", files.csv),
        ),
    )


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 60 * 2 ** max(0, attempts - 1)))


def send_due(settings: Settings, backend: MailBackend, now: datetime | None = None) -> int:
    """Send the email bundles that are due; return how many SendGrid accepted."""
    now = now or utcnow()
    lease = timedelta(seconds=settings.worker_lease_seconds)
    with db.transaction() as session:
        # A worker stopped mid-request: the bundle may have arrived, but a retry beats silence.
        session.execute(
            update(DeliveryBundle)
            .where(
                DeliveryBundle.state == BundleState.SENDING, DeliveryBundle.sending_at < now - lease
            )
            .values(state=BundleState.QUEUED, next_attempt_at=now, state_changed_at=now)
        )
        due = session.scalars(
            select(DeliveryBundle.id)
            .where(
                DeliveryBundle.state == BundleState.QUEUED, DeliveryBundle.next_attempt_at <= now
            )
            .order_by(DeliveryBundle.id)
            .limit(SEND_BATCH)
        ).all()
    sent = 0
    for bundle_id in due:
        outcome = _send_one(bundle_id, settings, backend, now)
        if outcome == "auth":
            break
        sent += outcome == "sent"
    return sent


def _send_one(bundle_id: int, settings: Settings, backend: MailBackend, now: datetime) -> str:
    with db.transaction() as session:
        claimed = session.execute(
            update(DeliveryBundle)
            .where(DeliveryBundle.id == bundle_id, DeliveryBundle.state == BundleState.QUEUED)
            .values(
                state=BundleState.SENDING,
                sending_at=now,
                state_changed_at=now,
                attempts=DeliveryBundle.attempts + 1,
            )
        )
        if getattr(claimed, "rowcount", 0) != 1:
            return "lost"
    with db.transaction() as session:
        bundle = session.get_one(DeliveryBundle, bundle_id)
        try:
            if bundle.kind == MP_DIGEST:
                email = compose_digest(session, bundle, settings)
            else:
                email = compose(session, bundle, settings)
        except Exception as exc:
            bundle.transition(BundleState.FAILED, reason=f"cannot compose: {type(exc).__name__}")
            logger.error("bundle %d cannot be composed (%s)", bundle_id, type(exc).__name__)
            return "failed"
        attempts = bundle.attempts
    try:
        result = backend.send(email)
    except MailAuthError:
        _settle(bundle_id, BundleState.QUEUED, reason="API key refused", next_at=utcnow())
        return "auth"
    except PermanentMailError as exc:
        reason = f"SendGrid {exc.status}: " + "; ".join(exc.messages)
        _settle(bundle_id, BundleState.FAILED, reason=reason[:2000])
        logger.warning("bundle %d refused by SendGrid (HTTP %s)", bundle_id, exc.status)
        return "failed"
    except TransientMailError as exc:
        if attempts >= MAX_ATTEMPTS:
            _settle(bundle_id, BundleState.FAILED, reason=f"gave up: {exc}"[:2000])
            return "failed"
        _settle(
            bundle_id,
            BundleState.QUEUED,
            reason=str(exc)[:2000],
            next_at=utcnow() + _retry_delay(attempts),
        )
        logger.info("bundle %d: %s; retried later", bundle_id, type(exc).__name__)
        return "retry"
    _settle(bundle_id, BundleState.SENT, message_id=result.message_id)
    logger.info("bundle %d sent", bundle_id)
    return "sent"


def _settle(
    bundle_id: int,
    state: BundleState,
    *,
    reason: str | None = None,
    next_at: datetime | None = None,
    message_id: str | None = None,
) -> None:
    with db.transaction() as session:
        bundle = session.get_one(DeliveryBundle, bundle_id)
        bundle.transition(state, reason=reason)
        bundle.next_attempt_at = next_at
        if message_id:
            bundle.message_id = message_id[:128]
        if state == BundleState.SENT:
            bundle.failure_reason = None


EVENT_STATES = {
    "deferred": BundleState.DEFERRED,
    "delivered": BundleState.DELIVERED,
    "bounce": BundleState.BOUNCED,
    "dropped": BundleState.DROPPED,
}


def find_for_event(session: Session, event: dict[str, Any]) -> DeliveryBundle | None:
    """The bundle a webhook event names by its key, locked for this transaction."""
    key = event.get(BUNDLE_KEY_ARG)
    if not isinstance(key, str) or not key:
        return None
    return session.scalars(
        select(DeliveryBundle).where(DeliveryBundle.idempotency_key == key).with_for_update()
    ).first()


def apply_event(bundle: DeliveryBundle, event_type: str, at: datetime) -> str:
    """Follow SendGrid's report of a bundle, never moving it back."""
    unrecorded = bundle.state in {BundleState.QUEUED, BundleState.SENDING, BundleState.FAILED}
    if unrecorded and event_type in {"processed", *EVENT_STATES}:
        # SendGrid has it although we did not record the acceptance.
        bundle.state = BundleState.SENT
        bundle.sent_at = bundle.sent_at or at
    target = EVENT_STATES.get(event_type)
    if target is None:
        return "recorded"
    if bundle.last_event_at is not None and at < bundle.last_event_at:
        return "stale"
    if target not in BUNDLE_TRANSITIONS[BundleState(bundle.state)]:
        return "refused"
    bundle.transition(target, at=at)
    bundle.last_event_at = at
    return "applied"


def purge_delivered(
    session: Session, campaign: Campaign, retention_days: int, now: datetime
) -> int:
    """Erase signers' details once every target has had them and the retention period passed."""
    if not campaign.targets:
        return 0
    delivered = (
        BundleState.SENT,
        BundleState.DELIVERED,
        BundleState.DEFERRED,
        BundleState.BOUNCED,
        BundleState.DROPPED,
        BundleState.TO_PRINT,
    )
    reached = []
    for target in campaign.targets:
        through = session.scalar(
            select(func.max(DeliveryBundle.through_signature_id)).where(
                DeliveryBundle.campaign_id == campaign.id,
                DeliveryBundle.kind == TARGET,
                DeliveryBundle.target_id == target.id,
                DeliveryBundle.state.in_(delivered),
            )
        )
        reached.append(through or 0)
    watermark = min(reached)
    if not watermark:
        return 0
    signed = select(Signature.id).where(
        Signature.campaign_id == campaign.id, Signature.id <= watermark
    )
    result = session.execute(
        update(Letter)
        .where(
            Letter.campaign_id == campaign.id,
            Letter.state == LetterState.RECORDED,
            Letter.purged_at.is_(None),
            Letter.recorded_at <= now - timedelta(days=retention_days),
            Letter.signature_id.in_(signed),
        )
        .values(**ERASED, purged_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def digests_due(kind: CampaignKind, now: datetime) -> int:
    """Make the MP digests that campaigns of this kind are due to send; return how many."""
    made = 0
    with db.transaction() as session:
        for campaign in session.scalars(
            select(Campaign).where(
                Campaign.kind == kind,
                Campaign.status != CampaignStatus.DRAFT,
                Campaign.digest_every_days.is_not(None),
            )
        ):
            every = timedelta(days=campaign.digest_every_days or 0)
            if campaign.last_digest_at is None or campaign.last_digest_at <= now - every:
                made += len(make_digests(session, campaign, now))
    return made

"""Logic of the public journey; owns its transactions."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from jinja2 import StrictUndefined, Template, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.personal_data import erase_letters
from advocacy.delivery.queue import submit_letter
from advocacy.directory.service import Representative
from advocacy.extensions import db
from advocacy.models import (
    Campaign,
    CampaignStatus,
    CampaignTarget,
    Letter,
    LetterState,
    LetterTemplate,
    Notification,
    NotificationKind,
    NotificationState,
    Partner,
    Signature,
    Target,
    utcnow,
)
from advocacy.models.letter import new_key
from advocacy.partners.services import (
    confirm_consents,
    drop_unconfirmed_consents,
    public_partner_counts,
)
from advocacy.security import (
    email_digest,
    load_confirmation_token,
    load_draft_view_token,
    load_letter_page_token,
)


class JourneyError(Exception):
    """A problem the person can fix or needs explaining; `message` is shown as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AlreadySigned(JourneyError):
    """This person has already written a confirmed letter for this campaign."""


class TooManyPending(JourneyError):
    """Several letters from this address already await confirmation."""


class CampaignClosed(JourneyError):
    """The campaign no longer accepts letters."""


# Campaign texts are written by campaigners, not by the public, but they are still
# rendered in a sandbox so a template can never reach Python objects. The person's own
# words are passed in as a value, which Jinja inserts literally and never evaluates.
_letter_env = ImmutableSandboxedEnvironment(
    autoescape=False,
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
)


def compile_letter_template(source: str) -> Template:
    """Compile a campaign letter template in the sandbox (TemplateSyntaxError if invalid)."""
    return _letter_env.from_string(source)


def parse_letter_template(source: str) -> nodes.Template:
    """The syntax tree of a campaign letter template, for checking the names it uses."""
    return _letter_env.parse(source)


def render_letter_text(source: str, **context: str) -> str:
    """Render a campaign letter template in the sandbox."""
    try:
        return _letter_env.from_string(source).render(**context)
    except SecurityError as exc:
        raise JourneyError("This letter template is not allowed to do that.") from exc
    except TemplateError as exc:
        raise JourneyError(f"This letter template has an error: {exc}") from exc


def _load_campaign(session: Session, slug: str) -> Campaign | None:
    return session.scalars(
        select(Campaign).where(Campaign.slug == slug, Campaign.status != CampaignStatus.DRAFT)
    ).first()


def get_campaign(session: Session, slug: str, ttl: float = 0.0) -> Campaign | None:
    """A campaign that the public may see (live or closed, never a draft).

    Every page of the journey needs its campaign and letter templates, which change rarely,
    so with a `ttl` the process keeps one loaded, detached copy for `ttl` seconds and every
    request reads that copy, without a query and without merging it into its session. The
    copy is read-only and shared: never add it, or a row that refers to it, to a session.
    """
    if ttl <= 0:
        return _load_campaign(session, slug)
    cache: dict[str, tuple[float, Campaign | None]] = current_app.extensions.setdefault(
        "campaign_cache", {}
    )
    entry = cache.get(slug)
    if entry is None or time.monotonic() - entry[0] > ttl:
        with db.new_session() as loader:
            loaded = _load_campaign(loader, slug)
            loader.expunge_all()
        entry = (time.monotonic(), loaded)
        cache[slug] = entry
    return entry[1]


def forget_campaign(slug: str) -> None:
    """Drop this process's cached copy of a campaign after staff changed it."""
    current_app.extensions.get("campaign_cache", {}).pop(slug, None)


def get_draft_campaign(session: Session, slug: str, token: str) -> Campaign | None:
    """A draft campaign, for staff holding a draft-view link to it; otherwise None."""
    if load_draft_view_token(token) != slug:
        return None
    return session.scalars(
        select(Campaign).where(Campaign.slug == slug, Campaign.status == CampaignStatus.DRAFT)
    ).first()


def campaign_targets(session: Session, campaign: Campaign) -> list[Target]:
    """The fixed targets a campaign writes to besides MPs.

    Queried rather than read from `campaign.targets`: the campaign may be the process's
    shared, detached copy, which cannot load a relationship.
    """
    return list(
        session.scalars(
            select(Target)
            .join(CampaignTarget, CampaignTarget.target_id == Target.id)
            .where(CampaignTarget.campaign_id == campaign.id)
            .order_by(Target.name)
        )
    )


@dataclass(frozen=True)
class SignatureCount:
    """Public counters of a campaign."""

    total: int
    last_24h: int
    goal: int | None
    # Signatures per partner code, for partners that chose to show their figures.
    by_partner: Mapping[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of count.json."""
        return {
            "total": self.total,
            "last_24h": self.last_24h,
            "goal": self.goal,
            "by_partner": dict(sorted(self.by_partner.items())),
        }

    @functools.cached_property
    def json_body(self) -> bytes:
        """count.json's body, serialised once per cached count (it is read far more often)."""
        return json.dumps(self.as_dict(), separators=(",", ":")).encode()


class _CountCache:
    """A per-process cache of counts: the page and count.json are read far more than written."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, tuple[float, SignatureCount]] = {}

    def get(self, key: int, ttl: float) -> SignatureCount | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > ttl:
            return None
        return entry[1]

    def put(self, key: int, value: SignatureCount) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic(), value)

    def forget(self, key: int) -> None:
        with self._lock:
            self._entries.pop(key, None)


def _counts() -> _CountCache:
    """The app's count cache (per app, so tests and apps never share counts)."""
    cache: _CountCache | None = current_app.extensions.get("count_cache")
    if cache is None:
        cache = current_app.extensions.setdefault("count_cache", _CountCache())
    return cache


def forget_count(campaign_id: int) -> None:
    """Drop this process's cached count of a campaign, after adding to it."""
    _counts().forget(campaign_id)


def signature_count(session: Session, campaign: Campaign, ttl: float) -> SignatureCount:
    """Confirmed signatures in total and in the last 24 hours, cached for `ttl` seconds."""
    cached = _counts().get(campaign.id, ttl)
    if cached is not None:
        return cached
    since = utcnow() - timedelta(hours=24)
    total, recent = session.execute(
        select(
            func.count(Signature.id),
            func.count(Signature.id).filter(Signature.created_at >= since),
        ).where(Signature.campaign_id == campaign.id)
    ).one()
    count = SignatureCount(
        total=int(total),
        last_24h=int(recent),
        goal=campaign.goal,
        by_partner=public_partner_counts(session, campaign),
    )
    _counts().put(campaign.id, count)
    return count


@dataclass(frozen=True)
class Author:
    """What a person tells us about themselves on the write page."""

    name: str
    email: str
    address: str
    postcode: str
    personal_words: str


def draft_body(template: LetterTemplate, rep: Representative, author: Author) -> str:
    """The letter body from the template, the recipient and the person's own words."""
    return render_letter_text(
        template.body_template,
        mp_name=rep.salutation_name,
        constituency=rep.constituency_name,
        sender_name=author.name,
        personal_words=author.personal_words.strip(),
    ).strip()


# Who the write page's copy of the campaign's letter is from, before anyone has written:
# the places the person's name and words will fill, shown as such.
PLACEHOLDER_AUTHOR = Author(
    name="[your name]",
    email="",
    address="",
    postcode="",
    personal_words="[your own words]",
)


def draft_subject(template: LetterTemplate, rep: Representative, author: Author) -> str:
    """The letter subject from the template."""
    return render_letter_text(
        template.subject_template,
        mp_name=rep.salutation_name,
        constituency=rep.constituency_name,
        sender_name=author.name,
    ).strip()


def build_letter(
    *,
    campaign: Campaign,
    template: LetterTemplate,
    rep: Representative,
    author: Author,
    subject: str,
    body: str,
    secret_key: str,
    partner: Partner | None = None,
    source: str = "",
) -> Letter:
    """An unsaved letter: what the preview shows and what submit saves."""
    return Letter(
        campaign=campaign,
        campaign_id=campaign.id,
        template=template,
        template_id=template.id,
        template_version=template.version,
        partner_id=partner.id if partner else None,
        source=source,
        email_digest=email_digest(author.email, secret_key),
        sender_name=author.name,
        sender_email=author.email,
        sender_address=author.address,
        sender_postcode=author.postcode,
        country_code="GB",  # MP letters come from UK constituents
        personal_text=author.personal_words.strip(),
        subject=subject,
        body_text=body,
        recipient_name=rep.name or "",
        recipient_email=rep.email,
        recipient_member_id=rep.member_id,
        constituency_code=rep.constituency_code,
        constituency_name=rep.constituency_name,
    )


# More unconfirmed letters than this from one address to one campaign are refused: the
# confirmation email must not become a way to flood somebody else's inbox.
MAX_PENDING_PER_PERSON = 3


# Built once, from the tables rather than the mapped classes, and run on the session's
# connection: on every submission, composing it or passing it through the ORM's statement
# handling costs more than running it.
_letters = Letter.__table__
_WAITING = select(func.count(_letters.c.id)).where(
    _letters.c.email_digest == bindparam("digest"),
    _letters.c.campaign_id == bindparam("campaign_id"),
    _letters.c.state == LetterState.AWAITING_CONFIRMATION.value,
)


def _waiting(session: Session, campaign: Campaign, digest: str) -> int:
    """How many of this person's letters to the campaign await confirmation."""
    return int(
        session.connection()
        .execute(_WAITING, {"campaign_id": campaign.id, "digest": digest})
        .scalar_one()
    )


def submit(
    session: Session, letter: Letter, also: Callable[[Letter], None] | None = None
) -> Letter:
    """Save a letter awaiting confirmation and queue its confirmation email, atomically.

    `also` runs after the letter has its id and before the commit, for rows that must be
    saved with it or not at all (a partner consent given with the letter).
    """
    if not letter.campaign.is_live:
        raise CampaignClosed("This campaign has closed and no longer accepts letters.")
    # Whether this address has already signed is told only to its inbox: the letter is
    # saved and its link emailed as any other, and the link says it cannot be sent. The
    # form itself must not answer "has this address written?" for whoever types it.
    if _waiting(session, letter.campaign, letter.email_digest) >= MAX_PENDING_PER_PERSON:
        raise TooManyPending(
            "We have already emailed this address several confirmation links for this "
            "campaign. Please open the most recent one to send your letter."
        )
    submit_letter(session, letter)
    if also is not None:
        also(letter)
    session.commit()
    return letter


@dataclass(frozen=True)
class Confirmation:
    """The outcome of following a confirmation link."""

    letter: Letter
    newly_confirmed: bool


def find_letter_for_token(
    session: Session, token: str, purpose: str = "confirm-letter"
) -> Letter | None:
    """The letter a confirmation (or other letter) token names, or None if bad or expired."""
    loaded = load_confirmation_token(token, purpose)
    if loaded is None:
        return None
    public_id, key_prefix = loaded
    letter = session.scalars(select(Letter).where(Letter.public_id == public_id)).first()
    if letter is None or not letter.idempotency_key.startswith(key_prefix):
        return None
    return letter


def confirm(session: Session, letter: Letter, settings: Settings) -> Confirmation:
    """Confirm a letter: record the signature and queue the letter in one transaction."""
    if letter.state != LetterState.AWAITING_CONFIRMATION or not _hold_while_waiting(
        session, letter
    ):
        return Confirmation(letter=letter, newly_confirmed=False)
    if not letter.campaign.is_live:
        session.rollback()
        raise CampaignClosed("This campaign has closed and no longer accepts letters.")
    signature = Signature(
        campaign_id=letter.campaign_id,
        email_digest=letter.email_digest,
        constituency_code=letter.constituency_code,
        country_code=letter.country_code,
        is_name_shared_with_mp=letter.is_name_shared_with_mp,
        member_id=letter.recipient_member_id,
        partner_id=letter.partner_id,
        source=letter.source,
    )
    session.add(signature)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise AlreadySigned(
            "You have already confirmed a letter for this campaign, so this one will not be "
            "sent. Thank you for writing."
        ) from exc
    letter.signature_id = signature.id
    confirm_consents(session, letter.id)
    # Imported here: the kinds build on this module (and the words package on its rendering).
    from advocacy import kinds

    kinds.for_campaign(letter.campaign).after_confirm(session, letter, settings)
    session.commit()
    _counts().forget(letter.campaign_id)
    return Confirmation(letter=letter, newly_confirmed=True)


class LetterNotWaiting(JourneyError):
    """The letter was confirmed, withdrawn or expired: its confirmation can no longer change."""


def find_letter_for_page(session: Session, token: str) -> Letter | None:
    """The letter a check-email page token names, or None."""
    public_id = load_letter_page_token(token) if token else None
    if public_id is None:
        return None
    return session.scalars(select(Letter).where(Letter.public_id == public_id)).first()


def _confirmations(session: Session, letter: Letter) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification).where(
                Notification.letter_id == letter.id,
                Notification.kind == NotificationKind.CONFIRMATION,
            )
        )
    )


def _hold_while_waiting(session: Session, letter: Letter) -> bool:
    """Whether the letter still awaits its link in the database; if so, hold it until commit.

    Confirm, withdraw, resend and change of address each act on a letter read a moment
    before, and two of them can run at once (a double click, the withdraw button pressed
    while the confirm button's request is still running). A guarded UPDATE that changes
    nothing takes the row's write lock and checks the state the other request left. A
    withdrawn letter is then never confirmed, a confirmed one never erased, and an erased one
    never given back an address. On refusal the transaction is rolled back, so the letter
    reads as the other request left it.
    """
    held = session.execute(
        update(Letter)
        .where(Letter.id == letter.id, Letter.state == LetterState.AWAITING_CONFIRMATION)
        .values(state_changed_at=Letter.state_changed_at)
        .execution_options(synchronize_session=False)
    )
    if held.rowcount == 1:  # type: ignore[attr-defined]
        return True
    session.rollback()
    return False


def _still_waiting(session: Session, letter: Letter) -> None:
    if letter.state != LetterState.AWAITING_CONFIRMATION or not _hold_while_waiting(
        session, letter
    ):
        raise LetterNotWaiting(
            "This letter is no longer waiting for its link: it has been confirmed, withdrawn "
            "or has expired."
        )


def _room_for_another(notes: list[Notification]) -> None:
    # The same cap as letters awaiting confirmation per address: however a person asks,
    # one letter never sends more confirmation emails than that.
    if len(notes) >= MAX_PENDING_PER_PERSON:
        raise TooManyPending(
            f"We have already sent the link for this letter {len(notes)} times, so we will "
            "not send it again. Please look for it in your inbox and your spam or junk folder."
        )


def resend_confirmation(session: Session, letter: Letter) -> bool:
    """Queue the confirmation email again; False when one is already on its way."""
    _still_waiting(session, letter)
    notes = _confirmations(session, letter)
    if any(n.state in {NotificationState.QUEUED, NotificationState.SENDING} for n in notes):
        return False
    _room_for_another(notes)
    session.add(
        Notification(
            letter_id=letter.id, kind=NotificationKind.CONFIRMATION, next_attempt_at=utcnow()
        )
    )
    session.commit()
    return True


def change_address(session: Session, letter: Letter, email: str, secret_key: str) -> None:
    """Send the confirmation to a corrected address instead; links already sent stop working."""
    _still_waiting(session, letter)
    digest = email_digest(email, secret_key)
    # As in submit: whether that address has signed is told only to its inbox.
    if (
        digest != letter.email_digest
        and _waiting(session, letter.campaign, digest) >= MAX_PENDING_PER_PERSON
    ):
        raise TooManyPending(
            "We have already emailed that address several confirmation links for this "
            "campaign. Please open the most recent one."
        )
    notes = _confirmations(session, letter)
    _room_for_another(notes)
    for note in notes:
        if note.state == NotificationState.QUEUED:
            note.transition(NotificationState.CANCELLED)
    letter.sender_email = email
    letter.email_digest = digest
    # The confirmation token carries part of this key, so the links sent to the wrong
    # address stop working.
    letter.idempotency_key = new_key()
    session.add(
        Notification(
            letter_id=letter.id, kind=NotificationKind.CONFIRMATION, next_attempt_at=utcnow()
        )
    )
    session.commit()


# Why a letter stopped before it was sent, kept on its blanked row so that its link, opened
# again, can say what happened. Neither says anything about the person.
WITHDRAWN_REASON = "withdrawn by the sender"
REFUSED_REASON = "refused: the sender had already sent a letter for this campaign"


def withdraw(session: Session, letter: Letter, reason: str) -> None:
    """Never send this letter: stop it, drop its emails and erase its personal data now.

    The email's keyed hash goes too (nothing is left to match the person by), and so do
    partner consents given with the letter and never confirmed: they would never count.
    """
    _still_waiting(session, letter)
    erase_letters(session, [letter.id], utcnow(), reason)
    drop_unconfirmed_consents(session, letter.id)
    session.commit()
    # The erasure ran as bulk statements: read the blanked row back into a loaded letter
    # (one that submit saved is detached, and may refer to the shared campaign copy).
    if letter in session:
        session.refresh(letter)


def is_withdrawn(letter: Letter) -> bool:
    """True when the letter's writer chose not to send it."""
    return letter.state == LetterState.EXPIRED and letter.failure_reason == WITHDRAWN_REASON


def is_refused(letter: Letter) -> bool:
    """True when the letter was erased unsent because its writer had already sent one."""
    return letter.state == LetterState.EXPIRED and letter.failure_reason == REFUSED_REASON


def has_signed(session: Session, letter: Letter) -> bool:
    """Whether the letter's writer already has a confirmed letter for its campaign."""
    if not letter.email_digest:
        return False
    signed = select(Signature.id).where(
        Signature.campaign_id == letter.campaign_id,
        Signature.email_digest == letter.email_digest,
    )
    return session.scalars(signed.limit(1)).first() is not None


def refuse(session: Session, letter: Letter) -> Letter | None:
    """Erase a second letter, which can never be sent; the earlier one, if still known."""
    earlier = earlier_letter(session, letter)
    withdraw(session, letter, REFUSED_REASON)
    return earlier


def earlier_letter(session: Session, letter: Letter) -> Letter | None:
    """The confirmed letter this person already sent for the campaign, if it is still known."""
    if not letter.email_digest:
        # Erased: a blank digest would match every other erased letter.
        return None
    return session.scalars(
        select(Letter)
        .where(
            Letter.campaign_id == letter.campaign_id,
            Letter.email_digest == letter.email_digest,
            Letter.signature_id.is_not(None),
            Letter.purged_at.is_(None),
            Letter.id != letter.id,
        )
        .order_by(Letter.id)
    ).first()


def other_campaigns(session: Session, campaign: Campaign) -> list[Campaign]:
    """Live campaigns besides this one, to offer someone who cannot write to it again."""
    return [c for c in list_campaigns(session) if c.id != campaign.id]


def list_campaigns(session: Session) -> list[Campaign]:
    """Live campaigns, newest first."""
    return list(
        session.scalars(
            select(Campaign)
            .where(Campaign.status == CampaignStatus.LIVE)
            .order_by(Campaign.created_at.desc())
        )
    )

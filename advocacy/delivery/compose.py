"""Turn letters and notifications into provider-independent emails, from templates/emails/."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from flask import current_app

from advocacy.campaigns.addressing import letter_date
from advocacy.delivery.mail import OutgoingEmail
from advocacy.models import Letter, LetterState, Notification, NotificationKind, utcnow
from advocacy.responses.tokens import reply_address
from advocacy.security import (
    PRIVACY_LINK_MAX_AGE,
    REVIEW_PURPOSE,
    make_confirmation_token,
    make_privacy_token,
)
from advocacy.validation import display_email, remove_controls

if TYPE_CHECKING:
    from advocacy.config import Settings

# How long a letter waits for its author's click, and when we remind them once.
CONFIRMATION_WINDOW = timedelta(days=7)
REMINDER_AFTER = timedelta(days=1)

LETTER_KIND = "letter"
# The custom argument that carries a row's idempotency key to SendGrid and back in every
# webhook event; the webhook finds the letter (or notification) by it.
LETTER_KEY_ARG = "letter_key"
NOTIFICATION_KEY_ARG = "notification_key"


def _render(name: str, **context: Any) -> str:
    """Render a template under templates/emails/ with the app's Jinja environment."""
    return current_app.jinja_env.get_template(f"emails/{name}").render(**context)


def _one_line(value: str | None) -> str:
    """A header-safe value: no line breaks or control characters, no runs of whitespace."""
    return re.sub(r"\s+", " ", remove_controls(value or "")).strip()


def _postcode_key(value: str) -> str:
    return re.sub(r"\s+", "", value).upper()


def address_lines(address: str, postcode: str) -> list[str]:
    """The sender's postal address as lines, ending with the postcode exactly once."""
    lines = [line.strip().rstrip(",") for line in (address or "").splitlines()]
    lines = [line for line in lines if line]
    if postcode and not (lines and _postcode_key(lines[-1]).endswith(_postcode_key(postcode))):
        lines.append(postcode.strip().upper())
    return lines


def unix_lines(text: str) -> str:
    """The text with every line ending as LF: browsers post textareas with CRLF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def paragraphs(text: str) -> list[list[str]]:
    """Paragraphs (separated by blank lines), each a list of its lines."""
    blocks = re.split(r"\n[ \t]*\n", unix_lines(text).strip())
    return [[line.rstrip() for line in block.strip("\n").split("\n")] for block in blocks if block]


def _signed_by(body: str, name: str) -> bool:
    """True when the body already ends with the sender's name ("Yours sincerely,\nAda")."""
    lines = [line for line in unix_lines(body).splitlines() if line.strip()]
    return bool(lines and name) and _one_line(lines[-1]).casefold() == name.casefold()


def signature_text(letter: Letter) -> str:
    """The block under every letter: the sender's name, address and email, and a footer.

    The name opens the block unless the letter already closes with it, so an MP never
    reads it twice in a row.
    """
    name = _one_line(letter.sender_name)
    return _render(
        "letter/signature.txt",
        sender_name=name,
        show_name=not _signed_by(letter.body_text or "", name),
        address_lines=address_lines(letter.sender_address, letter.sender_postcode),
        sender_email=display_email(letter.sender_email),
        campaign_name=_one_line(letter.campaign.sender_name),
    ).strip()


def letter_text(letter: Letter) -> str:
    """The full plain text of a letter: the approved body, then the signature block."""
    return f"{unix_lines(letter.body_text).strip()}\n\n{signature_text(letter)}\n"


def compose_letter(letter: Letter, settings: Settings) -> OutgoingEmail:
    """The email that carries a letter to its recipient; works on an unsaved letter too.

    It comes From our own address, because sending as the constituent would fail their
    domain's DMARC checks; their name is in the display name and their address in Reply-To.
    """
    if not letter.recipient_email:
        raise ValueError("this letter's recipient has no email address")
    campaign = letter.campaign
    text = letter_text(letter)
    subject = _one_line(letter.subject)
    html = _render("letter/body.html", subject=subject, paragraphs=paragraphs(text))
    categories = [LETTER_KIND]
    if campaign.slug:
        categories.append(campaign.slug[:255])
    reply_to_list: tuple[tuple[str, str], ...] = ()
    if settings.reply_domain:
        # The constituent first, so the MP's reply reaches them as before; the second
        # address only tells us that (and when) a reply was sent.
        reply_to_list = (
            (letter.sender_email.strip(), _one_line(letter.sender_name)),
            (
                reply_address(letter.public_id, settings.secret_key, settings.reply_domain),
                f"{_one_line(campaign.sender_name)} reply count",
            ),
        )
    return OutgoingEmail(
        to_email=letter.recipient_email.strip(),
        to_name=_one_line(letter.recipient_name),
        from_email=settings.mail_from,
        from_name=f"{_one_line(letter.sender_name)} via {_one_line(campaign.sender_name)}",
        reply_to_email=display_email(letter.sender_email),
        reply_to_name=_one_line(letter.sender_name),
        subject=subject,
        text=text,
        html=html,
        custom_args={LETTER_KEY_ARG: letter.idempotency_key, "kind": LETTER_KIND},
        categories=tuple(categories),
        track=False,
        reply_to_list=reply_to_list,
    )


def confirmation_url(letter: Letter, settings: Settings) -> str:
    """The single-use link that confirms a letter (needs an app context for the secret)."""
    from advocacy import kinds

    token = make_confirmation_token(letter.public_id, letter.idempotency_key)
    return f"{settings.base_url}{kinds.for_campaign(letter.campaign).confirm_path}{token}"


def privacy_url(digest: str, settings: Settings) -> str:
    """The signed link to see and erase a person's data (in the query string, which the
    documented proxy configuration keeps out of access logs)."""
    return f"{settings.base_url}/privacy/my-data/view?t={make_privacy_token(digest)}"


STAFF_KINDS = frozenset({NotificationKind.STAFF_INVITE, NotificationKind.STAFF_PASSWORD_RESET})


def _compose_staff_email(
    notification: Notification, kind: NotificationKind, settings: Settings
) -> OutgoingEmail:
    """An invitation or password reset to a staff member, with its single-use link."""
    # Imported here: the workspace builds on delivery, not the other way round.
    from advocacy.workspace.services import staff_email_context

    context = staff_email_context(notification, settings)
    token = notification.staff_token
    if token is None:
        raise ValueError("this notification carries no staff link")
    return _system_email(
        notification,
        kind,
        settings,
        context,
        to_email=token.user.email,
        to_name=_one_line(token.user.name),
        from_name=settings.mail_from_name,
    )


def _system_email(
    notification: Notification,
    kind: NotificationKind,
    settings: Settings,
    context: dict[str, Any],
    *,
    to_email: str,
    to_name: str,
    from_name: str,
    folder: str = "",
) -> OutgoingEmail:
    """A system email from the templates under emails/<folder><kind>/, never tracked."""
    return OutgoingEmail(
        to_email=to_email,
        to_name=to_name,
        from_email=settings.mail_from,
        from_name=from_name,
        reply_to_email=None,
        reply_to_name=None,
        subject=_one_line(_render(f"{folder}{kind.value}/subject.txt", **context)),
        text=_render(f"{folder}{kind.value}/body.txt", **context).strip() + "\n",
        html=_render(f"{folder}{kind.value}/body.html", **context),
        custom_args={NOTIFICATION_KEY_ARG: notification.idempotency_key, "kind": kind.value},
        categories=(kind.value,),
        track=False,
    )


def notification_is_moot(notification: Notification) -> bool:
    """True when a queued system email is no longer needed (confirmed letter, spent link)."""
    if notification.kind == NotificationKind.PRIVACY_LINK:
        # Not about the letter's state: moot only once nothing is held to send it to.
        return notification.letter is None or notification.letter.purged_at is not None
    if notification.kind == NotificationKind.REVIEW_REQUEST:
        return notification.letter is None or notification.letter.state != LetterState.HELD
    if notification.letter is not None:
        return notification.letter.state != LetterState.AWAITING_CONFIRMATION
    token = notification.staff_token
    return token is None or token.used_at is not None or token.expires_at <= utcnow()


def compose_notification(notification: Notification, settings: Settings) -> OutgoingEmail:
    """A confirmation or reminder email to the letter's author."""
    kind = NotificationKind(notification.kind)
    if kind in STAFF_KINDS:
        return _compose_staff_email(notification, kind, settings)
    letter = notification.letter
    if letter is None:
        raise ValueError("this notification has no letter")
    campaign = letter.campaign
    folder = ""
    if kind == NotificationKind.PRIVACY_LINK:
        if not letter.sender_email:
            raise ValueError("the letter's personal data has been erased")
        # Signed when sent, so the link's hours start when it can first be opened.
        expires = utcnow() + timedelta(seconds=PRIVACY_LINK_MAX_AGE)
        context = {
            "sender_name": _one_line(letter.sender_name),
            "link_url": privacy_url(letter.email_digest, settings),
            "expires_at": f"{expires:%H:%M} UTC on {letter_date(expires)}",
            "site_name": settings.mail_from_name,
        }
    elif kind == NotificationKind.REVIEW_REQUEST:
        token = make_confirmation_token(letter.public_id, letter.idempotency_key, REVIEW_PURPOSE)
        context = {
            "sender_name": _one_line(letter.sender_name),
            "recipient_name": _one_line(letter.recipient_name),
            "campaign_name": _one_line(campaign.sender_name),
            "review_url": f"{settings.base_url}/letters/review/{token}",
        }
    elif kind in {NotificationKind.CONFIRMATION, NotificationKind.REMINDER}:
        # Imported here: the kinds compose letters with this module.
        from advocacy import kinds

        folder = kinds.for_campaign(campaign).email_templates
        started = letter.awaiting_confirmation_at or letter.created_at or utcnow()
        expires = started + CONFIRMATION_WINDOW
        context = {
            **letter_context(letter),
            "confirm_url": confirmation_url(letter, settings),
            "expires_on": letter_date(expires),
        }
    else:
        raise ValueError(f"no template for notification kind {kind}")
    return author_email(notification, letter, kind, settings, context, folder=folder)


def letter_context(letter: Letter) -> dict[str, str]:
    """The names every system email about a letter can use."""
    campaign = letter.campaign
    return {
        "sender_name": _one_line(letter.sender_name),
        "recipient_name": _one_line(letter.recipient_name),
        "campaign_name": _one_line(campaign.sender_name),
        "campaign_title": _one_line(campaign.title),
    }


def author_email(
    notification: Notification,
    letter: Letter,
    kind: NotificationKind,
    settings: Settings,
    context: dict[str, Any],
    folder: str = "",
) -> OutgoingEmail:
    """A system email about a letter to its author, from the campaign."""
    return _system_email(
        notification,
        kind,
        settings,
        context,
        to_email=display_email(letter.sender_email),
        to_name=_one_line(letter.sender_name),
        from_name=_one_line(letter.campaign.sender_name) or settings.mail_from_name,
        folder=folder,
    )

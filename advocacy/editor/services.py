"""Campaign editor logic: campaigns, letter templates and their versions, previews."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from advocacy.campaigns import services as journey
from advocacy.config import Settings
from advocacy.delivery.compose import compose_letter, signature_text
from advocacy.directory.service import Representative
from advocacy.editor.templating import TemplateProblem, check_letter
from advocacy.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    Letter,
    LetterTemplate,
    LetterTemplateVersion,
    utcnow,
)


class EditorError(Exception):
    """A problem the editor can fix; `message` is shown as is, next to `field` if given."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class TemplateRefused(EditorError):
    """A template failed its checks; `problems` lists each."""

    def __init__(self, problems: list[TemplateProblem]) -> None:
        super().__init__(problems[0].message, problems[0].field)
        self.problems = problems


# Campaigns --------------------------------------------------------------------------------------


def list_campaigns(session: Session) -> list[tuple[Campaign, int]]:
    """Every campaign with its number of letters written, newest first."""
    counts = (
        select(Letter.campaign_id, func.count(Letter.id).label("n"))
        .group_by(Letter.campaign_id)
        .subquery()
    )
    rows = session.execute(
        select(Campaign, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.campaign_id == Campaign.id)
        .order_by(Campaign.created_at.desc())
    ).all()
    return [(campaign, int(n)) for campaign, n in rows]


def get_campaign(session: Session, slug: str) -> Campaign | None:
    """Any campaign by slug, drafts included."""
    return session.scalars(select(Campaign).where(Campaign.slug == slug)).first()


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0), tzinfo=UTC) if day else None


def opens_on(campaign: Campaign) -> date | None:
    """The first day letters may be written."""
    return campaign.opens_at.date() if campaign.opens_at else None


def closes_on(campaign: Campaign) -> date | None:
    """The last day letters may be written (closes_at is the midnight after it)."""
    return (campaign.closes_at - timedelta(days=1)).date() if campaign.closes_at else None


@dataclass
class CampaignDetails:
    """What the campaign form gives."""

    title: str
    slug: str
    summary: str
    why_it_matters: str
    sender_name: str
    goal: int | None
    status: CampaignStatus
    kind: CampaignKind
    opens_on: date | None = None
    closes_on: date | None = None
    changed: list[str] = field(default_factory=list)


def save_campaign(
    session: Session, campaign: Campaign | None, details: CampaignDetails
) -> Campaign:
    """Create or update a campaign; EditorError when the change is not allowed."""
    slug = details.slug
    if campaign is not None and slug != campaign.slug and campaign.status != CampaignStatus.DRAFT:
        raise EditorError(
            "The web address of a live or closed campaign cannot change: links to it are "
            "already shared.",
            "slug",
        )
    other = get_campaign(session, slug)
    if other is not None and other is not campaign:
        raise EditorError("Another campaign already uses this web address.", "slug")
    if details.status == CampaignStatus.LIVE and (campaign is None or not campaign.templates):
        raise EditorError(
            "A campaign needs at least one letter before it can go live. Save it as a "
            "draft, add a letter, then make it live.",
            "status",
        )
    if campaign is None:
        campaign = Campaign(slug=slug)
        session.add(campaign)
    values: dict[str, Any] = {
        "title": details.title,
        "slug": slug,
        "summary": details.summary,
        "why_it_matters": details.why_it_matters,
        "sender_name": details.sender_name,
        "goal": details.goal,
        "status": details.status.value,
        "kind": details.kind.value,
        "opens_at": _day_start(details.opens_on),
        "closes_at": _day_start(details.closes_on + timedelta(days=1))
        if details.closes_on
        else None,
    }
    for name, value in values.items():
        if getattr(campaign, name, None) != value:
            details.changed.append(name)
            setattr(campaign, name, value)
    session.flush()
    journey.forget_campaign(campaign.slug)
    return campaign


# Letter templates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateText:
    """What the letter form gives."""

    title: str
    slug: str
    description: str
    subject: str
    body: str


def _free_slug(campaign: Campaign, wanted: str, current: LetterTemplate | None) -> str:
    taken = {t.slug for t in campaign.templates if t is not current}
    if wanted not in taken:
        return wanted
    raise EditorError("Another letter in this campaign already uses this short name.", "slug")


def save_template(
    session: Session,
    campaign: Campaign,
    template: LetterTemplate | None,
    text: TemplateText,
    *,
    user_id: int | None,
) -> tuple[LetterTemplate, bool]:
    """Check and save a letter; a changed text becomes a new version. Returns (it, changed)."""
    problems = check_letter(text.subject, text.body)
    if problems:
        raise TemplateRefused(problems)
    slug = _free_slug(campaign, text.slug, template)
    if template is None:
        position = max((t.position for t in campaign.templates), default=-1) + 1
        template = LetterTemplate(campaign_id=campaign.id, position=position)
        session.add(template)
    template.slug = slug
    template.title = text.title
    template.description = text.description
    template.subject_template = text.subject
    template.body_template = text.body
    changed = template.differs_from_version()
    if changed:
        template.save_version(created_by_id=user_id)
    session.flush()
    session.expire(campaign, ["templates"])
    journey.forget_campaign(campaign.slug)
    return template, changed


def get_template(campaign: Campaign, slug: str) -> LetterTemplate | None:
    """A campaign's offered letter by its short name."""
    return campaign.template(slug)


def move_template(session: Session, campaign: Campaign, template: LetterTemplate, up: bool) -> None:
    """Swap a letter with its neighbour above or below."""
    ordered = list(campaign.templates)
    index = ordered.index(template)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(ordered):
        return
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, item in enumerate(ordered):
        item.position = position
    session.flush()
    session.expire(campaign, ["templates"])
    journey.forget_campaign(campaign.slug)


def remove_template(session: Session, campaign: Campaign, template: LetterTemplate) -> None:
    """Stop offering a letter; its versions and the letters written from it stay."""
    if campaign.status == CampaignStatus.LIVE and len(campaign.templates) <= 1:
        raise EditorError(
            "This is the live campaign's only letter. Add another first, or close the campaign."
        )
    template.removed_at = utcnow()
    # The short name is freed for a new letter; the removed one keeps a unique variant.
    template.slug = f"{template.slug[:60]}-removed-{template.id}"
    session.flush()
    session.expire(campaign, ["templates"])
    journey.forget_campaign(campaign.slug)


def letters_per_version(session: Session, template: LetterTemplate) -> dict[int, int]:
    """How many letters were written from each version of a template."""
    rows = session.execute(
        select(Letter.template_version, func.count(Letter.id))
        .where(Letter.template_id == template.id)
        .group_by(Letter.template_version)
    ).all()
    return {int(version or 0): int(count) for version, count in rows}


@dataclass(frozen=True)
class DiffLine:
    """One line of a comparison: kept (" "), added ("+") or removed ("-")."""

    op: str
    text: str


def diff_versions(
    old: LetterTemplateVersion, new: LetterTemplateVersion
) -> dict[str, list[DiffLine]]:
    """What changed between two versions, per part, line by line."""
    parts = {
        "title": (old.title, new.title),
        "subject": (old.subject_template, new.subject_template),
        "body": (old.body_template, new.body_template),
    }
    result: dict[str, list[DiffLine]] = {}
    for name, (before, after) in parts.items():
        lines = []
        for line in difflib.ndiff(before.splitlines(), after.splitlines()):
            if line.startswith("? "):
                continue
            lines.append(DiffLine(line[0], line[2:]))
        result[name] = lines
    return result


# Previews ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """The letter as an MP would receive it, or the problems that stop it."""

    problems: list[TemplateProblem]
    subject: str = ""
    body: str = ""
    signature: str = ""
    from_line: str = ""
    to_line: str = ""
    reply_to: str = ""
    recipient_has_email: bool = True

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape the editor's script reads."""
        return {
            "ok": not self.problems,
            "problems": [
                {"field": p.field, "message": p.message, "line": p.line} for p in self.problems
            ],
            "subject": self.subject,
            "body": self.body,
            "signature": self.signature,
            "from": self.from_line,
            "to": self.to_line,
            "reply_to": self.reply_to,
        }


SAMPLE_ADDRESS = "1 Sample Street\nSample Town"
SAMPLE_POSTCODE = "AB1 2CD"
SAMPLE_EMAIL = "constituent@example.org"


def preview(
    campaign: Campaign,
    subject: str,
    body: str,
    rep: Representative,
    sample: dict[str, str],
    settings: Settings,
) -> Preview:
    """Render a letter (saved or not) for a sample MP and constituent, as the journey would."""
    problems = check_letter(subject, body)
    if problems:
        return Preview(problems=problems)
    draft = LetterTemplate(subject_template=subject, body_template=body, slug="preview")
    author = journey.Author(
        name=sample["name"],
        email=SAMPLE_EMAIL,
        address=SAMPLE_ADDRESS,
        postcode=SAMPLE_POSTCODE,
        personal_words=sample["words"],
    )
    try:
        rendered_subject = journey.draft_subject(draft, rep, author)
        rendered_body = journey.draft_body(draft, rep, author)
    except journey.JourneyError as exc:
        return Preview(problems=[TemplateProblem("body", exc.message)])
    letter = journey.build_letter(
        campaign=campaign,
        template=draft,
        rep=rep,
        author=author,
        subject=rendered_subject,
        body=rendered_body,
        secret_key=current_app.config["SECRET_KEY"],
    )
    signature = signature_text(letter)
    if not rep.email:
        return Preview(
            problems=[],
            subject=rendered_subject,
            body=rendered_body,
            signature=signature,
            to_line=f"{rep.salutation_name} (no public email address: people print this letter)",
            recipient_has_email=False,
        )
    email = compose_letter(letter, settings)
    return Preview(
        problems=[],
        subject=email.subject,
        body=rendered_body,
        signature=signature,
        from_line=f"{email.from_name} <{email.from_email}>",
        to_line=f"{email.to_name} <{email.to_email}>",
        reply_to=f"{email.reply_to_name} <{email.reply_to_email}>",
    )

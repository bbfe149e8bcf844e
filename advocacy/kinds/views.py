"""The signing journey shared by petitions and pledges: sign, confirm by email, thank you."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from advocacy import kinds
from advocacy.caching import never_store
from advocacy.campaigns import services as journey
from advocacy.campaigns.forms import ConfirmForm, WithdrawForm
from advocacy.config import Settings
from advocacy.extensions import db, limiter
from advocacy.kinds import countries, events, nominations, postal, printed, services
from advocacy.kinds.forms import EventLetterForm, NominationForm, PrintedLetterForm, SignForm
from advocacy.models import Campaign, LetterState, Target
from advocacy.partners import embedding

logger = logging.getLogger(__name__)

bp = Blueprint("signing", __name__)
# Pages that hold a signer's name, email, address or words.
never_store(
    bp,
    (
        f"signing.{name}"
        for name in ("sign", "confirm", "withdraw", "write_letter", "nominate", "event")
    ),
)

WRITE = "signing.write_letter"


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _campaign_or_404(slug: str, start: str = "signing.sign") -> tuple[Campaign, kinds.Kind]:
    """A public campaign whose journey starts at `start`."""
    campaign = journey.get_campaign(db.session, slug, _settings().campaign_cache_seconds)
    if campaign is None:
        abort(404)
    try:
        kind = kinds.for_campaign(campaign)
    except kinds.UnsupportedKind:
        abort(404)
    if kind.journey_endpoint != start:
        abort(404)
    return campaign, kind


def _send_limit() -> str:
    return _settings().rate_limit_send


def _render_sign(
    campaign: Campaign, kind: kinds.Kind, form: SignForm, status: int = 200, message: str = ""
) -> ResponseReturnValue:
    recipients = kind.recipients(db.session, campaign)
    count = journey.signature_count(db.session, campaign, _settings().count_cache_seconds)
    return (
        render_template(
            "kinds/sign.html",
            campaign=campaign,
            kind=kind,
            recipients=recipients,
            count=count,
            **kind.page_context(db.session, campaign),
            form=form,
            fields=kind.signer_fields,
            message=message,
        ),
        status,
    )


@bp.get("/campaigns/<slug>/sign")
def sign(slug: str) -> ResponseReturnValue:
    """The fixed letter, who it goes to, and the signing form."""
    campaign, kind = _campaign_or_404(slug)
    form = SignForm(formdata=None, partner=request.args.get("partner", ""))
    return _render_sign(campaign, kind, form)


@bp.post("/campaigns/<slug>/sign")
@limiter.limit(_send_limit)
def submit(slug: str) -> ResponseReturnValue:
    """Save the signature and email a confirmation link; nothing counts until it is clicked."""
    campaign, kind = _campaign_or_404(slug)
    form = SignForm()
    if kinds.SignerField.COMMENT not in kind.signer_fields:
        form.comment.data = ""
    if not form.validate():
        return _render_sign(campaign, kind, form, 422)
    signer = services.Signer(
        name=form.name.data or "",
        email=form.email.data or "",
        country_code=form.country.data or "",
        postcode=form.postcode.data or "",
        comment=form.comment.data or "",
        share_with_mp=bool(form.share_with_mp.data),
    )
    try:
        constituency = services.find_constituency(signer.postcode)
    except services.PostcodeProblem as exc:
        form.postcode.errors = [*form.postcode.errors, exc.message]
        return _render_sign(campaign, kind, form, 422)
    letter = services.build_signature(
        campaign=campaign,
        recipients=kind.recipients(db.session, campaign),
        signer=signer,
        constituency=constituency,
        secret_key=current_app.config["SECRET_KEY"],
        # Credited from the signed attribution, never from a form field.
        partner=embedding.current_partner(),
        source=embedding.current().source,
    )
    try:
        services.sign(db.session, letter)
    except journey.JourneyError as exc:
        db.session.rollback()
        return _render_sign(campaign, kind, form, 409, message=exc.message)
    return redirect(url_for("signing.check_email", slug=campaign.slug), code=303)


@bp.get("/campaigns/<slug>/sign/check-email")
def check_email(slug: str) -> ResponseReturnValue:
    """Nothing counts until the link in the email is clicked."""
    campaign, _kind = _campaign_or_404(slug)
    return render_template("kinds/check_email.html", campaign=campaign)


@bp.route("/signatures/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    """Show the signature awaiting confirmation; confirm it on the button's POST."""
    letter = journey.find_letter_for_token(db.session, token)
    if letter is None:
        return render_template("campaigns/confirm_invalid.html"), 404
    campaign = letter.campaign
    form = ConfirmForm()
    context = {
        "letter": letter,
        "campaign": campaign,
        "country": countries.name(letter.country_code),
    }
    if request.method == "GET" or not form.validate():
        if journey.is_refused(letter):
            return _already_signed(context)
        if journey.is_withdrawn(letter):
            return _render_withdrawn(campaign, 410)
        if letter.state == LetterState.EXPIRED:
            return render_template("campaigns/confirm_invalid.html", expired=True), 410
        if letter.state != LetterState.AWAITING_CONFIRMATION:
            return redirect(url_for("signing.thanks", slug=campaign.slug), code=303)
        if journey.has_signed(db.session, letter):
            journey.refuse(db.session, letter)
            return _already_signed(context)
        return _render_confirm(token, context, form)
    try:
        confirmed = journey.confirm(db.session, letter, _settings())
    except journey.AlreadySigned:
        journey.refuse(db.session, letter)
        return _already_signed(context)
    except journey.JourneyError as exc:
        return render_template("kinds/confirm.html", message=exc.message, **context), 409
    if not confirmed.newly_confirmed and letter.state == LetterState.EXPIRED:
        # Withdrawn or expired while this request ran: the link's own page says which.
        return redirect(url_for("signing.confirm", token=token), code=303)
    return redirect(url_for("signing.thanks", slug=campaign.slug), code=303)


def _render_confirm(
    token: str, context: dict[str, Any], form: ConfirmForm, message: str | None = None
) -> ResponseReturnValue:
    """The signature as it will be counted, its button, and the one that stops it."""
    return render_template(
        "kinds/confirm.html",
        form=form,
        token=token,
        withdraw_form=WithdrawForm(formdata=None),
        message=message,
        **context,
    ), (400 if message else 200)


@bp.post("/signatures/confirm/<token>/withdraw")
def withdraw(token: str) -> ResponseReturnValue:
    """Do not count the signature: erase it and everything given with it, now."""
    letter = journey.find_letter_for_token(db.session, token)
    if letter is None:
        return render_template("campaigns/confirm_invalid.html"), 404
    campaign = letter.campaign
    if journey.is_withdrawn(letter):
        # Pressed twice: it is already gone.
        return _render_withdrawn(campaign)
    if letter.state != LetterState.AWAITING_CONFIRMATION:
        # Counted, refused or expired: the link's own page says which.
        return redirect(url_for("signing.confirm", token=token), code=303)
    form = WithdrawForm()
    if not form.validate():
        context = {
            "letter": letter,
            "campaign": campaign,
            "country": countries.name(letter.country_code),
        }
        message = " ".join(form.csrf_token.errors) or "Please try again."
        return _render_confirm(token, context, ConfirmForm(formdata=None), message)
    try:
        journey.withdraw(db.session, letter, journey.WITHDRAWN_REASON)
    except journey.LetterNotWaiting:
        # Confirmed while this request ran: the link's own page says so.
        return redirect(url_for("signing.confirm", token=token), code=303)
    return _render_withdrawn(campaign)


def _render_withdrawn(campaign: Campaign, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "kinds/withdrawn.html",
        campaign=campaign,
        others=journey.other_campaigns(db.session, campaign),
    ), status


def _already_signed(context: dict[str, Any]) -> ResponseReturnValue:
    """A second signature's link: it will not count, and it has been erased."""
    return render_template("kinds/confirm.html", message=services.ALREADY_SIGNED, **context), 409


@bp.get("/campaigns/<slug>/signed")
def thanks(slug: str) -> ResponseReturnValue:
    """The thank-you page, with the new count and a way to share."""
    campaign, kind = _campaign_or_404(slug)
    count = journey.signature_count(db.session, campaign, _settings().count_cache_seconds)
    share_url = _settings().base_url + url_for("campaigns.campaign", slug=campaign.slug)
    chained = None
    if campaign.next_campaign_id:
        chained = db.session.get(Campaign, campaign.next_campaign_id)
        if chained is not None and not chained.is_live:
            chained = None
    return render_template(
        "kinds/thanks.html",
        campaign=campaign,
        kind=kind,
        count=count,
        share_url=share_url,
        next_campaign=chained,
    )


def _letter_form(campaign: Campaign, *, posted: bool) -> PrintedLetterForm:
    form = PrintedLetterForm() if posted else PrintedLetterForm(formdata=None)
    form.recipient.choices = [(t.id, t.name) for t in postal.public_targets(db.session, campaign)]
    return form


def _render_write(
    campaign: Campaign, kind: kinds.Kind, form: PrintedLetterForm, status: int = 200
) -> ResponseReturnValue:
    count = journey.signature_count(db.session, campaign, _settings().count_cache_seconds)
    return (
        render_template(
            "kinds/write_letter.html",
            campaign=campaign,
            kind=kind,
            recipients=kind.recipients(db.session, campaign),
            **kind.page_context(db.session, campaign),
            count=count,
            form=form,
        ),
        status,
    )


@bp.get("/campaigns/<slug>/letter")
def write_letter(slug: str) -> ResponseReturnValue:
    """Write a letter to print: the recipient with the fewest letters is offered first."""
    campaign, kind = _campaign_or_404(slug, WRITE)
    form = _letter_form(campaign, posted=False)
    chosen = request.args.get("recipient", type=int)
    if chosen is None:
        first = postal.next_recipient(db.session, campaign)
        chosen = first.id if first else None
    form.recipient.data = chosen
    return _render_write(campaign, kind, form)


@bp.post("/campaigns/<slug>/letter")
@limiter.limit(_send_limit)
def print_letter(slug: str) -> ResponseReturnValue:
    """The print-ready PDF, as a download; only a count is kept."""
    campaign, kind = _campaign_or_404(slug, WRITE)
    form = _letter_form(campaign, posted=True)
    if not campaign.is_live:
        abort(404)
    if not form.validate():
        return _render_write(campaign, kind, form, 422)
    target = db.session.get(Target, form.recipient.data)
    if target is None or target not in postal.public_targets(db.session, campaign):
        abort(404)
    return_address = {
        "organisation": campaign.return_address,
        "mine": form.return_address.data or "",
    }.get(form.return_choice.data or "", "")
    letter = postal.build_letter(
        campaign,
        target,
        sender_name=form.name.data or "",
        country_code=form.country.data or "",
        personal_words=form.personal_words.data or "",
        return_address=return_address,
    )
    try:
        pdf = printed.letter_pdf(letter)
    except journey.JourneyError as exc:
        logger.error("printed letter of campaign %d cannot be rendered", campaign.id)
        form.personal_words.errors = [*form.personal_words.errors, exc.message]
        return _render_write(campaign, kind, form, 500)
    postal.record_letter(db.session, campaign, target, form.country.data or "")
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="letter-{campaign.slug}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/campaigns/<slug>/nominate")
def nominate(slug: str) -> ResponseReturnValue:
    """The nomination form, with a plain warning about the risks."""
    campaign, _kind = _campaign_or_404(slug, WRITE)
    return render_template(
        "kinds/nominate.html", campaign=campaign, form=NominationForm(formdata=None)
    )


@bp.post("/campaigns/<slug>/nominate")
@limiter.limit(_send_limit)
def submit_nomination(slug: str) -> ResponseReturnValue:
    """Save a nomination for staff review; nothing is shown publicly until they decide."""
    campaign, _kind = _campaign_or_404(slug, WRITE)
    form = NominationForm()
    if not form.validate():
        return render_template("kinds/nominate.html", campaign=campaign, form=form), 422
    nominations.submit(
        db.session,
        campaign,
        detainee_name=form.detainee_name.data or "",
        prison_address=form.prison_address.data or "",
        story=form.story.data or "",
        nominator_name=form.nominator_name.data or "",
        nominator_email=form.nominator_email.data or "",
        secret_key=current_app.config["SECRET_KEY"],
    )
    return render_template("kinds/nominated.html", campaign=campaign)


def _event_page(
    campaign: Campaign, event: object, form: EventLetterForm, status: int = 200, done: bool = False
) -> ResponseReturnValue:
    recipient = postal.next_recipient(db.session, campaign)
    if recipient is not None and not form.recipient.data:
        form.recipient.data = str(recipient.id)
    return (
        render_template(
            "kinds/event.html",
            campaign=campaign,
            event=event,
            form=form,
            recipient=recipient,
            done=done,
        ),
        status,
    )


@bp.get("/campaigns/<slug>/events/<code>")
def event(slug: str, code: str) -> ResponseReturnValue:
    """The event's writing page: each writer gets the recipient with the fewest letters."""
    campaign, _kind = _campaign_or_404(slug, WRITE)
    found = events.by_code(db.session, campaign, code)
    if found is None:
        abort(404)
    form = EventLetterForm(formdata=None)
    return _event_page(campaign, found, form, done=request.args.get("done") == "1")


@bp.post("/campaigns/<slug>/events/<code>")
@limiter.limit(_send_limit)
def event_write(slug: str, code: str) -> ResponseReturnValue:
    """Keep the letter for the organisers' batch and hand the next writer a recipient."""
    campaign, _kind = _campaign_or_404(slug, WRITE)
    found = events.by_code(db.session, campaign, code)
    if found is None:
        abort(404)
    form = EventLetterForm()
    if not form.validate():
        return _event_page(campaign, found, form, 422)
    target = next(
        (
            t
            for t in postal.public_targets(db.session, campaign)
            if str(t.id) == form.recipient.data
        ),
        None,
    )
    if target is None:
        abort(404)
    events.write(
        db.session,
        found,
        campaign,
        target,
        sender_name=form.name.data or "",
        country_code=form.country.data or "",
        personal_words=form.personal_words.data or "",
        use_return_address=bool(form.use_return_address.data),
    )
    return redirect(url_for("signing.event", slug=campaign.slug, code=code, done="1"), code=303)

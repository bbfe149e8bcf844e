"""Views of the public journey: they parse input and render; services do the work."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

import postcode_lookup as pl
from advocacy import kinds
from advocacy.caching import never_store
from advocacy.campaigns import addressing, recipient, services
from advocacy.campaigns.forms import (
    ChangeEmailForm,
    ConfirmForm,
    LetterForm,
    PostcodeForm,
    PreviewForm,
    ResendForm,
    WithdrawForm,
)
from advocacy.config import Settings
from advocacy.delivery import status as delivery_status
from advocacy.delivery.compose import compose_letter, signature_text
from advocacy.directory.service import Representative, get_directory
from advocacy.extensions import db, limiter
from advocacy.models import Campaign, Letter, LetterState, LetterTemplate
from advocacy.partners import embedding
from advocacy.partners import services as partner_services
from advocacy.ratelimit import LOOKUP_SCOPE
from advocacy.security import make_letter_page_token

logger = logging.getLogger(__name__)

bp = Blueprint("campaigns", __name__)

# Where the MP letter journey starts; other kinds start in their own blueprints.
JOURNEY_START = "campaigns.campaign"
never_store(
    bp,
    (
        f"campaigns.{name}"
        for name in (
            "find_mp",
            "write",
            "change_postcode",
            "preview",
            "redraft",
            "send",
            "check_email",
            "resend",
            "change_email",
            "print_letter",
            "confirm",
            "withdraw",
        )
    ),
)


bp.add_app_template_filter(addressing.postal_line, "postal_line")
bp.add_app_template_filter(addressing.letter_date, "letter_date")


@bp.app_context_processor
def _journey_state() -> dict[str, Any]:
    """The partner code of this request, so every link of every page can carry it on."""
    return {"partner_code": (request.values.get("partner") or "").strip()[:80]}


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _campaign_or_404(slug: str, *, mp_journey: bool = False) -> Campaign:
    """The campaign, of a kind this engine supports; with `mp_journey`, one whose journey
    is this blueprint's (a petition's signers never reach the MP pages)."""
    campaign = services.get_campaign(db.session, slug, _settings().campaign_cache_seconds)
    if campaign is None:
        abort(404)
    try:
        kind = kinds.for_campaign(campaign)
    except kinds.UnsupportedKind:
        abort(404)
    if mp_journey and kind.journey_endpoint != JOURNEY_START:
        abort(404)
    return campaign


def _count(campaign: Campaign) -> services.SignatureCount:
    return services.signature_count(db.session, campaign, _settings().count_cache_seconds)


@bp.get("/")
def index() -> ResponseReturnValue:
    """The list of campaigns (straight to the campaign when there is only one)."""
    campaigns = services.list_campaigns(db.session)
    if len(campaigns) == 1:
        return redirect(url_for("campaigns.campaign", slug=campaigns[0].slug))
    return render_template("campaigns/index.html", campaigns=campaigns)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Liveness, and whether letters are going out: 503 with the reason when they are not.

    The answer is kept for HEALTH_CACHE_SECONDS, so a busy health check (or the benchmarks,
    which use this as their trivial endpoint) costs no query per request.
    """
    sending = delivery_status.cached_status(db.session, _settings().health_cache_seconds)
    body = {"status": "ok" if sending.is_ok else "degraded", "sending": sending.as_dict()}
    return body, 200 if sending.is_ok else 503


@bp.get("/campaigns/<slug>")
def campaign(slug: str) -> ResponseReturnValue:
    """The campaign page: the issue, the count and the postcode box."""
    draft = services.get_draft_campaign(db.session, slug, request.args.get("draft", ""))
    camp = draft or _campaign_or_404(slug)
    start = kinds.for_campaign(camp).journey_endpoint
    if draft is None and start != JOURNEY_START:
        # A partner's tag travels on (url_for leaves out a None).
        partner = request.args.get("partner") or None
        return redirect(url_for(start, slug=camp.slug, partner=partner), code=303)
    response = make_response(
        render_template(
            "campaigns/campaign.html",
            campaign=camp,
            count=_count(camp),
            form=PostcodeForm(),
            partner=request.args.get("partner", ""),
        )
    )
    if draft is not None:
        # A draft seen through a staff link: never cached, never indexed.
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/campaigns/<slug>/count.json")
def count_json(slug: str) -> ResponseReturnValue:
    """Public counters as JSON, cheap under heavy read load."""
    camp = _campaign_or_404(slug)
    response = current_app.response_class(_count(camp).json_body, mimetype="application/json")
    max_age = max(int(_settings().count_cache_seconds), 0)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


LOOKUP_FAILURES: dict[type[Exception], str] = {
    pl.InvalidPostcode: "campaigns/problems/invalid.html",
    pl.PostcodeTerminated: "campaigns/problems/terminated.html",
    pl.PostcodeNotFound: "campaigns/problems/not_found.html",
    pl.BFPOPostcode: "campaigns/problems/bfpo.html",
    pl.OverseasPostcode: "campaigns/problems/overseas.html",
    pl.OutsideParliament: "campaigns/problems/outside.html",
    pl.LookupUnavailable: "campaigns/problems/unavailable.html",
}


def _problem(
    camp: Campaign, exc: Exception, status: int, partner: str, template: str | None = None
) -> ResponseReturnValue:
    template = template or next(t for kind, t in LOOKUP_FAILURES.items() if isinstance(exc, kind))
    constituencies = (
        get_directory().constituencies() if isinstance(exc, pl.LookupUnavailable) else []
    )
    targets = (
        services.campaign_targets(db.session, camp) if isinstance(exc, pl.OutsideParliament) else []
    )
    return (
        render_template(
            template,
            campaign=camp,
            error=exc,
            form=PostcodeForm(request.args),
            constituencies=constituencies,
            targets=targets,
            partner=partner,
        ),
        status,
    )


def _send_limit() -> str:
    return _settings().rate_limit_send


def _lookup_limit() -> str:
    return _settings().rate_limit_lookup


@bp.get("/campaigns/<slug>/mp")
@limiter.limit(_lookup_limit, scope=LOOKUP_SCOPE)
def find_mp(slug: str) -> ResponseReturnValue:
    """Find the person's MP from a postcode, or from a constituency they picked."""
    camp = _campaign_or_404(slug, mp_journey=True)
    partner = request.args.get("partner", "")
    directory = get_directory()
    postcode = ""
    code = request.args.get("constituency", "").strip()
    carried = recipient.verify(request.args.get("recipient"))
    if carried is not None:
        # Back from the write page to choose another letter: the same, signed choice.
        code, postcode = carried.constituency_code, carried.postcode
    if code:
        rep = directory.by_constituency(code)
        if rep is None:
            abort(404)
    else:
        form = PostcodeForm(request.args)
        if not form.validate():
            return (
                render_template(
                    "campaigns/campaign.html",
                    campaign=camp,
                    count=_count(camp),
                    form=form,
                    partner=partner,
                ),
                422,
            )
        try:
            rep = directory.find_by_postcode(form.postcode.data)
        except pl.LookupUnavailable as exc:
            logger.warning("postcode lookup unavailable: %s", exc.__class__.__name__)
            return _problem(camp, exc, 503, partner)
        except pl.InvalidPostcode as exc:
            if pl.looks_foreign(form.postcode.data or ""):
                return _problem(camp, exc, 422, partner, "campaigns/problems/abroad.html")
            return _problem(camp, exc, 422, partner)
        except (pl.PostcodeNotFound, pl.OutsideParliament) as exc:
            return _problem(camp, exc, 404, partner)
        postcode = rep.postcode or ""
    return render_template(
        "campaigns/mp.html",
        campaign=camp,
        rep=rep,
        postcode=postcode,
        partner=partner,
        recipient=recipient.issue(recipient.Recipient(rep.constituency_code, postcode)),
    )


def _representative(code: str) -> Representative:
    rep = get_directory().by_constituency(code)
    if rep is None or rep.is_vacant:
        abort(404)
    return rep


def _template_or_404(camp: Campaign, slug: str) -> LetterTemplate:
    template = camp.template(slug)
    if template is None:
        abort(404)
    return template


@bp.get("/campaigns/<slug>/write")
def write(slug: str) -> ResponseReturnValue:
    """The write page: who you are and your own words."""
    camp = _campaign_or_404(slug, mp_journey=True)
    chosen = recipient.verify(request.args.get("recipient"))
    if chosen is None:
        abort(404)
    rep = _representative(chosen.constituency_code)
    template = _template_or_404(camp, request.args.get("letter", ""))
    form = LetterForm(
        formdata=None,
        letter=template.slug,
        recipient=recipient.issue(chosen),
        postcode=chosen.postcode,
        partner=request.args.get("partner", ""),
    )
    return _render_write(camp, rep, template, form)


def _placeholders_marked(text: str) -> Markup:
    """Letter text for a page, each placeholder marked so it stands out as one."""
    marked = Markup.escape(text)
    for placeholder in (
        services.PLACEHOLDER_AUTHOR.name,
        services.PLACEHOLDER_AUTHOR.personal_words,
    ):
        marked = marked.replace(
            placeholder, Markup('<mark class="placeholder">%s</mark>') % placeholder
        )
    return marked


def _campaign_letter(template: LetterTemplate, rep: Representative) -> tuple[Markup, Markup] | None:
    """The campaign's subject and letter to this MP, with placeholders for the person's name
    and words; None when the template cannot be rendered (the preview step explains)."""
    author = services.PLACEHOLDER_AUTHOR
    try:
        subject = services.draft_subject(template, rep, author)
        body = services.draft_body(template, rep, author)
    except services.JourneyError:
        return None
    return _placeholders_marked(subject), _placeholders_marked(body)


def _render_write(
    camp: Campaign,
    rep: Representative,
    template: LetterTemplate,
    form: LetterForm,
    status: int = 200,
    message: str | None = None,
    notice: str | None = None,
) -> ResponseReturnValue:
    # The MP may have changed (a new postcode) or the page come from "check my words".
    form.set_email_optional(not rep.email)
    return (
        render_template(
            "campaigns/write.html",
            campaign=camp,
            rep=rep,
            template=template,
            form=form,
            message=message,
            notice=notice,
            postcode_mismatch=_postcode_mismatch(form),
            campaign_letter=_campaign_letter(template, rep),
        ),
        status,
    )


def _postcode_mismatch(form: LetterForm) -> bool:
    """True when the address postcode lies outside the constituency the page writes to."""
    return bool(getattr(form, "postcode_elsewhere", False))


def _journey_context(camp: Campaign, form: LetterForm) -> tuple[Representative, LetterTemplate]:
    """The MP the server chose (from the signed token, never a bare field) and the letter."""
    chosen = form.recipient_choice()
    if chosen is None:
        abort(400)
    rep = _representative(chosen.constituency_code)
    form.set_email_optional(not rep.email)
    return rep, _template_or_404(camp, form.letter.data or "")


@bp.post("/campaigns/<slug>/write/postcode")
@limiter.limit(_lookup_limit, scope=LOOKUP_SCOPE)
def change_postcode(slug: str) -> ResponseReturnValue:
    """Find the MP for the address postcode, keeping everything written so far."""
    camp = _campaign_or_404(slug, mp_journey=True)
    form = LetterForm()
    old_rep, template = _journey_context(camp, form)
    if not form.csrf_token.validate(form):
        return _render_write(camp, old_rep, template, form, 400)
    try:
        found = get_directory().find_by_postcode(form.postcode.data or "")
    except pl.PostcodeLookupError as exc:
        form.postcode.errors = [exc.message]
        return _render_write(camp, old_rep, template, form, 422)
    if found.is_vacant:
        form.postcode.errors = [
            f"{found.constituency_name} has no MP at the moment, so there is nobody to write "
            "to there until a by-election."
        ]
        return _render_write(camp, old_rep, template, form, 422)
    rep = _representative(found.constituency_code)
    form.postcode.data = found.postcode or ""
    # Found by the server from the postcode, so it becomes the letter's signed recipient.
    form.recipient.data = recipient.issue(
        recipient.Recipient(rep.constituency_code, form.postcode.data)
    )
    return _render_write(
        camp,
        rep,
        template,
        form,
        notice=f"The MP for {found.postcode} is {rep.name}, MP for {rep.constituency_name}. "
        "Everything you wrote is kept below.",
    )


def _author(form: LetterForm) -> services.Author:
    return services.Author(
        name=form.name.data or "",
        email=form.email.data or "",
        address=form.address.data or "",
        postcode=form.postcode.data or "",
        personal_words=form.personal_words.data or "",
    )


def _draft(template: LetterTemplate, rep: Representative, form: LetterForm) -> tuple[str, str]:
    """The subject and letter from the campaign's template with the person's details."""
    author = _author(form)
    try:
        subject = services.draft_subject(template, rep, author)
        body = services.draft_body(template, rep, author)
    except services.JourneyError:
        logger.error("letter template %s cannot be rendered", template.id)
        raise
    return subject, body


@bp.post("/campaigns/<slug>/preview")
def preview(slug: str) -> ResponseReturnValue:
    """Check what was written and show the exact email the MP will receive."""
    camp = _campaign_or_404(slug, mp_journey=True)
    form = LetterForm()
    rep, template = _journey_context(camp, form)
    if not form.validate():
        return _render_write(camp, rep, template, form, 422)
    try:
        subject, body = _draft(template, rep, form)
    except services.JourneyError as exc:
        # A campaign's template is broken: say so, keep everything the person wrote.
        return _render_write(camp, rep, template, form, 500, message=exc.message)
    data: MultiDict[str, Any] = MultiDict(request.form)
    # Carry the validated, normalised values (postcode "gu111aa" -> "GU11 1AA", trimmed
    # text), so the preview shows exactly what will be sent.
    for name, value in form.data.items():
        if name != "csrf_token":
            data[name] = value
    data["subject"] = subject
    data["body"] = body
    preview_form = PreviewForm(formdata=data)
    return _render_preview(camp, rep, template, preview_form)


@bp.post("/campaigns/<slug>/preview/redraft")
def redraft(slug: str) -> ResponseReturnValue:
    """Draft the subject and letter again from the campaign's template, keeping the
    person's details, own words and choices, and show the preview again."""
    camp = _campaign_or_404(slug, mp_journey=True)
    form = PreviewForm()
    rep, template = _journey_context(camp, form)
    if not form.csrf_token.validate(form):
        return _render_preview(camp, rep, template, form, 400)
    try:
        form.subject.data, form.body.data = _draft(template, rep, form)
    except services.JourneyError as exc:
        return _render_preview(camp, rep, template, form, 500, message=exc.message)
    return _render_preview(camp, rep, template, form)


def _render_preview(
    camp: Campaign,
    rep: Representative,
    template: LetterTemplate,
    form: PreviewForm,
    status: int = 200,
    message: str | None = None,
) -> ResponseReturnValue:
    form.set_email_optional(not rep.email)
    author = _author(form)
    partner = embedding.current_partner()
    letter = services.build_letter(
        campaign=camp,
        template=template,
        rep=rep,
        author=author,
        subject=form.subject.data or "",
        body=form.body.data or "",
        secret_key=current_app.config["SECRET_KEY"],
        partner=partner,
        source=embedding.current().source,
    )
    email = compose_letter(letter, _settings()) if rep.email else None
    return (
        render_template(
            "campaigns/preview.html",
            campaign=camp,
            rep=rep,
            template=template,
            form=form,
            email=email,
            signature=signature_text(letter) if email else None,
            message=message,
        ),
        status,
    )


@bp.post("/campaigns/<slug>/send")
@limiter.limit(_send_limit, successes_only=True)
def send(slug: str) -> ResponseReturnValue:
    """Save the letter and send the confirmation email; nothing goes to the MP yet."""
    camp = _campaign_or_404(slug, mp_journey=True)
    form = PreviewForm()
    rep, template = _journey_context(camp, form)
    if not form.validate():
        return _render_preview(camp, rep, template, form, 422)
    if not rep.email:
        return _render_preview(camp, rep, template, form, 422)
    letter = services.build_letter(
        campaign=camp,
        template=template,
        rep=rep,
        author=_author(form),
        subject=form.subject.data or "",
        body=form.body.data or "",
        secret_key=current_app.config["SECRET_KEY"],
        partner=embedding.current_partner(),
        source=embedding.current().source,
    )
    try:
        services.submit(db.session, letter, also=_consent_recorder(form))
    except services.JourneyError as exc:
        db.session.rollback()
        return _render_preview(camp, rep, template, form, 409, message=exc.message)
    return _to_check_email(camp, letter)


def _to_check_email(camp: Campaign, letter: Letter, flag: str = "") -> ResponseReturnValue:
    values: dict[str, Any] = {"letter": make_letter_page_token(letter.public_id)}
    if flag:
        values[flag] = 1
    partner = (request.values.get("partner") or "").strip()
    if partner:
        values["partner"] = partner
    return redirect(url_for("campaigns.check_email", slug=camp.slug, **values), code=303)


def _waiting_letter(camp: Campaign, token: str) -> Letter | None:
    """The letter a check-email page names, if it belongs here and still awaits its link."""
    letter = services.find_letter_for_page(db.session, token)
    if letter is None or letter.campaign_id != camp.id:
        return None
    return letter if letter.state == LetterState.AWAITING_CONFIRMATION else None


def _render_check_email(
    camp: Campaign,
    letter: Letter | None,
    token: str,
    change_form: ChangeEmailForm | None = None,
    message: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    response = current_app.make_response(
        (
            render_template(
                "campaigns/check_email.html",
                campaign=camp,
                letter=letter,
                token=token,
                form=change_form or ChangeEmailForm(formdata=None, letter=token),
                resend_form=ResendForm(formdata=None, letter=token),
                message=message,
            ),
            status,
        )
    )
    # The page shows the address the link went to: no shared cache or back-forward copy.
    response.headers["Cache-Control"] = "no-store"
    return response


def _consent_recorder(form: PreviewForm) -> Callable[[Letter], None] | None:
    """Saves the partner's ticked box with the letter, when there is one to save."""
    partner = embedding.current_partner()
    wording = (form.consent_wording.data or "").strip()
    if partner is None or not form.partner_consent.data or not wording.isdigit():
        return None

    def record(letter: Letter) -> None:
        partner_services.record_consent(
            db.session,
            partner=partner,
            wording_id=int(wording),
            letter=letter,
            name=form.name.data or "",
            email=form.email.data or "",
        )

    return record


@bp.get("/campaigns/<slug>/check-email")
def check_email(slug: str) -> ResponseReturnValue:
    """Tell the person plainly that nothing is sent until they click the link."""
    camp = _campaign_or_404(slug)
    token = request.args.get("letter", "")
    return _render_check_email(camp, _waiting_letter(camp, token), token)


@bp.post("/campaigns/<slug>/check-email/resend")
@limiter.limit(_send_limit, successes_only=True)
def resend(slug: str) -> ResponseReturnValue:
    """Send the confirmation link again, within the same limits as a new letter."""
    camp = _campaign_or_404(slug)
    form = ResendForm()
    token = form.letter.data or ""
    letter = _waiting_letter(camp, token)
    if not form.validate() or letter is None:
        message = " ".join(form.csrf_token.errors) or None
        return _render_check_email(camp, letter, token, message=message, status=400)
    try:
        services.resend_confirmation(db.session, letter)
    except services.JourneyError as exc:
        return _render_check_email(camp, letter, token, message=exc.message, status=409)
    return _to_check_email(camp, letter, "resent")


@bp.post("/campaigns/<slug>/check-email/change")
@limiter.limit(_send_limit, successes_only=True)
def change_email(slug: str) -> ResponseReturnValue:
    """Send the confirmation to a corrected address."""
    camp = _campaign_or_404(slug)
    form = ChangeEmailForm()
    token = form.letter.data or ""
    letter = _waiting_letter(camp, token)
    if letter is None:
        return _render_check_email(camp, None, token, status=400)
    if not form.validate():
        return _render_check_email(camp, letter, token, change_form=form, status=422)
    try:
        services.change_address(
            db.session, letter, form.email.data or "", current_app.config["SECRET_KEY"]
        )
    except services.JourneyError as exc:
        db.session.rollback()
        return _render_check_email(camp, letter, token, form, exc.message, 409)
    return _to_check_email(camp, letter, "changed")


@bp.post("/campaigns/<slug>/print")
def print_letter(slug: str) -> ResponseReturnValue:
    """A printable letter, for an MP who publishes no email address."""
    camp = _campaign_or_404(slug, mp_journey=True)
    form = PreviewForm()
    rep, template = _journey_context(camp, form)
    if not form.validate():
        return _render_preview(camp, rep, template, form, 422)
    return render_template(
        "campaigns/print.html",
        campaign=camp,
        rep=rep,
        form=form,
        author=_author(form),
        today=addressing.uk_today(),
    )


def _render_confirm(
    letter: Letter,
    token: str,
    form: ConfirmForm | None,
    message: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """The letter exactly as its recipient will receive it, the button that sends it
    (`form`, when it may be sent) and, while it waits, the one that stops it."""
    # A letter to an MP always has an address; anything else shows its subject alone.
    email = compose_letter(letter, _settings()) if letter.recipient_email else None
    waiting = letter.state == LetterState.AWAITING_CONFIRMATION
    return (
        render_template(
            "campaigns/confirm.html",
            letter=letter,
            token=token,
            form=form,
            withdraw_form=WithdrawForm(formdata=None) if waiting else None,
            email=email,
            signature=signature_text(letter) if email else None,
            message=message,
        ),
        status,
    )


def _share(camp: Campaign) -> dict[str, str]:
    """The campaign's public address and the words its share links carry."""
    # The public address, not whatever host this request came through (a partner's frame,
    # a health check).
    share_url = _settings().base_url + url_for("campaigns.campaign", slug=camp.slug)
    share_text = f"I wrote to my MP: {camp.title}. You can too: {share_url}"
    return {"share_url": share_url, "share_text": quote(share_text)}


def _render_already_sent(
    letter: Letter, earlier: Letter | None, status: int = 200
) -> ResponseReturnValue:
    """One letter per person: this one is not sent; what was sent before, if still known."""
    camp = letter.campaign
    return (
        render_template(
            "campaigns/already_sent.html",
            campaign=camp,
            earlier=earlier,
            others=services.other_campaigns(db.session, camp),
            **_share(camp),
        ),
        status,
    )


def _render_withdrawn(camp: Campaign, status: int = 200) -> ResponseReturnValue:
    return (
        render_template(
            "campaigns/withdrawn.html",
            campaign=camp,
            others=services.other_campaigns(db.session, camp),
        ),
        status,
    )


def _stopped(letter: Letter) -> ResponseReturnValue | None:
    """The page for a letter that will never be sent, whatever its link is asked to do."""
    if services.is_withdrawn(letter):
        return _render_withdrawn(letter.campaign, 410)
    if services.is_refused(letter):
        return _render_already_sent(letter, None, 409 if request.method == "POST" else 200)
    if letter.state == LetterState.EXPIRED:
        return render_template("campaigns/confirm_invalid.html", expired=True), 410
    return None


@bp.route("/letters/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    """Show the letter awaiting confirmation, and confirm it on the button's POST."""
    letter = services.find_letter_for_token(db.session, token)
    if letter is None:
        return render_template("campaigns/confirm_invalid.html"), 404
    stopped = _stopped(letter)
    if stopped is not None:
        return stopped
    form = ConfirmForm()
    if request.method == "GET" or not form.validate():
        if letter.state != LetterState.AWAITING_CONFIRMATION:
            return redirect(url_for("campaigns.thanks", slug=letter.campaign.slug), code=303)
        if services.has_signed(db.session, letter):
            # It could never be sent: say why at once, and keep nothing of it.
            return _render_already_sent(letter, services.refuse(db.session, letter))
        return _render_confirm(letter, token, form)
    try:
        confirmed = services.confirm(db.session, letter, _settings())
    except services.AlreadySigned:
        return _render_already_sent(letter, services.refuse(db.session, letter), 409)
    except services.JourneyError as exc:
        return _render_confirm(letter, token, None, exc.message, 409)
    if not confirmed.newly_confirmed:
        # Withdrawn or expired while this request ran: its page says so.
        stopped = _stopped(letter)
        if stopped is not None:
            return stopped
    # A letter held for review says so on the thank-you page.
    thanks_url = url_for("campaigns.thanks", slug=letter.campaign.slug)
    if letter.state == LetterState.HELD:
        thanks_url += "?review=1"
    return redirect(thanks_url, code=303)


@bp.post("/letters/confirm/<token>/withdraw")
def withdraw(token: str) -> ResponseReturnValue:
    """Do not send the letter: erase it and everything given with it, now."""
    letter = services.find_letter_for_token(db.session, token)
    if letter is None:
        return render_template("campaigns/confirm_invalid.html"), 404
    slug = letter.campaign.slug
    if services.is_withdrawn(letter):
        # Pressed twice: it is already gone.
        return redirect(url_for("campaigns.withdrawn", slug=slug), code=303)
    stopped = _stopped(letter)
    if stopped is not None:
        return stopped
    form = WithdrawForm()
    if letter.state == LetterState.AWAITING_CONFIRMATION and not form.validate():
        message = " ".join(form.csrf_token.errors) or None
        return _render_confirm(letter, token, ConfirmForm(formdata=None), message, 400)
    try:
        services.withdraw(db.session, letter, services.WITHDRAWN_REASON)
    except services.LetterNotWaiting as exc:
        return _render_confirm(letter, token, None, exc.message, 409)
    return redirect(url_for("campaigns.withdrawn", slug=slug), code=303)


@bp.get("/campaigns/<slug>/withdrawn")
def withdrawn(slug: str) -> ResponseReturnValue:
    """The letter will not be sent and is erased; what the person can do instead."""
    return _render_withdrawn(_campaign_or_404(slug))


@bp.get("/campaigns/<slug>/thanks")
def thanks(slug: str) -> ResponseReturnValue:
    """The thank-you page: the updated count, what happens next, share links."""
    camp = _campaign_or_404(slug)
    return render_template(
        "campaigns/thanks.html", campaign=camp, count=_count(camp), **_share(camp)
    )

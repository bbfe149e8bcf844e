"""Dashboard pages and CSV exports under /workspace; every route declares its permission."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from advocacy.dashboard import charts, exports, hexmap, services
from advocacy.dashboard.forms import DEFAULT_DAYS, PERIOD_CHOICES, PeriodForm
from advocacy.directory.snapshot import constituency_names
from advocacy.extensions import db
from advocacy.models import Campaign, CampaignStatus, Partner, utcnow
from advocacy.workspace.access import (
    Permission,
    current_user,
    has_permission,
    record_event,
    register_nav,
    require,
)
from advocacy.workspace.forms import ActionForm

bp = Blueprint("dashboard", __name__, url_prefix="/workspace")
register_nav("dashboard.overview", "Dashboard", Permission.VIEW_DASHBOARD, after="editor.campaigns")
register_nav(
    "dashboard.partner_overview",
    "Our figures",
    Permission.VIEW_PARTNER_DASHBOARD,
    after="workspace.home",
)

# A breakdown shows its first rows; the whole table is a link (or a CSV) away. The page
# then costs the same for a campaign in 20 constituencies as for one in all 650.
ROWS_SHOWN = 25

COLUMNS = [
    ("label", "Name"),
    ("written", "Written"),
    ("confirmed", "Confirmed"),
    ("sent", "Sent"),
    ("delivered", "Delivered"),
    ("bounced", "Bounced"),
]


@bp.app_template_filter("thousands")
def thousands(value: int) -> str:
    """A count with thousands separators."""
    return f"{value:,}"


def _campaign(slug: str) -> Campaign:
    """Any campaign, drafts included (staff see them all), or 404."""
    campaign = db.session.scalars(select(Campaign).where(Campaign.slug == slug)).first()
    if campaign is None:
        abort(404)
    return campaign


@dataclass(frozen=True)
class Period:
    """The days the charts show, and how to ask for them again in a link."""

    start: date
    end: date
    days_value: str
    start_value: str
    end_value: str

    @property
    def query(self) -> dict[str, str]:
        """Query arguments that keep this period in other links."""
        if self.start_value and self.end_value:
            return {"start": self.start_value, "end": self.end_value}
        return {"days": self.days_value}


def _period(campaign: Campaign) -> tuple[Period, str | None]:
    """The requested period, or the default one and a message saying what was wrong."""
    args = MultiDict({k: v for k, v in request.args.items() if k in {"days", "start", "end"}})
    form = PeriodForm(args)
    today = utcnow().date()
    error = None
    if not form.validate():
        error = next(iter(e for errors in form.errors.values() for e in errors))
        if "days" in form.errors:
            error = "That period is not one of the choices; showing the last 30 days."
        form = PeriodForm(MultiDict({"days": DEFAULT_DAYS}))
        form.validate()
    start, end = form.span(today, services.first_signature_day(db.session, campaign))
    explicit = form.start.data is not None
    return (
        Period(
            start=start,
            end=end,
            days_value=form.days.data or DEFAULT_DAYS,
            start_value=start.isoformat() if explicit else "",
            end_value=end.isoformat() if explicit else "",
        ),
        error,
    )


@dataclass(frozen=True)
class MapView:
    """What the hex-map macro draws: the SVG and its legend."""

    svg: Markup
    legend: list[hexmap.Shade]


@lru_cache(maxsize=1)
def _layout() -> hexmap.Layout:
    return hexmap.layout(json.dumps(constituency_names(), sort_keys=True))


def _map(campaign: Campaign, counts: dict[str, services.Counts]) -> MapView:
    written = {code: c.written for code, c in counts.items()}
    legend, step = hexmap.shades(max(written.values(), default=0))
    prefix = url_for("dashboard.constituency", slug=campaign.slug, code="CODE")[: -len("CODE")]
    return MapView(hexmap.render(_layout(), written, step, prefix), legend)


@bp.get("/dashboard")
@require(Permission.VIEW_DASHBOARD)
def overview() -> ResponseReturnValue:
    """Every campaign's headline figures."""
    campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.created_at.desc())))
    summaries = services.overview(db.session, campaigns)
    total = services.Figures(counts=sum((s.figures.counts for s in summaries), services.Counts()))
    return render_template("dashboard/overview.html", summaries=summaries, total=total)


@bp.get("/partner/dashboard")
@require(Permission.VIEW_PARTNER_DASHBOARD)
def partner_overview() -> ResponseReturnValue:
    """A partner's own figures on every public campaign: only letters it brought."""
    user = current_user()
    partner_id = getattr(user, "partner_id", None)
    partner = db.session.get(Partner, partner_id) if partner_id is not None else None
    if partner is None:
        return render_template("dashboard/partner.html", partner=None, summaries=[]), 200
    campaigns = list(
        db.session.scalars(
            select(Campaign)
            .where(Campaign.status != CampaignStatus.DRAFT)
            .order_by(Campaign.created_at.desc())
        )
    )
    summaries = services.partner_overview(db.session, campaigns, partner.id)
    return render_template("dashboard/partner.html", partner=partner, summaries=summaries)


@bp.get("/campaigns/<slug>/dashboard")
@require(Permission.VIEW_DASHBOARD)
def campaign(slug: str) -> ResponseReturnValue:
    """One campaign's figures, funnel, charts, map and a breakdown."""
    camp = _campaign(slug)
    session = db.session
    by = request.args.get("by", "constituency")
    if by not in services.BREAKDOWNS:
        by = "constituency"
    sort = request.args.get("sort", "written")
    if sort not in services.SORT_KEYS:
        sort = "written"
    descending = request.args.get("order", "desc") != "asc"
    period, period_error = _period(camp)
    days = services.daily_signatures(session, camp, period.start, period.end)
    day_list = [p.day for p in days]
    ttl = current_app.config["SETTINGS"].directory_cache_seconds
    seat_index = services.cached_seats(session, ttl)
    seat_rows = services.constituency_rows(session, camp)
    constituencies = services.constituency_counts(session, camp, seat_rows)
    table = services.breakdown(
        session, camp, by, seat_index=seat_index, constituency_rows=seat_rows
    )
    show_all = request.args.get("rows") == "all"
    rows = table.sorted(sort, descending)
    user = current_user()
    can_personal = has_permission(user, Permission.EXPORT_PERSONAL)
    return render_template(
        "dashboard/campaign.html",
        campaign=camp,
        figures=services.campaign_figures(session, camp),
        period=period,
        period_error=period_error,
        period_choices=PERIOD_CHOICES,
        period_total=sum(p.count for p in days),
        days=days,
        daily_chart=charts.bar_chart("Signatures per day", day_list, [p.count for p in days]),
        cumulative_chart=charts.line_chart(
            "Cumulative signatures", day_list, [p.cumulative for p in days]
        ),
        map=_map(camp, constituencies),
        breakdowns=services.BREAKDOWNS,
        by=by,
        sort=sort,
        descending=descending,
        columns=COLUMNS,
        rows=rows if show_all else rows[:ROWS_SHOWN],
        row_count=len(rows),
        show_all=show_all,
        can_export=has_permission(user, Permission.EXPORT_AGGREGATE),
        personal_form=ActionForm() if can_personal else None,
        retention_days=current_app.config["SETTINGS"].personal_data_retention_days,
    )


@bp.get("/campaigns/<slug>/dashboard/constituencies/<code>")
@require(Permission.VIEW_DASHBOARD)
def constituency(slug: str, code: str) -> ResponseReturnValue:
    """One constituency's figures for a campaign (where the map's hexes lead)."""
    camp = _campaign(slug)
    seat = services.seats(db.session).get(code)
    names = constituency_names()
    if seat is None and code not in names:
        abort(404)
    counts = services.constituency_counts(db.session, camp).get(code, services.Counts())
    return render_template(
        "dashboard/constituency.html",
        campaign=camp,
        seat=seat,
        seat_name=seat.name if seat else names[code],
        counts=counts,
    )


def _csv(name: str, chunks: Iterator[str]) -> Response:
    """A streamed CSV download that no cache keeps."""

    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _filename(camp: Campaign, what: str) -> str:
    return f"{camp.slug}-{what}-{utcnow().date().isoformat()}.csv"


@bp.get("/campaigns/<slug>/exports/signatures.csv")
@require(Permission.EXPORT_AGGREGATE)
def export_signatures(slug: str) -> ResponseReturnValue:
    """Every signature with its place, MP, party, partner, source and state (no personal data)."""
    camp = _campaign(slug)
    rows = exports.signature_rows(db.session, camp)
    return _csv(_filename(camp, "signatures"), exports.stream_csv(exports.SIGNATURE_HEADER, rows))


BREAKDOWN_EXPORTS = frozenset({"constituency", "mp"})


@bp.get("/campaigns/<slug>/exports/<by>.csv")
@require(Permission.EXPORT_AGGREGATE)
def export_breakdown(slug: str, by: str) -> ResponseReturnValue:
    """The per-constituency or per-MP table."""
    if by not in BREAKDOWN_EXPORTS:
        abort(404)
    camp = _campaign(slug)
    table = services.breakdown(db.session, camp, by)
    header = exports.breakdown_header(services.BREAKDOWNS[by])
    return _csv(
        _filename(camp, f"by-{by}"), exports.stream_csv(header, exports.breakdown_rows(table))
    )


@bp.post("/campaigns/<slug>/exports/personal.csv")
@require(Permission.EXPORT_PERSONAL)
def export_personal(slug: str) -> ResponseReturnValue:
    """Names and addresses of people still within the retention period; audited."""
    camp = _campaign(slug)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    retention = current_app.config["SETTINGS"].personal_data_retention_days
    record_event("export.personal", target=f"campaign:{camp.slug}", retention_days=retention)
    rows = exports.personal_rows(db.session, camp, retention)
    return _csv(_filename(camp, "personal"), exports.stream_csv(exports.PERSONAL_HEADER, rows))

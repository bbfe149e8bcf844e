"""The dashboard pages and exports, as staff of each role see them."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.directory.snapshot import load_snapshot
from advocacy.models import AuditEvent, Campaign, LetterState
from tests.dashboard.conftest import DELIVERED_PATH, make_letter

S = LetterState
LEEDS = "E14001319"
StaffClient = Callable[..., FlaskClient]


def _fill(session: Session, campaign: Campaign) -> None:
    load_snapshot(session)
    session.commit()
    make_letter(
        session,
        campaign,
        DELIVERED_PATH,
        sign=True,
        constituency_code=LEEDS,
        sender_name="Ayesha Khan",
        source="newsletter",
    )
    make_letter(session, campaign, constituency_code=LEEDS)


def test_dashboard_shows_figures_funnel_charts_map_and_breakdown(
    session: Session, campaign: Campaign, staff_client: StaffClient
) -> None:
    _fill(session, campaign)
    client = staff_client("viewer")

    page = client.get(f"/workspace/campaigns/{campaign.slug}/dashboard")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Awaiting confirmation</dt><dd>1</dd>" in html
    assert "Delivered</dt><dd>1</dd>" in html
    assert "Delivery funnel" in html
    assert html.count('<svg class="chart"') == 2
    assert 'id="daily-table"' in html
    # 650 linked hexes, the writer's constituency shaded and named with its count.
    assert html.count("<polygon") == 650
    assert 'aria-label="Leeds Central and Headingley: 2 letters"' in html
    assert f'href="/workspace/campaigns/{campaign.slug}/dashboard/constituencies/{LEEDS}"' in html
    # A viewer may export aggregates but sees no personal export.
    assert "signatures.csv" in html
    assert "Export personal data" not in html
    assert "Ayesha" not in html


def test_breakdown_tabs_and_sorting(
    session: Session, campaign: Campaign, staff_client: StaffClient
) -> None:
    _fill(session, campaign)
    client = staff_client("viewer")
    html = client.get(
        f"/workspace/campaigns/{campaign.slug}/dashboard?by=source&sort=label&order=asc"
    ).get_data(as_text=True)
    assert "Breakdown by source" in html
    labels = re.findall(r'<th scope="row">([^<]+)</th>', html.split("breakdown-h")[-1])
    assert labels == ["(none)", "newsletter"]
    assert 'aria-sort="ascending"' in html


def test_a_bad_period_says_so_and_shows_the_default(
    session: Session, campaign: Campaign, staff_client: StaffClient
) -> None:
    client = staff_client("viewer")
    url = f"/workspace/campaigns/{campaign.slug}/dashboard"
    html = client.get(f"{url}?start=2026-12-01&end=2026-11-01").get_data(as_text=True)
    assert "The end date is before the start date." in html
    assert "Last 30 days" in html
    html = client.get(f"{url}?days=forever").get_data(as_text=True)
    assert "not one of the choices" in html
    assert client.get(f"{url}?start=2026-11-01&end=2026-11-07").status_code == 200


def test_constituency_page_and_unknown_ones(
    session: Session, campaign: Campaign, staff_client: StaffClient
) -> None:
    _fill(session, campaign)
    client = staff_client("viewer")
    base = f"/workspace/campaigns/{campaign.slug}/dashboard/constituencies"
    html = client.get(f"{base}/{LEEDS}").get_data(as_text=True)
    assert "<h1>Leeds Central and Headingley</h1>" in html
    assert "Written</th><td>2</td>" in html
    assert client.get(f"{base}/X99999999").status_code == 404
    assert client.get("/workspace/campaigns/no-such/dashboard").status_code == 404


def test_overview_lists_campaigns(
    session: Session, campaign: Campaign, staff_client: StaffClient
) -> None:
    _fill(session, campaign)
    html = staff_client("viewer").get("/workspace/dashboard").get_data(as_text=True)
    assert campaign.title in html
    assert f"/workspace/campaigns/{campaign.slug}/dashboard" in html


def _rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode())))


def test_signature_and_table_exports_stream_csv(
    session: Session, campaign: Campaign, staff_client: StaffClient
) -> None:
    _fill(session, campaign)
    client = staff_client("viewer")
    response = client.get(f"/workspace/campaigns/{campaign.slug}/exports/signatures.csv")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _rows(response.data)
    assert [(r["constituency_code"], r["delivery_state"], r["source"]) for r in rows] == [
        (LEEDS, "delivered", "newsletter")
    ]
    per_seat = _rows(
        client.get(f"/workspace/campaigns/{campaign.slug}/exports/constituency.csv").data
    )
    assert [(r["code"], r["written"]) for r in per_seat] == [(LEEDS, "2")]
    per_mp = _rows(client.get(f"/workspace/campaigns/{campaign.slug}/exports/mp.csv").data)
    assert per_mp[0]["written"] == "2"
    assert client.get(f"/workspace/campaigns/{campaign.slug}/exports/party.csv").status_code == 404


def test_personal_export_is_for_owners_and_audited(
    session: Session, campaign: Campaign, staff_client: StaffClient
) -> None:
    _fill(session, campaign)
    url = f"/workspace/campaigns/{campaign.slug}/exports/personal.csv"
    editor = staff_client("editor")
    assert editor.post(url, data={"csrf_token": editor.csrf_token}).status_code == 403  # type: ignore[attr-defined]

    owner = staff_client("owner")
    page = owner.get(f"/workspace/campaigns/{campaign.slug}/dashboard").get_data(as_text=True)
    assert "Export personal data" in page
    assert owner.post(url, data={}).status_code == 400
    response = owner.post(url, data={"csrf_token": owner.csrf_token})  # type: ignore[attr-defined]

    assert response.status_code == 200
    rows = _rows(response.data)
    assert {r["name"] for r in rows} == {"Ayesha Khan"}
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "export.personal")).all()
    assert [e.target for e in events] == [f"campaign:{campaign.slug}"]
    assert "Ayesha" not in str(events[0].details)

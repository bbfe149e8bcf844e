"""The campaign editor: campaigns, letters, versions, previews, imports and drafts."""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable
from typing import Any

import docx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from advocacy.campaigns import seed
from advocacy.campaigns import services as journey
from advocacy.directory.service import get_directory
from advocacy.models import AuditEvent, Campaign, Letter, LetterTemplate, LetterTemplateVersion
from advocacy.workspace.access import Role

BODY = (
    "Dear {{ mp_name }},\n\nI live in {{ constituency }}.\n\n{{ personal_words }}\n\n"
    "Yours sincerely,\n{{ sender_name }}"
)
CAMPAIGN = {
    "title": "Save our libraries",
    "slug": "",
    "summary": "Keep local libraries open.",
    "why_it_matters": "Libraries matter.\n\nThey are closing.",
    "sender_name": "Friends of Libraries",
    "goal": "1000",
    "status": "draft",
    "kind": "mp_letter",
    "opens_on": "",
    "closes_on": "",
}


@pytest.fixture
def editor(staff_client: Callable[..., FlaskClient], directory: Flask) -> FlaskClient:
    """An editor's logged-in client, with the MP directory loaded."""
    return staff_client(Role.EDITOR)


def post(client: FlaskClient, path: str, **data: Any) -> Any:
    """POST a workspace form with the session's token."""
    return client.post(path, data={"csrf_token": client.csrf_token, **data})  # type: ignore[attr-defined]


def make_campaign(client: FlaskClient, **overrides: str) -> Any:
    return post(client, "/workspace/campaigns/new", **{**CAMPAIGN, **overrides})


def make_letter(client: FlaskClient, slug: str = "save-our-libraries", **overrides: str) -> Any:
    data = {
        "title": "General letter",
        "slug": "",
        "description": "",
        "subject_template": "{{ constituency }}: save our library",
        "body_template": BODY,
        "action": "save",
        **overrides,
    }
    return post(client, f"/workspace/campaigns/{slug}/letters/new", **data)


def test_an_editor_creates_a_draft_then_a_letter_then_goes_live(
    editor: FlaskClient, session: Session
) -> None:
    created = make_campaign(editor)
    assert created.status_code == 303
    assert created.headers["Location"] == "/workspace/campaigns/save-our-libraries"
    refused = post(
        editor,
        "/workspace/campaigns/save-our-libraries/edit",
        **{**CAMPAIGN, "slug": "save-our-libraries", "status": "live"},
    )
    assert refused.status_code == 422
    assert "at least one letter" in refused.get_data(as_text=True)
    assert make_letter(editor).status_code == 303
    live = post(
        editor,
        "/workspace/campaigns/save-our-libraries/edit",
        **{**CAMPAIGN, "slug": "save-our-libraries", "status": "live"},
    )
    assert live.status_code == 303
    campaign = session.scalars(select(Campaign)).one()
    session.refresh(campaign)
    assert (campaign.status, campaign.goal, campaign.sender_name) == (
        "live",
        1000,
        "Friends of Libraries",
    )
    assert [t.slug for t in campaign.templates] == ["general-letter"]
    actions = session.scalars(select(AuditEvent.action)).all()
    assert {"campaign.created", "letter.saved", "campaign.updated"} <= set(actions)
    # Nothing of the letter's text reaches the audit log.
    assert all("personal_words" not in str(e.details) for e in session.scalars(select(AuditEvent)))


def test_only_mp_letters_can_be_chosen_today(editor: FlaskClient) -> None:
    page = editor.get("/workspace/campaigns/new").get_data(as_text=True)
    assert re.search(r'<option disabled="disabled" value="petition">', page)
    refused = make_campaign(editor, kind="petition")
    assert refused.status_code == 422
    assert "Only letters to MPs can be sent today" in refused.get_data(as_text=True)


def test_campaign_form_errors_keep_what_was_typed(editor: FlaskClient) -> None:
    response = make_campaign(
        editor, slug="Not A Slug!", closes_on="2026-01-01", opens_on="2026-02-01"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "lower-case letters" in page
    assert "closing date is before the opening date" in page
    assert "Keep local libraries open." in page


def test_a_live_campaigns_address_cannot_change(editor: FlaskClient, session: Session) -> None:
    make_campaign(editor)
    make_letter(editor)
    fields = {**CAMPAIGN, "slug": "save-our-libraries", "status": "live"}
    post(editor, "/workspace/campaigns/save-our-libraries/edit", **fields)
    moved = post(
        editor, "/workspace/campaigns/save-our-libraries/edit", **{**fields, "slug": "elsewhere"}
    )
    assert moved.status_code == 422
    assert "cannot change" in moved.get_data(as_text=True)


def test_campaign_dates_close_the_journey(editor: FlaskClient, session: Session) -> None:
    make_campaign(editor)
    make_letter(editor)
    fields = {**CAMPAIGN, "slug": "save-our-libraries", "status": "live"}
    post(
        editor,
        "/workspace/campaigns/save-our-libraries/edit",
        **{**fields, "closes_on": "2020-01-01"},
    )
    campaign = session.scalars(select(Campaign)).one()
    session.refresh(campaign)
    assert campaign.status == "live"
    assert not campaign.is_live


def test_saving_a_letter_checks_it(editor: FlaskClient) -> None:
    make_campaign(editor)
    missing = make_letter(editor, body_template="Dear {{ mp_name }},\n\nPlease act.")
    assert missing.status_code == 422
    assert "must include {{ personal_words }}" in missing.get_data(as_text=True)
    broken = make_letter(editor, body_template=BODY + "\n{% if x %}")
    assert "Line 9: Unexpected end of template" in broken.get_data(as_text=True)
    unknown = make_letter(editor, subject_template="{{ mp_nmae }}")
    assert "“mp_nmae” is not a variable" in unknown.get_data(as_text=True)
    # What was typed is still there.
    assert "{{ mp_nmae }}" in unknown.get_data(as_text=True)


def test_a_changed_letter_is_a_new_version_and_written_letters_keep_theirs(
    editor: FlaskClient, session: Session
) -> None:
    make_campaign(editor)
    make_letter(editor)
    campaign = session.scalars(select(Campaign)).one()
    template = session.scalars(select(LetterTemplate)).one()
    rep = get_directory().by_constituency("E14001063")
    assert rep is not None
    author = journey.Author("Ayesha Khan", "a@example.org", "1 High St", "GU11 1AA", "x" * 30)
    written = journey.build_letter(
        campaign=campaign,
        template=template,
        rep=rep,
        author=author,
        subject=journey.draft_subject(template, rep, author),
        body=journey.draft_body(template, rep, author),
        secret_key="k",
    )
    session.add(written)
    session.commit()
    assert written.template_version == 1
    before = written.body_text

    path = "/workspace/campaigns/save-our-libraries/letters/general-letter"
    unchanged = post(
        editor,
        path,
        title="General letter",
        slug="general-letter",
        subject_template="{{ constituency }}: save our library",
        body_template=BODY,
        action="save",
    )
    assert unchanged.status_code == 303
    changed = post(
        editor,
        path,
        title="General letter",
        slug="general-letter",
        subject_template="{{ constituency }}: save our library",
        body_template=BODY.replace("I live in", "I am a constituent in"),
        action="save",
    )
    assert changed.status_code == 303
    session.expire_all()
    versions = session.scalars(select(LetterTemplateVersion.number)).all()
    assert sorted(versions) == [1, 2]
    assert session.get(LetterTemplate, template.id).version == 2  # type: ignore[union-attr]
    letter = session.get(Letter, written.id)
    assert letter is not None
    assert (letter.template_version, letter.body_text) == (1, before)

    history = editor.get(path + "/history").get_data(as_text=True)
    assert "Changes from version 1 to version 2" in history
    assert "- I live in {{ constituency }}." in history
    assert "+ I am a constituent in {{ constituency }}." in history
    assert re.search(r"<td>1</td>\s*<td>[^<]+</td>\s*<td>[^<]+</td>\s*<td>1</td>", history)


def test_the_preview_button_shows_the_email_for_any_constituency(editor: FlaskClient) -> None:
    make_campaign(editor)
    page = post(
        editor,
        "/workspace/campaigns/save-our-libraries/letters/new",
        title="Draft",
        subject_template="{{ constituency }}: libraries",
        body_template=BODY,
        sample_constituency="E14001487",
        sample_name="Sam Sample",
        sample_words="Our library is where my children learned to read.",
        action="preview",
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    rep = get_directory().by_constituency("E14001487")
    assert rep is not None
    assert f"Dear {rep.salutation_name}" in html
    assert f"{rep.constituency_name}: libraries" in html
    assert "Sam Sample via Friends of Libraries" in html
    assert "Our library is where my children learned to read." in html
    # Nothing was saved.
    assert editor.get("/workspace/campaigns/save-our-libraries/letters/draft").status_code == 404
    assert html.count("<option") >= 650


def test_the_live_preview_answers_json(editor: FlaskClient) -> None:
    make_campaign(editor)
    url = "/workspace/campaigns/save-our-libraries/letters/preview.json"
    ok = post(
        editor, url, subject_template="Hi", body_template=BODY, sample_constituency="E14001063"
    )
    assert ok.status_code == 200
    assert ok.json["ok"] is True
    assert ok.json["body"].startswith("Dear ")
    bad = post(editor, url, subject_template="Hi", body_template="Dear {{ mp_name }}")
    assert bad.json["ok"] is False
    assert "personal_words" in bad.json["problems"][0]["message"]
    forged = editor.post(url, data={"csrf_token": "nope", "subject_template": "x"})
    assert forged.status_code == 400


def test_the_editor_page_uses_a_static_script_only(editor: FlaskClient) -> None:
    make_campaign(editor)
    response = editor.get("/workspace/campaigns/save-our-libraries/letters/new")
    html = response.get_data(as_text=True)
    assert '<script src="/static/editor.js" defer></script>' in html
    assert "<script>" not in html
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_letters_reorder_and_remove(editor: FlaskClient, session: Session) -> None:
    make_campaign(editor)
    make_letter(editor, title="First")
    make_letter(editor, title="Second")
    moved = post(
        editor, "/workspace/campaigns/save-our-libraries/letters/second/move", direction="up"
    )
    assert moved.status_code == 303
    campaign = session.scalars(select(Campaign)).one()
    session.expire_all()
    assert [t.slug for t in campaign.templates] == ["second", "first"]
    removed = post(editor, "/workspace/campaigns/save-our-libraries/letters/first/remove")
    assert removed.status_code == 303
    session.expire_all()
    assert [t.slug for t in campaign.templates] == ["second"]
    # The removed letter and its versions are kept.
    assert len(session.scalars(select(LetterTemplate)).all()) == 2
    assert make_letter(editor, title="First").status_code == 303


def _docx(*paragraphs: str) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _import(client: FlaskClient, data: bytes, filename: str) -> Any:
    # Encoded here as bytes: the test client spools large bodies to a temporary file that
    # it never closes.
    boundary, body = encode_multipart(
        {
            "csrf_token": client.csrf_token,  # type: ignore[attr-defined]
            "document": FileStorage(io.BytesIO(data), filename),
        }
    )
    return client.post(
        "/workspace/campaigns/save-our-libraries/letters/import",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_a_word_document_becomes_a_letter_body(editor: FlaskClient) -> None:
    make_campaign(editor)
    response = _import(
        editor,
        _docx("Dear {{ mp_name }},", "", "Our libraries are closing.", "Yours,"),
        "Our letter.docx",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Dear {{ mp_name }},\n\nOur libraries are closing.\n\nYours,</textarea>" in html
    assert "Place {{ personal_words }}" in html
    assert 'value="Our letter"' in html


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"plain text", "letter.txt", "Only Word .docx files"),
        (b"not a zip at all", "letter.docx", "could not be read as a Word document"),
        (b"PK\x03\x04broken", "letter.docx", "could not be read as a Word document"),
        (b"", "letter.docx", "That file is empty."),
    ],
)
def test_bad_documents_are_refused_with_a_clear_message(
    editor: FlaskClient, data: bytes, filename: str, message: str
) -> None:
    make_campaign(editor)
    response = _import(editor, data, filename)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_a_document_over_2_mb_is_refused(editor: FlaskClient) -> None:
    make_campaign(editor)
    response = _import(editor, b"PK" + b"\0" * (2 * 1024 * 1024 + 10), "big.docx")
    assert response.status_code == 422
    assert "larger than 2 MB" in response.get_data(as_text=True)


def test_a_viewer_sees_campaigns_but_cannot_edit(
    staff_client: Callable[..., FlaskClient], editor: FlaskClient
) -> None:
    make_campaign(editor)
    make_letter(editor)
    viewer = staff_client(Role.VIEWER)
    page = viewer.get("/workspace/campaigns/save-our-libraries")
    assert page.status_code == 200
    assert "Edit details" not in page.get_data(as_text=True)
    assert viewer.get("/workspace/campaigns/save-our-libraries/edit").status_code == 403
    assert make_letter(viewer).status_code == 403
    assert make_campaign(viewer, title="Other").status_code == 403


def test_staff_see_a_draft_at_its_public_address_and_nobody_else_does(
    editor: FlaskClient, app: Flask
) -> None:
    make_campaign(editor)
    public = app.test_client()
    assert public.get("/campaigns/save-our-libraries").status_code == 404
    link = editor.get("/workspace/campaigns/save-our-libraries/view")
    assert link.status_code == 303
    target = link.headers["Location"]
    assert target.startswith("/campaigns/save-our-libraries?draft=")
    # The link works in any browser (the staff cookie never reaches public pages) ...
    page = public.get(target)
    assert page.status_code == 200
    assert "Draft: only staff" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in page.headers
    # ... only for this campaign, and a forged token shows nothing.
    assert public.get(target.replace("save-our-libraries?", "other?")).status_code == 404
    assert public.get(target + "x").status_code == 404


def test_seeding_records_versions_and_a_changed_seed_is_a_new_one(
    app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed.seed_campaigns(session)
    session.commit()
    templates = session.scalars(select(LetterTemplate)).all()
    assert templates
    assert all(t.version == 1 and len(t.versions) == 1 for t in templates)
    first = seed.BUILT_IN_CAMPAIGNS[0]
    changed = dataclasses.replace(first.templates[0], subject="A new subject")
    edited = dataclasses.replace(first, templates=(changed, *first.templates[1:]))
    monkeypatch.setattr(seed, "BUILT_IN_CAMPAIGNS", (edited,))
    seed.seed_campaigns(session)
    session.commit()
    session.expire_all()
    again = session.scalars(select(LetterTemplate).where(LetterTemplate.slug == changed.slug)).one()
    assert again.version == 2
    assert again.versions[0].subject_template == "A new subject"
    # Seeding the same texts again adds nothing.
    seed.seed_campaigns(session)
    session.commit()
    assert len(session.scalars(select(LetterTemplateVersion)).all()) == len(templates) + 1

"""Composing letters and system emails from templates/emails/."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.compose import compose_letter, compose_notification, paragraphs
from advocacy.delivery.mail import build_mail
from advocacy.models import Campaign, Notification, NotificationKind
from advocacy.security import load_confirmation_token
from tests.delivery.helpers import MP_EMAIL, add_submitted, new_letter
from tests.fakes.sendgrid import validate


def test_compose_letter_works_on_an_unsaved_letter(
    app: Flask, campaign: Campaign, settings: Settings, session: Session
) -> None:
    letter = new_letter(campaign)
    mail = compose_letter(letter, settings)
    assert letter.id is None
    assert letter not in session
    assert mail.to_email == MP_EMAIL
    assert mail.to_name == "Jo Bloggs MP"
    # From our own address (DMARC), with the constituent's name; replies go to them.
    assert mail.from_email == settings.mail_from == "letters@campaign.example"
    assert mail.from_name == "Ayesha Khan via Save Our Libraries"
    assert (mail.reply_to_email, mail.reply_to_name) == ("ayesha@example.org", "Ayesha Khan")
    assert mail.subject == "Please keep Leeds libraries open"
    assert mail.custom_args == {"letter_key": letter.idempotency_key, "kind": "letter"}
    assert mail.track is False


def test_letter_text_is_the_body_then_the_signature_block(
    app: Flask, campaign: Campaign, settings: Settings
) -> None:
    mail = compose_letter(new_letter(campaign), settings)
    assert mail.text.startswith("Dear Jo Bloggs,\n\nPlease keep our libraries open.")
    signature = mail.text.split("Yours sincerely,\nAyesha Khan\n\n", 1)[1]
    # The letter closes with the name, so the block does not repeat it.
    assert signature.startswith("12 Acacia Avenue\nLeeds\nLS1 4AP\nayesha@example.org\n\n--\n")
    footer = signature.rstrip("\n").splitlines()[-1]
    assert "Save Our Libraries" in footer
    assert "on behalf of Ayesha Khan, a constituent" in footer
    assert "directly" in footer


def test_signature_names_the_sender_when_the_letter_does_not_close_with_the_name(
    app: Flask, campaign: Campaign, settings: Settings
) -> None:
    letter = new_letter(campaign, body_text="Dear Jo Bloggs,\n\nPlease act.\n\nThank you.")
    mail = compose_letter(letter, settings)
    assert "Thank you.\n\nAyesha Khan\n12 Acacia Avenue\n" in mail.text
    assert mail.text.count("Ayesha Khan\n") == 1


def test_letter_text_has_one_kind_of_line_ending(
    app: Flask, campaign: Campaign, settings: Settings
) -> None:
    # Browsers post a textarea with CRLF; the signature block is written with LF.
    body = "Dear Jo Bloggs,\r\n\r\nPlease act.\r\nNow.\r\n\r\nYours sincerely,\r\nAyesha Khan"
    mail = compose_letter(new_letter(campaign, body_text=body), settings)
    assert "\r" not in mail.text
    assert mail.text.startswith("Dear Jo Bloggs,\n\nPlease act.\nNow.\n\nYours sincerely,\n")
    assert mail.text.count("Ayesha Khan\n") == 1


def test_postcode_is_not_repeated_when_the_address_ends_with_it(
    app: Flask, campaign: Campaign, settings: Settings
) -> None:
    letter = new_letter(campaign, sender_address="12 Acacia Avenue\nLeeds\nls1 4ap\n")
    mail = compose_letter(letter, settings)
    assert mail.text.lower().count("ls1 4ap") == 1


def test_letter_html_is_escaped_with_paragraphs(
    app: Flask, campaign: Campaign, settings: Settings
) -> None:
    letter = new_letter(
        campaign,
        sender_name='Eve <script>alert("x")</script>',
        body_text="Dear MP,\n\nFish & chips <b>matter</b>.\nSecond line.\n\nThanks",
    )
    mail = compose_letter(letter, settings)
    assert "<script>" not in mail.html
    assert "&lt;script&gt;" in mail.html
    assert "<b>" not in mail.html
    assert "<p>Fish &amp; chips &lt;b&gt;matter&lt;/b&gt;.<br>\nSecond line.</p>" in mail.html
    assert mail.html.count("<p>") == len(paragraphs(mail.text))


def test_composed_letter_is_a_valid_sendgrid_request(
    app: Flask, campaign: Campaign, settings: Settings
) -> None:
    payload = build_mail(compose_letter(new_letter(campaign), settings)).get()
    assert validate(payload) == []


def test_header_fields_cannot_carry_line_breaks(
    app: Flask, campaign: Campaign, settings: Settings
) -> None:
    letter = new_letter(campaign, subject="Hello\r\nBcc: victim@example.com", sender_name="A\nB")
    mail = compose_letter(letter, settings)
    assert "\n" not in mail.subject
    assert "\r" not in mail.subject
    assert mail.from_name == "A B via Save Our Libraries"


def test_confirmation_email_has_the_single_use_link(
    app: Flask, campaign: Campaign, settings: Settings, session: Session
) -> None:
    letter = add_submitted(session, campaign)
    [notification] = session.query(Notification).all()
    mail = compose_notification(notification, settings)
    assert mail.to_email == "ayesha@example.org"
    assert mail.from_email == settings.mail_from
    assert mail.from_name == "Save Our Libraries"
    assert mail.subject == "Please confirm your letter to Jo Bloggs MP"
    link = next(line for line in mail.text.splitlines() if "/letters/confirm/" in line)
    assert link.startswith("http://localhost/letters/confirm/")
    token = link.rsplit("/", 1)[1]
    public_id, key_prefix = load_confirmation_token(token)  # type: ignore[misc]
    assert public_id == letter.public_id
    assert letter.idempotency_key.startswith(key_prefix)
    assert "7 days" in mail.text
    assert "Nothing is sent without this click" in mail.text
    assert f'href="{link}"' in mail.html
    assert mail.custom_args == {
        "notification_key": notification.idempotency_key,
        "kind": "confirmation",
    }
    assert validate(build_mail(mail).get()) == []


def test_reminder_email_says_it_is_a_reminder(
    app: Flask, campaign: Campaign, settings: Settings, session: Session
) -> None:
    letter = add_submitted(session, campaign)
    reminder = Notification(letter=letter, kind=NotificationKind.REMINDER)
    mail = compose_notification(reminder, settings)
    assert mail.subject == "Reminder: please confirm your letter to Jo Bloggs MP"
    assert "/letters/confirm/" in mail.text
    assert "only reminder" in mail.text

"""The write, preview and print pages in real Chromium: the live count, the focus after a
failed submit, text boxes that grow, and nothing wider than a 320 px phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from advocacy.extensions import db
from advocacy.models import MemberOfParliament
from advocacy.validation import multiline_filter
from tests.browser.conftest import LiveServer, free_port, seeded_app
from tests.conftest import make_settings
from tests.fakes import PostcodesIoFake

pytestmark = pytest.mark.browser

CAMPAIGN = "stand-with-the-uyghurs"
OWN_WORDS = "My brother was taken in 2017 and our family has not heard from him since."
LONG_EMAIL = "ayesha.khan.writing.for.her.family@a-very-long-domain-name-for-a-phone.example.org"
# South Holland and the Deepings: its MP is given no email address below, so letters to
# them are printed.
PRINTED_SEAT = "E14001487"


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The seeded app on loopback, with a fake postcodes.io; one MP publishes no email."""
    port = free_port()
    with PostcodesIoFake(recorded=True) as postcodes:
        postcodes.add_postcode("GU11 1AA", constituency_code="E14001063")
        postcodes.add_postcode("PE12 6AA", constituency_code=PRINTED_SEAT)
        postcodes.add_terminated("AB1 0AA", year_terminated=1996, month_terminated=6)
        settings = make_settings(
            database_url,
            tmp_path / "instance",
            env={"BASE_URL": f"http://127.0.0.1:{port}", "POSTCODES_IO_URL": postcodes.url},
        )
        with seeded_app(settings, database_url) as app:
            seat = db.session.get(MemberOfParliament, PRINTED_SEAT)
            assert seat is not None
            seat.email = None
            db.session.commit()
            with LiveServer(app, port) as live:
                yield live


def _page(browser: Any, width: int = 1280) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def _write_page(page: Any, server: LiveServer, postcode: str = "GU11 1AA") -> None:
    page.goto(f"{server.url}/campaigns/{CAMPAIGN}/mp?postcode={postcode}")
    page.click("li:has-text('The persecution of the Uyghurs') >> a.button")
    page.wait_for_selector("h1:has-text('Write to')")


def _fill(page: Any, email: str = LONG_EMAIL) -> None:
    page.fill("input[name=name]", "Ayesha Khan")
    page.fill("input[name=email]", email)
    page.fill("textarea[name=address]", "Flat 12, Wellington Court\n1 High Street")
    page.fill("textarea[name=personal_words]", OWN_WORDS)


def test_live_count_counts_as_the_server_does(browser: Any, server: LiveServer) -> None:
    page = _page(browser)
    _write_page(page, server)
    count = page.locator(".char-count")
    assert count.inner_text() == "0 characters so far: at least 20 are needed."
    # Line breaks of every kind, a control character, an emoji (two UTF-16 units, one
    # character to Python) and spaces at both ends.
    words = "  Ich bin\r\nhier \U0001f54a\u2028und\x07 warte seit 2017.  \n"
    page.fill("textarea[name=personal_words]", words)
    expected = len(multiline_filter(words))
    assert count.inner_text() == f"{expected} characters: {3000 - expected:,} left."
    spoken = page.locator("#personal_words-count")
    assert spoken.get_attribute("aria-live") == "polite"
    # Read out once typing pauses.
    page.wait_for_selector("#personal_words-count:has-text('left.')", state="attached")
    page.context.close()


def test_words_past_the_limit_are_kept_and_counted_not_cut_off(
    browser: Any, server: LiveServer
) -> None:
    page = _page(browser)
    _write_page(page, server)
    _fill(page)
    # Pasted in one go, as someone bringing words written elsewhere would.
    words = "My brother was taken in 2017. " * 100 + "The end."
    too_many = len(words) - 3000
    page.fill("textarea[name=personal_words]", words)
    assert len(page.input_value("textarea[name=personal_words]")) == len(words)
    count = page.locator(".char-count")
    assert count.inner_text() == f"{len(words):,} characters: {too_many} too many."
    page.click("text=Preview my letter")
    page.wait_for_selector(".error-summary")
    summary = page.locator(".error-summary").inner_text()
    assert f"they are {len(words):,}, {too_many} too many." in summary
    # Everything typed comes back, to be shortened rather than written again.
    assert page.input_value("textarea[name=personal_words]") == words
    page.context.close()


def test_a_failed_submit_puts_the_focus_on_the_error_summary(
    browser: Any, server: LiveServer
) -> None:
    page = _page(browser)
    _write_page(page, server)
    page.fill("textarea[name=personal_words]", "too short")
    page.click("text=Preview my letter")
    page.wait_for_selector(".error-summary")
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    page.context.close()


def test_the_preview_letter_grows_instead_of_scrolling_in_its_box(
    browser: Any, server: LiveServer
) -> None:
    page = _page(browser, width=320)
    _write_page(page, server)
    _fill(page)
    page.click("text=Preview my letter")
    page.wait_for_selector("h1:has-text('Check your letter')")
    # The heading can be there before the stylesheet and journey.js have been applied.
    page.wait_for_load_state("load")
    heights = page.evaluate(
        "(() => { const b = document.querySelector('textarea[name=body]');"
        " return [b.scrollHeight, b.clientHeight]; })()"
    )
    assert heights[0] <= heights[1] + 1, heights
    page.context.close()


def _fits(page: Any, width: int) -> None:
    # Measured once the stylesheet has loaded, not as soon as the heading is parsed.
    page.wait_for_load_state("load")
    wide = page.evaluate(
        f"Array.from(document.querySelectorAll('body *'))"
        f".filter(e => e.getBoundingClientRect().right > {width} + 1)"
        f".map(e => e.tagName + '.' + e.className)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width, (page.url, wide)


def test_no_journey_page_is_wider_than_a_phone(
    browser: Any, server: LiveServer, artifacts_dir: Path
) -> None:
    width = 320
    page = _page(browser, width=width)
    _write_page(page, server)
    _fill(page)
    page.click("text=Preview my letter")
    page.wait_for_selector("h1:has-text('Check your letter')")
    _fits(page, width)
    page.screenshot(path=str(artifacts_dir / "phone-preview.png"), full_page=True)
    page.goto(f"{server.url}/campaigns/{CAMPAIGN}/thanks")
    _fits(page, width)
    # The printed letter, with the long address printed under the writer's.
    _write_page(page, server, postcode="PE12+6AA")
    _fill(page)
    page.click("text=Preview my letter")
    page.click("text=Make my printable letter")
    page.wait_for_selector("article.printable")
    _fits(page, width)
    page.screenshot(path=str(artifacts_dir / "phone-print.png"), full_page=True)
    for postcode in ("nonsense", "ZZ1 1ZZ", "AB1 0AA", "JE2 3AB", "BFPO 105", "75008"):
        page.goto(f"{server.url}/campaigns/{CAMPAIGN}/mp?postcode={postcode}")
        _fits(page, width)
    page.context.close()


@pytest.mark.parametrize("javascript", [True, False])
def test_the_printable_letter_has_a_print_button_only_with_javascript(
    browser: Any, server: LiveServer, javascript: bool
) -> None:
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    page.set_default_timeout(15_000)
    _write_page(page, server, postcode="PE12+6AA")
    _fill(page, email="")
    page.click("text=Preview my letter")
    page.click("text=Make my printable letter")
    page.wait_for_selector("article.printable")
    assert page.is_visible("button:has-text('Print this letter')") is javascript
    assert page.is_visible("text=use your browser's Print command") is not javascript
    if javascript:
        # The button opens the browser's print dialogue (stubbed: headless has none).
        page.evaluate("window.print = () => { document.body.dataset.printed = 'yes'; }")
        page.click("button:has-text('Print this letter')")
        assert page.get_attribute("body", "data-printed") == "yes"
    context.close()

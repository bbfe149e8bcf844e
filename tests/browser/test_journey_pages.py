"""Every page of the public journey, reached as a person reaches it, checked at a phone's width
and a desktop's: nothing wider than the screen, no WCAG 2.x A or AA violation that axe-core
finds, and a page that names itself and has one main heading. Then the whole journey again
with JavaScript off, since the forms must work without it.

axe-core is injected with Playwright's page.evaluate, which the page's Content-Security-Policy
does not govern (the DevTools protocol runs it, not the page); the policy itself stays as the
app sends it. test_axe_runs_under_the_apps_own_csp shows both halves of that.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from flask import Flask

from advocacy.directory.service import invalidate_directory_cache
from advocacy.extensions import db
from advocacy.models import MemberOfParliament
from tests.browser.conftest import (
    LiveServer,
    drain,
    emailed_link,
    free_port,
    live_env,
    seeded_app,
)
from tests.conftest import make_settings
from tests.fakes import PostcodesIoFake
from tests.fakes.sendgrid import FakeSendGrid

pytestmark = pytest.mark.browser

CAMPAIGN = "stand-with-the-uyghurs"
SITE_NAME = "Stand with the Uyghurs"
DASH = "\N{EN DASH}"  # between a page's name and the site's in its title
WIDTHS = (320, 1280)
# Every WCAG 2.0, 2.1 and 2.2 success criterion at levels A and AA that axe-core can test.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa")

NAME = "Ayesha Khan"
# Long and without a hyphen to break at, as real addresses often are: every line that shows
# it must still fit a phone.
EMAIL = "ayesha.khan.{n}@studentmail.exampleuniversity.ac.uk"
ADDRESS = "Flat 4, 10 Downing Street\nLondon"
OWN_WORDS = "My brother was taken in 2017 and our family has not heard from him since."

# Postcodes and the seats they lead to (the shipped directory has an email for every MP, so
# the fixture takes Bristol Central's away and leaves Aldershot vacant).
WITH_EMAIL = "SW1A 1AA"  # Cities of London and Westminster, Rachel Blake
WITHOUT_EMAIL = "BS1 1DA"  # Bristol Central
BRISTOL_CENTRAL = "E14001131"
VACANT = "GU11 1AA"  # Aldershot
ALDERSHOT = "E14001063"
TERMINATED = "AB1 0AA"
LOOKUP_DOWN = "LS1 1UR"  # postcodes.io answers 503 for this one only


@dataclasses.dataclass
class Journey:
    """The running app and its fakes, shared by every page of this module."""

    server: LiveServer
    sendgrid: FakeSendGrid
    postcodes: PostcodesIoFake
    app: Flask
    writers: Iterator[int] = dataclasses.field(default_factory=itertools.count)

    def url(self, path: str) -> str:
        """An absolute address on the live server."""
        return f"{self.server.url}{path}"

    def new_email(self) -> str:
        """An address nobody has written from yet (one letter per person per campaign)."""
        return EMAIL.format(n=next(self.writers))

    def confirm_link(self, email: str) -> str:
        """Deliver the queued mail, then the confirmation link emailed to `email`."""
        drain(self.app)
        return emailed_link(self.sendgrid, self.server.url, email, "/letters/confirm/")


@pytest.fixture(scope="module")
def journey(
    browser: Any, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Journey]:
    """One seeded app on loopback for the module, with fake postcodes.io and SendGrid."""
    port = free_port()
    with PostcodesIoFake(recorded=True) as postcodes, FakeSendGrid() as sendgrid:
        postcodes.add_postcode(VACANT, constituency_code=ALDERSHOT)
        postcodes.add_terminated(TERMINATED, year_terminated=1996, month_terminated=6)
        settings = make_settings(
            database_url,
            tmp_path_factory.mktemp("instance"),
            env={
                **live_env(port, postcodes.url, sendgrid.url),
                # Every page is reached from the start, from one address, in the same words.
                "RATE_LIMIT_LOOKUP": "10000 per minute",
                "RATE_LIMIT_SEND": "10000 per hour",
                "SIMILARITY_HOLD": "off",
            },
        )
        with seeded_app(settings, database_url) as app:
            with db.transaction() as session:
                bristol = session.get(MemberOfParliament, BRISTOL_CENTRAL)
                aldershot = session.get(MemberOfParliament, ALDERSHOT)
                assert bristol is not None
                assert aldershot is not None
                bristol.email = None
                aldershot.member_id = None
                aldershot.name_display = None
                aldershot.email = None
            invalidate_directory_cache()
            with LiveServer(app, port) as server:
                yield Journey(server, sendgrid, postcodes, app)


@pytest.fixture(scope="module")
def phone(browser: Any) -> Iterator[Any]:
    """One browser context for the module's pages (the journey sets no cookies to share)."""
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture(autouse=True)
def _upstream_answers(journey: Journey) -> Iterator[None]:
    """postcodes.io answers every test afresh, however the one before ended."""
    yield
    journey.postcodes.clear_faults()
    client = journey.app.extensions.get("postcodes_io_client")
    if client is not None:
        # The outage page's failed look-ups must not open the circuit for the next page.
        client.breaker.reset()


# How a person reaches each page. Each step starts where the one it builds on ends.


def _navigate(page: Any, action: Callable[[], None]) -> Any:
    """Do what loads the next page, and return that page's response."""
    with page.expect_navigation() as navigation:
        action()
    return navigation.value


def _click(page: Any, selector: str) -> Any:
    return _navigate(page, lambda: page.click(selector))


def campaign_page(page: Any, journey: Journey) -> None:
    page.goto(journey.url(f"/campaigns/{CAMPAIGN}"))


def _find(postcode: str) -> Callable[[Any, Journey], None]:
    def find(page: Any, journey: Journey) -> None:
        campaign_page(page, journey)
        page.fill("input[name=postcode]", postcode)
        _click(page, "button:has-text('Find my MP')")

    return find


mp_page = _find(WITH_EMAIL)


def write_page(page: Any, journey: Journey, postcode: str = WITH_EMAIL) -> None:
    _find(postcode)(page, journey)
    _click(page, "li:has-text('The persecution of the Uyghurs') >> text=Write this letter")


def _fill_write(page: Any, email: str) -> None:
    page.fill("input[name=name]", NAME)
    page.fill("input[name=email]", email)
    page.fill("textarea[name=address]", ADDRESS)
    page.fill("textarea[name=personal_words]", OWN_WORDS)


def write_with_errors(page: Any, journey: Journey) -> None:
    write_page(page, journey)
    _fill_write(page, "not-an-email")
    page.fill("input[name=name]", "")
    _click(page, "button:has-text('Preview my letter')")


def preview_page(
    page: Any, journey: Journey, postcode: str = WITH_EMAIL, email: str | None = None
) -> None:
    write_page(page, journey, postcode)
    _fill_write(page, email or journey.new_email())
    _click(page, "button:has-text('Preview my letter')")


def preview_with_errors(page: Any, journey: Journey) -> None:
    preview_page(page, journey)
    page.fill("input[name=subject]", "")
    page.fill("textarea[name=body]", "")
    _click(page, "button:has-text('Send my letter')")


def check_email_page(page: Any, journey: Journey) -> None:
    preview_page(page, journey)
    _click(page, "button:has-text('Send my letter')")


def confirm_page(page: Any, journey: Journey) -> None:
    check_email_page(page, journey)
    page.goto(journey.confirm_link(page.inner_text(".sent-to")))


def thanks_page(page: Any, journey: Journey) -> None:
    confirm_page(page, journey)
    _click(page, "button:has-text('Confirm and send my letter')")


def withdrawn_page(page: Any, journey: Journey) -> None:
    confirm_page(page, journey)
    _click(page, 'button:has-text("Don\'t send it")')


def already_sent_page(page: Any, journey: Journey) -> None:
    """Two letters from one address; the first confirmed, then the second's link opened."""
    email = journey.new_email()
    links = []
    for _ in range(2):
        preview_page(page, journey, email=email)
        _click(page, "button:has-text('Send my letter')")
        links.append(journey.confirm_link(email))
    page.goto(links[0])
    _click(page, "button:has-text('Confirm and send my letter')")
    page.goto(links[1])


mp_without_email = _find(WITHOUT_EMAIL)


def preview_to_print(page: Any, journey: Journey) -> None:
    preview_page(page, journey, WITHOUT_EMAIL)


def printable_letter(page: Any, journey: Journey) -> None:
    preview_to_print(page, journey)
    _click(page, "button:has-text('Make my printable letter')")


def lookup_down(page: Any, journey: Journey) -> None:
    journey.postcodes.fail_always(status=503, path="/postcodes/" + LOOKUP_DOWN.replace(" ", ""))
    _find(LOOKUP_DOWN)(page, journey)


@dataclasses.dataclass(frozen=True)
class JourneyPage:
    """A page of the journey: how a person gets there, and what shows they did."""

    name: str
    reach: Callable[[Any, Journey], None]
    heading: str
    # Something only this variant of the page shows (the error summary, the picker...).
    shows: str = "main"
    # The campaign page is the site's front page: its title is the campaign's alone.
    is_front: bool = False

    def __str__(self) -> str:
        return self.name


ERRORS = ".error-summary"

# Adding a page is one line here.
PAGES = (
    JourneyPage("campaign", campaign_page, SITE_NAME, is_front=True),
    JourneyPage("mp", mp_page, "Your MP is Rachel Blake"),
    JourneyPage("write", write_page, "Write to Rachel Blake"),
    JourneyPage("write-errors", write_with_errors, "Write to Rachel Blake", ERRORS),
    JourneyPage("preview", preview_page, "Check your letter"),
    JourneyPage("preview-errors", preview_with_errors, "Check your letter", ERRORS),
    JourneyPage("check-email", check_email_page, "Check your email"),
    JourneyPage("confirm", confirm_page, "Confirm your letter"),
    JourneyPage("thanks", thanks_page, "Thank you"),
    JourneyPage("withdrawn", withdrawn_page, "Your letter will not be sent"),
    JourneyPage("already-sent", already_sent_page, "You have already sent", ".earlier-letter"),
    JourneyPage("mp-without-email", mp_without_email, "Your MP is", "text=publish an email"),
    JourneyPage("preview-to-print", preview_to_print, "Check your letter", "text=printable"),
    JourneyPage("printable-letter", printable_letter, "Your constituent", ".printable"),
    JourneyPage("invalid-postcode", _find("SW1A 1A"), "does not look like a UK postcode"),
    JourneyPage("not-found", _find("ZZ1 1ZZ"), "We could not find that postcode"),
    JourneyPage("terminated", _find(TERMINATED), "That postcode is no longer in use"),
    JourneyPage("abroad", _find("75008"), "from outside the UK"),
    JourneyPage("jersey", _find("JE2 3AB"), "Jersey does not elect an MP"),
    JourneyPage("isle-of-man", _find("IM1 1AA"), "The Isle of Man does not elect an MP"),
    JourneyPage("overseas-territory", _find("FIQQ 1ZZ"), "That postcode is outside the UK"),
    JourneyPage("bfpo", _find("BFPO 105"), "BFPO addresses do not have an MP"),
    JourneyPage("lookup-down", lookup_down, "We cannot look up", "select#constituency"),
    JourneyPage("vacant", _find(VACANT), "Aldershot has no MP at the moment"),
)


# The checks.

# The innermost elements that reach past the screen's right edge, themselves or by the text
# spilling out of them, named so a failure says what to fix.
_WIDER_THAN_SCREEN = """() => {
  const width = window.innerWidth + 0.5;
  const scrollsWithin = (el) =>
    el.matches("input, textarea, select") || getComputedStyle(el).overflowX !== "visible";
  const reach = (el) => {
    const box = el.getBoundingClientRect();
    return scrollsWithin(el) ? box.right : Math.max(box.right, box.left + el.scrollWidth);
  };
  const wide = [...document.querySelectorAll("body *")].filter((el) => reach(el) > width);
  return wide
    .filter((el) => !wide.some((other) => other !== el && el.contains(other)))
    .map((el) => [el.tagName.toLowerCase(), ...el.classList].join(".")
      + ` reaches ${Math.round(reach(el))}px: ${el.outerHTML.slice(0, 120)}`);
}"""


def _axe_violations(page: Any) -> list[str]:
    """axe-core's WCAG 2.x A and AA violations on the page, one readable block each."""
    if page.evaluate("typeof window.axe") == "undefined":
        page.evaluate(AXE_SCRIPT)
    options = {"runOnly": {"type": "tag", "values": list(AXE_TAGS)}, "resultTypes": ["violations"]}
    result = page.evaluate(f"axe.run(document, {json.dumps(options)})")
    found = []
    for violation in result["violations"]:
        nodes = "\n".join(
            f"      {' '.join(node['target'])}: {node['html'][:160]}\n"
            f"        {node.get('failureSummary', '').replace(chr(10), ' ')}"
            for node in violation["nodes"]
        )
        found.append(
            f"axe {violation['id']} ({violation['impact']}): {violation['help']}\n"
            f"    {violation['helpUrl']}\n{nodes}"
        )
    return found


def audit(page: Any, *, is_front: bool = False) -> list[str]:
    """Everything wrong with the page as it is shown: an empty list when all is well."""
    problems = []
    scroll_width, inner_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    if scroll_width > inner_width:
        wide = page.evaluate(_WIDER_THAN_SCREEN)
        problems.append(
            f"{scroll_width}px wide on a {inner_width}px screen:\n    " + "\n    ".join(wide)
        )
    problems.extend(_axe_violations(page))
    title = page.title()
    own, _, site = title.rpartition(f" {DASH} ")
    if is_front and title != SITE_NAME:
        problems.append(f"the front page's title {title!r} is not the campaign's, {SITE_NAME!r}")
    elif not is_front and (not own.strip() or site != SITE_NAME):
        problems.append(f"the title {title!r} does not name the page before the site")
    headings = page.locator("h1").all_inner_texts()
    if len(headings) != 1:
        problems.append(f"{len(headings)} <h1> headings: {headings}")
    return problems


def _report(where: str, problems: list[str]) -> str:
    return f"{where}:\n  " + "\n  ".join(problems)


def audit_at_each_width(page: Any, name: str, *, is_front: bool = False) -> list[str]:
    """The page audited at a phone's width and at a desktop's, one report per failing width."""
    failures = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        problems = audit(page, is_front=is_front)
        if problems:
            failures.append(_report(f"{name} at {width}px", problems))
    return failures


@pytest.mark.parametrize("journey_page", PAGES, ids=str)
def test_journey_page_fits_and_passes_axe(
    phone: Any, journey: Journey, journey_page: JourneyPage
) -> None:
    # Reached once, on a phone, then looked at on a phone and on a desktop: walking there
    # is most of the cost, and the page is the same one at either width.
    page = phone.new_page()
    try:
        journey_page.reach(page, journey)
        heading = page.locator("h1").first.inner_text()
        assert journey_page.heading in heading, f"reached {page.url}, headed {heading!r}"
        assert page.locator(journey_page.shows).count(), f"{page.url} shows no {journey_page.shows}"
        failures = audit_at_each_width(page, journey_page.name, is_front=journey_page.is_front)
    finally:
        page.close()
    assert not failures, "\n".join(failures)


def test_axe_runs_under_the_apps_own_csp(phone: Any, journey: Journey) -> None:
    """axe-core runs in the page without the policy being loosened or bypassed."""
    page = phone.new_page()
    try:
        response = page.goto(journey.url(f"/campaigns/{CAMPAIGN}"))
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "unsafe" not in policy
        page.evaluate(
            """() => { window.cspViolations = [];
              document.addEventListener("securitypolicyviolation",
                (event) => window.cspViolations.push(event.violatedDirective)); }"""
        )
        # The policy is in force: a script the page did not ship is refused...
        with pytest.raises(Exception, match="Content Security Policy"):
            page.add_script_tag(content="window.injected = true")
        assert page.evaluate("window.injected") is None
        assert page.evaluate("window.cspViolations") == ["script-src-elem"]
        # ...while axe, evaluated by Playwright, runs, trips nothing, and finds what is wrong.
        assert _axe_violations(page) == []
        page.evaluate("document.querySelector('main').append(document.createElement('img'))")
        assert [v.split(" ")[1] for v in _axe_violations(page)] == ["image-alt"]
        assert page.evaluate("window.cspViolations") == ["script-src-elem"]
    finally:
        page.close()


@dataclasses.dataclass(frozen=True)
class Served:
    """A page as the server sent it: enough to serve it again, byte for byte."""

    name: str
    url: str
    headers: dict[str, str]
    body: bytes


def _served(name: str, response: Any) -> Served:
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in {"content-length", "content-encoding", "transfer-encoding"}
    }
    return Served(name, response.url, headers, response.body())


def _serve_again(shown: Served) -> Callable[[Any], None]:
    """A route handler that answers with the page as it was first served."""

    def fulfil(route: Any) -> None:
        route.fulfill(status=200, headers=shown.headers, body=shown.body)

    return fulfil


def _walk_without_javascript(browser: Any, journey: Journey) -> list[Served]:
    """The whole journey with JavaScript off, to the thank-you page: every form posts itself."""
    context = browser.new_context(java_script_enabled=False, viewport={"width": 320, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        pages = [_served("campaign", page.goto(journey.url(f"/campaigns/{CAMPAIGN}")))]
        page.fill("input[name=postcode]", WITH_EMAIL)
        pages.append(_served("mp", _click(page, "button:has-text('Find my MP')")))
        pages.append(_served("write", _click(page, "text=Write this letter")))
        _fill_write(page, "not-an-email")
        pages.append(_served("write-errors", _click(page, "button:has-text('Preview my letter')")))
        assert "An email address needs an @" in page.inner_text(".error-summary")
        email = journey.new_email()
        page.fill("input[name=email]", email)
        pages.append(_served("preview", _click(page, "button:has-text('Preview my letter')")))
        assert OWN_WORDS in page.input_value("textarea[name=body]")
        pages.append(_served("check-email", _click(page, "button:has-text('Send my letter')")))
        assert page.inner_text(".sent-to") == email
        pages.append(_served("confirm", page.goto(journey.confirm_link(email))))
        pages.append(
            _served("thanks", _click(page, "button:has-text('Confirm and send my letter')"))
        )
        assert "your letter is on its way" in page.inner_text("h1")
        return pages
    finally:
        context.close()


def test_journey_works_without_javascript_and_its_pages_pass(
    browser: Any, journey: Journey
) -> None:
    served = _walk_without_javascript(browser, journey)
    # axe-core is JavaScript, so it cannot run in a page with JavaScript off. Each page the
    # walk was served is served again, exactly (the app's CSP included), in a context with
    # JavaScript on but the app's own scripts refused: the page as a person without them
    # sees it, which axe can then examine.
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
    context.route(re.compile(r"/static/.*\.js(\?.*)?$"), lambda route: route.abort())
    failures = []
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        for shown in served:
            page.route(shown.url, _serve_again(shown))
            page.goto(shown.url)
            page.unroute(shown.url)
            failures += audit_at_each_width(
                page, f"{shown.name} without JavaScript", is_front=shown.name == "campaign"
            )
    finally:
        context.close()
    assert not failures, "\n".join(failures)

"""Letters printed for the post: print-ready PDFs from the project's Jinja templates.

WeasyPrint lays out `templates/kinds/printed_letter.html` with Pango, which shapes Chinese,
Uyghur (Arabic script, right to left) and Latin text in the Noto fonts. Nothing is fetched:
the documents refer to no URL, and the fetcher refuses any that slips in.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, NoReturn

from flask import render_template
from pypdf import PdfWriter

from advocacy.campaigns.addressing import letter_date

# Countries that use US Letter paper and No. 10 envelopes; everywhere else uses A4 and DL.
LETTER_PAPER_COUNTRIES = frozenset(
    {"US", "CA", "MX", "PH", "CL", "CO", "VE", "GT", "CR", "PA", "DO", "PR", "SV", "NI", "BZ"}
)
# Letters rendered per WeasyPrint pass when printing a batch (one letter per page or more).
BATCH_CHUNK = 50


class Paper(StrEnum):
    """A sheet and the window envelope it folds into."""

    A4 = "A4"  # folded in three into a DL window envelope
    LETTER = "Letter"  # US Letter, folded in three into a No. 10 window envelope


def paper_for(country_code: str | None) -> Paper:
    """The paper people in this country buy."""
    return Paper.LETTER if (country_code or "").upper() in LETTER_PAPER_COUNTRIES else Paper.A4


def direction(text: str) -> str:
    """'rtl' when the first strong character is right-to-left (Uyghur, Arabic...), else 'ltr'."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in {"R", "AL"}:
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def lines(text: str) -> list[tuple[str, str]]:
    """Non-empty lines of an address or a paragraph, each with its direction."""
    return [(line.strip(), direction(line)) for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class PrintedLetter:
    """Everything on one printed letter."""

    recipient_name: str
    recipient_address: str
    sender_name: str
    sender_country: str
    return_address: str
    body: str
    written_on: date
    paper: Paper
    posting_instructions: str = ""
    campaign_title: str = ""

    def context(self) -> dict[str, Any]:
        """What the template needs, with directions worked out line by line."""
        return {
            "letter": self,
            "paper": self.paper.value,
            "recipient_lines": lines(f"{self.recipient_name}\n{self.recipient_address}"),
            "return_lines": lines(self.return_address),
            "paragraphs": [lines(p) for p in self.body.split("\n\n") if p.strip()],
            "date_text": letter_date(self.written_on),
        }


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    raise ValueError(f"printed letters fetch nothing ({url[:40]})")


def render_pdf(html: str) -> bytes:
    """Lay out one HTML document and return its PDF."""
    # Imported here: WeasyPrint loads Pango and the fonts, which only printing needs.
    import weasyprint

    document = weasyprint.HTML(string=html, url_fetcher=_no_fetch)
    return bytes(document.write_pdf())


def letter_pdf(letter: PrintedLetter, *, with_instructions: bool = True) -> bytes:
    """One letter ready to print, sign and post (and a page of posting instructions)."""
    html = render_template(
        "kinds/printed_letter.html", letters=[letter.context()], with_instructions=with_instructions
    )
    return render_pdf(html)


def _chunks(letters: Iterable[PrintedLetter], size: int) -> Iterator[list[PrintedLetter]]:
    chunk: list[PrintedLetter] = []
    for letter in letters:
        chunk.append(letter)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def batch_pdf(letters: Iterable[PrintedLetter], *, chunk: int = BATCH_CHUNK) -> bytes:
    """An event's letters in one PDF, each starting on a new page, without instructions.

    They are laid out a chunk at a time and the chunks joined with pypdf, so a batch of a
    thousand letters never holds a thousand pages' layout at once.
    """
    writer = PdfWriter()
    for part in _chunks(letters, chunk):
        html = render_template(
            "kinds/printed_letter.html",
            letters=[letter.context() for letter in part],
            with_instructions=False,
        )
        writer.append(io.BytesIO(render_pdf(html)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()

"""A petition bundle as a PDF: the letter, the counts, then every signer's name and country.

The name list can run to hundreds of thousands of lines, so it is set with fpdf2, which keeps
only each finished page's compressed drawing commands, line by line from a stream of rows:
memory grows with the output, not with a layout tree. Names entirely in the Latin font take
the fast path; others (Chinese, Uyghur's Arabic script) are shaped with HarfBuzz, right to
left where the script is, falling back across the Noto fonts.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from fontTools.ttLib import TTFont
from fpdf import FPDF

from advocacy.campaigns.addressing import letter_date
from advocacy.kinds.fonts import FontFile, font

# Rows of the name list per A4 page, and its columns (mm from the left edge).
ROW_HEIGHT = 5.2
TOP, BOTTOM = 24.0, 280.0
COL_NUMBER, COL_NAME, COL_COUNTRY = 15.0, 33.0, 140.0
NAME_WIDTH, COUNTRY_WIDTH = 104.0, 55.0


@dataclass(frozen=True)
class BundleSummary:
    """Everything on a bundle's first pages; the names come separately, as a stream."""

    campaign_title: str
    target_name: str
    target_role: str
    subject: str
    body: str
    made_at: datetime
    count: int
    previous_count: int
    by_country: list[tuple[str, int]] = field(default_factory=list)
    by_constituency: list[tuple[str, int]] = field(default_factory=list)


@functools.cache
def _latin_codepoints(file: FontFile) -> frozenset[int]:
    with TTFont(file.path, fontNumber=file.index, lazy=True) as face:
        return frozenset(face.getBestCmap())


class _Document(FPDF):
    """fpdf2 with the Noto fonts and a footer naming the campaign and the page."""

    def __init__(self, footer_text: str) -> None:
        super().__init__(format="A4")
        self.footer_text = footer_text
        for name, role in (("latin", "latin"), ("arabic", "arabic"), ("cjk", "cjk")):
            file = font(role)
            self.add_font(name, fname=str(file.path), collection_font_number=file.index)
        bold = font("latin-bold")
        self.add_font("latin", style="B", fname=str(bold.path))
        self.set_fallback_fonts(["arabic", "cjk"], exact_match=False)
        self.set_auto_page_break(False)
        self.set_margins(15, 15, 15)
        # Cells start where plain text does, so shaped names line up with the others.
        self.c_margin = 0
        self.alias_nb_pages()
        self._latin = _latin_codepoints(font("latin"))

    def footer(self) -> None:
        """The campaign and 'page x of n' at the foot of each page."""
        self.set_font("latin", size=7)
        self.put_line(15, 286, 120, self.footer_text[:90])
        self.set_xy(140, 286)
        self.cell(55, 4, f"Page {self.page_no()} of {{nb}}", align="R")

    def is_latin(self, text: str) -> bool:
        """True when the Latin font has every character, so no shaping is needed."""
        return all(ord(ch) in self._latin for ch in text)

    def put_line(self, x: float, y: float, width: float, text: str) -> None:
        """One line of text with its top at y: plain when Latin, shaped otherwise."""
        if self.is_latin(text):
            # text() places the baseline; 3.6 mm below the top suits 9 pt.
            self.text(x, y + 3.6, text)
            return
        self.set_xy(x, y)
        self.set_text_shaping(True)
        self.cell(width, ROW_HEIGHT - 0.4, text)
        self.set_text_shaping(False)

    def paragraph(self, text: str, size: float = 10, style: str = "") -> None:
        """A wrapped paragraph, shaped (it may name officials in any script)."""
        self.set_font("latin", style=style, size=size)
        self.set_text_shaping(not self.is_latin(text))
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        self.set_text_shaping(False)
        self.ln(size * 0.25)
        self._page_if_low()

    def _page_if_low(self, room: float = 20) -> None:
        if self.get_y() > BOTTOM - room:
            self.add_page()

    def counts_table(self, title: str, rows: list[tuple[str, int]]) -> None:
        """A two-column table of counts, across as many pages as it needs."""
        self._page_if_low(40)
        self.paragraph(title, size=12, style="B")
        self.set_font("latin", size=9)
        y = self.get_y()
        for label, count in rows:
            if y > BOTTOM:
                self.add_page()
                self.set_font("latin", size=9)
                y = TOP
            self.put_line(COL_NUMBER, y, 120, label)
            self.text(COL_COUNTRY, y + 3.6, f"{count:,}")
            y += ROW_HEIGHT
        self.set_y(y + 4)


def bundle_pdf(summary: BundleSummary, signers: Iterable[tuple[str, str]]) -> bytes:
    """The bundle's PDF; `signers` yields (name, country name) in signing order."""
    doc = _Document(f"{summary.campaign_title}: to {summary.target_name}")
    doc.add_page()
    doc.paragraph(summary.campaign_title, size=16, style="B")
    to = summary.target_name + (f", {summary.target_role}" if summary.target_role else "")
    doc.paragraph(f"To {to}")
    made = letter_date(summary.made_at)
    total = summary.previous_count + summary.count
    if summary.previous_count:
        doc.paragraph(
            f"{made}: {summary.count:,} new signatures, after the {summary.previous_count:,} "
            f"delivered before ({total:,} in all)."
        )
    else:
        doc.paragraph(f"{made}: {summary.count:,} signatures.")
    doc.paragraph(summary.subject, size=12, style="B")
    for block in summary.body.split("\n\n"):
        doc.paragraph(block.strip())
    doc.counts_table("Signatures in this delivery by country", summary.by_country)
    if summary.by_constituency:
        doc.counts_table(
            "Signers in the United Kingdom by parliamentary constituency", summary.by_constituency
        )
    doc.add_page()
    doc.paragraph("The signatures", size=12, style="B")
    doc.set_font("latin", size=9)
    y = doc.get_y()
    for number, (name, country) in enumerate(signers, start=summary.previous_count + 1):
        if y > BOTTOM:
            doc.add_page()
            doc.set_font("latin", size=9)
            y = TOP
        doc.text(COL_NUMBER, y + 3.6, str(number))
        doc.put_line(COL_NAME, y, NAME_WIDTH, name)
        doc.put_line(COL_COUNTRY, y, COUNTRY_WIDTH, country)
        y += ROW_HEIGHT
    return bytes(doc.output())


# A cell beginning with one of these is a formula to a spreadsheet.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def bundle_csv(summary: BundleSummary, signers: Iterable[tuple[str, str]]) -> bytes:
    """The bundle's signatures as CSV (UTF-8 with a BOM, so spreadsheets read every script)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["number", "name", "country"])
    for number, (name, country) in enumerate(signers, start=summary.previous_count + 1):
        writer.writerow([number, _cell(name), _cell(country)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def iter_rows(rows: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """Rows with names on one line, so a name can never break the list's layout."""
    for name, country in rows:
        yield " ".join(name.split()), country

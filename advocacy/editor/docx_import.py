"""Turning a campaigner's Word document into the text of a letter template."""

from __future__ import annotations

import io
import re
import zipfile
from typing import IO

import docx
from docx.opc.exceptions import PackageNotFoundError

MAX_BYTES = 2 * 1024 * 1024
# A .docx is a zip; refusing archives that expand past this keeps a small crafted file
# (a "zip bomb") from taking the server's memory.
MAX_UNPACKED_BYTES = 40 * 1024 * 1024
DOCX_CONTENT_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/octet-stream",
    "",
}


TOO_LARGE = "That file is larger than 2 MB. Save the letter alone in a new document and try again."


class ImportRefused(ValueError):
    """The file cannot be imported; the message says why in plain words."""


def read_limited(stream: IO[bytes]) -> bytes:
    """Read at most MAX_BYTES from an upload, refusing anything larger."""
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ImportRefused(TOO_LARGE)
    return data


def extract_text(data: bytes, filename: str, content_type: str = "") -> str:
    """The document's paragraphs as plain text, separated by blank lines."""
    if not filename.lower().endswith(".docx"):
        raise ImportRefused(
            "Only Word .docx files can be imported. In Word, use File > Save As > .docx."
        )
    if content_type.split(";")[0].strip() not in DOCX_CONTENT_TYPES:
        raise ImportRefused("That file is not a Word .docx document.")
    if not data:
        raise ImportRefused("That file is empty.")
    if len(data) > MAX_BYTES:
        raise ImportRefused(TOO_LARGE)
    buffer = io.BytesIO(data)
    try:
        with zipfile.ZipFile(buffer) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise ImportRefused("That document is too large to import.")
        buffer.seek(0)
        document = docx.Document(buffer)
    except ImportRefused:
        raise
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError) as exc:
        raise ImportRefused(
            "That file could not be read as a Word document. It may be damaged, or another "
            "format renamed to .docx. Open it in Word and save it again as .docx."
        ) from exc
    except Exception as exc:  # python-docx raises many XML errors for broken files
        raise ImportRefused(
            "That file could not be read as a Word document. Open it in Word and save it "
            "again as .docx."
        ) from exc
    paragraphs = [_clean(p.text) for p in document.paragraphs]
    text = "\n\n".join(p for p in paragraphs if p)
    if not text:
        raise ImportRefused("That document has no text to import.")
    return text


def _clean(text: str) -> str:
    """One paragraph: Word's line breaks kept, control characters and odd spaces removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()

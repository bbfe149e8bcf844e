"""The fonts documents are set in, found through fontconfig.

Debian's fonts-noto-core (Latin, Arabic script for Uyghur) and fonts-noto-cjk (Chinese) cover
every script supporters and recipients write in; fontconfig says where they are installed.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


class MissingFont(RuntimeError):
    """A font documents need is not installed (see the README's fonts section)."""


@dataclass(frozen=True)
class FontFile:
    """A font file and, for a collection (.ttc), the face's index in it."""

    path: Path
    index: int = 0


# What each role asks fontconfig for. Simplified Chinese first: names of officials and
# addresses in Xinjiang are written in it.
FAMILIES = {
    "latin": "Noto Sans",
    "latin-bold": "Noto Sans:bold",
    "arabic": "Noto Naskh Arabic",
    "cjk": "Noto Sans CJK SC",
}


@functools.cache
def font(role: str) -> FontFile:
    """The installed file for a role in FAMILIES; raise MissingFont when it is absent."""
    family = FAMILIES[role]
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        raise MissingFont("fontconfig's fc-match is not installed")
    found = subprocess.run(  # noqa: S603 - a fixed program and arguments
        [fc_match, "-f", "%{family}\t%{file}\t%{index}", family],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    ).stdout
    names, _, rest = found.partition("\t")
    path, _, index = rest.partition("\t")
    wanted = family.split(":", 1)[0]
    if wanted not in names.split(",") or not path:
        raise MissingFont(f"the font {wanted!r} is not installed (fonts-noto-core, fonts-noto-cjk)")
    return FontFile(Path(path), int(index or 0))

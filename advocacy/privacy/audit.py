"""Where privacy actions are written down: counts and kinds, never the address.

The staff workspace's audit log is the record of what staff did; until it is part of the
app, entries go to the log, which by the same rule holds no personal data.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def record(action: str, **details: Any) -> None:
    """Write one audit entry; callers pass only counts and kinds."""
    logger.info("audit: %s %s", action, " ".join(f"{k}={v}" for k, v in sorted(details.items())))

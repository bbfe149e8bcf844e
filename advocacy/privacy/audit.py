"""Where privacy actions are written down: the workspace's audit log, counts and kinds only.

Never the address: an erasure recorded with the address it erased would undo itself.
"""

from __future__ import annotations

from typing import Any

from advocacy.workspace.access import record_event


def record(action: str, **details: Any) -> None:
    """Write one audit entry (who, what, when); callers pass only counts and kinds."""
    record_event(action, **details)

"""The retention registry: every table that holds personal data declares itself here.

A package that adds such a table adds a `personal_data.py` module beside its services with
a module-level `TABLES: tuple[PersonalDataTable, ...]`. The registry finds those modules
itself, so nothing else needs editing, and `tests/privacy/test_registry.py` fails for any
table in the schema that is neither registered nor listed in `NOT_PERSONAL` with a reason.

Each entry says, for one table:

* `find`: how many of a person's rows it holds, the person known by email address;
* `export`: those rows as JSON-ready dicts (what the person downloads);
* `erase`: erase them now, keeping whatever only counts (rows may be blanked rather than
  deleted), returning how many rows it changed;
* `expire`: apply the retention rules to every row that is due, returning how many it
  changed (the delivery worker runs this on its maintenance pass);
* `rules`: the retention rules in plain English, each tied to the setting that configures
  it, from which every public page's privacy statement is generated.

Functions receive the caller's session and never commit: the privacy services own the
transaction, so an erasure is all or nothing.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.security import email_digest

# Tables that hold nothing about a person, each with the reason. A new table goes either
# here or into a package's personal_data.TABLES.
NOT_PERSONAL: Mapping[str, str] = {
    "alembic_version": "the schema revision",
    "campaigns": "campaign texts written by staff",
    "letter_templates": "campaign texts written by staff",
    "targets": "public officials' published addresses",
    "campaign_targets": "links between campaigns and officials",
    "partners": "organisations and their published contact address, not supporters",
    "partner_consent_wordings": "the wording of partners' consent boxes",
    "members_of_parliament": "MPs' published names and addresses",
    "sync_checkpoints": "progress of the MP directory sync",
    "processed_events": "the mail provider's event ids and types, no address",
    "workspace_settings": "settings of the staff workspace",
    "letter_template_versions": "earlier versions of campaign texts written by staff",
    "campaign_counts": "counts per campaign, constituency, MP, partner, source and day",
    "worker_statuses": "whether the delivery worker is sending, paused or silent",
}

JSONRow = dict[str, Any]


@dataclass(frozen=True)
class DataSubject:
    """The person a request is about, known by their email address."""

    email: str
    # The keyed hash the tables store in place of (or beside) the address.
    digest: str

    @classmethod
    def from_email(cls, email: str, secret_key: str) -> DataSubject:
        """The subject of an address, canonicalised the way every table stores it."""
        canonical = email.strip().lower()
        return cls(email=canonical, digest=email_digest(canonical, secret_key))


@dataclass(frozen=True)
class RetentionRule:
    """One rule of the policy, configured by one setting (a number of days or hours).

    `what` and `when` make the sentence: "{what} are erased {when}", where `when` may use
    `{n}` (the setting's value) and `{unit}` ("day"/"days" or "hour"/"hours").
    `when_zero`, if given, is used instead when the setting is 0.
    """

    setting: str
    env: str
    what: str
    when: str
    unit: str = "days"
    when_zero: str | None = None

    def value(self, settings: Settings) -> int:
        """The configured number of days or hours."""
        return int(getattr(settings, self.setting))

    def describe(self, settings: Settings) -> str:
        """The rule as a sentence, with the configured value."""
        n = self.value(settings)
        if n == 0 and self.when_zero is not None:
            return f"{self.what} {self.when_zero}."
        unit = self.unit if n != 1 else self.unit.rstrip("s")
        return f"{self.what} {self.when.format(n=n, unit=unit)}."


@dataclass(frozen=True)
class PersonalDataTable:
    """How one table's personal data is found, exported, erased and expired."""

    table: str
    # What the table holds, in words a supporter understands ("your letters: ...").
    holds: str
    find: Callable[[Session, DataSubject], int]
    export: Callable[[Session, DataSubject], list[JSONRow]]
    erase: Callable[[Session, DataSubject, datetime], int]
    expire: Callable[[Session, Settings, datetime], int]
    rules: tuple[RetentionRule, ...] = field(default=())
    # Lower runs first when erasing and expiring, for tables whose eraser needs rows of
    # another that is erased later (the default suits almost every table).
    order: int = 100


def rowcount(result: object) -> int:
    """How many rows an UPDATE or DELETE changed (0 where the driver cannot say)."""
    return int(getattr(result, "rowcount", 0) or 0)


def delete_rows(session: Session, model: type[Any], *where: Any) -> int:
    """DELETE the rows of `model` matching `where`, in the caller's transaction; how many."""
    return rowcount(
        session.execute(delete(model).where(*where).execution_options(synchronize_session=False))
    )


def _discover() -> dict[str, PersonalDataTable]:
    import advocacy

    found: dict[str, PersonalDataTable] = {}
    for package in sorted(pkgutil.iter_modules(advocacy.__path__), key=lambda m: m.name):
        if not package.ispkg:
            continue
        name = f"advocacy.{package.name}.personal_data"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        for entry in getattr(module, "TABLES", ()):
            if entry.table in found:
                raise RuntimeError(f"table {entry.table} is registered twice")
            found[entry.table] = entry
    return found


_registry: dict[str, PersonalDataTable] | None = None


def registry() -> dict[str, PersonalDataTable]:
    """Every registered table by name (discovered once per process)."""
    global _registry
    if _registry is None:
        _registry = _discover()
    return _registry


def tables() -> Iterator[PersonalDataTable]:
    """Registered tables in erasure order."""
    yield from sorted(registry().values(), key=lambda t: (t.order, t.table))


def policy(settings: Settings) -> list[str]:
    """Every retention rule as a sentence with its configured value, without repeats."""
    seen: dict[str, None] = {}
    for entry in tables():
        for rule in entry.rules:
            seen.setdefault(rule.describe(settings))
    return list(seen)

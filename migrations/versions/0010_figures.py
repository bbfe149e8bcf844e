"""campaign figures: counters kept by the database as letters change state

Revision ID: 0010_figures
Revises: 0013_privacy
Create Date: 2026-12-02 18:30:00.000000

The dashboard reads `campaign_counts`, never the letters. Triggers keep it in the same
transaction as every change of a letter's state, whichever code makes the change (the
journey, the worker's conditional UPDATEs, webhooks, the command line), so no path can forget
to count. The trigger text is frozen here; `advocacy figures rebuild` recomputes the same
figures from the letters if they are ever in doubt.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_figures"
down_revision: str | None = "0013_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Current-state columns and the letter states each counts. Queued and sending are one
# bucket: the worker moves letters between them constantly, and nobody reads the difference.
STATE_COLUMNS = {
    "state_awaiting": ("awaiting_confirmation",),
    "state_queued": ("queued", "sending"),
    "state_held": ("held",),
    "state_sent": ("sent",),
    "state_deferred": ("deferred",),
    "state_delivered": ("delivered",),
    "state_bounced": ("bounced",),
    "state_dropped": ("dropped",),
    "state_failed": ("failed",),
    "state_expired": ("expired",),
}
CUMULATIVE_COLUMNS = ("written", "confirmed", "sent", "signatures")
COLUMNS = (*CUMULATIVE_COLUMNS, *STATE_COLUMNS)

# (dimension, item expression over the letter row as {row}).
LETTER_DIMENSIONS = (
    ("campaign", "''"),
    ("constituency", "COALESCE({row}.constituency_code, '')"),
    ("member", "COALESCE(CAST({row}.recipient_member_id AS VARCHAR(20)), '')"),
    ("partner", "COALESCE(CAST({row}.partner_id AS VARCHAR(20)), '')"),
    ("source", "COALESCE({row}.source, '')"),
)


def _in(row: str, states: Sequence[str]) -> str:
    quoted = ", ".join(f"'{state}'" for state in states)
    return f"(CASE WHEN {row}.state IN ({quoted}) THEN 1 ELSE 0 END)"


def _upsert(dimension: str, key: str, deltas: dict[str, str]) -> str:
    """One counter row's upsert: add `deltas` (SQL expressions) to its columns."""
    columns = ", ".join(deltas)
    values = ", ".join(deltas.values())
    sets = ", ".join(f"{c} = campaign_counts.{c} + excluded.{c}" for c in deltas)
    # Built only from this module's constants, never from input.
    return (
        f"INSERT INTO campaign_counts (campaign_id, dimension, item, {columns}) "  # noqa: S608
        f"VALUES (NEW.campaign_id, '{dimension}', {key}, {values}) "
        f"ON CONFLICT (campaign_id, dimension, item) DO UPDATE SET {sets};"
    )


def _insert_deltas() -> dict[str, str]:
    deltas = {"written": "1", "confirmed": "0", "sent": "0"}
    deltas.update({column: _in("NEW", states) for column, states in STATE_COLUMNS.items()})
    return deltas


def _update_deltas() -> dict[str, str]:
    deltas = {
        "confirmed": (
            "(CASE WHEN OLD.state = 'awaiting_confirmation' AND NEW.state <> 'expired' "
            "THEN 1 ELSE 0 END)"
        ),
        "sent": "(CASE WHEN NEW.state = 'sent' THEN 1 ELSE 0 END)",
    }
    deltas.update(
        {
            column: f"{_in('NEW', states)} - {_in('OLD', states)}"
            for column, states in STATE_COLUMNS.items()
        }
    )
    return deltas


def _letter_statements(deltas: dict[str, str]) -> list[str]:
    return [
        _upsert(dimension, key.format(row="NEW"), deltas) for dimension, key in LETTER_DIMENSIONS
    ]


# A change between queued and sending (a claim, a release, a retry) changes no figure.
UPDATE_WHEN = (
    "OLD.state <> NEW.state AND NOT "
    "(OLD.state IN ('queued', 'sending') AND NEW.state IN ('queued', 'sending'))"
)


def _signature_statements(day: str) -> list[str]:
    return [
        _upsert("campaign", "''", {"signatures": "1"}),
        _upsert("day", day, {"signatures": "1"}),
    ]


SQLITE_DAY = "substr(NEW.created_at, 1, 10)"
POSTGRES_DAY = "to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"

TRIGGERS = ("letters_count_insert", "letters_count_update", "signatures_count_insert")


def _create_sqlite_triggers() -> None:
    body = "\n".join(_letter_statements(_insert_deltas()))
    op.execute(
        f"CREATE TRIGGER letters_count_insert AFTER INSERT ON letters FOR EACH ROW "
        f"BEGIN\n{body}\nEND"
    )
    body = "\n".join(_letter_statements(_update_deltas()))
    op.execute(
        f"CREATE TRIGGER letters_count_update AFTER UPDATE OF state ON letters FOR EACH ROW "
        f"WHEN {UPDATE_WHEN} BEGIN\n{body}\nEND"
    )
    body = "\n".join(_signature_statements(SQLITE_DAY))
    op.execute(
        f"CREATE TRIGGER signatures_count_insert AFTER INSERT ON signatures FOR EACH ROW "
        f"BEGIN\n{body}\nEND"
    )


def _create_postgres_triggers() -> None:
    functions = {
        "letters_count_insert": _letter_statements(_insert_deltas()),
        "letters_count_update": _letter_statements(_update_deltas()),
        "signatures_count_insert": _signature_statements(POSTGRES_DAY),
    }
    for name, statements in functions.items():
        body = "\n".join(statements)
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{body}\nRETURN NULL;\nEND\n$$"
        )
    op.execute(
        "CREATE TRIGGER letters_count_insert AFTER INSERT ON letters "
        "FOR EACH ROW EXECUTE FUNCTION letters_count_insert()"
    )
    op.execute(
        "CREATE TRIGGER letters_count_update AFTER UPDATE OF state ON letters "
        f"FOR EACH ROW WHEN ({UPDATE_WHEN}) EXECUTE FUNCTION letters_count_update()"
    )
    op.execute(
        "CREATE TRIGGER signatures_count_insert AFTER INSERT ON signatures "
        "FOR EACH ROW EXECUTE FUNCTION signatures_count_insert()"
    )


def upgrade() -> None:
    """Apply this revision."""
    # letters.source (the by-source figures) comes with the partners revision.
    op.create_table(
        "campaign_counts",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False, server_default="0") for c in COLUMNS),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_counts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "campaign_id", "dimension", "item", name=op.f("pk_campaign_counts")
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        _create_postgres_triggers()
    else:
        _create_sqlite_triggers()


def downgrade() -> None:
    """Revert this revision."""
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in TRIGGERS:
        table = "signatures" if name.startswith("signatures") else "letters"
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_table("campaign_counts")

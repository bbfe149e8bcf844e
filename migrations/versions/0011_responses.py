"""reply detection and the reply questionnaire

Revision ID: 0011_responses
Revises: 0012_kinds
Create Date: 2026-12-02 18:21:12.720079
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import advocacy.models.base

revision: str = "0011_responses"
down_revision: str | None = "0012_kinds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "letter_replies",
        sa.Column("letter_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("message_digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", advocacy.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("is_automatic", sa.Boolean(), nullable=False),
        sa.Column("is_from_mp", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letters.id"],
            name=op.f("fk_letter_replies_letter_id_letters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("letter_id", "message_digest", name=op.f("pk_letter_replies")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "reply_questionnaires",
        sa.Column("letter_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("asked_at", advocacy.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", advocacy.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.String(length=20), nullable=True),
        sa.Column("usefulness", sa.String(length=20), nullable=True),
        sa.Column("answered_at", advocacy.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "write_again_offered_at", advocacy.models.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letters.id"],
            name=op.f("fk_reply_questionnaires_letter_id_letters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("letter_id", name=op.f("pk_reply_questionnaires")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("reply_questionnaires")
    op.drop_table("letter_replies")

"""letter fingerprints: the near-copy index of letters' own words

Revision ID: 0007
Revises: 0001
Create Date: 2026-12-02 10:30:28.001160
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "letter_fingerprints",
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("letter_size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_letter_fingerprints_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letters.id"],
            name=op.f("fk_letter_fingerprints_letter_id_letters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("letter_id", "hash", name=op.f("pk_letter_fingerprints")),
    )
    with op.batch_alter_table("letter_fingerprints", schema=None) as batch_op:
        batch_op.create_index(
            "ix_letter_fingerprints_campaign_id_hash",
            ["campaign_id", "hash", "letter_id"],
            unique=False,
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("letter_fingerprints", schema=None) as batch_op:
        batch_op.drop_index("ix_letter_fingerprints_campaign_id_hash")

    op.drop_table("letter_fingerprints")

"""signatures.is_self_sent: counts of letters people sent from their own email

Revision ID: 0013_privacy
Revises: 0008_worker_status
Create Date: 2026-12-02 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_privacy"
down_revision: str | None = "0008_worker_status"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_self_sent", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_column("is_self_sent")

"""worker statuses: each delivery worker's state, pause reason and heartbeat

Revision ID: 0008_worker_status
Revises: 0014
Create Date: 2026-12-02 18:21:45.516155
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import advocacy.models.base

revision: str = "0008_worker_status"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "worker_statuses",
        sa.Column("owner", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("started_at", advocacy.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "state_changed_at", advocacy.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("heartbeat_at", advocacy.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_seconds", sa.Double(), nullable=False),
        sa.Column("next_probe_at", advocacy.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_worker_statuses")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("worker_statuses")

"""partners: embed origins, consent wording and consents, source tags

Revision ID: 0014
Revises: 0009_workspace
Create Date: 2026-12-02 18:26:56.282078
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import advocacy.models.base

revision: str = "0014"
down_revision: str | None = "0009_workspace"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "partner_consent_wordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", advocacy.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_partner_consent_wordings_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_consent_wordings")),
        sa.UniqueConstraint(
            "partner_id", "version", name=op.f("uq_partner_consent_wordings_partner_id_version")
        ),
    )
    op.create_table(
        "partner_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("wording_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=True),
        sa.Column("email_digest", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", advocacy.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", advocacy.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_partner_consents_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letters.id"],
            name=op.f("fk_partner_consents_letter_id_letters"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_partner_consents_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["wording_id"],
            ["partner_consent_wordings.id"],
            name=op.f("fk_partner_consents_wording_id_partner_consent_wordings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_consents")),
    )
    with op.batch_alter_table("partner_consents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_consents_email_digest"), ["email_digest"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_partner_consents_letter_id"), ["letter_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_partner_consents_partner_id"), ["partner_id"], unique=False
        )

    with op.batch_alter_table("letters", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=100), nullable=False, server_default="")
        )

    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("allowed_origins", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("contact_email", sa.String(length=320), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("accent_colour", sa.String(length=7), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("is_figures_public", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "updated_at",
                advocacy.models.base.UTCDateTime(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            )
        )

    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=100), nullable=False, server_default="")
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_column("source")

    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("is_figures_public")
        batch_op.drop_column("accent_colour")
        batch_op.drop_column("contact_email")
        batch_op.drop_column("allowed_origins")

    with op.batch_alter_table("letters", schema=None) as batch_op:
        batch_op.drop_column("source")

    with op.batch_alter_table("partner_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_consents_partner_id"))
        batch_op.drop_index(batch_op.f("ix_partner_consents_letter_id"))
        batch_op.drop_index(batch_op.f("ix_partner_consents_email_digest"))

    op.drop_table("partner_consents")
    op.drop_table("partner_consent_wordings")

"""campaign execution state, per-recipient timeline, conversation status history

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-27 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wadesk.db.base
from wadesk.db import rls

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DATETIME = wadesk.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", _DATETIME, nullable=True))
        batch_op.add_column(sa.Column("waiting_reason", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("waiting_until", _DATETIME, nullable=True))
        batch_op.add_column(sa.Column("reply_window_hours", sa.Integer(), server_default="24", nullable=False))
        batch_op.add_column(sa.Column("audience_ready", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("audience_cursor", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("audience_total", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("pump_owner", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("pump_lease_until", _DATETIME, nullable=True))

    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("sent_at", _DATETIME, nullable=True))
        batch_op.add_column(sa.Column("delivered_at", _DATETIME, nullable=True))
        batch_op.add_column(sa.Column("read_at", _DATETIME, nullable=True))
        batch_op.add_column(sa.Column("replied_at", _DATETIME, nullable=True))
        batch_op.add_column(sa.Column("failed_at", _DATETIME, nullable=True))
        batch_op.create_index("ix_campaign_recipients_contact", ["tenant_id", "contact_id"], unique=False)

    op.create_table(
        "conversation_status_changes",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("changed_at", _DATETIME, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_status_changes_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_conversation_status_changes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_status_changes")),
    )
    with op.batch_alter_table("conversation_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversation_status_changes_conversation",
            ["tenant_id", "conversation_id", "changed_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_conversation_status_changes_changed", ["tenant_id", "changed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_conversation_status_changes_tenant_id"), ["tenant_id"], unique=False
        )
    rls.enable_tenant_isolation(op.get_bind(), "conversation_status_changes")


def downgrade() -> None:
    rls.disable_tenant_isolation(op.get_bind(), "conversation_status_changes")
    op.drop_table("conversation_status_changes")
    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_recipients_contact")
        for column in ("failed_at", "replied_at", "read_at", "delivered_at", "sent_at", "attempts"):
            batch_op.drop_column(column)
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        for column in (
            "pump_lease_until",
            "pump_owner",
            "audience_total",
            "audience_cursor",
            "audience_ready",
            "reply_window_hours",
            "waiting_until",
            "waiting_reason",
            "cancelled_at",
            "timezone",
        ):
            batch_op.drop_column(column)

"""media uploads (files agents send as WhatsApp media); the label catalogue (names and colours)

Revision ID: 0005_media_labels
Revises: 0002
Create Date: 2026-11-28 10:00:00.000000

The catalogue starts with every label conversations already carry, each in a colour that depends only on its
name (the service's default for labels added without one).
"""

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import wadesk.db.base
from wadesk.db import rls

revision: str = "0005_media_labels"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DATETIME = wadesk.db.base.UTCDateTime(timezone=True)
_NOW = sa.text("(CURRENT_TIMESTAMP)")
# As wadesk.collaboration.schemas.LABEL_COLORS without gray, frozen here as the migration ran.
_PALETTE = (
    "red",
    "pink",
    "grape",
    "violet",
    "indigo",
    "blue",
    "cyan",
    "teal",
    "green",
    "lime",
    "yellow",
    "orange",
)


def upgrade() -> None:
    op.create_table(
        "media_uploads",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mime_type", sa.String(length=128), nullable=False),
        sa.Column("filename", sa.String(length=240), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=True),
        sa.Column("attached_at", _DATETIME, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", _DATETIME, server_default=_NOW, nullable=False),
        sa.Column("updated_at", _DATETIME, server_default=_NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_media_uploads_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_media_uploads_uploaded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_uploads")),
    )
    with op.batch_alter_table("media_uploads", schema=None) as batch_op:
        batch_op.create_index("ix_media_uploads_recent", ["tenant_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_uploads_tenant_id"), ["tenant_id"], unique=False)

    labels = op.create_table(
        "labels",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("color", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", _DATETIME, server_default=_NOW, nullable=False),
        sa.Column("updated_at", _DATETIME, server_default=_NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_labels_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_labels_name"),
    )
    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_labels_tenant_id"), ["tenant_id"], unique=False)

    bind = op.get_bind()
    if rls.is_postgresql(bind):
        # conversation_labels may already be walled by row-level security (migration branches run in any
        # order): read every company's rows, for this transaction only.
        bind.execute(sa.text("SELECT set_config(:name, 'on', true)"), {"name": rls.BYPASS_SETTING})
    in_use = bind.execute(sa.text("SELECT DISTINCT tenant_id, label FROM conversation_labels")).all()
    if in_use:
        now = datetime.now(UTC)
        op.bulk_insert(
            labels,
            [
                {
                    "id": uuid.uuid4(),
                    "tenant_id": uuid.UUID(str(tenant_id)),
                    "name": name,
                    "color": _PALETTE[hashlib.sha256(name.encode()).digest()[0] % len(_PALETTE)],
                    "created_at": now,
                    "updated_at": now,
                }
                for tenant_id, name in in_use
            ],
        )
    rls.enable_tenant_isolation(bind, "media_uploads")
    rls.enable_tenant_isolation(bind, "labels")


def downgrade() -> None:
    op.drop_table("labels")
    op.drop_table("media_uploads")

"""row-level security on tenant tables and the application role; the unfiltered inbox index

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-27 10:00:00.000000

PostgreSQL only (SQLite has no row-level security; nothing happens there). Creates the `wadesk_app` group role
(NOLOGIN, no BYPASSRLS) with row access to every table, and puts the `tenant_isolation` policy on every table
that has a NOT NULL tenant_id when this runs. A tenant table added by a later migration calls
`wadesk.db.rls.enable_tenant_isolation(op.get_bind(), "<table>")` itself; `wadesk migrate` also covers any
tenant table still without the policy after all migrations ran (wadesk.db.rls.secure_schema).

Also ix_conversations_recent (tenant_id, last_message_at, id): the inbox without a status filter, found by
bench/list_queries.py (a page sorted all 100,000 conversations of a tenant: 250 ms; with it under 1 ms).
"""

from collections.abc import Sequence

from alembic import op

from wadesk.db import rls

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_conversations_recent", "conversations", ["tenant_id", "last_message_at", "id"], unique=False
    )
    bind = op.get_bind()
    if not rls.is_postgresql(bind):
        return
    rls.ensure_app_role(bind)
    for table in rls.tenant_tables(bind):
        rls.enable_tenant_isolation(bind, table)


def downgrade() -> None:
    bind = op.get_bind()
    if rls.is_postgresql(bind):
        for table in rls.isolated_tables(bind):
            rls.disable_tenant_isolation(bind, table)
    op.drop_index("ix_conversations_recent", table_name="conversations")
    # The role is cluster-wide and may serve other databases of the cluster: it stays.

"""PostgreSQL row-level security: the second wall behind the session's tenant filter.

Every tenant table (a table with a NOT NULL `tenant_id`) gets `ENABLE` + `FORCE ROW LEVEL SECURITY` and one
policy, `tenant_isolation`: a row is visible and writable only when its `tenant_id` equals the transaction's
`app.tenant_id` setting, or when the transaction deliberately set `app.bypass_rls = 'on'` (system paths:
sign-in lookups, webhook routing, the sweeper). With neither set, nothing is visible. The settings are set per
transaction (`set_config(..., true)`) by the session machinery in `wadesk.db.session`, so a pooled connection
never carries one tenant's setting into another's transaction.

The application connects as a login role that is a member of `wadesk_app`: not the tables' owner, no
BYPASSRLS, so the policies apply to it. Tables with a nullable `tenant_id` (webhook_events: a delivery is
stored before its company is known) are system tables and stay outside the policy.

Migrations use these helpers with a synchronous connection (`op.get_bind()`); `wadesk migrate` runs
`secure_schema` after the migrations, so a tenant table whose migration forgot its policy never ships open.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import Connection

APP_ROLE = "wadesk_app"
POLICY_NAME = "tenant_isolation"
TENANT_SETTING = "app.tenant_id"
BYPASS_SETTING = "app.bypass_rls"
POLICY_EXPRESSION = (
    f"tenant_id = nullif(current_setting('{TENANT_SETTING}', true), '')::uuid "
    f"OR current_setting('{BYPASS_SETTING}', true) = 'on'"
)
# Tables the application role must not write (the migration history belongs to `wadesk migrate`).
_NOT_FOR_APP = ("alembic_version",)
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _quoted(name: str) -> str:
    # Table and role names come from the catalogue or this module, never from users; still refuse oddities.
    if not _IDENTIFIER.match(name):
        raise ValueError(f"unexpected identifier {name!r}")
    return f'"{name}"'


def is_postgresql(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def tenant_tables(connection: Connection) -> list[str]:
    """Base tables of the current schema that have a NOT NULL `tenant_id` column."""
    rows = connection.execute(
        text(
            "SELECT c.table_name FROM information_schema.columns c "
            "JOIN information_schema.tables t "
            "  ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
            "WHERE c.table_schema = current_schema() AND c.column_name = 'tenant_id' "
            "  AND c.is_nullable = 'NO' AND t.table_type = 'BASE TABLE' "
            "ORDER BY c.table_name"
        )
    )
    return [str(name) for (name,) in rows]


def isolated_tables(connection: Connection) -> list[str]:
    """Tables of the current schema with RLS enabled and forced and the tenant policy in place."""
    rows = connection.execute(
        text(
            "SELECT c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema() "
            "JOIN pg_policies p ON p.schemaname = n.nspname AND p.tablename = c.relname "
            "  AND p.policyname = :policy "
            "WHERE c.relrowsecurity AND c.relforcerowsecurity ORDER BY c.relname"
        ),
        {"policy": POLICY_NAME},
    )
    return [str(name) for (name,) in rows]


def enable_tenant_isolation(connection: Connection, table: str) -> None:
    """Turn on the tenant policy for one table (idempotent). Call it in the migration that creates a
    tenant table: `enable_tenant_isolation(op.get_bind(), "my_table")`; a no-op on SQLite."""
    if not is_postgresql(connection):
        return
    name = _quoted(table)
    connection.execute(text(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY"))
    # FORCE: the policy binds the table's owner too, so a deployment that connects as the owner is still
    # walled (superusers and BYPASSRLS roles are exempt by PostgreSQL's design).
    connection.execute(text(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY"))
    connection.execute(text(f"DROP POLICY IF EXISTS {POLICY_NAME} ON {name}"))
    connection.execute(
        text(
            f"CREATE POLICY {POLICY_NAME} ON {name} "
            f"USING ({POLICY_EXPRESSION}) WITH CHECK ({POLICY_EXPRESSION})"
        )
    )


def disable_tenant_isolation(connection: Connection, table: str) -> None:
    """Remove the tenant policy from one table (for downgrades); a no-op on SQLite."""
    if not is_postgresql(connection):
        return
    name = _quoted(table)
    connection.execute(text(f"DROP POLICY IF EXISTS {POLICY_NAME} ON {name}"))
    connection.execute(text(f"ALTER TABLE {name} NO FORCE ROW LEVEL SECURITY"))
    connection.execute(text(f"ALTER TABLE {name} DISABLE ROW LEVEL SECURITY"))


def ensure_app_role(connection: Connection, role: str = APP_ROLE) -> None:
    """Create the application's group role if missing (NOLOGIN, no BYPASSRLS) and grant it row access.

    Roles are cluster-wide, so the role may already exist (another database of the cluster, an earlier run);
    the grants are repeated each time so tables created since then are covered. Default privileges cover the
    tables and sequences later migrations create as the migrating role.
    """
    if not is_postgresql(connection):
        return
    name = _quoted(role)
    connection.execute(
        text(
            "DO $$ BEGIN "
            f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
            f"CREATE ROLE {name} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; "
            "END IF; "
            "EXCEPTION WHEN duplicate_object THEN NULL; "
            "END $$"
        )
    )
    schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    schema_name = _quoted(str(schema))
    connection.execute(text(f"GRANT USAGE ON SCHEMA {schema_name} TO {name}"))
    connection.execute(
        text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema_name} TO {name}")
    )
    connection.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema_name} TO {name}"))
    connection.execute(
        text(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema_name} "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {name}"
        )
    )
    connection.execute(
        text(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema_name} GRANT USAGE, SELECT ON SEQUENCES TO {name}")
    )
    present = set(
        connection.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
        ).scalars()
    )
    for table in _NOT_FOR_APP:
        if table in present:
            connection.execute(text(f"REVOKE ALL ON {_quoted(table)} FROM {name}"))


def secure_schema(connection: Connection) -> list[str]:
    """Grant the app role and put the tenant policy on every tenant table that lacks it.

    Returns the tables that were missing it (a migration that created a tenant table without calling
    `enable_tenant_isolation`). Idempotent; a no-op on SQLite.
    """
    if not is_postgresql(connection):
        return []
    ensure_app_role(connection)
    covered = set(isolated_tables(connection))
    missing = [table for table in tenant_tables(connection) if table not in covered]
    for table in missing:
        enable_tenant_isolation(connection, table)
    return missing

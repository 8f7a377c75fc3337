"""campaign_recipients.csv_line: the line of the uploaded CSV a recipient came from, so an upload keeps the
file's order (its preview samples the first eligible row)

Revision ID: 0007_recipient_csv_line
Revises: 0006_paused_code
Create Date: 2026-11-27 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_recipient_csv_line"
down_revision: str | None = "0006_paused_code"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("csv_line", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.drop_column("csv_line")

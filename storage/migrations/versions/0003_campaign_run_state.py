"""Campaign run state: lease, heartbeat, stop request, log file, progress.

A runner takes the campaign's lease (token, host, pid, process namespace)
with a conditional UPDATE, refreshes `heartbeat_at` and `lease_expires_at`
while it runs, and watches `stop_requested_at`, which `campaign stop` sets
from any shell (or machine, on PostgreSQL). `log_path` names the campaign's
log file and `progress_json` holds a snapshot of its progress and budget use.
Every column is nullable and appended: `ALTER TABLE ... ADD COLUMN`, no
table is copied, existing rows read NULL (no lease: not running).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("lease_token", sa.String(length=36)),
    ("lease_host", sa.String(length=200)),
    ("lease_pid", sa.Integer()),
    ("lease_node", sa.String(length=200)),
    ("heartbeat_at", sa.DateTime(timezone=True)),
    ("lease_expires_at", sa.DateTime(timezone=True)),
    ("stop_requested_at", sa.DateTime(timezone=True)),
    ("log_path", sa.Text()),
    ("progress_json", sa.JSON(none_as_null=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        for name, type_ in _COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        for name, _ in reversed(_COLUMNS):
            batch_op.drop_column(name)

"""Index hypothesis by (campaign_id, status, seq).

`Store.list_hypotheses(campaign, status)` runs every iteration (the open
hypotheses of the campaign); with only single-column indexes SQLite searched
`ix_hypothesis__status` across every campaign in the file and then sorted by
`seq`. A plain `CREATE INDEX`: no table is copied, no row is touched.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:53:19.247777
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_hypothesis__campaign_id_status_seq"),
        "hypothesis",
        ["campaign_id", "status", "seq"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_hypothesis__campaign_id_status_seq"), table_name="hypothesis"
    )

"""Tamper-evident record: `status_change` and `chain_entry`, chains of existing campaigns.

Every row a campaign writes is chained (`storage._chain`): `chain_entry`
holds, per campaign and in insertion order, the digest of each row's frozen
columns and a running digest over the chain; `status_change` records each
change of a hypothesis's status with the decision behind it. Existing
campaigns are chained in the order of their clock and each decided
hypothesis gets one change to its present status (`_chain.backfill`), so an
upgraded database passes `db check` and any later edit is named.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 15:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lawloop.storage import _chain

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "status_change",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("hypothesis_id", sa.String(length=36), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "accepted",
                "rejected",
                "superseded",
                name="status_change_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_status_change__campaign_id__campaign"),
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decision.id"],
            name=op.f("fk_status_change__decision_id__decision"),
        ),
        sa.ForeignKeyConstraint(
            ["hypothesis_id"],
            ["hypothesis.id"],
            name=op.f("fk_status_change__hypothesis_id__hypothesis"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_change")),
    )
    with op.batch_alter_table("status_change", schema=None) as batch_op:
        for column in ("campaign_id", "decision_id", "hypothesis_id", "seq"):
            batch_op.create_index(
                batch_op.f(f"ix_status_change__{column}"), [column], unique=False
            )

    op.create_table(
        "chain_entry",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=50), nullable=False),
        sa.Column("row_id", sa.String(length=64), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("chain_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_chain_entry__campaign_id__campaign"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_entry")),
        sa.UniqueConstraint(
            "campaign_id", "position", name=op.f("uq_chain_entry__campaign_id_position")
        ),
        sa.UniqueConstraint(
            "table_name", "row_id", name=op.f("uq_chain_entry__table_name_row_id")
        ),
    )
    with op.batch_alter_table("chain_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chain_entry__campaign_id"), ["campaign_id"], unique=False
        )

    _chain.backfill(op.get_bind())


def downgrade() -> None:
    op.drop_table("chain_entry")
    op.drop_table("status_change")

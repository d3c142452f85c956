"""Initial provenance schema.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 02:07:29.604381
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "artifact",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_artifact")),
    )
    op.create_table(
        "campaign",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("backend_id", sa.String(length=200), nullable=False),
        sa.Column("planner", sa.String(length=200), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "created",
                "running",
                "finished",
                "failed",
                "interrupted",
                name="campaign_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("config_json", sa.JSON(), nullable=False),
        sa.Column("code_version", sa.String(length=200), nullable=False),
        sa.Column("environment_json", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result_json", sa.JSON(none_as_null=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
        sa.UniqueConstraint("name", name=op.f("uq_campaign__name")),
    )
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign__seq"), ["seq"], unique=False)

    op.create_table(
        "iteration",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("seeds_json", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary_json", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_iteration__campaign_id__campaign"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iteration")),
        sa.UniqueConstraint(
            "campaign_id", "index", name=op.f("uq_iteration__campaign_id_index")
        ),
    )
    with op.batch_alter_table("iteration", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_iteration__campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_iteration__seq"), ["seq"], unique=False)

    op.create_table(
        "lineage_edge",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column(
            "source_kind",
            sa.Enum(
                "campaign",
                "iteration",
                "artifact",
                "experiment_run",
                "planner_call",
                "hypothesis",
                "model_fit",
                "decision",
                name="source_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column(
            "target_kind",
            sa.Enum(
                "campaign",
                "iteration",
                "artifact",
                "experiment_run",
                "planner_call",
                "hypothesis",
                "model_fit",
                "decision",
                name="target_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "relation",
            sa.Enum(
                "derived-from",
                "tested-by",
                "supported-by",
                "refuted-by",
                "replaced-by",
                "proposed-by",
                "fitted-on",
                "produced-by",
                name="relation",
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
            name=op.f("fk_lineage_edge__campaign_id__campaign"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_edge")),
        sa.UniqueConstraint(
            "source_id",
            "target_id",
            "relation",
            name=op.f("uq_lineage_edge__source_id_target_id_relation"),
        ),
    )
    with op.batch_alter_table("lineage_edge", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lineage_edge__campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_lineage_edge__relation"), ["relation"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_lineage_edge__seq"), ["seq"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_lineage_edge__source_id"), ["source_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_lineage_edge__target_id"), ["target_id"], unique=False
        )

    op.create_table(
        "experiment_run",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("iteration_id", sa.String(length=36), nullable=True),
        sa.Column("backend_id", sa.String(length=200), nullable=False),
        sa.Column("design_reason", sa.Text(), nullable=False),
        sa.Column("inputs_sha256", sa.String(length=64), nullable=False),
        sa.Column("data_sha256", sa.String(length=64), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("n_points", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=50), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_experiment_run__campaign_id__campaign"),
        ),
        sa.ForeignKeyConstraint(
            ["data_sha256"],
            ["artifact.sha256"],
            name=op.f("fk_experiment_run__data_sha256__artifact"),
        ),
        sa.ForeignKeyConstraint(
            ["inputs_sha256"],
            ["artifact.sha256"],
            name=op.f("fk_experiment_run__inputs_sha256__artifact"),
        ),
        sa.ForeignKeyConstraint(
            ["iteration_id"],
            ["iteration.id"],
            name=op.f("fk_experiment_run__iteration_id__iteration"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_run")),
    )
    with op.batch_alter_table("experiment_run", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_experiment_run__campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_experiment_run__data_sha256"), ["data_sha256"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_experiment_run__inputs_sha256"),
            ["inputs_sha256"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_experiment_run__iteration_id"),
            ["iteration_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_experiment_run__seq"), ["seq"], unique=False
        )

    op.create_table(
        "hypothesis",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("iteration_id", sa.String(length=36), nullable=True),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("parameters_json", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("source_detail", sa.Text(), nullable=False),
        sa.Column("canonical_key", sa.Text(), nullable=False),
        sa.Column("units_consistent", sa.Boolean(), nullable=True),
        sa.Column("units_message", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "accepted",
                "rejected",
                "superseded",
                name="hypothesis_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_hypothesis__campaign_id__campaign"),
        ),
        sa.ForeignKeyConstraint(
            ["iteration_id"],
            ["iteration.id"],
            name=op.f("fk_hypothesis__iteration_id__iteration"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hypothesis")),
    )
    with op.batch_alter_table("hypothesis", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hypothesis__campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_hypothesis__canonical_key"), ["canonical_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_hypothesis__iteration_id"), ["iteration_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_hypothesis__seq"), ["seq"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_hypothesis__status"), ["status"], unique=False
        )

    op.create_table(
        "planner_call",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("iteration_id", sa.String(length=36), nullable=True),
        sa.Column("planner", sa.String(length=200), nullable=False),
        sa.Column("template_name", sa.String(length=200), nullable=False),
        sa.Column("template_sha256", sa.String(length=64), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("parsed_json", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("latency_s", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_planner_call__campaign_id__campaign"),
        ),
        sa.ForeignKeyConstraint(
            ["iteration_id"],
            ["iteration.id"],
            name=op.f("fk_planner_call__iteration_id__iteration"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planner_call")),
    )
    with op.batch_alter_table("planner_call", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_planner_call__campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_planner_call__iteration_id"), ["iteration_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_planner_call__seq"), ["seq"], unique=False)

    op.create_table(
        "decision",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("iteration_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("hypothesis_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence_json", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_decision__campaign_id__campaign"),
        ),
        sa.ForeignKeyConstraint(
            ["hypothesis_id"],
            ["hypothesis.id"],
            name=op.f("fk_decision__hypothesis_id__hypothesis"),
        ),
        sa.ForeignKeyConstraint(
            ["iteration_id"],
            ["iteration.id"],
            name=op.f("fk_decision__iteration_id__iteration"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decision__campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_decision__hypothesis_id"), ["hypothesis_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_decision__iteration_id"), ["iteration_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_decision__seq"), ["seq"], unique=False)

    op.create_table(
        "model_fit",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("iteration_id", sa.String(length=36), nullable=True),
        sa.Column("hypothesis_id", sa.String(length=36), nullable=False),
        sa.Column("method", sa.String(length=200), nullable=False),
        sa.Column("parameters_json", sa.JSON(), nullable=False),
        sa.Column("stderr_json", sa.JSON(), nullable=False),
        sa.Column("covariance_json", sa.JSON(), nullable=False),
        sa.Column("scores_json", sa.JSON(), nullable=False),
        sa.Column("train_data_json", sa.JSON(), nullable=False),
        sa.Column("test_data_json", sa.JSON(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_model_fit__campaign_id__campaign"),
        ),
        sa.ForeignKeyConstraint(
            ["hypothesis_id"],
            ["hypothesis.id"],
            name=op.f("fk_model_fit__hypothesis_id__hypothesis"),
        ),
        sa.ForeignKeyConstraint(
            ["iteration_id"],
            ["iteration.id"],
            name=op.f("fk_model_fit__iteration_id__iteration"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_fit")),
    )
    with op.batch_alter_table("model_fit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_model_fit__campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_model_fit__hypothesis_id"), ["hypothesis_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_model_fit__iteration_id"), ["iteration_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_model_fit__seq"), ["seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("model_fit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_fit__seq"))
        batch_op.drop_index(batch_op.f("ix_model_fit__iteration_id"))
        batch_op.drop_index(batch_op.f("ix_model_fit__hypothesis_id"))
        batch_op.drop_index(batch_op.f("ix_model_fit__campaign_id"))

    op.drop_table("model_fit")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision__seq"))
        batch_op.drop_index(batch_op.f("ix_decision__iteration_id"))
        batch_op.drop_index(batch_op.f("ix_decision__hypothesis_id"))
        batch_op.drop_index(batch_op.f("ix_decision__campaign_id"))

    op.drop_table("decision")
    with op.batch_alter_table("planner_call", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_planner_call__seq"))
        batch_op.drop_index(batch_op.f("ix_planner_call__iteration_id"))
        batch_op.drop_index(batch_op.f("ix_planner_call__campaign_id"))

    op.drop_table("planner_call")
    with op.batch_alter_table("hypothesis", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hypothesis__status"))
        batch_op.drop_index(batch_op.f("ix_hypothesis__seq"))
        batch_op.drop_index(batch_op.f("ix_hypothesis__iteration_id"))
        batch_op.drop_index(batch_op.f("ix_hypothesis__canonical_key"))
        batch_op.drop_index(batch_op.f("ix_hypothesis__campaign_id"))

    op.drop_table("hypothesis")
    with op.batch_alter_table("experiment_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiment_run__seq"))
        batch_op.drop_index(batch_op.f("ix_experiment_run__iteration_id"))
        batch_op.drop_index(batch_op.f("ix_experiment_run__inputs_sha256"))
        batch_op.drop_index(batch_op.f("ix_experiment_run__data_sha256"))
        batch_op.drop_index(batch_op.f("ix_experiment_run__campaign_id"))

    op.drop_table("experiment_run")
    with op.batch_alter_table("lineage_edge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lineage_edge__target_id"))
        batch_op.drop_index(batch_op.f("ix_lineage_edge__source_id"))
        batch_op.drop_index(batch_op.f("ix_lineage_edge__seq"))
        batch_op.drop_index(batch_op.f("ix_lineage_edge__relation"))
        batch_op.drop_index(batch_op.f("ix_lineage_edge__campaign_id"))

    op.drop_table("lineage_edge")
    with op.batch_alter_table("iteration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_iteration__seq"))
        batch_op.drop_index(batch_op.f("ix_iteration__campaign_id"))

    op.drop_table("iteration")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign__seq"))

    op.drop_table("campaign")
    op.drop_table("artifact")

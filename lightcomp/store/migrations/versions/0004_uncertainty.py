"""uncertainty evaluations (issue 19)

Revision ID: 0004_uncertainty
Revises: 0003_edges
Create Date: 2026-11-30 23:40:00

- ``uncertainty_evaluations``: one row per measurement whose uncertainties come from
  the GUM S1 Monte Carlo (model, seed, trials, convergence, time, decision rule,
  budget). The per-quantity U stay in ``measurements.uncertainty``.
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0004_uncertainty"
down_revision = "0003_edges"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uncertainty_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measurement_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("trials", sa.Integer(), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("converged", sa.Boolean(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=False),
        sa.Column("decision_rule", sa.String(length=16), nullable=False),
        sa.Column(
            "budget",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["measurement_id"],
            ["measurements.id"],
            name=op.f("fk_uncertainty_evaluations_measurement_id_measurements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uncertainty_evaluations")),
    )
    with op.batch_alter_table("uncertainty_evaluations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_uncertainty_evaluations_measurement_id"),
            ["measurement_id"],
            unique=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("uncertainty_evaluations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uncertainty_evaluations_measurement_id"))
    op.drop_table("uncertainty_evaluations")

"""record history: analysis version, supersession links, append-only triggers (issue 15)

Revision ID: 0008_record_history
Revises: 0007_portal_users
Create Date: 2026-12-01 00:30:00

- ``measurements``: ``analysis_version``, ``kind``, ``supersedes_id``,
  ``source_measurement_id``, ``recorded_by``, ``recorded_at``, ``reason``. Rows stored before this
  revision were computed by the first build's method set, ``LC-2026.11``; a
  superseded row is linked from the next row of its component.
- triggers refusing UPDATE/DELETE of stored records (``lightcomp.store.append_only``).
"""

from alembic import op
import sqlalchemy as sa

revision = "0008_record_history"
down_revision = "0007_portal_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("analysis_version", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column(
                "kind", sa.String(length=16), server_default="measurement", nullable=False
            )
        )
        batch_op.add_column(sa.Column("supersedes_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("source_measurement_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recorded_by", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_measurements_supersedes_id"), ["supersedes_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_measurements_supersedes_id_measurements"),
            "measurements",
            ["supersedes_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_measurements_source_measurement_id_measurements"),
            "measurements",
            ["source_measurement_id"],
            ["id"],
        )
    # Existing rows: the first build's method set; each row after the first of its
    # component supersedes the one before it (retests).
    op.execute(
        "UPDATE measurements SET analysis_version = 'LC-2026.11', recorded_at = measured_at"
    )
    op.execute(
        "UPDATE measurements SET kind = 'retest', supersedes_id = ("
        " SELECT MAX(p.id) FROM measurements p"
        " WHERE p.component_id = measurements.component_id AND p.id < measurements.id)"
        " WHERE EXISTS (SELECT 1 FROM measurements p"
        " WHERE p.component_id = measurements.component_id AND p.id < measurements.id)"
    )
    from lightcomp.store import append_only

    append_only.install(op.get_bind(), append_only.FLAG_RULES)


def downgrade() -> None:
    from lightcomp.store import append_only

    append_only.remove(op.get_bind())
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_measurements_source_measurement_id_measurements"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_measurements_supersedes_id_measurements"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_measurements_supersedes_id"))
        batch_op.drop_column("reason")
        batch_op.drop_column("recorded_at")
        batch_op.drop_column("recorded_by")
        batch_op.drop_column("source_measurement_id")
        batch_op.drop_column("supersedes_id")
        batch_op.drop_column("kind")
        batch_op.drop_column("analysis_version")

"""a component's current measurement is a pointer table; measurement rows frozen whole (issue 15)

Revision ID: 0010_current_pointer
Revises: 0009_append_only_image
Create Date: 2026-12-01 06:00:00

"Current" was a flag on the measurement row (``measurements.is_current``) that the
append-only trigger let go from true to false once.  It is now a narrow table,
``current_measurements(component_id PK, measurement_id UNIQUE)``, filled here from the
flags; the flag column and its two indexes (``ix_measurements_component_current`` and
the partial unique ``uq_measurements_one_current``) go, an index on
``measurements.component_id`` keeps a component's history a look-up.  Measurement rows
are then frozen whole; the pointer may only move to a newer measurement of its
component that supersedes the one it names (``lightcomp.store.append_only``).

Superseding a row used to rewrite the wide row (spectra, JSON) to clear its flag, an
update that PostgreSQL could not make HOT and that ran the row-image trigger; now it is
an update of an eight-byte row.  The downgrade puts the flag back from the pointers.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_current_pointer"
down_revision = "0009_append_only_image"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from lightcomp.store import append_only

    bind = op.get_bind()
    append_only.remove(bind)  # the triggers name is_current (SQLite: UPDATE OF ...)
    op.create_table(
        "current_measurements",
        sa.Column("component_id", sa.Integer(), nullable=False),
        sa.Column("measurement_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["components.id"],
            name=op.f("fk_current_measurements_component_id_components"),
        ),
        sa.ForeignKeyConstraint(
            ["measurement_id"],
            ["measurements.id"],
            name=op.f("fk_current_measurements_measurement_id_measurements"),
        ),
        sa.PrimaryKeyConstraint("component_id", name=op.f("pk_current_measurements")),
        sa.UniqueConstraint("measurement_id", name=op.f("uq_current_measurements_measurement_id")),
    )
    # The partial unique index guaranteed at most one flagged row per component.
    op.execute(
        "INSERT INTO current_measurements (component_id, measurement_id) "
        "SELECT component_id, id FROM measurements WHERE is_current"
    )
    op.drop_index("ix_measurements_component_current", table_name="measurements")
    op.drop_index("uq_measurements_one_current", table_name="measurements")
    op.create_index(
        op.f("ix_measurements_component_id"), "measurements", ["component_id"], unique=False
    )
    # SQLite >= 3.35 drops a column in place (no copy of the table, no rebuilt foreign
    # keys of the tables that reference it); the column is in no index or trigger now.
    op.execute("ALTER TABLE measurements DROP COLUMN is_current")
    append_only.install(bind)


def downgrade() -> None:
    from lightcomp.store import append_only

    bind = op.get_bind()
    append_only.remove(bind)
    op.add_column(
        "measurements",
        sa.Column("is_current", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.execute(
        "UPDATE measurements SET is_current = TRUE"
        " WHERE id IN (SELECT measurement_id FROM current_measurements)"
    )
    if bind.dialect.name == "postgresql":  # 0001's column has no server default
        op.alter_column("measurements", "is_current", server_default=None)
    op.drop_index(op.f("ix_measurements_component_id"), table_name="measurements")
    op.create_index(
        "ix_measurements_component_current",
        "measurements",
        ["component_id", "is_current"],
        unique=False,
    )
    op.create_index(
        "uq_measurements_one_current",
        "measurements",
        ["component_id"],
        unique=True,
        sqlite_where=sa.text("is_current"),
        postgresql_where=sa.text("is_current"),
    )
    op.drop_table("current_measurements")
    append_only.install(bind, append_only.FLAG_RULES)

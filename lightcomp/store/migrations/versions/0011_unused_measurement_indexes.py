"""measurements: two indexes no query uses are dropped (issue 15, re-analysis write cost)

Revision ID: 0011_unused_measurement_indexes
Revises: 0010_current_pointer
Create Date: 2026-12-01 06:10:00

``ix_measurements_cct_k`` and ``ix_measurements_ra``: no query of the API, portal,
reports or re-analysis uses them (EXPLAIN ANALYZE of the API searches on 200 000
records, CCT windows and Ra floors with and without a manufacturer: the planner walks
components in id order, or ``ix_measurements_family_cct`` for a maker's measured-CCT
window), and every stored row paid their two index entries.

(Storage MAIN for the spectrum, to read it without a TOAST look-up, was measured and
left out: the database's CPU per re-analysed row did not fall, and the walk over the
ids of a selection, which visits the heap, cost three times as much; see
docs/reanalysis.md.)
"""

from alembic import op

revision = "0011_unused_measurement_indexes"
down_revision = "0010_current_pointer"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_measurements_cct_k", table_name="measurements")
    op.drop_index("ix_measurements_ra", table_name="measurements")


def downgrade() -> None:
    op.create_index("ix_measurements_cct_k", "measurements", ["cct_k"], unique=False)
    op.create_index("ix_measurements_ra", "measurements", ["ra"], unique=False)

"""measurements: JSON columns compressed with LZ4 on PostgreSQL (issue 15, write cost)

Revision ID: 0012_lz4_json
Revises: 0011_unused_measurement_indexes
Create Date: 2026-12-01 07:00:00

A stored row's quantities, verdicts and U (some forty quantities, each with U, k, u,
interval and trials) come to ~10 kB of JSONB, above PostgreSQL's 2 kB TOAST threshold,
so every insert compresses them. PostgreSQL 14+ can use LZ4 instead of its own pglz
for that (``ALTER TABLE … SET COMPRESSION``, applied to values written from then on):
measured on the re-analysis benchmark (realistic rows, 2 × 4 000), the database's CPU
per re-analysed row 435 → 355 µs. Only where the server was built with LZ4 (the
setting's allowed values say so); elsewhere, and on SQLite, nothing changes.
"""

from alembic import op
from sqlalchemy import text

revision = "0012_lz4_json"
down_revision = "0011_unused_measurement_indexes"
branch_labels = None
depends_on = None

#: The measurements' JSON columns (what a station and a re-analysis write per row).
COLUMNS = (
    "quantities",
    "verdicts",
    "failed_limits",
    "uncertainty",
    "electrical",
    "temperatures",
    "stabilisation",
    "instruments",
    "modulation",
)


def _lz4_available(bind) -> bool:
    return bool(
        bind.execute(
            text(
                "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
                "AND 'lz4' = ANY(enumvals)"
            )
        ).first()
    )


def _set(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not _lz4_available(bind):
        return
    for col in COLUMNS:
        op.execute(f'ALTER TABLE measurements ALTER COLUMN "{col}" SET COMPRESSION {method}')


def upgrade() -> None:
    _set("lz4")


def downgrade() -> None:
    _set("default")

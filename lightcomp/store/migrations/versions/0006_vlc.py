"""VLC modulation results on measurements

Revision ID: 0006_vlc
Revises: 0005_audit_chain
Create Date: 2026-11-30 23:35:00

- ``measurements``: ``modulation_bandwidth_mhz`` (white, -3 dB),
  ``modulation_bandwidth_blue_mhz`` (blue-filtered), ``rise_time_ns``,
  ``fall_time_ns`` (10-90 %), ``modulation`` (JSON: the curves).
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0006_vlc"
down_revision = "0005_audit_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("modulation_bandwidth_mhz", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("modulation_bandwidth_blue_mhz", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("rise_time_ns", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("fall_time_ns", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column(
                "modulation",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            ))


def downgrade() -> None:
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.drop_column("modulation")
        batch_op.drop_column("fall_time_ns")
        batch_op.drop_column("rise_time_ns")
        batch_op.drop_column("modulation_bandwidth_blue_mhz")
        batch_op.drop_column("modulation_bandwidth_mhz")

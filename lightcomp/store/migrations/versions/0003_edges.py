"""offline blocks signed and held, signing keys, lot locks

Revision ID: 0003_edges
Revises: 0002_lm80
Create Date: 2026-11-30 23:10:00

- ``serial_blocks``: ``held`` (this store issues from the block), ``alliance_block_id``,
  ``signature`` and ``signer_key`` (Ed25519, hex). Blocks a store already issued from
  (it has their ``block:<first>`` counter) are marked held.
- ``signing_keys``: the alliance's key pair, or the alliance key a local store trusts.
- ``lot_locks``: the run holding a lot's batch (station, host, pid, heartbeat).
"""

from alembic import op
import sqlalchemy as sa

revision = "0003_edges"
down_revision = "0002_lm80"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("serial_blocks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("held", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
        batch_op.add_column(sa.Column("alliance_block_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("signature", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("signer_key", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE serial_blocks SET held = true WHERE EXISTS "
        "(SELECT 1 FROM code_counters c WHERE c.name = 'block:' || CAST(serial_blocks.first AS VARCHAR))"
    )
    op.create_table(
        "signing_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("name", name=op.f("uq_signing_keys_name")),
    )
    op.create_table(
        "lot_locks",
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("station", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=128), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("run_uid", sa.String(length=64), nullable=True),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], name=op.f("fk_lot_locks_lot_id_lots")
        ),
        sa.PrimaryKeyConstraint("lot_id", name=op.f("pk_lot_locks")),
    )


def downgrade() -> None:
    op.drop_table("lot_locks")
    op.drop_table("signing_keys")
    with op.batch_alter_table("serial_blocks", schema=None) as batch_op:
        batch_op.drop_column("signer_key")
        batch_op.drop_column("signature")
        batch_op.drop_column("alliance_block_id")
        batch_op.drop_column("held")

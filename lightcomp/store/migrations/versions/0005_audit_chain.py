"""audit trail as a hash chain (issue 15)

Revision ID: 0005_audit_chain
Revises: 0004_uncertainty
Create Date: 2026-12-01 00:20:00

- ``audit_events``: ``seq`` (unique), ``prev_hash``, ``hash``; entries already stored
  are chained in id order (see ``lightcomp.store.audit``).
"""

from alembic import op
import sqlalchemy as sa

revision = "0005_audit_chain"
down_revision = "0004_uncertainty"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_seq"), ["seq"])

    # Chain the entries written before the chain existed, in the order they were written.
    from lightcomp.store.audit import GENESIS, entry_hash

    bind = op.get_bind()
    ev = sa.table(
        "audit_events",
        sa.column("id", sa.Integer),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String),
        sa.column("kind", sa.String),
        sa.column("subject", sa.String),
        sa.column("details", sa.JSON),
        sa.column("seq", sa.BigInteger),
        sa.column("prev_hash", sa.String),
        sa.column("hash", sa.String),
    )
    prev, seq = GENESIS, 0
    rows = bind.execute(
        sa.select(ev.c.id, ev.c.at, ev.c.actor, ev.c.kind, ev.c.subject, ev.c.details).order_by(
            ev.c.id
        )
    ).all()
    for r in rows:
        seq += 1
        h = entry_hash(prev, seq, r.at, r.actor, r.kind, r.subject, r.details)
        bind.execute(
            ev.update().where(ev.c.id == r.id).values(seq=seq, prev_hash=prev, hash=h)
        )
        prev = h


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_events_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")

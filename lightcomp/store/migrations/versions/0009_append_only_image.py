"""append-only triggers compare rows by binary image on PostgreSQL (issue 15, scale)

Revision ID: 0009_append_only_image
Revises: 0008_record_history
Create Date: 2026-12-01 02:45:00

Revision 0008's PostgreSQL trigger checked "every column but the pointer unchanged" by
rendering both rows ``to_jsonb``: clearing ``is_current`` of a row holding spectra cost
about 0.4 ms, most of a re-analysis write. The check is now the row type's binary-image
equality (``*=``) with the pointer set back: the same rule, about seven times faster.
SQLite's triggers are unchanged (re-created as they were).
"""

revision = "0009_append_only_image"
down_revision = "0008_record_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from alembic import op

    from lightcomp.store import append_only

    append_only.install(op.get_bind(), append_only.FLAG_RULES)


def downgrade() -> None:
    from alembic import op

    from lightcomp.store import append_only

    append_only.install(op.get_bind(), append_only.FLAG_RULES, image=False)

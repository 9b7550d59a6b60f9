"""Regenerate migration 0001 from the models (development only, before the first release).

Once a schema has been deployed, changes go into a new revision instead
(`alembic revision --autogenerate` against a database at head).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from lightcomp.store.engine import _alembic_config

VERSIONS = Path(__file__).resolve().parents[1] / "lightcomp" / "store" / "migrations" / "versions"


def main() -> None:
    target = VERSIONS / "0001_initial_schema.py"
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        eng = create_engine(f"sqlite:///{tmp}/gen.db")
        with eng.begin() as conn:
            command.revision(
                _alembic_config(conn), message="initial schema", autogenerate=True, rev_id="0001"
            )
    text = target.read_text().replace("astext_type=Text()", "astext_type=sa.Text()")
    target.write_text(text)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()

"""Opening the store: URL resolution, engines for SQLite and PostgreSQL, migrations.

``Store.open(url)`` is the one way in. A fresh (empty) database is created at
the latest schema automatically; an older schema asks for ``lightcomp db
upgrade``. Every write that belongs together goes through
``with store.transaction() as session:`` (commit on success, rollback on error).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from lightcomp.errors import ConfigError, StoreError

DEFAULT_URL = "sqlite:///lightcomp.db"
ENV_VAR = "LIGHTCOMP_DB"


def resolve_url(url: str | None = None) -> URL:
    """Database URL from ``url``, else ``$LIGHTCOMP_DB``, else ``sqlite:///lightcomp.db``.

    ``postgresql://`` without a driver means psycopg 3. A bad URL raises
    :class:`ConfigError` with a one-line message.
    """
    raw = url or os.environ.get(ENV_VAR) or DEFAULT_URL
    try:
        u = make_url(raw)
    except ArgumentError as exc:
        raise ConfigError(
            f"bad database URL {raw!r}: expected e.g. sqlite:///file.db or "
            "postgresql+psycopg://user@host/db"
        ) from exc
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"unsupported database {u.get_backend_name()!r} in URL "
            f"{u.render_as_string(hide_password=True)!r}: use sqlite or postgresql"
        )
    return u


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: URL) -> Engine:
    """Engine with the right settings per backend (SQLite: WAL, FKs, busy timeout)."""
    shown = url.render_as_string(hide_password=True)
    try:
        if url.get_backend_name() == "sqlite":
            db = url.database
            if db and db != ":memory:" and not db.startswith("file:"):
                parent = Path(db).expanduser().resolve().parent
                if not parent.is_dir():
                    raise ConfigError(f"database folder {parent} does not exist (URL {shown!r})")
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            if db and db != ":memory:":
                with engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    except NoSuchModuleError as exc:
        raise ConfigError(f"no database driver for {shown!r}: {exc}") from exc
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"the driver for {shown!r} is not installed ({exc.name}); "
            "install the 'pg' extra: pip install 'lightcomp[pg]'"
        ) from exc
    except (OperationalError, DBAPIError) as exc:
        raise StoreError(f"cannot open database {shown!r}: {_first_line(exc)}") from exc
    return engine


def _first_line(exc: BaseException) -> str:
    msg = str(getattr(exc, "orig", None) or exc).strip()
    return msg.splitlines()[0] if msg else type(exc).__name__


def _alembic_config(connection=None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration revision the code knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


class Store:
    """Handle on one database: engine, sessions, migrations."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.url = engine.url
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    # -- opening -------------------------------------------------------
    @classmethod
    def open(cls, url: str | None = None, *, create: bool = True) -> Store:
        """Open the store at ``url``; create the schema if the database is empty.

        Raises :class:`ConfigError` for a bad URL, :class:`StoreError` when the
        database cannot be reached or its schema is older than the code.
        """
        u = resolve_url(url)
        store = cls(make_engine(u))
        current = store.current_revision()
        if current is None:
            if store._has_foreign_tables():
                raise StoreError(
                    f"database {store.shown_url} has tables but no lightcomp schema version"
                )
            if create:
                store.upgrade()
        elif current != head_revision():
            raise StoreError(
                f"database {store.shown_url} is at schema revision {current}, this lightcomp "
                f"needs {head_revision()}: run `lightcomp db upgrade`"
            )
        return store

    @property
    def shown_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _has_foreign_tables(self) -> bool:
        with self._connect() as conn:
            return bool(inspect(conn).get_table_names())

    @contextmanager
    def _connect(self):
        try:
            conn = self.engine.connect()
        except (OperationalError, DBAPIError) as exc:
            raise StoreError(f"cannot connect to {self.shown_url}: {_first_line(exc)}") from exc
        try:
            yield conn
        finally:
            conn.close()

    # -- migrations ----------------------------------------------------
    def current_revision(self) -> str | None:
        """Alembic revision of the database, or None when it has none."""
        from alembic.runtime.migration import MigrationContext

        with self._connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def upgrade(self, revision: str = "head") -> str | None:
        """Run the migrations up to ``revision`` in one transaction; return the new revision."""
        from alembic import command

        try:
            with self.engine.begin() as conn:
                command.upgrade(_alembic_config(conn), revision)
        except (OperationalError, DBAPIError) as exc:
            raise StoreError(f"migration of {self.shown_url} failed: {_first_line(exc)}") from exc
        return self.current_revision()

    # -- sessions ------------------------------------------------------
    def session(self) -> Session:
        """A plain session (caller manages the transaction)."""
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit if the block succeeds, roll back if it raises."""
        session = self._sessions()
        try:
            with session.begin():
                yield session
        except (OperationalError, DBAPIError) as exc:
            raise StoreError(f"database error on {self.shown_url}: {_first_line(exc)}") from exc
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()

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
            if db and db != ":memory:" and not is_read_only(url):
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
        raise StoreError(f"cannot open database {shown!r}: {explain(exc, url)}") from exc
    return engine


def is_read_only(url: URL) -> bool:
    """True for a SQLite URL opened read-only (``mode=ro`` or ``immutable=1`` URI)."""
    q = url.query
    return url.get_backend_name() == "sqlite" and (
        q.get("mode") == "ro" or str(q.get("immutable", "0")) == "1"
    )


def read_only_url(path: str | Path) -> str:
    """The URL that opens the SQLite store at ``path`` read-only (nothing written, no WAL)."""
    return f"sqlite:///file:{Path(path).resolve()}?immutable=1&uri=true"


def _first_line(exc: BaseException) -> str:
    msg = str(getattr(exc, "orig", None) or exc).strip()
    return msg.splitlines()[0] if msg else type(exc).__name__


_DAMAGED = ("database disk image is malformed", "file is not a database", "malformed database")


def explain(exc: BaseException, url: URL) -> str:
    """One line saying what a database error means for the person at the keyboard.

    A damaged SQLite file says so (and how to salvage it); a store in a folder
    or file this user cannot write says how to open it read-only.
    """
    msg = _first_line(exc)
    low = msg.lower()
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return msg
    path = Path(url.database.removeprefix("file:")).expanduser()
    if any(d in low for d in _DAMAGED):
        return (
            f"the SQLite file {path} is damaged ({msg}): restore it from a backup "
            f"(`sqlite3 {path} .recover` may salvage rows into a new file)"
        )
    if "readonly" in low or "read-only" in low or "unable to open database file" in low:
        if is_read_only(url):
            return f"{msg}: the store is opened read-only, and this command writes to it"
        folder = path.resolve().parent
        if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            where = folder if not os.access(folder, os.W_OK) else path
            return (
                f"{where} is read-only ({msg}): SQLite needs to write next to the store even "
                f"to read it; to read without writing, open it read-only with "
                f"--db '{read_only_url(path)}' (while nothing else writes to it)"
            )
    return msg


def _alembic_config(connection=None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {r.revision for r in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}


def _version() -> str:
    from lightcomp import __version__

    return __version__


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
    def open(cls, url: str | None = None, *, create: bool = True, check: bool = True) -> Store:
        """Open the store at ``url``; create the schema if the database is empty.

        Raises :class:`ConfigError` for a bad URL, :class:`StoreError` when the
        database cannot be reached, is damaged (SQLite file malformed, schema
        version ambiguous, tables missing), or its schema is older (run ``db
        upgrade``) or newer (written by a newer lightcomp) than the code.
        ``check=False`` opens a store at any known revision (``db upgrade``).
        """
        u = resolve_url(url)
        store = cls(make_engine(u))
        try:
            current = store.current_revision()
            if current is None:
                if store._has_foreign_tables():
                    raise StoreError(
                        f"database {store.shown_url} has tables but no lightcomp schema version"
                    )
                if create and not is_read_only(u):
                    store.upgrade()
                return store
            known = _known_revisions()
            if current not in known:
                raise StoreError(
                    f"database {store.shown_url} is at schema revision {current}, which this "
                    f"lightcomp ({_version()}, schema {head_revision()}) does not know: it was "
                    "written by a newer lightcomp; use that version or a later one "
                    "(`db upgrade` cannot go back)"
                )
            if current != head_revision():
                if check:
                    raise StoreError(
                        f"database {store.shown_url} is at schema revision {current}, this "
                        f"lightcomp needs {head_revision()}: run `lightcomp db upgrade`"
                    )
                return store
            missing = store.missing_tables()
            if missing:
                raise StoreError(
                    f"database {store.shown_url} is damaged: table(s) {', '.join(missing)} "
                    f"missing although its schema is at {current}; restore it from a backup"
                )
        except BaseException:
            store.dispose()
            raise
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
            raise StoreError(
                f"cannot connect to {self.shown_url}: {explain(exc, self.url)}"
            ) from exc
        try:
            yield conn
        finally:
            conn.close()

    # -- migrations ----------------------------------------------------
    def current_revision(self) -> str | None:
        """Alembic revision of the database, or None when it has none.

        Raises :class:`StoreError` when ``alembic_version`` holds several rows
        (the schema version is ambiguous: a damaged or hand-edited store).
        """
        from alembic.runtime.migration import MigrationContext

        with self._connect() as conn:
            try:
                heads = MigrationContext.configure(conn).get_current_heads()
            except (OperationalError, DBAPIError) as exc:
                raise StoreError(
                    f"cannot read the schema version of {self.shown_url}: {explain(exc, self.url)}"
                ) from exc
        if len(heads) > 1:
            raise StoreError(
                f"database {self.shown_url} is damaged: its alembic_version table holds "
                f"{len(heads)} rows ({', '.join(sorted(heads))}), so its schema version is "
                "ambiguous; keep the one row of the schema its tables have, or restore a backup"
            )
        return heads[0] if heads else None

    def missing_tables(self) -> list[str]:
        """Tables of the current schema that the database lacks."""
        from lightcomp.store.models import Base

        with self._connect() as conn:
            try:
                have = set(inspect(conn).get_table_names())
            except (OperationalError, DBAPIError) as exc:
                raise StoreError(f"cannot read {self.shown_url}: {explain(exc, self.url)}") from exc
        return sorted(set(Base.metadata.tables) - have)

    def upgrade(self, revision: str = "head") -> str | None:
        """Run the migrations up to ``revision`` in one transaction; return the new revision."""
        from alembic import command

        try:
            with self.engine.begin() as conn:
                command.upgrade(_alembic_config(conn), revision)
        except (OperationalError, DBAPIError) as exc:
            raise StoreError(
                f"migration of {self.shown_url} failed: {explain(exc, self.url)}"
            ) from exc
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
            raise StoreError(
                f"database error on {self.shown_url}: {explain(exc, self.url)}"
            ) from exc
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()

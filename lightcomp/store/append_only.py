"""Append-only records, enforced by the database itself (triggers).

ISO/IEC 17025:2017 7.5 and 8.4 ask that original observations, results and their
amendments be retained and protected from unauthorised change.  The application
never edits a stored record; these triggers make sure nothing else does either:
an ``UPDATE`` or ``DELETE`` of a row in :data:`APPEND_ONLY` is refused by SQLite and
PostgreSQL alike, with one exception per table that moves a *pointer* forward and
nothing else:

* ``current_measurements.measurement_id`` (a component's current measurement, revision
  0010) may move only to a newer measurement of the same component that supersedes the
  one it points at (``measurements.supersedes_id``); a pointer row cannot be deleted, and
  one can only be inserted pointing at a measurement of its own component.  The
  measurement rows themselves are frozen whole: "current" is a pointer, not an edit;
* ``calibrations.status`` may go from ``valid`` to ``superseded`` or ``revoked``.

:func:`install` (re)creates the triggers from the columns the table has, so a
migration that adds a column to one of these tables calls it again.  The audit trail
(:mod:`lightcomp.store.audit`) detects what a database administrator could still do
by dropping the triggers.
"""

from __future__ import annotations

from sqlalchemy import inspect, text

#: The current pointer moves to a newer row of the same component that supersedes the
#: row pointed at (the link a retest, correction or re-analysis writes).
_POINTER_FORWARD = (
    "NEW.measurement_id > OLD.measurement_id AND EXISTS (SELECT 1 FROM measurements m"
    " WHERE m.id = NEW.measurement_id AND m.component_id = OLD.component_id"
    " AND m.supersedes_id = OLD.measurement_id)"
)

#: table -> (pointer column or None, SQL condition on OLD/NEW allowing the pointer move)
APPEND_ONLY: dict[str, tuple[str | None, str | None]] = {
    "measurements": (None, None),
    "current_measurements": ("measurement_id", _POINTER_FORWARD),
    "calibrations": (
        "status",
        "OLD.status = 'valid' AND NEW.status IN ('superseded', 'revoked')",
    ),
    "uncertainty_evaluations": (None, None),
    "certificates": (None, None),
    "audit_events": (None, None),
    "lm80_readings": (None, None),
    "lm80_events": (None, None),
}

#: table -> (SQL condition on NEW that an inserted row must meet, what it says).
INSERT_CHECKS: dict[str, tuple[str, str]] = {
    "current_measurements": (
        "EXISTS (SELECT 1 FROM measurements m"
        " WHERE m.id = NEW.measurement_id AND m.component_id = NEW.component_id)",
        "a current pointer names a measurement of its own component",
    ),
}

#: The rules of revisions 0008 and 0009, when "current" was a flag on the measurement row
#: that could be cleared once (their migrations, and 0010's downgrade, install these).
FLAG_RULES: dict[str, tuple[str | None, str | None]] = {
    **{t: rule for t, rule in APPEND_ONLY.items() if t != "current_measurements"},
    "measurements": ("is_current", "OLD.is_current AND NOT NEW.is_current"),
}

#: Message start of a refused change (both backends); callers match on it.
REFUSED = "append-only"


def _sqlite_bool(cond: str) -> str:
    # SQLite stores booleans as 0/1: revision 0009's flag rule works there as written.
    return cond


def _drop(bind, table: str) -> None:
    if bind.dialect.name == "postgresql":
        for what in ("append_only", "insert_check"):
            bind.execute(text(f'DROP TRIGGER IF EXISTS "lc_{table}_{what}" ON "{table}"'))
            bind.execute(text(f'DROP FUNCTION IF EXISTS "lc_{table}_{what}"() CASCADE'))
    else:
        for suffix in ("no_delete", "no_update", "pointer_only", "insert_check"):
            bind.execute(text(f'DROP TRIGGER IF EXISTS "lc_{table}_{suffix}"'))


def install(
    bind,
    tables: dict[str, tuple[str | None, str | None]] | None = None,
    *,
    image: bool = True,
) -> None:
    """Create (or re-create) the append-only triggers on ``bind`` (a Connection).

    ``image=False`` installs revision 0008's PostgreSQL check (``to_jsonb`` of the rows,
    seven times slower on rows holding spectra); only its downgrade asks for it.
    """
    tables = APPEND_ONLY if tables is None else tables
    have = set(inspect(bind).get_table_names())
    for table, (pointer, allowed) in tables.items():
        if table not in have:
            continue
        _drop(bind, table)
        if bind.dialect.name == "postgresql":
            _install_pg(bind, table, pointer, allowed, image)
        else:
            cols = [c["name"] for c in inspect(bind).get_columns(table)]
            _install_sqlite(bind, table, cols, pointer, allowed)
        if table in INSERT_CHECKS:
            _install_insert_check(bind, table, *INSERT_CHECKS[table])


def remove(bind) -> None:
    """Drop every append-only trigger (migration downgrade; tests of the audit chain)."""
    have = set(inspect(bind).get_table_names())
    for table in APPEND_ONLY:
        if table in have:
            _drop(bind, table)


def _install_insert_check(bind, table: str, check: str, what: str) -> None:
    message = f"{REFUSED}: {what}".replace("'", "''")
    if bind.dialect.name == "postgresql":
        bind.execute(
            text(
                f"""
CREATE FUNCTION "lc_{table}_insert_check"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT ({check}) THEN
    RAISE EXCEPTION '{message}' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$"""
            )
        )
        bind.execute(
            text(
                f'CREATE TRIGGER "lc_{table}_insert_check" BEFORE INSERT ON "{table}" '
                f'FOR EACH ROW EXECUTE FUNCTION "lc_{table}_insert_check"()'
            )
        )
    else:
        bind.execute(
            text(
                f'CREATE TRIGGER "lc_{table}_insert_check" BEFORE INSERT ON "{table}" '
                f"WHEN NOT ({check}) BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
        )


def _install_pg(
    bind, table: str, pointer: str | None, allowed: str | None, image: bool = True
) -> None:
    declare = ""
    if pointer is None:
        check = "TRUE"
    elif image:
        # Every column but the pointer byte-for-byte unchanged (the row type follows
        # columns added later; ``*=`` is PostgreSQL's binary-image record equality), and
        # the pointer moved the one allowed way.  No value is converted, so superseding
        # a row that holds spectra costs a comparison, not a JSON rendering of them.
        declare = f'DECLARE kept "{table}";\n'
        check = f"NOT (kept *= OLD) OR NOT ({allowed})"
    else:
        check = (
            f"(to_jsonb(OLD) - '{pointer}') IS DISTINCT FROM (to_jsonb(NEW) - '{pointer}') "
            f"OR NOT ({allowed})"
        )
    keep = "" if not declare else f'  kept := NEW;\n  kept."{pointer}" := OLD."{pointer}";\n'
    bind.execute(
        text(
            f"""
CREATE FUNCTION "lc_{table}_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
{declare}BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION '{REFUSED}: rows of {table} cannot be deleted'
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
{keep}  IF {check} THEN
    RAISE EXCEPTION '{REFUSED}: rows of {table} cannot be changed{
                "" if pointer is None else f" (only {pointer} moves forward)"
            }'
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$"""
        )
    )
    bind.execute(
        text(
            f'CREATE TRIGGER "lc_{table}_append_only" BEFORE UPDATE OR DELETE ON "{table}" '
            f'FOR EACH ROW EXECUTE FUNCTION "lc_{table}_append_only"()'
        )
    )


def _install_sqlite(
    bind, table: str, cols: list[str], pointer: str | None, allowed: str | None
) -> None:
    bind.execute(
        text(
            f'CREATE TRIGGER "lc_{table}_no_delete" BEFORE DELETE ON "{table}" '
            f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: rows of {table} cannot be deleted'); END"
        )
    )
    frozen = [c for c in cols if c != pointer]
    # "UPDATE OF" fires whenever one of these columns is named in the UPDATE's SET, so a
    # change that keeps its value is refused too: only the pointer may be written.
    of = ", ".join(f'"{c}"' for c in frozen)
    bind.execute(
        text(
            f'CREATE TRIGGER "lc_{table}_no_update" BEFORE UPDATE OF {of} ON "{table}" '
            f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: rows of {table} cannot be changed'); END"
        )
    )
    if pointer is not None:
        bind.execute(
            text(
                f'CREATE TRIGGER "lc_{table}_pointer_only" BEFORE UPDATE OF "{pointer}" '
                f'ON "{table}" WHEN NOT ({_sqlite_bool(allowed)}) '
                f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: {table}.{pointer} only moves "
                "forward'); END"
            )
        )

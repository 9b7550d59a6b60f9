"""The ``lightcomp`` command: thin sub-commands (parse -> call one function -> print).

Each command group lives in ``lightcomp/commands/<name>.py`` and exposes
``register(app)``; this module only wires them together and turns every
:class:`~lightcomp.errors.LightcompError` into one clear line and exit code 2.
"""

from __future__ import annotations

import importlib
import sys

import typer

from lightcomp.errors import LightcompError

# Order here is the order of `lightcomp --help`.
COMMAND_MODULES = (
    "demo",
    "station",
    "calibrate",
    "simlab",
    "analyze",
    "code",
    "registry",
    "report",
    "records",
    "certificate",
    "serve",
    "apikey",
    "user",
    "publish",
    "db",
    "lm80",
    "audit",
    "reanalyze",
)


def _plain_metavars() -> None:
    """``--help`` shows flags without a ``<bool>`` placeholder and values as TEXT, INTEGER,
    PATH… (click's words), not typer's ``<str>``/``<int>`` type names."""
    from typer import core as _core

    words = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "path": "PATH", "bool": ""}
    original = _core.TyperOption.display_type_rich

    def display(self, ctx):  # noqa: ANN001, ANN202 - typer's signature
        if getattr(self, "is_flag", False) or getattr(self, "count", False):
            return None
        shown = original(self, ctx)
        if isinstance(shown, str) and shown.startswith("<") and ">" in shown:
            inner, rest = shown[1:].split(">", 1)
            base = inner.replace(" range", "")
            word = words.get(base, base.upper())
            return (word + rest) or None
        return shown

    _core.TyperOption.display_type_rich = display
    arg_original = _core.TyperArgument.display_type_rich

    def arg_display(self, ctx):  # noqa: ANN001, ANN202
        shown = arg_original(self, ctx)
        if isinstance(shown, str) and shown.startswith("<") and ">" in shown:
            inner, rest = shown[1:].split(">", 1)
            return words.get(inner, inner.upper()) + rest
        return shown

    _core.TyperArgument.display_type_rich = arg_display


_plain_metavars()

app = typer.Typer(
    name="lightcomp",
    help=(
        "Test-data system for LED standard light components: run test batches on a "
        "station, calibrate, analyse spectra, issue product codes, report yield and "
        "serve records to the alliance.\n\n"
        "The database is chosen by --db URL or LIGHTCOMP_DB (default: SQLite file "
        "lightcomp.db in the current directory)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from lightcomp import __version__

        typer.echo(f"lightcomp {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """lightcomp command line."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"lightcomp.commands.{_name}").register(app)


def _db_arg(argv: list[str] | None) -> str | None:
    """The --db value of a command line (for error messages)."""
    args = list(sys.argv[1:] if argv is None else argv)
    for i, a in enumerate(args):
        if a == "--db" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--db="):
            return a[5:]
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as exc:  # typer/click exit
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except LightcompError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except Exception as exc:  # a database error no command turned into words: still one line
        from sqlalchemy.exc import DBAPIError

        if not isinstance(exc, DBAPIError):
            raise
        from lightcomp.store.engine import explain, resolve_url

        try:
            url = resolve_url(_db_arg(argv))
        except LightcompError:
            url = None
        why = explain(exc, url) if url is not None else str(exc.orig).splitlines()[0]
        typer.echo(f"error: database error: {why}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

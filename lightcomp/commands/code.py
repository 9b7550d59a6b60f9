"""CLI: ``lightcomp code`` — issue, decode, validate and label product codes.

Thin commands: parse -> call one :mod:`lightcomp.coding` function -> print.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from lightcomp.commands.common import DB_OPTION, open_store


def _shown(text: str, limit: int = 64) -> str:
    """Input echoed safely on one line (control and non-ASCII characters escaped)."""
    if text.isascii() and text.isprintable() and len(text) <= limit:
        return text
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def register(app: typer.Typer) -> None:
    code_app = typer.Typer(
        help="Product codes: issue (online or from a reserved block), decode, validate, label.",
        no_args_is_help=True,
    )
    app.add_typer(code_app, name="code")

    @code_app.command("new")
    def new(
        manufacturer: str = typer.Option(
            ..., "--manufacturer", "-m", help="Registry id (M0042) or name."
        ),
        family: str = typer.Option(
            ..., "--family", "-f", help="Family name, type code or model sequence."
        ),
        count: int = typer.Option(1, "--count", "-n", help="How many codes to issue."),
        lot: str | None = typer.Option(None, "--lot", help="Lot name (created if new)."),
        block: Path | None = typer.Option(
            None,
            "--block",
            help="Issue offline from this reserved block file (lightcomp code reserve).",
        ),
        db: str | None = DB_OPTION,
    ) -> None:
        """Issue COUNT new codes of a registered family; print them one per line (printed form)."""
        from lightcomp.coding import BlockFile, find_family, format_code, issue_codes

        blk = BlockFile.read(block) if block is not None else None
        store = open_store(db)
        try:
            with store.transaction() as session:
                fam = find_family(session, family, manufacturer)
                comps = issue_codes(session, fam, count, lot=lot, block=blk)
                codes = [c.product_code for c in comps]
        finally:
            store.dispose()
        for code in codes:
            typer.echo(format_code(code))

    @code_app.command("decode")
    def decode_cmd(
        code: str = typer.Argument(..., help="Product code, with or without separators."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Print every field of CODE by name."""
        from lightcomp.coding import decode

        fields = decode(code)
        if as_json:
            typer.echo(json.dumps(fields, indent=2, ensure_ascii=False))
            return
        width = max(len(k) for k in fields)
        for key, value in fields.items():
            if key == "flux_range_lm":
                value = f"{value[0]:g} .. < {value[1]:g}"
            elif value is None:
                value = "-"
            elif isinstance(value, float):
                value = f"{value:g}"
            typer.echo(f"{key:<{width}}  {value}")

    @code_app.command("validate")
    def validate_cmd(
        codes: list[str] = typer.Argument(
            ..., help="Codes to check; '-' reads one code per line from standard input."
        ),
    ) -> None:
        """Check codes; print one line per code; exit 0 only when all are valid, else 1."""
        from lightcomp.coding import decode
        from lightcomp.errors import CodeError

        items: list[str] = []
        for c in codes:
            if c == "-":
                items.extend(line.rstrip("\r\n") for line in sys.stdin if line.strip())
            else:
                items.append(c)
        if not items:
            raise typer.BadParameter("no codes given")
        bad = 0
        for item in items:
            try:
                printed = decode(item)["printed"]
            except CodeError as exc:
                bad += 1
                typer.echo(f"INVALID {_shown(item)}: {exc}")
            else:
                typer.echo(f"ok      {printed}")
        if bad:
            typer.echo(f"{bad} of {len(items)} code(s) invalid", err=True)
            raise typer.Exit(1)

    @code_app.command("label")
    def label(
        code: str = typer.Argument(..., help="Product code."),
        output: Path = typer.Option(..., "--output", "-o", help="Label file: .png, .svg or .pdf."),
        line: list[str] = typer.Option(
            [], "--line", help="Extra text line under the code (repeatable)."
        ),
        module_mm: float = typer.Option(0.5, "--module-mm", help="QR module size in mm."),
    ) -> None:
        """Write a printable label: the code in text plus a QR code."""
        from lightcomp.coding import write_label

        path = write_label(code, output, lines=line, module_mm=module_mm)
        typer.echo(f"label written to {path}")

    @code_app.command("reserve")
    def reserve(
        holder: str = typer.Option(
            ..., "--holder", help="Station (or person) that will use the block offline."
        ),
        count: int = typer.Option(..., "--count", "-n", help="Number of serials to reserve."),
        output: Path | None = typer.Option(
            None, "--output", "-o", help="Write the block file here (for `code new --block`)."
        ),
        db: str | None = DB_OPTION,
    ) -> None:
        """Reserve a block of alliance-unique item serials for offline issue."""
        from lightcomp.coding import BlockFile, reserve_block

        store = open_store(db)
        try:
            with store.transaction() as session:
                blk = BlockFile.from_block(reserve_block(session, holder, count))
        finally:
            store.dispose()
        typer.echo(
            f"block {blk.block_id} for {blk.holder}: serials {blk.first}..{blk.last} ({blk.size}), "
            f"signed by alliance key {blk.key_fingerprint}"
        )
        if output is not None:
            blk.write(output)
            typer.echo(f"block file written to {output}")

    @code_app.command("register")
    def register_cmd(
        source: str = typer.Argument(
            ..., help="File of codes issued offline, one per line ('-': stdin)."
        ),
        holder: str | None = typer.Option(
            None, "--holder", help="Require the serials to be in blocks of HOLDER."
        ),
        db: str | None = DB_OPTION,
    ) -> None:
        """Register codes issued offline from reserved blocks (each code once only; all or nothing)."""
        from lightcomp.coding import register_codes
        from lightcomp.errors import CodeError

        if source == "-":
            lines = sys.stdin.read().splitlines()
        else:
            try:
                lines = Path(source).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise CodeError(f"cannot read {source}: {exc}") from None
        codes = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
        store = open_store(db)
        try:
            with store.transaction() as session:
                n = len(register_codes(session, codes, holder=holder))
        finally:
            store.dispose()
        typer.echo(f"registered {n} code(s)")

    @code_app.command("tables")
    def tables_cmd() -> None:
        """Print the field tables of the scheme (Markdown, as in docs/coding.md)."""
        from lightcomp.coding.tables import render_markdown_tables

        typer.echo(render_markdown_tables(), nl=False)

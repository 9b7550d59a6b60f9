"""CLI: `lightcomp demo` — the main job on embedded defaults (minimal path for now)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("demo-out"), "--out", help="Output folder."),
        db: str | None = typer.Option(None, "--db", help="Database URL (default: fresh SQLite in --out)."),
    ) -> None:
        """Run the whole lab on simulated instruments and a fresh SQLite store."""
        from lightcomp.store import Store

        out.mkdir(parents=True, exist_ok=True)
        store = Store.open(db or f"sqlite:///{out / 'demo.db'}")
        typer.echo(f"store ready at {store.shown_url} (schema {store.current_revision()})")

"""CLI: ``lightcomp maker``, ``lightcomp family``, ``lightcomp registry`` — the alliance registry."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from lightcomp.commands.common import DB_OPTION, open_store


def _json_option(text: str | None, what: str) -> dict | None:
    from lightcomp.errors import CodeError

    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CodeError(f"--{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise CodeError(f"--{what} must be a JSON object")
    return value


def register(app: typer.Typer) -> None:
    maker_app = typer.Typer(
        help="Manufacturers registered with the alliance.", no_args_is_help=True
    )
    family_app = typer.Typer(
        help="Component families (types) of registered manufacturers.", no_args_is_help=True
    )
    registry_app = typer.Typer(
        help="Registry files (TOML): import manufacturers and families.", no_args_is_help=True
    )
    app.add_typer(maker_app, name="maker")
    app.add_typer(family_app, name="family")
    app.add_typer(registry_app, name="registry")

    @maker_app.command("add")
    def maker_add(
        name: str = typer.Argument(..., help="Manufacturer name."),
        registry_id: str | None = typer.Option(
            None, "--registry-id", help="Alliance registry id (M0042); default: next free."
        ),
        country: str | None = typer.Option(None, "--country"),
        address: str | None = typer.Option(None, "--address"),
        contact: str | None = typer.Option(None, "--contact"),
        db: str | None = DB_OPTION,
    ) -> None:
        """Register a manufacturer; print its registry id."""
        from lightcomp.coding import register_manufacturer

        store = open_store(db)
        try:
            with store.transaction() as session:
                m = register_manufacturer(
                    session,
                    name,
                    registry_id=registry_id,
                    country=country,
                    address=address,
                    contact=contact,
                )
                rid = m.registry_id
        finally:
            store.dispose()
        typer.echo(f"{rid}  {name}")

    @maker_app.command("list")
    def maker_list(db: str | None = DB_OPTION) -> None:
        """List registered manufacturers."""
        from sqlalchemy import select

        from lightcomp.store.models import Manufacturer

        store = open_store(db)
        try:
            with store.transaction() as session:
                rows = [
                    (m.registry_id, m.name, m.country or "")
                    for m in session.scalars(
                        select(Manufacturer).order_by(Manufacturer.registry_id)
                    )
                ]
        finally:
            store.dispose()
        for rid, name, country in rows:
            typer.echo(f"{rid}  {name}  {country}".rstrip())

    @family_app.command("add")
    def family_add(
        name: str = typer.Argument(..., help="Family (model) name."),
        manufacturer: str = typer.Option(..., "--manufacturer", "-m", help="Registry id or name."),
        level: int = typer.Option(..., "--level", help="0 light source, 1 light engine / module."),
        category: str = typer.Option(
            ..., "--category", help="Category code, e.g. CB, LB, SM (see `lightcomp code tables`)."
        ),
        input_class: str = typer.Option(..., "--input", help="CC-DC, CV-DC or AC."),
        cct: int | None = typer.Option(
            None, "--cct", help="Nominal CCT in K (ANSI C78.377); omit for coloured light."
        ),
        cri: int | None = typer.Option(
            None, "--cri", help="Minimum Ra (60-100); omit for coloured light."
        ),
        flux: float = typer.Option(..., "--flux", help="Nominal luminous flux in lm."),
        model_seq: int | None = typer.Option(
            None, "--model-seq", help="Model sequence; default: next free."
        ),
        rated: str | None = typer.Option(
            None, "--rated", help="Nominal ratings as JSON, e.g. '{\"current_a\": 0.35}'."
        ),
        limits: str | None = typer.Option(
            None, "--limits", help='Limits as JSON, e.g. \'{"luminous_flux_lm": {"min": 1440}}\'.'
        ),
        spec_version: str | None = typer.Option(None, "--spec-version"),
        db: str | None = DB_OPTION,
    ) -> None:
        """Register a component family; print its type code."""
        from lightcomp.coding import register_family
        from lightcomp.coding.scheme import format_type_code

        rated_d = _json_option(rated, "rated")
        limits_d = _json_option(limits, "limits")
        store = open_store(db)
        try:
            with store.transaction() as session:
                f = register_family(
                    session,
                    manufacturer,
                    name,
                    level=level,
                    category=category,
                    input_class=input_class,
                    nominal_cct_k=cct,
                    cri_class=cri,
                    nominal_flux_lm=flux,
                    rated=rated_d,
                    limits=limits_d,
                    spec_version=spec_version,
                    model_seq=model_seq,
                )
                type_code = f.type_code
        finally:
            store.dispose()
        typer.echo(f"{format_type_code(type_code)}  {name}")

    @family_app.command("list")
    def family_list(
        manufacturer: str | None = typer.Option(None, "--manufacturer", "-m"),
        db: str | None = DB_OPTION,
    ) -> None:
        """List registered families (type code, manufacturer, name)."""
        from sqlalchemy import select

        from lightcomp.coding import find_manufacturer
        from lightcomp.store.models import Family

        store = open_store(db)
        try:
            with store.transaction() as session:
                q = select(Family).order_by(Family.type_code)
                if manufacturer is not None:
                    q = q.where(
                        Family.manufacturer_id == find_manufacturer(session, manufacturer).id
                    )
                rows = [
                    (f.type_code, f.manufacturer.registry_id, f.name) for f in session.scalars(q)
                ]
        finally:
            store.dispose()
        for tc, rid, name in rows:
            typer.echo(f"{tc}  {rid}  {name}")

    @registry_app.command("import")
    def registry_import(
        file: Path = typer.Argument(
            ..., help="Registry TOML file (e.g. station/registry/demo.toml)."
        ),
        db: str | None = DB_OPTION,
    ) -> None:
        """Import manufacturers and families from FILE (idempotent; updates ratings and limits)."""
        from lightcomp.coding import import_registry

        store = open_store(db)
        try:
            with store.transaction() as session:
                summary = import_registry(session, file)
        finally:
            store.dispose()
        for what, counts in summary.items():
            typer.echo(f"{what}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))

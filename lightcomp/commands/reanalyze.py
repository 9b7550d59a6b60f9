"""CLI: `lightcomp reanalyze` — recompute stored spectra as a new analysis version."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from lightcomp.commands.common import DB_OPTION
from lightcomp.errors import ConfigError


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        d = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--since {text!r} is not a date (YYYY-MM-DD)") from None
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _print(run) -> None:
    diff = run.as_dict(flips=False)  # (the flips may not fit in memory: run.flips)
    head = "would change" if diff["dry_run"] else "changed"
    typer.echo(
        f"{diff['analysis_version']}: {diff['components']} components re-analysed "
        f"({diff['selection']}), {diff['written']} new result rows stored"
        + (" (dry run: nothing stored)" if diff["dry_run"] else "")
    )
    sk = diff["skipped"]
    if sk["published"]:
        typer.echo(
            f"  {sk['published']} components of published lots kept on their published "
            "version (re-run with --publish to publish the new one)"
        )
    if sk["no_plan"]:
        typer.echo(f"  {sk['no_plan']} measurements without a stored test plan skipped")
    if sk["changed_meanwhile"]:
        typer.echo(f"  {sk['changed_meanwhile']} components measured again meanwhile: skipped")
    if diff["quantities"]:
        typer.echo(f"  quantities that {head} as shown (components, largest change):")
        for name, d in diff["quantities"].items():
            big = d["max_abs_change"]
            typer.echo(
                f"    {name:28s} {d['components_changed']:8d}   {big if big is not None else '-'}"
            )
    flips = diff["verdict_flips"]
    typer.echo(
        f"  verdict flips: {', '.join(f'{k} {v}' for k, v in flips.items()) or 'none'}; "
        f"ANSI bin flips: {diff['ansi_bin_flips']}; photometric code flips: "
        f"{diff['photometric_code_flips']}"
    )
    for maker, n in run.flip_counts().items():
        typer.echo(f"    {maker}: {n} verdict(s) flip, e.g. {next(run.flips(maker))['code']}")
    typer.echo(f"  {diff['seconds']:.1f} s")


def reanalyze(
    lot: str | None = typer.Option(None, "--lot", help="Re-analyse this lot."),
    family: str | None = typer.Option(None, "--family", help="Re-analyse this family."),
    since: str | None = typer.Option(None, "--since", help="Only measurements since DATE."),
    all_: bool = typer.Option(False, "--all", help="Re-analyse the whole archive."),
    version: str | None = typer.Option(
        None, "--version", help="Analysis version id (default: the current one)."
    ),
    engine: str = typer.Option("local", "--engine", help="local or dask."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Compute and report the changes; store nothing."
    ),
    publish: bool = typer.Option(
        False, "--publish", help="Also re-analyse published lots (publishes the new version)."
    ),
    reason: str | None = typer.Option(None, "--reason", help="Why (stored with every row)."),
    operator: str = typer.Option("lab", "--operator", help="Who (stored with every row)."),
    chunk: int = typer.Option(2000, "--chunk", help="Measurements per chunk."),
    report: Path | None = typer.Option(
        None, "--report", help="Write the diff report as JSON to this file."
    ),
    db: str | None = DB_OPTION,
) -> None:
    """Recompute stored spectra with the current analysis core; store new versions."""
    from lightcomp.reanalysis.run import Selection
    from lightcomp.reanalysis.run import reanalyze as run
    from lightcomp.store import Store

    if sum(x is not None and x is not False for x in (lot, family, all_ or None)) != 1:
        raise ConfigError("give exactly one of --lot, --family or --all (--since narrows it)")
    if report is not None and not report.parent.is_dir():
        raise ConfigError(f"--report: folder {report.parent} does not exist")
    store = Store.open(db, create=False)
    done = run(
        store,
        Selection(lot=lot, family=family, since=_since(since), all=all_),
        version=version,
        engine=engine,
        scheduler=scheduler,
        dry_run=dry_run,
        publish=publish,
        who=operator,
        why=reason,
        chunk=chunk,
    )
    store.dispose()
    _print(done)
    if report is not None:
        done.write_report(report)  # the flips streamed: they may not fit in memory


def register(app: typer.Typer) -> None:
    app.command("reanalyze")(reanalyze)

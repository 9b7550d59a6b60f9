"""CLI: ``lightcomp simlab start`` — serve the simulated lab in the foreground."""

from __future__ import annotations

import time
from pathlib import Path

import typer

simlab_app = typer.Typer(
    help="Simulated lab: instruments on real wire protocols over local TCP.", no_args_is_help=True
)


def load_station_toml(path: Path) -> dict:
    """Parse a station TOML file (PlanError naming the file on failure)."""
    from lightcomp.station.plan import read_toml

    return read_toml(path)[0]


@simlab_app.command("start")
def start(
    station: Path = typer.Option(
        Path("station/sim.toml"),
        "--station",
        "-s",
        help="Station TOML with [instruments.<role>] and [simlab].",
    ),
    ephemeral: bool = typer.Option(
        False,
        "--ephemeral/--fixed-ports",
        help="Pick free ports instead of those in the resources.",
    ),
    seed: int | None = typer.Option(
        None, help="Seed of the device lots and noise ([simlab] seed)."
    ),
    speedup: float | None = typer.Option(
        None, help="Virtual seconds per real second on top of clock sleeps ([simlab] speedup)."
    ),
) -> None:
    """Start every simulated instrument of STATION and print their resources; Ctrl-C stops."""
    from lightcomp.simlab import SimLab

    cfg = load_station_toml(station)
    lab = SimLab.start(cfg, ephemeral_ports=ephemeral, seed=seed, speedup=speedup)
    try:
        typer.echo(f"simlab running (seed {lab.world.seed}); resources:")
        for role, resource in lab.resources.items():
            typer.echo(f"  {role:<15} {resource}")
        typer.echo("Ctrl-C to stop.")
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        typer.echo("simlab stopped.")
    finally:
        lab.stop()


def register(app: typer.Typer) -> None:
    """Add the ``simlab`` command group to ``app``."""
    app.add_typer(simlab_app, name="simlab")

"""CLI: `lightcomp lm80` — IES LM-80 lumen-maintenance campaigns and their TM-21 projection.

``lm80 start`` registers a campaign (coded samples per case temperature), brings
the rig to its conditions and measures the 0 h interval; ``lm80 measure``
measures the due interval (``--until-done``: every remaining one; on the
simulated lab the virtual clock runs to each interval); ``lm80 status``,
``lm80 stop``, ``lm80 report``, ``lm80 export``, ``lm80 tm21`` and
``lm80 registry`` (a finished campaign becomes the family's LM-80 data).
A killed command resumes where it stopped: re-run ``lm80 measure``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from lightcomp.commands.common import DB_OPTION

SIM_STATION = "station/sim.toml"
SIM_RIG = "station/lm80/sim.toml"
HW_RIG = "station/lm80/rig.toml"


def _echo(msg: str) -> None:
    typer.echo(msg, err=True)


def _files(station: str | None, rig: str | None, simlab: bool, params: dict | None = None):
    from lightcomp.lm80.rig import load_rig
    from lightcomp.station.config import find_lab_root, load_station, resolve_file

    try:
        root = find_lab_root()
    except Exception:  # noqa: BLE001 - explicit paths still work without a lab folder
        root = None
    params = params or {}
    st_path = station or params.get("station_file") or (SIM_STATION if simlab else None)
    rig_path = rig or params.get("rig_file") or (SIM_RIG if simlab else HW_RIG)
    if st_path is None:
        from lightcomp.errors import PlanError

        raise PlanError("give --station S (the sphere station of the interval readings)")
    st = load_station(resolve_file(st_path, "station", root), lab_root=root)
    rg = load_rig(resolve_file(rig_path, "station", root))
    return st, rg


def _campaign_params(store, name: str) -> tuple[dict, str]:
    from lightcomp.lm80.campaign import get_campaign

    with store.transaction() as s:
        c = get_campaign(s, name)
        return dict(c.params or {}), c.clock


def register(app: typer.Typer) -> None:
    lm80 = typer.Typer(
        help="IES LM-80 lumen-maintenance campaigns (chambers, current rack, interval "
        "readings on the sphere station) and their TM-21-11 projection.",
        no_args_is_help=True,
    )
    app.add_typer(lm80, name="lm80")

    @lm80.command("start")
    def start(
        campaign: str = typer.Option(..., "--campaign", help="Campaign name (unique)."),
        family: str = typer.Option(..., "--family", help="Registered family (name or type code)."),
        samples: int = typer.Option(
            ..., "--samples", help="Units per case temperature (>= 20 for TM-21's 6x)."
        ),
        case_temperatures: str = typer.Option(
            ...,
            "--case-temperatures",
            help="Case temperatures in degC, e.g. 55,85,105 (one chamber each).",
        ),
        current_ma: float = typer.Option(
            ..., "--current-ma", help="Drive current (mA), ageing and readings."
        ),
        hours: float = typer.Option(..., "--hours", help="Campaign duration (h), e.g. 10000."),
        interval: float = typer.Option(
            1000.0, "--interval", help="Hours between readings (<= 1000)."
        ),
        station: str | None = typer.Option(
            None, "--station", help="Sphere station file (default with --simlab: station/sim.toml)."
        ),
        rig: str | None = typer.Option(
            None,
            "--rig",
            help="Rig file (default station/lm80/sim.toml with --simlab, else station/lm80/rig.toml).",
        ),
        simlab: bool = typer.Option(
            False, "--simlab", help="Run on the simulated lab (virtual clock)."
        ),
        manufacturer: str | None = typer.Option(
            None, "--manufacturer", help="Manufacturer, when the family name is ambiguous."
        ),
        operator: str | None = typer.Option(None, "--operator"),
        seed: int | None = typer.Option(None, "--seed", help="Simulated lab seed."),
        db: str | None = DB_OPTION,
    ) -> None:
        """Register a campaign, set up the rig and measure the 0 h interval."""
        from lightcomp.commands.common import open_store
        from lightcomp.lm80.campaign import (
            CampaignRunner,
            create_campaign,
            parse_temperatures,
            sample_size_note,
        )
        from lightcomp.lm80.rig import open_lab

        temps = parse_temperatures(case_temperatures)
        st, rg = _files(station, rig, simlab)
        store = open_store(db)
        info = create_campaign(
            store,
            name=campaign,
            family=family,
            samples=samples,
            case_temps_c=temps,
            current_a=current_ma / 1000.0,
            duration_h=hours,
            interval_h=interval,
            station=st,
            rig=rg,
            clock="simlab" if simlab else "system",
            operator=operator,
            manufacturer=manufacturer,
            seed=seed,
        )
        note = sample_size_note(samples)
        typer.echo(
            f"campaign {campaign}: {info['samples']} samples of {info['family']} in lot "
            f"{info['lot']} at {', '.join(f'{t:g}' for t in temps)} degC, {current_ma:g} mA, "
            f"{hours:g} h every {interval:g} h"
        )
        if note:
            typer.echo(f"note: {note}")
        with (
            open_lab(st, rg, simulated=simlab, seed=seed) as lab,
            CampaignRunner(store, campaign, lab, echo=_echo) as cr,
        ):
            cr.run()

    @lm80.command("measure")
    def measure(
        campaign: str = typer.Option(..., "--campaign"),
        until_done: bool = typer.Option(
            False,
            "--until-done",
            help="Measure every remaining interval (simulated lab: runs the virtual clock).",
        ),
        wait: bool = typer.Option(
            False, "--wait", help="Hardware: wait for the next interval instead of returning."
        ),
        station: str | None = typer.Option(None, "--station"),
        rig: str | None = typer.Option(None, "--rig"),
        simlab: bool = typer.Option(
            False, "--simlab", help="Implied for a campaign started with --simlab."
        ),
        db: str | None = DB_OPTION,
    ) -> None:
        """Measure the due interval (resumes a killed measurement without duplicates)."""
        from lightcomp.commands.common import open_store
        from lightcomp.lm80.campaign import CampaignRunner
        from lightcomp.lm80.rig import open_lab

        store = open_store(db)
        params, clock = _campaign_params(store, campaign)
        sim = simlab or clock == "simlab"
        st, rg = _files(station, rig, sim, params)
        with (
            open_lab(st, rg, simulated=sim, seed=params.get("seed")) as lab,
            CampaignRunner(store, campaign, lab, echo=_echo) as cr,
        ):
            done = cr.run(until_done=until_done, wait=wait)
        if not done:
            typer.echo(f"campaign {campaign}: nothing measured")

    @lm80.command("status")
    def status(
        campaign: str | None = typer.Option(None, "--campaign"),
        as_json: bool = typer.Option(False, "--json"),
        db: str | None = DB_OPTION,
    ) -> None:
        """Campaigns: intervals done, next reading due, excursions, outages, failures."""
        from lightcomp.commands.common import open_store
        from lightcomp.lm80.campaign import campaign_status

        rows = campaign_status(open_store(db), campaign)
        if as_json:
            typer.echo(json.dumps(rows, indent=2, default=str))
            return
        if not rows:
            typer.echo("no LM-80 campaigns")
        for r in rows:
            nxt = f", next reading at {r['next_due_h']:g} h" if r["next_due_h"] is not None else ""
            typer.echo(
                f"{r['campaign']}: {r['status']}, {r['family']}, {r['samples']} samples at "
                f"{', '.join(f'{t:g}' for t in r['case_temps_c'])} degC, {r['current_ma']:g} mA; "
                f"{r['intervals_done']}/{r['intervals_total']} intervals"
                + (f" (last {r['last_hours']:g} h)" if r["last_hours"] is not None else "")
                + nxt
                + f"; {r['excursions']} excursion(s), {r['outages']} outage(s), "
                f"{r['failures']} failure(s)" + (f" — {r['end_reason']}" if r["end_reason"] else "")
            )

    @lm80.command("stop")
    def stop(
        campaign: str | None = typer.Option(
            None, "--campaign", help="Default: the one running campaign."
        ),
        reason: str = typer.Option("stopped by operator", "--reason"),
        db: str | None = DB_OPTION,
    ) -> None:
        """Stop a running campaign (its data stay; the rig is switched off when reachable)."""
        from lightcomp.commands.common import open_store
        from lightcomp.errors import LightcompError
        from lightcomp.lm80.campaign import stop_campaign
        from lightcomp.lm80.rig import open_lab

        store = open_store(db)
        name = stop_campaign(store, campaign, reason)
        typer.echo(f"campaign {name}: stopped ({reason})")
        params, clock = _campaign_params(store, name)
        if clock == "simlab":
            return  # the simulated rig lives only while a command runs
        try:
            from lightcomp.lm80.campaign import CampaignRunner

            st, rg = _files(None, None, False, params)
            with open_lab(st, rg, simulated=False) as lab, CampaignRunner(store, name, lab) as cr:
                cr.finish_rig()
        except LightcompError as exc:
            _echo(f"warning: rig not switched off ({exc}); switch it off by hand")

    @lm80.command("export")
    def export(
        campaign: str = typer.Option(..., "--campaign"),
        fmt: str = typer.Option("csv", "--format", help="csv or json"),
        out: Path | None = typer.Option(None, "-o", "--out", help="Output file (default stdout)."),
        db: str | None = DB_OPTION,
    ) -> None:
        """One row per sample per interval: code, Tc, current, hours, flux, normalised, u', v', du'v', failed."""
        from lightcomp.commands.common import open_store
        from lightcomp.errors import ReportError
        from lightcomp.lm80.results import EXPORT_COLUMNS, campaign_data, export_rows

        if fmt not in ("csv", "json"):
            raise ReportError(f"--format must be csv or json, got {fmt!r}")
        rows = export_rows(campaign_data(open_store(db), campaign))
        if fmt == "json":
            text = json.dumps(rows, indent=1)
        else:
            import csv
            import io

            from lightcomp.csvcells import safe_cell

            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
            w.writeheader()
            for r in rows:
                w.writerow({k: ("" if v is None else safe_cell(v)) for k, v in r.items()})
            text = buf.getvalue()
        if out is None:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        else:
            out.write_text(text, encoding="utf-8")
            typer.echo(f"{len(rows)} rows -> {out}")

    @lm80.command("tm21")
    def tm21(
        campaign: str = typer.Option(..., "--campaign"),
        ts: float | None = typer.Option(
            None, "--ts", help="In-situ case temperature (degC): TM-21 interpolation."
        ),
        as_json: bool = typer.Option(False, "--json"),
        db: str | None = DB_OPTION,
    ) -> None:
        """TM-21-11 per case temperature: units, fit window, alpha, B, L70/L90 (and in-situ Ts)."""
        from lightcomp.commands.common import open_store
        from lightcomp.lm80.results import campaign_data, tm21_by_temperature, tm21_in_situ_result

        data = campaign_data(open_store(db), campaign)
        res = tm21_by_temperature(data)
        insitu = tm21_in_situ_result(res, ts) if ts is not None else None
        if as_json:
            typer.echo(
                json.dumps(
                    {"campaign": campaign, "by_case_temperature": res, "in_situ": insitu}, indent=2
                )
            )
            return
        typer.echo(
            f"TM-21-11 projection, campaign {campaign} ({data['family']}, "
            f"{data['current_a'] * 1000:g} mA)"
        )
        for r in res:
            head = f"Tc {r['case_temp_c']:g} degC: {r['units']} units"
            if r["failures"]:
                head += f" ({len(r['failures'])} failed, excluded)"
            if r.get("projection") is None:
                typer.echo(f"{head}; no projection: {r.get('reason')}")
                continue
            w0, w1 = r["fit_window_h"]
            typer.echo(
                f"{head}; fit {w0:g}-{w1:g} h ({r['n_points']} points); alpha {r['alpha']:.4e} /h, "
                f"B {r['b']:.4f}; L70 calculated {r['projection']['L70']['calculated_h']:,.0f} h; "
                f"{r['projection']['L70']['text']}; {r['projection']['L90']['text']}"
            )
            if r["delta_uv_mean"]:
                typer.echo(
                    f"  chromaticity shift at {r['test_duration_h']:g} h: du'v' mean "
                    f"{r['delta_uv_mean'][-1]:.5f}, max {r['delta_uv_max'][-1]:.5f}"
                )
            if r["note"]:
                typer.echo(f"  note: {r['note']}")
        if insitu:
            p = insitu["projection"]
            typer.echo(
                f"in situ Ts {insitu['ts_c']:g} degC (from {', '.join(f'{t:g}' for t in insitu['from_c'])} "
                f"degC): alpha {insitu['alpha']:.4e} /h, B {insitu['b']:.4f}; {p['L70']['text']}; "
                f"{p['L90']['text']}"
            )

    @lm80.command("report")
    def report(
        campaign: str = typer.Option(..., "--campaign"),
        out: Path = typer.Option(..., "-o", "--out", help="FILE.pdf or FILE.html"),
        ts: float | None = typer.Option(
            None, "--ts", help="Also project at this in-situ case temperature."
        ),
        db: str | None = DB_OPTION,
    ) -> None:
        """The LM-80 report with its TM-21 table (HTML or PDF by the file's extension)."""
        from lightcomp.commands.common import open_store
        from lightcomp.reports.lm80_report import write_lm80_report

        path = write_lm80_report(open_store(db), campaign, out, ts_c=ts)
        typer.echo(f"LM-80 report -> {path}")

    @lm80.command("registry")
    def to_registry(
        campaign: str = typer.Option(..., "--campaign"),
        case_temperature: float = typer.Option(
            ..., "--case-temperature", help="Which case temperature's data the family gets."
        ),
        rated_life_h: float | None = typer.Option(None, "--rated-life-h"),
        actor: str | None = typer.Option(None, "--by", help="Who decides (audit trail)."),
        db: str | None = DB_OPTION,
    ) -> None:
        """Make a finished campaign the family's registry LM-80 data (source: the campaign)."""
        from lightcomp.commands.common import open_store
        from lightcomp.lm80.results import publish_to_registry

        v = publish_to_registry(
            open_store(db), campaign, case_temperature, rated_life_h=rated_life_h, actor=actor
        )
        typer.echo(
            f"family LM-80 data <- {v['source']} at {case_temperature:g} degC "
            f"({len(v['flux'])} units, {v['hours'][-1]:g} h)"
        )

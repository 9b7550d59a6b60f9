"""Helpers for the station, calibration and demo tests: a running simulated lab, a
registered + calibrated store, and station files pointing at the lab's ports."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIM_STATION = REPO / "station" / "sim.toml"
PLAN_DC = REPO / "station" / "plans" / "LS0-COB-4000.toml"
PLAN_AC = REPO / "station" / "plans" / "LM1-AC-3000.toml"
REGISTRY = REPO / "station" / "registry" / "demo.toml"
LAMP = REPO / "calibration" / "lamps" / "SIM-STD-001.toml"


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {v!r} as TOML")


def dump_toml(data: dict) -> str:
    """Minimal TOML writer for station files (tables of scalars, one level of sub-tables)."""
    lines: list[str] = []

    def table(name: str, t: dict) -> None:
        scalars = {k: v for k, v in t.items() if not isinstance(v, dict) or k == "options"}
        subs = {k: v for k, v in t.items() if isinstance(v, dict) and k != "options"}
        if scalars:
            lines.append(f"[{name}]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in scalars.items())
            lines.append("")
        for k, v in subs.items():
            table(f"{name}.{k}", v)

    for name, t in data.items():
        table(name, t)
    return "\n".join(lines) + "\n"


def station_data(spectro: str | None = None) -> dict:
    """station/sim.toml as a dict, optionally with another spectroradiometer driver."""
    from lightcomp.station.plan import read_toml

    data, _ = read_toml(SIM_STATION)
    if spectro == "array-spectrometer":
        data["instruments"]["spectro"] = {
            "driver": "array-spectrometer",
            "resource": "socket://127.0.0.1:1",
            "identity": "LCAS-ARRAY",
            "timeout_s": 2.0,
            "retries": 2,
        }
    return data


def write_station_file(
    path: Path,
    resources: dict[str, str],
    *,
    timeout_s: float = 0.5,
    name: str = "SIM-T",
    lamp: Path = LAMP,
    spectro: str | None = None,
) -> Path:
    """A copy of station/sim.toml whose instruments point at a running simlab."""
    data = station_data(spectro)
    data.pop("simlab", None)
    for role, t in data["instruments"].items():
        t["resource"] = resources[role]
        t["timeout_s"] = timeout_s
    data["clock"] = {"kind": "simlab", "resource": resources.get("clock", resources["fixture"])}
    data["station"] = {**data.get("station", {}), "name": name}
    data["calibration"] = {**data.get("calibration", {}), "lamp": str(lamp)}
    path.write_text(dump_toml(data))
    return path


class Lab:
    """A running simulated lab + a station config pointing at it + a prepared store."""

    def __init__(
        self,
        tmp_path: Path,
        db_url: str,
        *,
        seed: int = 0,
        timeout_s: float = 0.5,
        calibrate: bool = True,
        spectro: str | None = None,
    ) -> None:
        from lightcomp.coding import import_registry
        from lightcomp.simlab import SimLab
        from lightcomp.station.config import load_station
        from lightcomp.store import Store

        self.simlab = SimLab.start(station_data(spectro), ephemeral_ports=True, seed=seed)
        self.station_path = write_station_file(
            tmp_path / "station.toml", self.simlab.resources, timeout_s=timeout_s, spectro=spectro
        )
        self.station = load_station(self.station_path, lab_root=REPO)
        self.db_url = db_url
        self.store = Store.open(db_url)
        with self.store.transaction() as s:
            import_registry(s, REGISTRY)
        self.calibration = None
        if calibrate:
            from lightcomp.station.lab import calibrate as do_calibrate

            self.calibration = do_calibrate(self.store, self.station, operator="test")

    def runner(self, plan_path: Path = PLAN_DC, lot: str = "LOT-T1", **kw):
        from lightcomp.station.plan import load_plan
        from lightcomp.station.runner import BatchRunner

        return BatchRunner(self.store, self.station, load_plan(plan_path), lot, **kw)

    def close(self) -> None:
        self.store.dispose()
        self.simlab.stop()


def lot_rows(store, lot: str) -> tuple[list, list]:
    """(components, measurements) of a lot as plain tuples."""
    from sqlalchemy import select

    from lightcomp.store.models import Component, Lot, Measurement, current_measurement_clause

    with store.transaction() as s:
        comps = s.execute(
            select(
                Component.id, Component.product_code, Component.status, Component.external_serial
            )
            .join(Lot)
            .where(Lot.name == lot)
            .order_by(Component.id)
        ).all()
        meas = s.execute(
            select(
                Measurement.id,
                Measurement.component_id,
                Measurement.verdict,
                current_measurement_clause().label("current"),
                Measurement.test_run_id,
                Measurement.calibration_id,
                Measurement.error_message,
            )
            .join(Component, Measurement.component_id == Component.id)
            .join(Lot)
            .where(Lot.name == lot)
            .order_by(Measurement.id)
        ).all()
    # (id, component_id, verdict, current as bool, test_run_id, calibration_id, error)
    return [tuple(c) for c in comps], [(*m[:3], bool(m[3]), *m[4:]) for m in meas]

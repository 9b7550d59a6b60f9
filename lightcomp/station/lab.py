"""Glue for commands: a station with (optionally) its simulated lab, and calibrating it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lightcomp.errors import CalibrationError
from lightcomp.station.config import StationConfig


@contextmanager
def simulated_station(
    station: StationConfig, *, seed: int | None = None
) -> Iterator[StationConfig]:
    """Start the station's simulated lab in this process (ephemeral ports) for the block.

    Yields the station config with its resources pointing at the running lab.
    """
    from lightcomp.simlab import SimLab

    raw = simlab_config(station)
    with SimLab.start(raw, ephemeral_ports=True, seed=seed) as lab:
        yield station.with_resources(lab.resources)


def simlab_config(station: StationConfig) -> dict:
    """The station's raw configuration for :meth:`lightcomp.simlab.SimLab.start`, with the
    device models and the standard lamps' folder resolved in the lab folder (passed in the
    configuration: nothing in the simulated lab is patched)."""
    raw = dict(station.raw)
    sim = dict(raw.get("simlab", {}))
    root = station.lab_root
    if root is not None:
        devices = sim.get("devices")
        if devices and not Path(devices).is_absolute():
            sim["devices"] = str(root / devices)
        elif not devices and (root / "station" / "simlab" / "devices.toml").is_file():
            sim["devices"] = str(root / "station" / "simlab" / "devices.toml")
        if (root / "calibration" / "lamps").is_dir():
            sim.setdefault("lamps", str(root / "calibration" / "lamps"))
    raw["simlab"] = sim
    return raw


def calibrate(
    store,
    station: StationConfig,
    *,
    lamp: str | Path | None = None,
    operator: str | None = None,
    validity_days: float | None = None,
    instruments=None,
    clock=None,
):
    """Calibrate ``station`` with its standard lamp (or ``lamp``) and store the result.

    Opens the station's instruments and clock unless given; leaves them safe.
    """
    from lightcomp.calibration import load_certificate
    from lightcomp.station.calibrate import calibrate_station
    from lightcomp.station.instruments import StationInstruments

    lamp_path = Path(lamp) if lamp else station.lamp_path()
    if lamp_path is None:
        raise CalibrationError(
            f"station {station.name!r} names no standard lamp: set [calibration] lamp in "
            f"{station.path} or give --lamp"
        )
    cert = load_certificate(lamp_path)
    own = instruments is None
    own_clock = clock is None
    inst = instruments or StationInstruments(station).open_all()
    try:
        clk = clock or station.make_clock()
        try:
            return calibrate_station(
                store,
                station.name,
                inst["spectro"],
                inst["fixture"],
                cert,
                source=inst.get("source"),
                clock=clk,
                operator=operator,
                validity_days=validity_days or station.validity_days,
                warmup_s=station.warmup_s,
                instruments=dict(inst.identities),
                line_lamp=station.line_lamp,
            )
        finally:
            if own_clock and hasattr(clk, "close"):
                clk.close()
    finally:
        inst.safe_all()
        if own:
            inst.close_all()

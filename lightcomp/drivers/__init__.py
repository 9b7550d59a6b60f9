"""Instrument drivers and the registry from a station config name to a driver class.

``open_instrument(config)`` opens the connection named by ``config.resource``
(VISA resource on pyvisa-py, pyserial URL or serial port; see
:mod:`lightcomp.drivers.transport`), builds the driver and checks its identity
against ``config.identity``.

=======================  =============================================  ==================
name                     class                                          interface
=======================  =============================================  ==================
``keithley2400``         :class:`~.keithley.Keithley2400Source`         DCSource
``e36312a``              :class:`~.keysight.KeysightE36312ASupply`      DCSource
``wt310e``               :class:`~.yokogawa.YokogawaWT310E`             PowerAnalyzer
``chroma61600``          :class:`~.chroma.Chroma61600Source`            ACSource
``cs2000``               :class:`~.konicaminolta.KonicaMinoltaCS2000`   Spectroradiometer
``array-spectrometer``   :class:`~.array_spectrometer.ArraySpectrometer` Spectroradiometer
``ls218``                :class:`~.lakeshore.LakeShore218`              TemperatureLogger
``sim-fixture``          :class:`~.simfixture.SimFixture`               Fixture
``operator``             :class:`~.operator.OperatorFixture`            Fixture (a person)
``keysight33500``        :class:`~.keysight33500.Keysight33500Generator` FunctionGenerator
``dsox1102g``            :class:`~.keysight_dsox.KeysightDSOX1102GScope` Oscilloscope
``sim-vlc-fixture``      :class:`~.simfixture.SimVlcFixture`            Fixture + filter
=======================  =============================================  ==================
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from lightcomp.drivers.base import Instrument, InstrumentConfig
from lightcomp.errors import InstrumentError, PlanError

DRIVERS: dict[str, str] = {
    "keithley2400": "lightcomp.drivers.keithley:Keithley2400Source",
    "e36312a": "lightcomp.drivers.keysight:KeysightE36312ASupply",
    "wt310e": "lightcomp.drivers.yokogawa:YokogawaWT310E",
    "chroma61600": "lightcomp.drivers.chroma:Chroma61600Source",
    "cs2000": "lightcomp.drivers.konicaminolta:KonicaMinoltaCS2000",
    "array-spectrometer": "lightcomp.drivers.array_spectrometer:ArraySpectrometer",
    "ls218": "lightcomp.drivers.lakeshore:LakeShore218",
    "sim-fixture": "lightcomp.drivers.simfixture:SimFixture",
    "operator": "lightcomp.drivers.operator:OperatorFixture",
    "keysight33500": "lightcomp.drivers.keysight33500:Keysight33500Generator",
    "dsox1102g": "lightcomp.drivers.keysight_dsox:KeysightDSOX1102GScope",
    "sim-vlc-fixture": "lightcomp.drivers.simfixture:SimVlcFixture",
    "modbus-chamber": "lightcomp.drivers.chamber:ModbusChamber",
    "lm80-rack": "lightcomp.drivers.rack:CurrentRack",
}
"""Registry: config name -> ``module:Class``."""


def driver_class(name: str) -> type:
    """The driver class registered as ``name``."""
    try:
        module, cls = DRIVERS[name].split(":")
    except KeyError:
        raise PlanError(
            f"unknown instrument driver {name!r}; known: {', '.join(sorted(DRIVERS))}"
        ) from None
    return getattr(importlib.import_module(module), cls)


def instrument_config(role: str, table: Mapping[str, Any]) -> InstrumentConfig:
    """Build an InstrumentConfig from one ``[instruments.<role>]`` TOML table."""
    known = {"driver", "resource", "identity", "timeout_s", "retries", "options"}
    unknown = set(table) - known
    if unknown:
        raise PlanError(f"[instruments.{role}]: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("driver", "resource"):
        if not isinstance(table.get(key), str) or not table[key]:
            raise PlanError(f"[instruments.{role}]: '{key}' (a string) is required")
    timeout_s = float(table.get("timeout_s", 5.0))
    retries = int(table.get("retries", 2))
    if timeout_s <= 0 or retries < 0:
        raise PlanError(f"[instruments.{role}]: timeout_s must be > 0 and retries >= 0")
    return InstrumentConfig(
        role=role,
        driver=table["driver"],
        resource=table["resource"],
        identity=table.get("identity"),
        timeout_s=timeout_s,
        retries=retries,
        options=dict(table.get("options", {})),
    )


def open_instrument(config: InstrumentConfig, *, check_identity: bool = True) -> Instrument:
    """Open the driver named by ``config.driver`` on ``config.resource``.

    Raises PlanError for an unknown driver name and InstrumentError when the
    connection cannot be opened or the identity does not match.
    """
    from lightcomp.drivers.transport import open_adapter

    cls = driver_class(config.driver)
    if not getattr(cls, "needs_connection", True):  # e.g. the operator fixture
        inst = cls(None, config=config)
        if check_identity:
            inst.check_identity()
        return inst

    def connect():
        return open_adapter(
            config,
            read_termination=getattr(cls, "read_termination", "\n"),
            write_termination=getattr(cls, "write_termination", "\n"),
            serial_settings=getattr(cls, "serial_settings", None),
        )

    adapter = connect()
    try:
        inst = cls(adapter, config=config)
    except InstrumentError:
        adapter.close()
        raise
    except Exception as exc:  # noqa: BLE001 - constructor I/O (e.g. Keithley :FORMAT:ELEMENTS)
        adapter.close()
        raise InstrumentError(
            f"{config.role} ({config.driver}) at {config.resource}: start-up failed: {exc}"
        ) from exc
    inst._reconnect = connect
    if check_identity:
        try:
            inst.check_identity()
        except Exception:
            inst.close()
            raise
    return inst


__all__ = ["DRIVERS", "driver_class", "instrument_config", "open_instrument"]

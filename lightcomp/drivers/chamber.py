"""Temperature-chamber controller over Modbus TCP (holding registers), for LM-80 ageing.

Common chamber controllers expose set-point and process value as Modbus holding
registers in tenths of a degree; this driver speaks that convention through
pymodbus (Modbus Application Protocol v1.1b3: function 03 read holding
registers, 06 write single register, 16 write multiple registers; MBAP framing
over TCP port 502). The register map below is lightcomp's generic controller
map (*verify* the addresses against the controller's manual: they differ
between makers; override them with ``options.registers``):

==========  =======  ====================================================
register    access   meaning
==========  =======  ====================================================
0           R        process value PV (int16, 0.1 degC)
1           R/W      set-point SP (int16, 0.1 degC)
2           R/W      run (1) / stop (0)
3           R        alarm bits: bit 0 deviation alarm active now
4           R        excursion log count (monotonic since the log was cleared)
5           R/W      excursion log entry selector (1-based)
6, 7        R        selected entry: start, campaign hours x 100 (uint32, hi, lo)
8           R        selected entry: duration, hours x 100 (uint16)
9           R        selected entry: peak deviation from SP (int16, 0.1 K)
10          R/W      deviation alarm band (0.1 K)
100-107     R        model name, ASCII, 2 characters per register
==========  =======  ====================================================

Resource strings: ``modbus-tcp://host:port`` (``options.unit`` = Modbus unit
id, default 1). Reads are retried ``config.retries`` times after time-outs,
garbage or a Modbus exception response; writes are not retried.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from lightcomp.drivers.base import Instrument, InstrumentConfig

REG_PV = 0
REG_SP = 1
REG_RUN = 2
REG_ALARM = 3
REG_EXC_COUNT = 4
REG_EXC_SELECT = 5
REG_EXC_START = 6  # 2 registers
REG_EXC_DURATION = 8
REG_EXC_PEAK = 9
REG_BAND = 10
REG_MODEL = 100
MODEL_REGS = 8

MODBUS_EXCEPTIONS = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
}


def _s16(v: int) -> int:
    return v - 0x10000 if v & 0x8000 else v


def _u16(v: int) -> int:
    return int(v) & 0xFFFF


@dataclass(frozen=True)
class ChamberExcursion:
    """One entry of the controller's excursion log."""

    index: int
    start_h: float
    duration_h: float
    peak_delta_c: float


def parse_resource(resource: str) -> tuple[str, int]:
    m = re.fullmatch(r"modbus-tcp://([^:/]+):(\d+)/?", resource.strip(), flags=re.I)
    if not m:
        raise ValueError(f"resource {resource!r} is not modbus-tcp://host:port")
    return m.group(1), int(m.group(2))


class ModbusChamber(Instrument):
    """Temperature chamber controller on Modbus TCP (registry name ``modbus-chamber``)."""

    needs_connection = False  # opens its own pymodbus client (not a VISA/serial adapter)

    def __init__(self, adapter=None, config: InstrumentConfig | None = None, *, client=None):
        from lightcomp.errors import PlanError

        self.config = config or InstrumentConfig(
            role="chamber", driver="modbus-chamber", resource="modbus-tcp://127.0.0.1:502"
        )
        self.unit_id = int(self.config.options.get("unit", 1))
        if client is None:
            from pymodbus.client import ModbusTcpClient

            try:
                host, port = parse_resource(self.config.resource)
            except ValueError as exc:
                raise PlanError(f"[instruments.{self.config.role}]: {exc}") from None
            # pymodbus retries internally too; lightcomp counts attempts itself. Its own log
            # lines would repeat what the InstrumentError below says, with less context.
            logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
            client = ModbusTcpClient(host, port=port, timeout=self.config.timeout_s, retries=0)
        self.client = client

    # -- plumbing --------------------------------------------------------------------
    @property
    def label(self) -> str:
        c = self.config
        return f"{c.role} ({c.driver}) at {c.resource}"

    def error(self, reason: str):
        from lightcomp.errors import InstrumentError

        return InstrumentError(f"{self.label}: {reason}")

    def _call(self, what: str, fn, *, attempts: int):
        """Run one Modbus request; returns the response or raises InstrumentError."""
        from pymodbus.exceptions import ModbusException

        reason = "no attempt"
        for _ in range(attempts):
            try:
                if not self.client.connected and not self.client.connect():
                    reason = "cannot connect"
                    continue
                rr = fn()
            except ModbusException as exc:
                reason = f"no valid reply ({type(exc).__name__}: {str(exc)[:120]})"
                self.client.close()  # drop any partial frame
                continue
            except (OSError, ValueError) as exc:
                reason = f"communication failed ({type(exc).__name__}: {exc})"
                self.client.close()
                continue
            if rr.isError():
                code = getattr(rr, "exception_code", None)
                reason = (
                    f"Modbus exception {code} ({MODBUS_EXCEPTIONS.get(code, 'unknown')})"
                    if code is not None
                    else f"error response {rr}"
                )
                continue
            return rr
        raise self.error(f"{what}: {reason} after {attempts} attempt(s)")

    def read_registers(self, address: int, count: int = 1) -> list[int]:
        """Holding registers ``address``.. (function 03), retried."""
        rr = self._call(
            f"read holding registers {address}..{address + count - 1}",
            lambda: self.client.read_holding_registers(
                address, count=count, device_id=self.unit_id
            ),
            attempts=1 + max(int(self.config.retries), 0),
        )
        regs = list(getattr(rr, "registers", []) or [])
        if len(regs) < count:
            raise self.error(f"read {address}: {len(regs)} register(s) returned, {count} asked")
        return regs[:count]

    def write_register(self, address: int, value: int) -> None:
        """Write one holding register (function 06); never retried."""
        self._call(
            f"write register {address} = {value}",
            lambda: self.client.write_register(address, _u16(value), device_id=self.unit_id),
            attempts=1,
        )

    # -- interface ---------------------------------------------------------------------
    def identify(self) -> str:
        regs = self.read_registers(REG_MODEL, MODEL_REGS)
        raw = b"".join(int(r).to_bytes(2, "big") for r in regs)
        return raw.decode("ascii", errors="replace").rstrip("\x00 ")

    def check_identity(self) -> str:
        ident = self.identify()
        want = self.config.identity
        if want and want.lower() not in ident.lower():
            raise self.error(f"identity {ident!r} does not contain {want!r}")
        return ident

    def process_value_c(self) -> float:
        """Chamber temperature PV (degC)."""
        return _s16(self.read_registers(REG_PV)[0]) / 10.0

    def set_point_c(self) -> float:
        return _s16(self.read_registers(REG_SP)[0]) / 10.0

    def set_temperature(self, temp_c: float) -> None:
        """Set SP (degC, 0.1 degC resolution) and read it back."""
        value = round(float(temp_c) * 10)
        if not -2000 <= value <= 3000:
            raise self.error(f"set-point {temp_c} degC out of range")
        self.write_register(REG_SP, value)
        back = self.set_point_c()
        if abs(back - value / 10.0) > 0.05:
            raise self.error(f"set-point read back {back} degC, wrote {value / 10.0} degC")

    def run(self, on: bool) -> None:
        self.write_register(REG_RUN, 1 if on else 0)

    def running(self) -> bool:
        return bool(self.read_registers(REG_RUN)[0])

    def alarm(self) -> bool:
        return bool(self.read_registers(REG_ALARM)[0] & 1)

    def set_alarm_band(self, band_k: float) -> None:
        self.write_register(REG_BAND, round(float(band_k) * 10))

    def excursions(self, first: int = 1) -> list[ChamberExcursion]:
        """Excursion log entries from ``first`` (1-based) to the controller's count."""
        count = self.read_registers(REG_EXC_COUNT)[0]
        out = []
        for k in range(max(first, 1), count + 1):
            self.write_register(REG_EXC_SELECT, k)
            sel, hi, lo, dur, peak = self.read_registers(REG_EXC_SELECT, 5)
            if sel != k:
                raise self.error(f"excursion log selector reads {sel}, wrote {k}")
            out.append(ChamberExcursion(k, ((hi << 16) | lo) / 100.0, dur / 100.0, _s16(peak) / 10))
        return out

    def safe_state(self) -> None:
        """A chamber is left as it is: stopping it would break the campaign's conditions."""

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # noqa: BLE001 - closing a broken link may fail
            pass

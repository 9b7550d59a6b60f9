"""The simulated LM-80 rig: temperature chambers (Modbus TCP), a current-source rack
(SCPI) and a case-temperature logger (Lake Shore 218 protocol), sharing the
simulated lab's :class:`~lightcomp.simlab.world.World` and its virtual clock.

Campaign hour = ``world.now() / 3600``. Samples are mounted on the rig
(:meth:`Lm80Rig.mount`, the simulated technician); from then on the sphere
station sees each of them aged by :mod:`lightcomp.simlab.ageing` at the current
campaign hour (``World.unit_modifier``), and the instruments report what the
rig's :class:`~lightcomp.simlab.ageing.Timeline` says: excursions in the
chambers' logs, interruptions and open circuits on the rack.

Rig file (``station/lm80/sim.toml``)::

    [rig]      name, chambers (count), channels
    [instruments.chamber1..N]  driver = "modbus-chamber"
    [instruments.rack]         driver = "lm80-rack"
    [instruments.tc_logger]    driver = "ls218"   (input k = chamber k's Tc point)
    [simlab]   seed, excursion_rate_per_h, outage_rate_per_h, horizon_h,
               [simlab.ageing] (AgeingParams), [[simlab.excursions]] chamber/at_h/
               duration_h/delta_c, [[simlab.outages]] channel/at_h/duration_h,
               [[simlab.failures]] channel/at_h
    [simlab.faults.<role>]  fault, count, after  (timeout | garbled | exception | disconnect)
"""

from __future__ import annotations

import dataclasses
import math
import socket
import socketserver
import struct
import threading
from collections.abc import Mapping
from typing import Any

from lightcomp.drivers import chamber as reg
from lightcomp.drivers.rack import INTERRUPTED, OPEN_CIRCUIT
from lightcomp.errors import PlanError
from lightcomp.simlab import device as dev
from lightcomp.simlab import scpi
from lightcomp.simlab.ageing import AgeingParams, AgeingUnit, Timeline
from lightcomp.simlab.instruments import FaultQueue, LS218Sim, SimInstrument
from lightcomp.simlab.server import GARBAGE, InstrumentServer
from lightcomp.simlab.world import World

MODBUS_FAULTS = ("timeout", "garbled", "exception", "disconnect")


class _ModbusFaults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._q: list[str] = []
        self._skip = 0

    def add(self, fault: str, count: int = 1, after: int = 0) -> None:
        if fault not in MODBUS_FAULTS:
            raise PlanError(f"unknown Modbus fault {fault!r}; known: {', '.join(MODBUS_FAULTS)}")
        with self._lock:
            self._skip = max(self._skip, after)
            self._q.extend([fault] * count)

    def take(self) -> str | None:
        with self._lock:
            if not self._q:
                return None
            if self._skip:
                self._skip -= 1
                return None
            return self._q.pop(0)


class ChamberSim:
    """One temperature chamber: holding registers of :mod:`lightcomp.drivers.chamber`."""

    model = "LC-TC1000 SIM"

    def __init__(self, rig: Lm80Rig, index: int) -> None:
        self.rig = rig
        self.index = index
        self.sp_c = 25.0
        self.run = False
        self.band_k = 2.0
        self.select = 0
        self.faults = _ModbusFaults()
        self.lock = threading.Lock()

    def pv_c(self) -> float:
        w = self.rig.world
        if not self.run:
            return w.ambient_c
        t_h = self.rig.hours()
        return self.sp_c + self.rig.timeline.delta_c(self.index, t_h) + 0.03 * float(w.noise())

    def _log(self) -> list:
        return self.rig.timeline.chamber_excursions(self.index, self.rig.hours())

    def read(self, address: int) -> int | None:
        """Register value, or None for an address the controller does not have."""
        if address == reg.REG_PV:
            return round(self.pv_c() * 10) & 0xFFFF
        if address == reg.REG_SP:
            return round(self.sp_c * 10) & 0xFFFF
        if address == reg.REG_RUN:
            return int(self.run)
        if address == reg.REG_ALARM:
            return int(self.run and abs(self.pv_c() - self.sp_c) > self.band_k)
        if address == reg.REG_EXC_COUNT:
            return len(self._log())
        if address == reg.REG_EXC_SELECT:
            return self.select
        if reg.REG_EXC_START <= address <= reg.REG_EXC_PEAK:
            log = self._log()
            if not 1 <= self.select <= len(log):
                return 0
            e = log[self.select - 1]
            start = round(e.start_h * 100)
            return {
                reg.REG_EXC_START: (start >> 16) & 0xFFFF,
                reg.REG_EXC_START + 1: start & 0xFFFF,
                reg.REG_EXC_DURATION: min(round(e.duration_h * 100), 0xFFFF),
                reg.REG_EXC_PEAK: round(e.delta_c * 10) & 0xFFFF,
            }[address]
        if address == reg.REG_BAND:
            return round(self.band_k * 10)
        if reg.REG_MODEL <= address < reg.REG_MODEL + reg.MODEL_REGS:
            raw = self.model.encode().ljust(2 * reg.MODEL_REGS, b"\0")
            i = 2 * (address - reg.REG_MODEL)
            return int.from_bytes(raw[i : i + 2], "big")
        return None

    def write(self, address: int, value: int) -> bool:
        signed = value - 0x10000 if value & 0x8000 else value
        if address == reg.REG_SP:
            if not -2000 <= signed <= 3000:
                return False
            self.sp_c = signed / 10.0
        elif address == reg.REG_RUN:
            if value not in (0, 1):
                return False
            self.run = bool(value)
        elif address == reg.REG_EXC_SELECT:
            self.select = value
        elif address == reg.REG_BAND:
            self.band_k = value / 10.0
        else:
            return False
        return True

    def pdu(self, pdu: bytes) -> bytes:
        """Answer one Modbus PDU (function code + data)."""
        fc = pdu[0]
        try:
            if fc == 3:
                addr, count = struct.unpack(">HH", pdu[1:5])
                if not 1 <= count <= 125:
                    return bytes([fc | 0x80, 3])
                vals = [self.read(a) for a in range(addr, addr + count)]
                if any(v is None for v in vals):
                    return bytes([fc | 0x80, 2])
                return bytes([fc, 2 * count]) + struct.pack(f">{count}H", *vals)
            if fc == 6:
                addr, value = struct.unpack(">HH", pdu[1:5])
                if self.read(addr) is None:
                    return bytes([fc | 0x80, 2])
                return pdu[:5] if self.write(addr, value) else bytes([fc | 0x80, 3])
            if fc == 16:
                addr, count, nbytes = struct.unpack(">HHB", pdu[1:6])
                vals = struct.unpack(f">{count}H", pdu[6 : 6 + nbytes])
                for i, v in enumerate(vals):
                    if not self.write(addr + i, v):
                        return bytes([fc | 0x80, 2])
                return pdu[:5]
        except struct.error:
            return bytes([fc | 0x80, 3])
        return bytes([fc | 0x80, 1])


class _ModbusHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sim: ChamberSim = self.server.sim  # type: ignore[attr-defined]
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        while True:
            try:
                chunk = sock.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while len(buf) >= 7:
                tid, pid, length, unit = struct.unpack(">HHHB", buf[:7])
                if len(buf) < 6 + length:
                    break
                pdu, buf = buf[7 : 6 + length], buf[6 + length :]
                with sim.lock:
                    reply = sim.pdu(pdu) if pdu else bytes([0x80, 1])
                fault = sim.faults.take()
                if fault == "timeout":
                    continue
                if fault == "disconnect":
                    sock.shutdown(socket.SHUT_RDWR)
                    return
                if fault == "exception":
                    reply = bytes([pdu[0] | 0x80, 4])
                frame = struct.pack(">HHHB", tid, pid, len(reply) + 1, unit) + reply
                if fault == "garbled":
                    frame = GARBAGE + frame[len(GARBAGE) :]
                try:
                    sock.sendall(frame)
                except OSError:
                    return


class _ModbusServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ModbusServer:
    """A :class:`ChamberSim` on Modbus TCP at ``host:port`` (0: ephemeral)."""

    def __init__(self, sim: ChamberSim, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self._server = _ModbusServer((host, port), _ModbusHandler)
        self._server.sim = sim  # type: ignore[attr-defined]
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> ModbusServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)


class RackSim(scpi.ScpiDevice, SimInstrument):
    """The current-source rack: the SCPI dialect of :mod:`lightcomp.drivers.rack`, on the
    shared SCPI command tree (short/long forms, error queue ``SYST:ERR?``, status)."""

    idn = "LIGHTCOMP,LCR-96 SIM,0001,1.0"

    def __init__(self, world: World, faults: FaultQueue | None = None, *, rig: Lm80Rig) -> None:
        self.rig = rig
        n = rig.channels
        self.current = [0.0] * (n + 1)
        self.on = [False] * (n + 1)
        super().__init__(world, faults)

    def _chans(self, text: str | None) -> list[int]:
        if text is None:
            raise scpi.ScpiError(-109)
        chans = scpi.parse_channels(text)
        if not all(1 <= c <= self.rig.channels for c in chans):
            raise scpi.ScpiError(-222, f"channel outside 1..{self.rig.channels}")
        return chans

    def _cond(self, ch: int) -> int:
        u = self.rig.units.get(ch)
        t = self.rig.hours()
        bits = 0
        if self.on[ch] and (u is None or t >= u.fail_at_h):
            bits |= OPEN_CIRCUIT
        outages = self.rig.timeline.channel_outages(ch, t)
        if any(t < o.start_h + o.duration_h for o in outages):
            bits |= INTERRUPTED
        return bits

    def _current(self, ch: int) -> float:
        if not self.on[ch] or self._cond(ch) & (OPEN_CIRCUIT | INTERRUPTED):
            return 0.0
        return self.noisy(self.current[ch], 1e-4)

    def _voltage(self, ch: int) -> float:
        if not self.on[ch]:
            return 0.0
        if self._cond(ch) & OPEN_CIRCUIT:
            return 60.0  # compliance voltage of an open channel
        return 3.0 * (self.current[ch] / 0.15) ** 0.05 if self.current[ch] > 0 else 0.0

    @scpi.command("[:SOURce]:CURRent[:LEVel][:IMMediate]|?")
    def _source_current(self, call: scpi.Call) -> str | None:
        if call.query:
            call.no_args(1)
            return ",".join(self.format_number(self.current[c]) for c in self._chans(call.arg(0)))
        call.no_args(2)
        value = call.arg(0, scpi.Num(0.0, 10.0))
        for c in self._chans(call.arg(1)):
            self.current[c] = value
        return None

    @scpi.command("OUTPut[:STATe]|?")
    def _output(self, call: scpi.Call) -> str | None:
        if call.query:
            call.no_args(1)
            return ",".join(str(int(self.on[c])) for c in self._chans(call.arg(0)))
        call.no_args(2)
        on = call.arg(0, scpi.Bool())
        for c in self._chans(call.arg(1)):
            self.on[c] = on
        return None

    @scpi.command(":MEASure:CURRent[:DC]?")
    def _meas_current(self, call: scpi.Call) -> str:
        call.no_args(1)
        return ",".join(self.format_number(self._current(c)) for c in self._chans(call.arg(0)))

    @scpi.command(":MEASure:VOLTage[:DC]?")
    def _meas_voltage(self, call: scpi.Call) -> str:
        call.no_args(1)
        return ",".join(self.format_number(self._voltage(c)) for c in self._chans(call.arg(0)))

    @scpi.command(":STATus:QUEStionable:CONDition?")
    def _condition(self, call: scpi.Call) -> str:
        call.no_args(1)
        return ",".join(str(self._cond(c)) for c in self._chans(call.arg(0)))

    @scpi.command(":OUTPut:INTerrupt:COUNt?")
    def _int_count(self, call: scpi.Call) -> str:
        call.no_args(1)
        t = self.rig.hours()
        chans = self._chans(call.arg(0))
        return ",".join(str(len(self.rig.timeline.channel_outages(c, t))) for c in chans)

    @scpi.command(":OUTPut:INTerrupt:DATA?")
    def _int_data(self, call: scpi.Call) -> str:
        call.no_args(2)
        ch = int(call.arg(0, scpi.Num(1, self.rig.channels, integer=True)))
        k = int(call.arg(1, scpi.Num(1, 65535, integer=True)))
        log = self.rig.timeline.channel_outages(ch, self.rig.hours())
        if k > len(log):
            raise scpi.ScpiError(-222, f"channel {ch} has {len(log)} interruption(s)")
        o = log[k - 1]
        end = min(o.start_h + o.duration_h, self.rig.hours())
        return f"{o.start_h:.3f},{end - o.start_h:.3f}"


class RigLoggerSim(LS218Sim):
    """Case-temperature logger of the rig: input k = the Tc thermocouple in chamber k."""

    def __init__(self, world: World, faults: FaultQueue | None = None, *, rig: Lm80Rig) -> None:
        super().__init__(world, faults)
        self.rig = rig

    def _temp(self, arg: str) -> float | None:
        try:
            ch = int(arg)
        except ValueError:
            return None
        chamber = self.rig.chambers.get(ch)
        if chamber is None:
            return None
        # the board's Tc point sits a little above the chamber air (self-heating)
        return chamber.pv_c() + (0.4 if chamber.run else 0.0) + 0.05 * float(self.world.noise())


class Lm80Rig:
    """The running simulated rig (context manager); ``resources`` maps role -> resource."""

    def __init__(self, world: World, config: Mapping[str, Any]) -> None:
        rig = dict(config.get("rig", {}))
        sim = dict(config.get("simlab", {}))
        self.world = world
        self.n_chambers = int(rig.get("chambers", 3))
        self.channels = int(rig.get("channels", 96))
        self.seed = int(sim.get("seed", 0))
        try:
            self.params = AgeingParams.from_mapping(sim.get("ageing"))
            self.timeline = Timeline.from_config(
                sim,
                seed=self.seed,
                chambers=self.n_chambers,
                channels=self.channels,
                horizon_h=float(sim.get("horizon_h", 12000.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanError(f"rig [simlab] table: {exc}") from exc
        self.units: dict[int, AgeingUnit] = {}
        self._serials: dict[str, int] = {}
        self.chambers = {k: ChamberSim(self, k) for k in range(1, self.n_chambers + 1)}
        self.servers: list = []
        self.resources: dict[str, str] = {}
        self.rack: RackSim | None = None
        world.unit_modifier = self.aged

    def hours(self) -> float:
        return self.world.now() / 3600.0

    # -- the technician ----------------------------------------------------------------
    def mount(
        self,
        serial: str,
        *,
        family: str,
        chamber: int,
        channel: int,
        case_temp_c: float,
        current_a: float,
    ) -> None:
        """Put sample ``serial`` in ``chamber`` on rack ``channel`` (ages from campaign hour 0)."""
        fam = self.world.families.get(family)
        if fam is None:
            raise PlanError(f"simulated lab has no device family {family!r}")
        self.units[channel] = AgeingUnit.draw(
            self.params,
            serial,
            seed=self.seed,
            chamber=chamber,
            channel=channel,
            case_temp_c=case_temp_c,
            current_rel=current_a / float(fam.params["nominal_current_a"]),
            forced_failure_h=self.timeline.failures.get(channel),
        )
        self._serials[serial] = channel

    def aged(self, unit: dev.Unit) -> dev.Unit:
        """The unit as the rig has aged it by now (unchanged if not mounted)."""
        ch = self._serials.get(unit.serial)
        if ch is None:
            return unit
        st = self.units[ch].state(self.params, self.timeline, self.hours())
        return dataclasses.replace(
            unit,
            flux_factor=unit.flux_factor * max(st["flux_factor"], 1e-9),
            cct_k=unit.cct_k + st["cct_shift_k"],
            duv=unit.duv + st["duv_shift"],
        )

    def truth(self, serial: str, hours: float) -> dict[str, float]:
        """The model's state of ``serial`` at ``hours`` (tests compare against it)."""
        ch = self._serials[serial]
        return self.units[ch].state(self.params, self.timeline, hours)

    # -- servers -------------------------------------------------------------------------
    @classmethod
    def start(cls, world: World, config: Mapping[str, Any], host: str = "127.0.0.1") -> Lm80Rig:
        rig = cls(world, config)
        instruments = dict(config.get("instruments", {}))
        try:
            for role, table in instruments.items():
                driver = table.get("driver")
                if driver == "modbus-chamber":
                    k = int(dict(table.get("options", {})).get("chamber", role[-1]))
                    if k not in rig.chambers:
                        raise PlanError(f"[instruments.{role}]: chamber {k} not in the rig")
                    srv = ModbusServer(rig.chambers[k], host).start()
                    rig.resources[role] = f"modbus-tcp://{host}:{srv.port}"
                elif driver == "lm80-rack":
                    rig.rack = RackSim(world, FaultQueue(), rig=rig)
                    srv = InstrumentServer(rig.rack, host).start()
                    rig.resources[role] = f"TCPIP0::{host}::{srv.port}::SOCKET"
                elif driver == "ls218":
                    srv = InstrumentServer(RigLoggerSim(world, FaultQueue(), rig=rig), host)
                    srv.start()
                    rig.resources[role] = f"socket://{host}:{srv.port}"
                else:
                    raise PlanError(f"[instruments.{role}]: no rig simulator for {driver!r}")
                rig.servers.append((role, srv))
            for role, spec in dict(dict(config.get("simlab", {})).get("faults", {})).items():
                for item in spec if isinstance(spec, list) else [spec]:
                    rig.inject(
                        role,
                        item["fault"],
                        int(item.get("count", 1)),
                        after=int(item.get("after", 0)),
                    )
        except BaseException:
            rig.stop()
            raise
        return rig

    def inject(self, role: str, fault: str, count: int = 1, *, after: int = 0) -> None:
        for r, srv in self.servers:
            if r == role:
                if isinstance(srv, ModbusServer):
                    srv.sim.faults.add(fault, count, after)
                else:
                    srv.sim.faults.add(fault, count, after)
                return
        raise PlanError(f"no simulated rig instrument {role!r}")

    def stop(self) -> None:
        for _role, srv in self.servers:
            srv.stop()
        self.servers = []
        if self.world.unit_modifier == self.aged:
            self.world.unit_modifier = None

    def __enter__(self) -> Lm80Rig:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def campaign_hours_to_s(hours: float) -> float:
    """Virtual seconds of campaign hour ``hours`` (the rig's clock starts with the lab)."""
    if not math.isfinite(hours) or hours < 0:
        raise ValueError(f"bad campaign hour {hours!r}")
    return hours * 3600.0

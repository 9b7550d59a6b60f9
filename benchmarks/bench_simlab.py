"""Cost of the simulated instruments' SCPI parsing (not a test).

The station end-to-end tests and ``lightcomp demo`` send tens of thousands of
commands to the simulated lab, so the conforming parser (lightcomp.simlab.scpi:
command tree, typed parameters, error queue) must not slow them down.  This
times the station driver's command mix on the Keithley 2400 simulator in
process (no sockets, so only parsing and the physical model are measured) and
over a raw TCP socket (what the station sees), next to a peer measured in the
same run: the string-matching simulator it replaces (the previous
``Keithley2400Sim``, reproduced below on the legacy ``_ScpiSim`` base).

Printed: commands/s for each, the ratio new/peer, and the load average before
and after (the machine is shared; compare runs at a similar load).

Usage::

    python benchmarks/bench_simlab.py [--rounds 2000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import time

from lightcomp.simlab.instruments import Keithley2400Sim, _ScpiSim
from lightcomp.simlab.server import InstrumentServer
from lightcomp.simlab.world import World

# one driver cycle: set_current, output on, a reading, output off (lightcomp.drivers.keithley)
MIX = [
    ':SENS:FUNC:CONC ON;:SENS:FUNC "VOLT:DC","CURR:DC"',
    ":SOURCE:FUNCTION CURR",
    ":SENSE:VOLTAGE:PROTECTION 45",
    ":SOURCE:CURRENT 0.35",
    "*OPC?",
    "OUTPUT 1",
    "*OPC?",
    ":READ?",
    ":READ?",
    ":READ?",
    "OUTPUT 0",
    "*OPC?",
]


class LegacyKeithley2400Sim(_ScpiSim):
    """The string-matching 2400 simulator this work replaced (peer)."""

    def scpi(self, header: str, arg: str) -> str | None:
        w = self.world
        num = float(arg.split(",")[0]) if arg and arg[0] in "+-.0123456789" else 0.0
        if header == "SOUR:FUNC":
            w.update_source(mode="current" if arg.upper().startswith("CURR") else "voltage")
        elif header == "SOUR:CURR":
            w.update_source(current_a=num)
        elif header == "SENS:VOLT:PROT":
            w.update_source(voltage_limit_v=num)
        elif header == "OUTP":
            w.update_source(output=arg.strip().upper() in ("1", "ON"))
        elif header in ("READ?", "MEAS?"):
            v, i, comp = w.dc_terminals()
            v, i = self.noisy(v, 2e-5), self.noisy(i, 2e-5)
            status = 0x0001 | (0x0008 if comp else 0)
            return f"{v:+.6E},{i:+.6E},{9.91e37:+.6E},{w.now():+.6E},{float(status):+.6E}"
        return None


def _in_process(cls, rounds: int) -> float:
    sim = cls(World(seed=0))
    sim.world.load("B1", "LOT-B", "LS0-COB-4000")
    t0 = time.perf_counter()
    for _ in range(rounds):
        for line in MIX:
            sim.handle(line)
    return rounds * len(MIX) / (time.perf_counter() - t0)


def _over_socket(cls, rounds: int) -> float:
    sim = cls(World(seed=0))
    sim.world.load("B1", "LOT-B", "LS0-COB-4000")
    server = InstrumentServer(sim).start()
    sock = socket.create_connection((server.host, server.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    try:
        t0 = time.perf_counter()
        for _ in range(rounds):
            for line in MIX:
                sock.sendall(line.encode() + b"\n")
                if line.endswith("?"):
                    while b"\n" not in buf:
                        buf += sock.recv(65536)
                    _, buf = buf.split(b"\n", 1)
        return rounds * len(MIX) / (time.perf_counter() - t0)
    finally:
        sock.close()
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    load0 = os.getloadavg()
    rows = []
    for label, func, n in (
        ("in process", _in_process, args.rounds),
        ("TCP socket", _over_socket, max(args.rounds // 4, 50)),
    ):
        new, old = 0.0, 0.0
        for _ in range(args.repeats):  # interleaved, best of each: load drifts on a shared box
            new = max(new, func(Keithley2400Sim, n))
            old = max(old, func(LegacyKeithley2400Sim, n))
        rows.append((label, new, old))
    print(f"{'path':<12} {'scpi tree cmd/s':>16} {'legacy cmd/s':>14} {'new/legacy':>11}")
    for label, new, old in rows:
        print(f"{label:<12} {new:>16,.0f} {old:>14,.0f} {new / old:>11.2f}")
    load1 = os.getloadavg()
    print(f"load average before {load0[0]:.2f} {load0[1]:.2f}, after {load1[0]:.2f} {load1[1]:.2f}")


if __name__ == "__main__":
    main()

"""Konica Minolta CS-2000 spectroradiometer over RS-232 (or a serial stream).

Line protocol (ASCII, commands end with LF; replies ``OK00[,...]`` or ``ERxx``),
serial 115200 baud 8N1 with RTS/CTS handshake:

==================  ======================================================
``RMTS,1``          remote mode on (sent once before the first command)
``IDDR``            identity: ``OK00,<product>,<variation>,<serial>``
``MEAS,1``          start a measurement: ``OK00,<measuring time s>``
``MEDR,0,0,1``      poll: ``ER02`` while measuring, ``OK00,...`` when done
``MEDR,1,1,<n>``    spectral data block n = 1..4 (100, 100, 100, 101 values,
                    380-780 nm at 1 nm): hex-encoded big-endian float32
==================  ======================================================

Error codes handled: ER02 measuring (polled), ER10 over measuring range
(raised, the reading is unusable); any other ``ERxx`` is raised with its code.
Reference: CS-2000/CS-2000A communication specification (*verify the error
code table against the owned revision*).  A reply that is not exactly of this
form (wrong field count, non-hex digits, non-finite value) is garbage: it is
retried and then raised, never turned into numbers.
"""

from __future__ import annotations

import re
import struct
import time

import numpy as np
from pymeasure.instruments import Instrument

from lightcomp.drivers.base import InstrumentConfig, SpectralReading, Spectroradiometer
from lightcomp.drivers.transport import DriverMixin

WAVELENGTHS_NM = np.arange(380.0, 781.0, 1.0)
BLOCK_SIZES = (100, 100, 100, 101)
SERIAL_SETTINGS = {"baudrate": 115200, "bytesize": 8, "parity": "N", "stopbits": 1, "rtscts": True}
ERROR_CODES = {
    "ER00": "command error",
    "ER02": "measuring",
    "ER05": "no measurement data",
    "ER10": "over measuring range (light too bright)",
    "ER17": "parameter error",
    "ER20": "not in remote mode",
}
_OK = re.compile(r"OK00(,.*)?")
_ER = re.compile(r"ER\d\d")
_HEX = re.compile(r"[0-9A-Fa-f]{8}")


class KonicaMinoltaCS2000(DriverMixin, Instrument, Spectroradiometer):
    """Konica Minolta CS-2000 (registry name ``cs2000``).

    ``options.poll_interval_s`` (default 0.05 s) is the pause between polls of a
    running measurement.
    """

    read_termination = "\n"
    write_termination = "\n"
    serial_settings = SERIAL_SETTINGS

    def __init__(self, adapter, config: InstrumentConfig | None = None, **kwargs) -> None:
        self._init_driver(config, "cs2000", "spectro")
        super().__init__(adapter, "Konica Minolta CS-2000", includeSCPI=False, **kwargs)
        self.poll_interval_s = float(self.config.options.get("poll_interval_s", 0.05))
        self._remote = False

    # -- protocol helpers ------------------------------------------------------
    def ask_ok(
        self, command: str, fields: int | None = None, *, idempotent: bool = True
    ) -> list[str]:
        """Send ``command`` and return the fields after ``OK00`` (ERxx raised, garbage retried)."""

        def parse(reply: str) -> list[str]:
            reply = reply.strip()
            if _ER.fullmatch(reply):
                raise self.error(
                    f"instrument error {reply} ({ERROR_CODES.get(reply, 'unknown')})",
                    command,
                    reply,
                )
            if not _OK.fullmatch(reply):
                raise ValueError("not an OK00/ERxx frame")
            out = reply.split(",")[1:]
            if fields is not None and len(out) != fields:
                raise ValueError(f"expected {fields} fields, got {len(out)}")
            return out

        return self.query(command, parse, idempotent=idempotent)

    def remote(self) -> None:
        """Switch to remote mode (``RMTS,1``)."""
        self.ask_ok("RMTS,1", 0)
        self._remote = True

    def _ensure_remote(self) -> None:
        if not self._remote:
            self.remote()

    # -- interface -----------------------------------------------------------------
    def identify(self) -> str:
        self._ensure_remote()
        return ",".join(self.ask_ok("IDDR"))

    def start_measurement(self) -> float:
        """``MEAS,1``; returns the announced measuring time in s."""
        self._ensure_remote()
        (t,) = self.ask_ok("MEAS,1", 1, idempotent=False)
        try:
            return float(t)
        except ValueError:
            raise self.error("measuring time is not a number", "MEAS,1", f"OK00,{t}") from None

    def wait_done(self, measuring_time_s: float) -> None:
        """Poll ``MEDR,0,0,1`` until the instrument no longer answers ER02."""
        deadline = time.monotonic() + 1.5 * measuring_time_s + self.config.timeout_s
        cmd = "MEDR,0,0,1"
        while True:
            reply = self.query(
                cmd, lambda r: r.strip() if _ER.fullmatch(r.strip()) else _check_ok(r)
            )
            if reply != "ER02":
                if _ER.fullmatch(reply):
                    raise self.error(
                        f"instrument error {reply} ({ERROR_CODES.get(reply, 'unknown')})",
                        cmd,
                        reply,
                    )
                return
            if time.monotonic() > deadline:
                raise self.error(
                    f"measurement not finished after {measuring_time_s:g} s + time-out", cmd, reply
                )
            time.sleep(self.poll_interval_s)

    def read_spectrum(self) -> np.ndarray:
        """The four ``MEDR,1,1,n`` blocks decoded to 401 float values (380-780 nm)."""
        parts = []
        for n, size in enumerate(BLOCK_SIZES, start=1):
            cmd = f"MEDR,1,1,{n}"

            def parse(reply: str, size: int = size, cmd: str = cmd) -> np.ndarray:
                fields = _check_fields(reply, size, self, cmd)
                if not all(_HEX.fullmatch(f) for f in fields):
                    raise ValueError("non-hex data field")
                values = np.array([struct.unpack(">f", bytes.fromhex(f))[0] for f in fields])
                if not np.all(np.isfinite(values)) or np.any(np.abs(values) > 1e6):
                    raise ValueError("non-finite or implausible value")
                return values

            parts.append(self.query(cmd, parse))
        return np.concatenate(parts)

    def measure(self) -> SpectralReading:
        t = self.start_measurement()
        self.wait_done(t)
        return SpectralReading(
            wavelengths_nm=WAVELENGTHS_NM.copy(),
            values=self.read_spectrum(),
            integration_time_s=t,
            unit="W/(sr m2 nm)",
        )


def _check_ok(reply: str) -> str:
    reply = reply.strip()
    if not _OK.fullmatch(reply):
        raise ValueError("not an OK00/ERxx frame")
    return "OK00"


def _check_fields(reply: str, size: int, drv: KonicaMinoltaCS2000, cmd: str) -> list[str]:
    reply = reply.strip()
    if _ER.fullmatch(reply):
        raise drv.error(
            f"instrument error {reply} ({ERROR_CODES.get(reply, 'unknown')})", cmd, reply
        )
    if not _OK.fullmatch(reply):
        raise ValueError("not an OK00/ERxx frame")
    fields = reply.split(",")[1:]
    if len(fields) != size:
        raise ValueError(f"expected {size} values, got {len(fields)}")
    return fields

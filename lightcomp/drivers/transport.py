"""Connections and the error/retry discipline shared by every lightcomp driver.

A driver is opened from a resource string of the station config, so swapping
the simulated lab for hardware is a configuration change only:

* ``TCPIP0::host::port::SOCKET`` (and any other VISA resource): PyMeasure's
  ``VISAAdapter`` on the pyvisa-py backend (``@py``);
* ``socket://host:port``, ``rfc2217://...``, ``loop://``: a pyserial URL
  (``serial.serial_for_url``) in PyMeasure's ``SerialAdapter``;
* ``ASRL/dev/ttyUSB0::INSTR``, ``ASRL3::INSTR``, ``/dev/ttyUSB0``, ``COM3``: a local
  serial port opened with pyserial and the driver's serial settings.

:class:`DriverMixin` gives a driver bounded retries for idempotent queries
(reconnecting between attempts when it was opened from a resource), strict reply
parsing, and :class:`~lightcomp.errors.InstrumentError` messages that name the
instrument, the command and the reply.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

from lightcomp.drivers.base import InstrumentConfig
from lightcomp.errors import InstrumentError

T = TypeVar("T")

SERIAL_URL_PREFIXES = ("socket://", "rfc2217://", "loop://", "spy://", "hwgrep://", "alt://")


def serial_port_of(resource: str) -> str | None:
    """Local serial port named by ``resource`` (``ASRL/dev/ttyUSB0::INSTR`` -> ``/dev/ttyUSB0``)."""
    m = re.fullmatch(r"ASRL(.+?)(::INSTR)?", resource.strip(), flags=re.IGNORECASE)
    if m:
        port = m.group(1)
        return f"COM{port}" if port.isdigit() else port
    if resource.startswith("/dev/") or re.fullmatch(r"COM\d+", resource, flags=re.IGNORECASE):
        return resource
    return None


def _strict_serial_adapter():
    import select
    import time

    import serial
    from pymeasure.adapters import SerialAdapter

    class StrictSerialAdapter(SerialAdapter):
        """SerialAdapter that reads whole lines fast and never returns a partial frame.

        ``read`` fails (TimeoutError) unless the terminator arrived within the
        time-out.  Bytes are read in chunks (pyserial's ``read_until`` reads one
        byte per call, slow for 400-value spectra on a ``socket://`` stream).
        """

        _buffer = b""

        def _read(self, **kwargs) -> str:
            raw = self._read_line()
            term = self.read_termination.encode()
            if term and not raw.endswith(term):
                raise TimeoutError(
                    f"no complete reply within the time-out (got {raw[:60]!r})"
                    if raw
                    else "no reply within the time-out"
                )
            return raw.decode("ascii").removesuffix(self.read_termination)

        def _read_line(self) -> bytes:
            term = self.read_termination.encode() or b"\n"
            conn = self.connection
            sock = getattr(conn, "_socket", None)  # pyserial socket:// stream
            deadline = time.monotonic() + (conn.timeout if conn.timeout is not None else 1e9)
            while term not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if sock is not None:
                    ready, _, _ = select.select([sock], [], [], remaining)
                    if not ready:
                        break
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise serial.SerialException("socket disconnected")
                else:
                    chunk = conn.read(max(1, conn.in_waiting))
                    if not chunk:
                        break
                self._buffer += chunk
            if term in self._buffer:
                line, self._buffer = self._buffer.split(term, 1)
                return line + term
            raw, self._buffer = self._buffer, b""
            return raw

        def flush_read_buffer(self) -> None:
            self._buffer = b""
            super().flush_read_buffer()

    return StrictSerialAdapter


def open_adapter(
    config: InstrumentConfig,
    *,
    read_termination: str = "\n",
    write_termination: str = "\n",
    serial_settings: dict[str, Any] | None = None,
):
    """Open a PyMeasure adapter for ``config.resource`` with the driver's terminators.

    ``serial_settings`` (baudrate, bytesize, parity, stopbits, rtscts...) apply to
    local serial ports; a ``socket://`` stream ignores them, as pyserial does.
    """
    resource = config.resource.strip()
    where = f"{config.role} ({config.driver}) at {resource}"
    try:
        import serial
        from pymeasure.adapters import VISAAdapter

        SerialAdapter = _strict_serial_adapter()  # noqa: N806 - a class

        settings = dict(serial_settings or {})
        if resource.lower().startswith(SERIAL_URL_PREFIXES):
            conn = serial.serial_for_url(resource, timeout=config.timeout_s, do_not_open=False)
            conn.timeout = config.timeout_s
            _nodelay(getattr(conn, "_socket", None))
            return SerialAdapter(
                conn, read_termination=read_termination, write_termination=write_termination
            )
        port = serial_port_of(resource)
        if port is not None:
            conn = serial.Serial(port, timeout=config.timeout_s, **settings)
            return SerialAdapter(
                conn, read_termination=read_termination, write_termination=write_termination
            )
        if "::" in resource:
            adapter = VISAAdapter(
                resource,
                visa_library="@py",
                read_termination=read_termination,
                write_termination=write_termination,
                timeout=int(config.timeout_s * 1000),
            )
            if resource.upper().endswith("::SOCKET"):
                _nodelay(_visa_socket(adapter.connection))
            return adapter
    except InstrumentError:
        raise
    except Exception as exc:  # noqa: BLE001 - pyvisa/pyserial raise many types
        raise InstrumentError(f"{where}: cannot open the connection: {exc}") from exc
    raise InstrumentError(
        f"{where}: unknown resource form (use TCPIP0::host::port::SOCKET, "
        "ASRL<port>::INSTR or a pyserial URL such as socket://host:port)"
    )


def _visa_socket(connection):
    """The TCP socket under a pyvisa-py ``TCPIP::SOCKET`` session, or None.

    pyvisa-py ignores VI_ATTR_TCPIP_NODELAY for raw sockets, so reach the socket.
    """
    try:
        sessions = connection.visalib.sessions
        sock = getattr(sessions.get(connection.session), "interface", None)
    except AttributeError:
        return None
    import socket

    return sock if isinstance(sock, socket.socket) else None


def _nodelay(sock) -> None:
    """Disable Nagle's algorithm on a TCP link (short command/reply exchanges)."""
    if sock is None:
        return
    try:
        import socket

        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


def parse_floats(
    reply: str, count: int | None = None, *, sep: str = ",", allow_nan: bool = False
) -> list[float]:
    """Strictly parse ``count`` finite numbers; anything else raises ``ValueError``.

    ``allow_nan`` lets ``NAN`` through for instruments that use it to say "no data"
    (the Yokogawa WT series); the driver must then turn it into None.
    """
    fields = reply.strip().split(sep)
    if count is not None and len(fields) != count:
        raise ValueError(f"expected {count} values, got {len(fields)}")
    out = []
    for f in fields:
        f = f.strip()
        if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(NAN|INF)", f, re.I):
            raise ValueError(f"{f!r} is not a number")
        v = float(f)
        if math.isinf(v) or (math.isnan(v) and not allow_nan):
            raise ValueError(f"{f!r} is not finite")
        out.append(v)
    return out


class DriverMixin:
    """Retries, reconnection and error naming for a PyMeasure instrument.

    A concrete driver derives from a PyMeasure ``Instrument`` (or a shipped
    driver such as ``Keithley2400``), this mixin, and a :mod:`~lightcomp.drivers.base`
    interface.  ``config`` is the station's ``InstrumentConfig``;
    ``_reconnect`` (set by :func:`lightcomp.drivers.open_instrument`) re-opens the
    connection between retries.  I/O goes straight to ``self.adapter`` because an
    interface method may shadow PyMeasure's ``read`` (``PowerAnalyzer.read``).
    """

    config: InstrumentConfig
    adapter: Any
    _reconnect: Callable[[], Any] | None = None

    def _init_driver(self, config: InstrumentConfig | None, driver: str, role: str) -> None:
        self.config = config or InstrumentConfig(role=role, driver=driver, resource="(adapter)")
        self._reconnect = None

    @property
    def label(self) -> str:
        c = self.config
        return f"{c.role} ({c.driver}) at {c.resource}"

    def error(
        self, reason: str, command: str | None = None, reply: str | None = None
    ) -> InstrumentError:
        """An InstrumentError naming this instrument, ``command`` and ``reply``."""
        msg = f"{self.label}: {reason}"
        if command is not None:
            msg += f"; command {command!r}"
        if reply is not None:
            msg += f", reply {reply!r}"
        return InstrumentError(msg)

    def raise_queued_errors(self, after: str, query: str = "SYST:ERR?") -> None:
        """Read the SCPI error queue (SCPI-99 §21.8) and raise if it held any error.

        A SCPI instrument refuses a setting by queueing an error, not by a reply:
        reading the queue after writing settings is how the refusal becomes visible.
        """
        errors = []
        for _ in range(20):  # the queue is finite (10 on the 2400); never loop for ever
            code, text = self.query(query, _error_entry)
            if code == 0:
                break
            errors.append(f"{code},{text}")
        if errors:
            raise self.error(f"instrument refused {after}: {'; '.join(errors)}", query)

    def close(self) -> None:
        """Release the connection (errors while closing are ignored)."""
        try:
            self.adapter.close()
        except Exception:  # noqa: BLE001 - closing a broken link may fail
            pass

    def _recover(self, exc: BaseException | None = None) -> None:
        """Bring the connection back to a clean state after a failed exchange.

        VISA links are re-opened (cheap, and it drops any partial frame); serial
        links are re-opened only when the connection was lost, otherwise their
        input buffer is flushed (re-opening a pyserial ``socket://`` costs 0.3 s).
        """
        is_serial = hasattr(getattr(self.adapter, "connection", None), "reset_input_buffer")
        if is_serial and not _connection_lost(exc):
            try:
                self.adapter.flush_read_buffer()
                return
            except Exception:  # noqa: BLE001 - fall through to a reconnect
                pass
        if self._reconnect is not None:
            try:
                self.adapter.close()
            except Exception:  # noqa: BLE001 - closing a broken link may fail
                pass
            try:
                self.adapter = self._reconnect()
            except InstrumentError:
                pass  # the next attempt fails and is reported
            return
        try:
            self.adapter.flush_read_buffer()
        except Exception:  # noqa: BLE001 - not every adapter can flush
            pass

    def send(self, command: str) -> None:
        """Write a state-changing command (never retried)."""
        try:
            self.adapter.write(command)
        except Exception as exc:  # noqa: BLE001
            self._recover(exc)
            raise self.error(f"write failed ({type(exc).__name__}: {exc})", command) from exc

    def query(
        self,
        command: str,
        parse: Callable[[str], T] = str,  # type: ignore[assignment]
        *,
        idempotent: bool = True,
    ) -> T:
        """Ask ``command`` and ``parse`` the reply, retrying idempotent queries.

        ``parse`` raises ``ValueError`` (or returns normally) on the reply text;
        time-outs, broken connections, undecodable bytes and unparsable replies
        are retried ``config.retries`` times, then raised as InstrumentError.
        """
        attempts = 1 + (max(int(self.config.retries), 0) if idempotent else 0)
        reason, reply, error = "no attempt", None, None
        for _ in range(attempts):
            reply = None
            try:
                self.adapter.write(command)
                reply = self.adapter.read()
            except UnicodeDecodeError as exc:
                reason, error = f"undecodable reply ({exc.reason})", exc
            except Exception as exc:  # noqa: BLE001 - pyvisa/pyserial/socket errors
                reason, error = _describe(exc), exc
            else:
                try:
                    if reply == "":
                        raise ValueError("empty reply (time-out)")
                    return parse(reply)
                except InstrumentError:
                    raise
                except (ValueError, IndexError, KeyError) as exc:
                    reason, error = f"unexpected reply ({exc})", exc
            self._recover(error)
        raise self.error(f"{reason} after {attempts} attempt(s)", command, reply)


def _error_entry(reply: str) -> tuple[int, str]:
    """``<code>,"<message>"`` of an error-queue reply (``+0,"No error"`` included)."""
    code, sep, text = reply.strip().partition(",")
    if not sep or not re.fullmatch(r"[+-]?\d+", code.strip()):
        raise ValueError("not an error-queue entry")
    return int(code), text.strip()


def _connection_lost(exc: BaseException | None) -> bool:
    if exc is None:
        return False
    if isinstance(exc, ConnectionError):
        return True
    text = f"{type(exc).__name__} {exc}".lower()
    return any(
        k in text
        for k in (
            "disconnect",
            "conn_lost",
            "connection",
            "serialexception",
            "broken pipe",
            "not open",
        )
    )


def _describe(exc: Exception) -> str:
    name = type(exc).__name__
    text = str(exc)
    if "timeout" in text.lower() or "timed out" in text.lower() or isinstance(exc, TimeoutError):
        return f"no reply within the time-out ({name})"
    return f"communication failed ({name}: {text})"

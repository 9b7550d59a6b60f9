"""TCP transport of the simulated instruments, with transport fault injection.

Each simulated instrument listens on its own local TCP port, served by its own
thread (one more thread per client connection).  SCPI instruments are reached as
LAN instruments are, through a raw socket (VISA ``TCPIP0::host::port::SOCKET``);
serial instruments as a serial stream through pyserial's ``socket://host:port``.

Transport faults hit the next reply-bearing command:

* ``timeout``: the reply is dropped (the client times out);
* ``garbled``: the reply is replaced by non-protocol bytes (with terminator);
* ``truncated``: only the first half of the reply is sent, without terminator;
* ``disconnect``: the connection is closed instead of replying (the server
  keeps listening, so a client can reconnect).
"""

from __future__ import annotations

import socket
import socketserver
import threading

from lightcomp.simlab.instruments import TRANSPORT_FAULTS, SimInstrument

GARBAGE = b"\xfe\x81#@!\x00\x9c%~?\xff"


class _Handler(socketserver.StreamRequestHandler):
    server: _InstrumentServer

    def setup(self) -> None:
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.conn_lock:
            self.server.connections.add(self.request)

    def finish(self) -> None:
        with self.server.conn_lock:
            self.server.connections.discard(self.request)
        super().finish()

    def handle(self) -> None:
        sim = self.server.sim
        term = sim.read_termination.encode()[-1:]  # split on the last byte (LF)
        buf = b""
        while not self.server.stopping.is_set():
            try:
                chunk = self.request.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while term in buf:
                raw, buf = buf.split(term, 1)
                line = raw.decode("ascii", errors="replace").strip("\r\n ")
                if not line:
                    continue
                try:
                    reply = sim.handle(line)
                except Exception as exc:  # noqa: BLE001 - a simulator bug must not kill the port
                    reply = f"ERR internal simulator error: {exc}"
                if reply is None:
                    continue
                fault = sim.faults.take(TRANSPORT_FAULTS)
                try:
                    if fault == "disconnect":
                        self.request.shutdown(socket.SHUT_RDWR)
                        return
                    if fault == "timeout":
                        continue
                    payload = reply if isinstance(reply, bytes) else reply.encode("ascii")
                    if fault == "garbled":
                        self.request.sendall(GARBAGE + sim.write_termination.encode())
                    elif fault == "truncated":
                        self.request.sendall(payload[: max(len(payload) // 2, 1)])
                    else:
                        self.request.sendall(payload + sim.write_termination.encode())
                except OSError:
                    return


class _InstrumentServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sim: SimInstrument) -> None:
        self.sim = sim
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, _Handler)


class InstrumentServer:
    """One simulated instrument listening on ``host:port`` (port 0: ephemeral)."""

    def __init__(self, sim: SimInstrument, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self._server = _InstrumentServer((host, port), sim)
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"simlab-{type(sim).__name__}-{self.port}",
            daemon=True,
        )

    def start(self) -> InstrumentServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._server.conn_lock:
            for conn in list(self._server.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._thread.join(timeout=2)

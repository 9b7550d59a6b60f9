"""The technician as the station's fixture: prompts on the terminal, waits for a scan.

For stations where units are put into the sphere by hand. Registry name
``operator``; ``resource = "operator://tty"``. The prompts go to the terminal
(``/dev/tty``, or ``options.tty``), never to standard input, which may carry a
barcode list of serials (``lightcomp station run --serials -``).

Per unit the technician loads the unit and either scans its label (product code
or maker's serial) or presses Enter to confirm; a scan that is not the unit the
station expects stops that attempt with an :class:`InstrumentError`, so a mix-up
is never stored under the wrong code. Switching the auxiliary lamp (LM-79
self-absorption) is prompted the same way.
"""

from __future__ import annotations

from typing import TextIO

from lightcomp.drivers.base import Fixture, InstrumentConfig
from lightcomp.errors import CodeError, InstrumentError

IDENTITY = "OPERATOR,MANUAL-FIXTURE,0,1.0"


class OperatorFixture(Fixture):
    """A person at the sphere (see module docstring)."""

    needs_connection = False

    def __init__(
        self,
        adapter=None,
        *,
        config: InstrumentConfig,
        prompt_in: TextIO | None = None,
        prompt_out: TextIO | None = None,
    ) -> None:
        self.config = config
        self._in = prompt_in
        self._out = prompt_out
        self._tty: tuple[TextIO, TextIO] | None = None
        self._expected: str | None = None
        self._scanned: str | None = None

    # -- terminal ----------------------------------------------------------------
    def _streams(self) -> tuple[TextIO, TextIO]:
        if self._in is not None and self._out is not None:
            return self._in, self._out
        if self._tty is None:
            path = self.config.options.get("tty", "/dev/tty")
            try:  # a terminal is not seekable: one stream each way
                tty_in = open(path, encoding="utf-8")  # noqa: SIM115 - kept open
                tty_out = open(path, "w", encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                raise InstrumentError(
                    f"fixture (operator) needs a terminal to prompt the technician: "
                    f"cannot open {path}: {exc}"
                ) from exc
            self._tty = (tty_in, tty_out)
        return self._in or self._tty[0], self._out or self._tty[1]

    def _ask(self, prompt: str) -> str:
        inp, out = self._streams()
        out.write(prompt)
        out.flush()
        line = inp.readline()
        if not line:
            raise InstrumentError(f"fixture (operator): no answer to {prompt.strip()!r}")
        return line.strip()

    # -- Fixture -----------------------------------------------------------------
    def identify(self) -> str:
        return IDENTITY

    def load(self, serial: str, lot: str, family: str) -> None:
        self._expected = serial
        answer = self._ask(
            f"Load unit {serial} (lot {lot}, {family}) into the sphere, then scan its "
            "label or press Enter: "
        )
        self._scanned = _normalise(answer) if answer else serial

    def loaded(self) -> str:
        """The unit the technician confirmed or scanned (compared by the station)."""
        return self._scanned or "NONE"

    def set_aux_lamp(self, on: bool) -> None:
        self._ask(f"Switch the auxiliary lamp {'ON' if on else 'OFF'}, then press Enter: ")

    def unload(self) -> None:
        self._scanned = None  # the next load prompt asks for the swap

    def close(self) -> None:
        if self._tty is not None:
            for stream in self._tty:
                stream.close()
            self._tty = None


def _normalise(scanned: str) -> str:
    """A scanned product code in its canonical form; anything else as scanned."""
    from lightcomp.coding import canonical

    try:
        return canonical(scanned)
    except CodeError:
        return scanned

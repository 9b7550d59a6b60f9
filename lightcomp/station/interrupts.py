"""Ctrl-C and SIGTERM during a batch: stop after the component, or abandon it.

First Ctrl-C: finish and store the current component, then stop; a second one (or
SIGTERM) abandons it (nothing stored).  The store commit and the clean-up after a
stop are sections no further signal may cut.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["BatchAbandoned", "InterruptControl", "StopWaiting"]


class BatchAbandoned(KeyboardInterrupt):  # noqa: N818 - a control-flow signal
    """Second Ctrl-C (or SIGTERM): abandon the current component now."""


class StopWaiting(Exception):  # noqa: N818 - a control-flow signal
    """Ctrl-C while waiting for the next scan: stop waiting (nothing is being measured)."""


class InterruptControl:
    """Ctrl-C handling: first press = stop after this component, second = abandon it.

    While the batch waits for the next serial (a barcode scanner on stdin) there is
    no current component: the first press stops the waiting at once.
    """

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        self.stop_requested = False
        self.presses = 0
        self._echo = echo or (lambda _m: None)
        self._critical = 0
        self._pending_abandon = False
        self._shielded = False
        self._waiting = False

    @contextmanager
    def waiting_for_input(self) -> Iterator[None]:
        """A blocking read of the next serial that the first Ctrl-C ends (:class:`StopWaiting`)."""
        if self.stop_requested:
            raise StopWaiting()
        self._waiting = True
        try:
            yield
        finally:
            self._waiting = False

    def request_stop(self) -> None:
        self.stop_requested = True

    def _handler(self, signum, _frame) -> None:
        self.presses += 1
        self.stop_requested = True
        if self._waiting:  # nothing in progress: stop waiting for the next scan now
            self._waiting = False
            self._echo("stopped waiting for the next serial")
            raise StopWaiting()
        if signum == signal.SIGINT and self.presses == 1:
            self._echo("stopping after the current component (Ctrl-C again to abandon it)")
            return
        if self._shielded:
            return  # already stopping: cleaning up and recording the run
        if self._critical:
            self._pending_abandon = True
            return
        raise BatchAbandoned()

    @contextmanager
    def installed(self) -> Iterator[InterruptControl]:
        """Install the SIGINT/SIGTERM handlers (main thread only) for the block."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        old_int = signal.signal(signal.SIGINT, self._handler)
        old_term = signal.signal(signal.SIGTERM, self._handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, old_int)
            signal.signal(signal.SIGTERM, old_term)

    @contextmanager
    def shielded(self) -> Iterator[None]:
        """Clean-up that no further Ctrl-C may cut (powering down, recording the run)."""
        self._shielded = True
        try:
            yield
        finally:
            self._shielded = False

    @contextmanager
    def critical(self) -> Iterator[None]:
        """A section the second Ctrl-C must not cut (the store commit)."""
        self._critical += 1
        try:
            yield
        finally:
            self._critical -= 1
        if not self._critical and self._pending_abandon:
            self._pending_abandon = False
            raise BatchAbandoned()

"""How the command line watches a batch: a progress bar, or one line per unit for logs.

Both are a :class:`~lightcomp.station.runner.BatchMonitor`. The bar (a terminal) shows
the running yield, the unit being measured with its step, and the last failure; the
station's messages (Ctrl-C, lock take-over, refused scans) are printed on their own
lines above it, never into it. The line mode (``--no-progress``, or no terminal) writes
one line per finished unit to stdout, time-stamped, for a log file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

MODES = ("bar", "lines", "off")


def failed_limit_text(name: str, verdict: dict | None) -> str:
    """One failed limit as people read it, from the quantity catalogue: ``R9 -3 < 0``,
    ``U 39.2 V > 38.9 V``, ``outside the ANSI C78.377 quadrangle 4000 K``."""
    from lightcomp.quantities import format_value, limit_label, lookup

    label = limit_label(name)
    v = verdict if isinstance(verdict, dict) else {}
    if v.get("expected") is not None:
        return f"outside the {label} {v['expected']} K"
    q = lookup(str(v.get("quantity") or name))
    if q is None or v.get("value") is None:
        return label
    value = format_value(q, v["value"], unit=True)
    if v.get("min") is not None and v["value"] < v["min"]:
        return f"{label} {value} < {format_value(q, v['min'], unit=True)}"
    if v.get("max") is not None and v["value"] > v["max"]:
        return f"{label} {value} > {format_value(q, v['max'], unit=True)}"
    return f"{label} {value}"


def outcome_text(outcome) -> str:
    """The verdict of one unit as people read it: ``pass``, ``fail: R9 -3 < 0``,
    ``error: <message>``, ``already pass`` (skipped); limits by their catalogue label."""
    if outcome.skipped:
        return f"already {outcome.verdict}"
    if outcome.verdict == "fail" and outcome.failed_limits:
        return "fail: " + ", ".join(
            failed_limit_text(n, outcome.verdicts.get(n)) for n in outcome.failed_limits
        )
    if outcome.verdict == "error" and outcome.error_message:
        return f"error: {outcome.error_message}"
    return outcome.verdict


def _unit(outcome_or_code) -> str:
    """The unit as its label reads: printed product code, and the maker's serial if any."""
    from lightcomp.api.records import printed_code

    code = getattr(outcome_or_code, "code", outcome_or_code)
    serial = getattr(outcome_or_code, "serial", None)
    return printed_code(code) + (f" ({serial})" if serial else "")


def _yield_text(tallies: dict[str, int]) -> str:
    n = sum(tallies.values())
    y = f"{100 * tallies['pass'] / n:5.1f} %" if n else "  –  "
    return f"yield {y}  pass {tallies['pass']} fail {tallies['fail']} error {tallies['error']}"


class ProgressBar:
    """A batch's monitor in one of :data:`MODES`: ``bar`` (rich, on stderr), ``lines`` (one
    line per unit on stdout) or ``off``.

    Use as a context manager; :meth:`advance` is the runner's ``progress`` callback, the
    object itself its ``monitor``, :meth:`echo` its ``echo`` (messages on their own line).
    """

    def __init__(
        self, total: int | None, lot: str, mode: str = "bar", *, console: Any = None
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"progress mode {mode!r} (one of {', '.join(MODES)})")
        self.mode = mode
        self.total = total
        self.lot = lot
        self.done = 0
        self.current = "–"
        self.last_failure = "none"
        self._console = console  # a rich Console (default: stderr)
        self._p: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressBar:
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.text import Text

            monitor = self

            class _Progress(Progress):
                def get_renderables(self):  # the bar, then the unit and the last failure
                    yield self.make_tasks_table(self.tasks)
                    yield Text(f"  now: {monitor.current}", no_wrap=True, overflow="ellipsis")
                    yield Text(
                        f"  last failure: {monitor.last_failure}",
                        no_wrap=True,
                        overflow="ellipsis",
                    )

            self._p = _Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[yield_text]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=False,
                console=self._console or Console(stderr=True),
            )
            self._p.__enter__()
            self._task = self._p.add_task(f"lot {self.lot}", total=self.total, yield_text="")
        return self

    def echo(self, message: str) -> None:
        """A station message on its own line (above the bar while it is shown)."""
        if self._p is not None:
            self._p.console.print(message, markup=False, highlight=False, soft_wrap=True)
        else:
            typer.echo(message, err=True)

    def advance(self, tallies: dict[str, int]) -> None:
        """One more component; ``tallies`` are the run's pass/fail/error counts so far."""
        if self._p is not None:
            self._p.update(self._task, advance=1, yield_text=_yield_text(tallies))

    def step(self, unit: str, step: str) -> None:
        """The unit being measured and its step (the bar's "now" line)."""
        self.current = f"{_unit(unit)} — {step}"
        if self._p is not None:
            self._p.refresh()

    def unit_done(self, outcome) -> None:
        """A unit stored (or skipped): the last failure, or one log line."""
        self.done += 1
        self.current = f"{_unit(outcome)} — {outcome_text(outcome)}"  # until the next step
        if outcome.verdict in ("fail", "error") and not outcome.skipped:
            self.last_failure = f"{_unit(outcome)} {outcome_text(outcome)}"
        if self._p is not None:
            self._p.refresh()
        if self.mode == "lines":
            of = f"/{self.total}" if self.total else ""
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            typer.echo(
                f"{stamp} lot {self.lot} {self.done}{of} {_unit(outcome)} {outcome_text(outcome)}"
            )

    def __exit__(self, *exc) -> None:
        if self._p is not None:
            self.current = "–"
            self._p.__exit__(*exc)
            self._p = None

"""The command line's progress bar for a batch: running yield as components finish."""

from __future__ import annotations

from typing import Any


class ProgressBar:
    """A rich progress bar (on stderr) with the running yield; nothing when disabled.

    Use as a context manager; :meth:`advance` is the runner's ``progress`` callback.
    """

    def __init__(self, total: int | None, enabled: bool, lot: str) -> None:
        self.enabled = enabled
        self.total = total
        self.lot = lot
        self._p: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._p = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[yield_text]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=False,
                console=Console(stderr=True),
            )
            self._p.__enter__()
            self._task = self._p.add_task(f"lot {self.lot}", total=self.total, yield_text="")
        return self

    def advance(self, tallies: dict[str, int]) -> None:
        """One more component; ``tallies`` are the run's pass/fail/error counts so far."""
        if self._p is None:
            return
        n = sum(tallies.values())
        y = tallies["pass"] / n if n else float("nan")
        text = (
            f"yield {100 * y:5.1f} %  pass {tallies['pass']} fail {tallies['fail']} "
            f"error {tallies['error']}"
        )
        self._p.update(self._task, advance=1, yield_text=text)

    def __exit__(self, *exc) -> None:
        if self._p is not None:
            self._p.__exit__(*exc)

"""What `station run` shows while it works: the bar with the unit, its step and the last
failure; station messages on their own line, never on the bar; one line per unit for
logs (--no-progress); a run after a killed one says the earlier run was interrupted."""

from __future__ import annotations

import io
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from _station_helpers import PLAN_DC, Lab

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("progress")
    lab = Lab(tmp, f"sqlite:///{tmp / 'lightcomp.db'}")
    yield lab
    lab.close()


@pytest.fixture(scope="module")
def strict_plan(tmp_path_factory):
    """The DC plan with an Ra limit no unit meets: every unit fails on Ra."""
    path = tmp_path_factory.mktemp("plan") / "strict.toml"
    text = PLAN_DC.read_text()
    assert "ra_min = 80.0" in text
    path.write_text(text.replace("ra_min = 80.0", "ra_min = 99.0"))
    return path


def _terminal():
    from rich.console import Console

    out = io.StringIO()
    return out, Console(file=out, force_terminal=True, width=160, color_system=None)


def _screen_lines(text: str) -> list[str]:
    """What a terminal shows, line by line (escape codes dropped, carriage returns split)."""
    return [ln.rstrip() for ln in re.split(r"[\r\n]", ANSI.sub("", text))]


def test_bar_shows_unit_step_and_last_failure(lab, strict_plan):
    from lightcomp.api.records import printed_code
    from lightcomp.commands.progress import ProgressBar

    out, console = _terminal()
    with ProgressBar(2, "LOT-P1", "bar", console=console) as bar:
        runner = lab.runner(
            strict_plan, lot="LOT-P1", progress=bar.advance, monitor=bar, echo=bar.echo
        )
        summary = runner.run(count=2)
    assert summary.measured == 2 and summary.n_fail == 2
    from _station_helpers import lot_rows

    codes = [printed_code(c[1]) for c in lot_rows(lab.store, "LOT-P1")[0]]
    lines = _screen_lines(out.getvalue())
    for code in codes:  # each unit was shown with its steps while it was measured
        for step in ("loading", "power on", "stabilising (reading 1)", "computing"):
            assert f"  now: {code} — {step}" in lines, (code, step)
    failure = [ln for ln in lines if ln.startswith("  last failure: ")]
    assert failure[-1].startswith(f"  last failure: {codes[-1]} fail: Ra ")
    assert re.search(r"fail: Ra \d+\.\d < 99\.0$", failure[-1]), failure[-1]
    assert "  last failure: none" in lines  # before the first unit was stored
    assert any(ln.startswith(f"  now: {codes[0]} — fail: Ra ") for ln in lines)  # stored


def test_station_message_is_on_its_own_line_above_the_bar():
    """The Ctrl-C message (any station message) is a line of its own, not glued onto the
    bar's line."""
    from lightcomp.commands.progress import ProgressBar
    from lightcomp.station.interrupts import InterruptControl

    out, console = _terminal()
    message = "stopping after the current component (Ctrl-C again to abandon it)"
    with ProgressBar(3, "LOT-S", "bar", console=console) as bar:
        bar.advance({"pass": 1, "fail": 0, "error": 0})
        bar.step("LC10CBM0001408F31C0001000000001D", "stabilising (reading 2)")
        control = InterruptControl(bar.echo)
        control._handler(signal.SIGINT, None)  # the first Ctrl-C
        bar.advance({"pass": 2, "fail": 0, "error": 0})
    assert control.stop_requested
    lines = _screen_lines(out.getvalue())
    assert message in lines  # exactly a line of its own
    assert not any(message in ln and ln != message for ln in lines)
    assert any(ln.startswith("lot LOT-S") and "2/3" in ln for ln in lines)  # the bar goes on


def test_no_progress_prints_one_line_per_unit(lab, strict_plan, capsys):
    from lightcomp.api.records import printed_code
    from lightcomp.commands.station import run_batch_cli

    args = dict(station=str(lab.station_path), lot="LOT-P2", serials=None, db=lab.db_url,
                operator=None, resume=False, retest=False, simlab=False, progress="lines")  # fmt: skip
    assert run_batch_cli(plan=str(PLAN_DC), count=2, **args) == 0
    assert run_batch_cli(plan=str(PLAN_DC), count=3, **args) == 0  # 2 done, 1 new
    out = capsys.readouterr().out
    from _station_helpers import lot_rows

    codes = [printed_code(c[1]) for c in lot_rows(lab.store, "LOT-P2")[0]]
    unit_lines = [ln for ln in out.splitlines() if re.match(r"^\d{4}-\d\d-\d\dT", ln)]
    assert len(unit_lines) == 2 + 3
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    for ln, (i, n, code) in zip(
        unit_lines,
        [(1, 2, codes[0]), (2, 2, codes[1]), (1, 3, codes[0]), (2, 3, codes[1]), (3, 3, codes[2])],
        strict=True,
    ):
        assert re.fullmatch(rf"{stamp} lot LOT-P2 {i}/{n} {re.escape(code)} \S.*", ln), ln
    assert unit_lines[2].endswith(" already pass") or unit_lines[2].endswith(" already fail")
    assert "run " in out and "━" not in out  # the summary, and no bar


def test_run_after_a_killed_run_says_it_was_interrupted(lab):
    """A run killed with SIGKILL leaves its test run 'running' and the lot's lock behind:
    the next run takes the lock over and says the earlier run was interrupted."""
    from sqlalchemy import update

    from lightcomp.station import run_records
    from lightcomp.station.plan import load_plan
    from lightcomp.store.models import LotLock, TestRun

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process id that no longer runs: the killed run's
    killed = run_records.open_run(
        lab.store, lab.station, load_plan(PLAN_DC), "LOT-K", operator="night shift",
        params={}, now=datetime.now(UTC),
    )  # fmt: skip
    with lab.store.transaction() as s:
        s.execute(update(LotLock).values(pid=gone.pid))
    messages: list[str] = []
    summary = lab.runner(lot="LOT-K", echo=messages.append).run(count=1)
    assert summary.status == "completed"
    took = [m for m in messages if "taking over the lock" in m]
    said = [m for m in messages if "was interrupted" in m]
    assert len(took) == 1 and killed.run_uid[:12] in took[0]
    assert len(said) == 1, messages
    assert said[0].startswith(f"lot 'LOT-K': the earlier run {killed.run_uid[:12]} ")
    assert "operator night shift" in said[0] and "the 0 component(s) it stored are kept" in said[0]
    with lab.store.session() as s:
        run = s.query(TestRun).filter_by(run_uid=killed.run_uid).one()
        assert run.status == "interrupted"
    messages.clear()
    lab.runner(lot="LOT-K", echo=messages.append).run(count=1)  # a clean run before: silent
    assert not [m for m in messages if "interrupted" in m or "taking over" in m]

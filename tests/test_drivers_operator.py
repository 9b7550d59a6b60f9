"""The operator fixture: the technician loads units by hand and confirms by scan or Enter."""

from __future__ import annotations

import io

import pytest

from lightcomp.coding import format_code
from lightcomp.drivers import instrument_config, open_instrument
from lightcomp.drivers.operator import OperatorFixture
from lightcomp.errors import InstrumentError
from lightcomp.station.runner import BatchRunner

CODE = "LC10CBM0001408F31C0001000000001D"  # a valid canonical product code


def _fixture(answers: str, **options) -> tuple[OperatorFixture, io.StringIO]:
    cfg = instrument_config(
        "fixture", {"driver": "operator", "resource": "operator://tty", "options": options}
    )
    out = io.StringIO()
    return OperatorFixture(config=cfg, prompt_in=io.StringIO(answers), prompt_out=out), out


def test_enter_confirms_the_expected_unit():
    fx, out = _fixture("\n")
    fx.load(CODE, "LOT-1", "FAM")
    assert CODE in out.getvalue() and "LOT-1" in out.getvalue()
    BatchRunner._identify(fx, CODE)  # no error


def test_scanned_printed_label_matches_in_any_case():
    fx, _ = _fixture(format_code(CODE).lower() + "\n")
    fx.load(CODE, "LOT-1", "FAM")
    assert fx.loaded() == CODE
    BatchRunner._identify(fx, CODE)


def test_scanning_another_unit_stops_the_attempt():
    other = "LC1-0-CB-M0001-40-8-F31-C-0001-000000002"
    fx, _ = _fixture(other + "\n")
    fx.load(CODE, "LOT-1", "FAM")
    with pytest.raises(InstrumentError, match="expected"):
        BatchRunner._identify(fx, CODE)


def test_aux_lamp_prompts_and_end_of_input_is_an_instrument_error():
    fx, out = _fixture("\n")
    fx.set_aux_lamp(True)
    assert "auxiliary lamp ON" in out.getvalue()
    with pytest.raises(InstrumentError, match="no answer"):
        fx.set_aux_lamp(False)


def test_open_through_the_registry_without_a_connection(tmp_path):
    missing = tmp_path / "no-such-tty"
    cfg = instrument_config(
        "fixture",
        {
            "driver": "operator",
            "resource": "operator://tty",
            "identity": "MANUAL-FIXTURE",
            "options": {"tty": str(missing)},
        },
    )
    fx = open_instrument(cfg)  # identity checked, no adapter opened
    assert "MANUAL-FIXTURE" in fx.identify()
    with pytest.raises(InstrumentError, match="needs a terminal"):
        fx.load(CODE, "LOT-1", "FAM")
    fx.close()


def test_prompts_go_to_a_real_terminal_not_stdin():
    import os

    master, slave = os.openpty()  # a pseudo-terminal stands in for the technician's
    try:
        cfg = instrument_config(
            "fixture",
            {
                "driver": "operator",
                "resource": "operator://tty",
                "options": {"tty": os.ttyname(slave)},
            },
        )
        fx = open_instrument(cfg)
        os.write(master, format_code(CODE).encode() + b"\n")
        fx.load(CODE, "LOT-1", "FAM")
        assert fx.loaded() == CODE
        # The prompt reached the terminal. The terminal also echoes the typed code, and
        # the two may arrive in separate reads: read until the prompt (or 10 s).
        import select
        import time

        seen, deadline = b"", time.monotonic() + 10.0
        while b"Load unit" not in seen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                seen += os.read(master, 4096)
        assert b"Load unit" in seen, seen
        fx.close()
    finally:
        os.close(master)
        os.close(slave)

"""The shared SCPI parser of the simulated lab (lightcomp.simlab.scpi), on a toy instrument.

Rules checked come from SCPI-99 Vol. 1 §6 (headers, optional nodes, short/long
forms, path rule) and IEEE 488.2-1992 §7, §10, §11 (message units, common
commands, status registers, error classes).
"""

from __future__ import annotations

import pytest

from lightcomp.simlab import scpi


class Toy(scpi.ScpiDevice):
    idn = "LIGHTCOMP,TOY,0,1"
    SETTINGS = (
        scpi.Setting("[:SOURce]:VOLTage[:LEVel][:IMMediate]", scpi.Num(0.0, 10.0, 1.0), 1.0),
        scpi.Setting(":OUTPut[:STATe]", scpi.Bool(), False),
        scpi.Setting(":SENSe[1]:FUNCtion:MODE", scpi.Choice(("CURRent", "VOLTage")), "VOLT"),
        scpi.Setting(":TRIGger:COUNt", scpi.Num(1, 100, 1, integer=True), 1),
        scpi.Setting(":DISPlay:TEXT", scpi.Text(), ""),
        scpi.Setting(":RANGe", scpi.Num(0.0, 100.0, 100.0, snap=(1.0, 10.0, 100.0)), 100.0),
    )

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[int, str] = {}

    @scpi.command(":MEASure:VOLTage[:DC]?")
    def _meas(self, call: scpi.Call) -> str:
        return self.format_number(self.values["[:SOURce]:VOLTage[:LEVel][:IMMediate]"])

    @scpi.command(":CALCulate<n>:ITEM|?")
    def _item(self, call: scpi.Call) -> str | None:
        if call.query:
            return self.items.get(call.suffix, "NONE")
        self.items[call.suffix] = call.arg(0)
        return None

    @scpi.command(":FETCh?")
    def _fetch(self, call: scpi.Call) -> str | None:
        return None  # nothing measured yet


@pytest.fixture
def toy() -> Toy:
    t = Toy()
    t._handle("*CLS")
    return t


def ask(t: Toy, line: str) -> str | None:
    return t._handle(line)


@pytest.mark.parametrize(
    "command, query, reply",
    [
        ("SOUR:VOLT 2.5", "SOUR:VOLT?", "+2.500000E+00"),
        (":source:voltage:level:immediate 3", ":VOLT?", "+3.000000E+00"),
        ("VOLT 4", "SOURCE:VOLTAGE:LEVEL?", "+4.000000E+00"),
        ("VoLt MAX", "VOLT?", "+1.000000E+01"),
        ("VOLT DEF", "VOLT?", "+1.000000E+00"),
        ("OUTP ON", "OUTP?", "1"),
        ("OUTPut:STATe 0", "OUTPUT?", "0"),
        ("SENS:FUNC:MODE CURRENT", "SENS1:FUNC:MODE?", "CURR"),
        ("SENSE1:FUNCTION:MODE 'volt'", "SENS:FUNC:MODE?", "VOLT"),
        ("TRIG:COUN 7", "TRIG:COUN?", "7"),
        ("DISP:TEXT 'a,b;c'", "DISP:TEXT?", '"a,b;c"'),
        ("RANG 5", "RANG?", "+1.000000E+01"),
        ("CALC2:ITEM U", "CALC2:ITEM?", "U"),
    ],
)
def test_setting_round_trip_in_any_form(toy, command, query, reply):
    assert ask(toy, command) is None
    assert ask(toy, query) == reply
    assert ask(toy, "SYST:ERR?") == '0,"No error"'


def test_query_of_limits_and_defaults(toy):
    assert ask(toy, "VOLT? MIN") == "+0.000000E+00"
    assert ask(toy, "VOLT? MAX") == "+1.000000E+01"


@pytest.mark.parametrize(
    "line, code",
    [
        ("VOLT 11", -222),
        ("VOLT -1", -222),
        ("TRIG:COUN 0", -222),
        ("VOLT abc", -224),
        ("VOLT", -109),
        ("VOLT 1,2", -108),
        ("OUTP MAYBE", -224),
        ("SENS:FUNC:MODE RES", -224),
        ("SOUR:VOLTAG 1", -113),  # neither short nor long form
        ("SOURC:VOLT 1", -113),
        ("NOPE?", -113),
        ("SENS2:FUNC:MODE VOLT", -113),  # SENSe[1]: only suffix 1
        ("MEAS:VOLT", -113),  # query-only header sent as a command
        ("*RST?", -113),
        (":FETCh?", -420),
        ("DISP:TEXT unquoted", -104),
    ],
)
def test_errors_are_queued_with_their_code(toy, line, code):
    assert ask(toy, line) is None
    reply = ask(toy, "SYST:ERR?")
    assert reply is not None and reply.startswith(f"{code},"), reply
    assert ask(toy, "SYST:ERR?") == '0,"No error"'


def test_error_classes_set_event_bits_and_status_byte(toy):
    ask(toy, "BAD")  # -113: command error, CME bit 5
    ask(toy, "VOLT 99")  # -222: execution error, EXE bit 4
    ask(toy, "FETC?")  # -420: query error, QYE bit 2
    assert ask(toy, "*STB?") == str(scpi.STB_EAV)  # error queue not empty
    ask(toy, "*ESE 255")
    assert int(ask(toy, "*STB?")) == scpi.STB_EAV | scpi.STB_ESB
    assert ask(toy, "*ESR?") == str(0x20 | 0x10 | 0x04)
    assert ask(toy, "*ESR?") == "0"  # reading clears it
    ask(toy, "*CLS")
    assert ask(toy, "SYST:ERR?") == '0,"No error"'
    assert ask(toy, "*ESE?") == "255"  # *CLS keeps the enable register


def test_queue_overflow_replaces_last_entry(toy):
    for _ in range(12):
        ask(toy, "BAD")
    codes = [ask(toy, "SYST:ERR?").split(",")[0] for _ in range(11)]
    assert codes == ["-113"] * 9 + ["-350", "0"]


def test_message_units_path_rule_and_reply_joining(toy):
    assert ask(toy, ":SOUR:VOLT 2;:OUTP 1;*OPC?;:SOUR:VOLT?;:OUTP?") == "1;+2.000000E+00;1"
    # relative header after ":SOUR:VOLT" is looked up under :SOURce
    assert ask(toy, ":SOUR:VOLT 3;VOLT?") == "+3.000000E+00"
    assert ask(toy, "SYST:ERR?") == '0,"No error"'
    # ... so a relative OUTP? there is SOUR:OUTP?, which does not exist
    assert ask(toy, ":SOUR:VOLT?;OUTP?") == "+3.000000E+00"
    assert ask(toy, "SYST:ERR?").startswith("-113,")


def test_command_error_discards_the_rest_of_the_message(toy):
    assert ask(toy, "BAD;VOLT 5") is None
    assert ask(toy, "VOLT?") == "+1.000000E+00"
    # an execution error does not: the next unit still runs
    assert ask(toy, "VOLT 50;VOLT 6;VOLT?") == "+6.000000E+00"


def test_opc_rst_and_persistence(toy):
    ask(toy, "*ESR?")
    ask(toy, "*OPC")
    assert int(ask(toy, "*ESR?")) & scpi.ESR_OPC
    assert ask(toy, "*OPC?") == "1"
    assert ask(toy, "*WAI") is None
    ask(toy, "VOLT 7;:OUTP 1;:CALC3:ITEM X")
    ask(toy, "BAD")
    ask(toy, "*RST")
    assert ask(toy, "VOLT?;:OUTP?") == "+1.000000E+00;0"
    assert ask(toy, "SYST:ERR?").startswith("-113,")  # *RST keeps the queue


def test_channel_lists_and_argument_splitting():
    assert scpi.parse_channels("(@1)") == [1]
    assert scpi.parse_channels("(@1,3)") == [1, 3]
    assert scpi.parse_channels("(@1:3)") == [1, 2, 3]
    assert scpi.split_args("1.5, (@1,2)") == ["1.5", "(@1,2)"]
    assert scpi.split_args("'a,b', 2") == ["'a,b'", "2"]
    assert scpi.split_args("") == []
    with pytest.raises(scpi.ScpiError):
        scpi.parse_channels("1,2")


def test_bad_pattern_is_refused_at_class_creation():
    with pytest.raises(ValueError):

        class Broken(scpi.ScpiDevice):
            SETTINGS = (scpi.Setting("[:SOURce:VOLT", scpi.Bool(), False),)

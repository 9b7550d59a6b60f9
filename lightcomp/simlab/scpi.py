"""SCPI command tree, error queue and IEEE 488.2 status model for simulated instruments.

One parser for every simulated SCPI (or IEEE 488.2-style) instrument, so each
simulator declares its documented command subset instead of matching strings:

* headers (SCPI-99 Vol. 1 §6.2): every node in short form (the upper-case part
  of the mnemonic, ``SOUR``) or long form (``SOURCE``), nothing in between, any
  case; optional nodes in brackets (``[:SOURce[1]]:CURRent[:LEVel]``); numeric
  suffixes (``ITEM<n>``: any suffix, default 1; ``SENSe[1]``: only 1);
* program messages (IEEE 488.2-1992 §7.1, SCPI-99 §6.2.4): units joined by
  ``;``; a unit without a leading ``:`` is relative to the previous unit's path;
  common commands (``*XXX``) do not change the path; replies of one message are
  joined by ``;`` (§8.4.1);
* parameters (§7.7): comma-separated, quotes and ``( )`` protect commas;
  ``<NRf>`` numbers with ``MINimum|MAXimum|DEFault``; ``ON|OFF|1|0`` booleans;
  character data in short or long form; ``(@1,2)`` / ``(@1:3)`` channel lists;
* status (IEEE 488.2 §11.4-11.5, SCPI-99 Vol. 1 §21.8): an error queue (FIFO,
  overflow replaces the newest entry by −350) and the standard event register,
  whose bits follow the error class (−1xx CME bit 5, −2xx EXE bit 4, −3xx and
  positive device errors DDE bit 3, −4xx QYE bit 2); ``*STB?`` bit 2 (EAV) while
  the queue is not empty, bit 5 (ESB) when ``*ESR & *ESE``, bit 6 (MSS) when
  ``STB & *SRE``; ``*CLS`` clears the queue and the event register, ``*RST``
  restores the settings (not the queue, ``*ESE`` or ``*SRE``).

Commands are executed one at a time in order, so ``*OPC`` sets the OPC bit at
once, ``*OPC?`` answers 1 and ``*WAI`` returns at once (IEEE 488.2 §12.5: no
overlapped commands).  On a raw socket the controller sends no read request, so
the classic "addressed to talk with nothing to say" of §6.3.2.2 cannot be seen;
a handler that has no data to return raises ``ScpiError(-420)`` instead.

Writing a simulator::

    class ChamberSim(ScpiDevice, SimInstrument):
        idn = "MAKER,MODEL,SERIAL,FW"
        SETTINGS = (
            Setting("[:SOURce]:TEMPerature[:SETPoint]", Num(-40.0, 180.0), 25.0),
            Setting(":OUTPut[:STATe]", Bool(), False, on_set="_apply_output"),
        )

        @command(":MEASure:TEMPerature?")
        def measure_temperature(self, call: Call) -> str:
            return self.format_number(self.world.chamber_c())

A setting is writable (``SOUR:TEMP 85``), queryable back (``SOUR:TEMP?``, also
``SOUR:TEMP? MAX``) in the instrument's number format, range-checked (−222) and
restored by ``*RST``; ``on_set`` names a method called with the new value.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

MESSAGES: dict[int, str] = {
    0: "No error",
    -100: "Command error",
    -101: "Invalid character",
    -102: "Syntax error",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -114: "Header suffix out of range",
    -141: "Invalid character data",
    -200: "Execution error",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -230: "Data corrupt or stale",
    -350: "Queue overflow",
    -410: "Query INTERRUPTED",
    -420: "Query UNTERMINATED",
}
"""SCPI-99 Vol. 2 §21.8 standard error messages (negative codes)."""

ESR_OPC, ESR_QYE, ESR_DDE, ESR_EXE, ESR_CME, ESR_PON = 0x01, 0x04, 0x08, 0x10, 0x20, 0x80
"""Standard event status register bits (IEEE 488.2 §11.5.1.1)."""
STB_EAV, STB_MAV, STB_ESB, STB_MSS = 0x04, 0x10, 0x20, 0x40
"""Status byte bits (IEEE 488.2 §11.2; EAV from SCPI-99 §9.1)."""


class ScpiError(Exception):
    """A command failed with SCPI error ``code`` (message from :data:`MESSAGES` + detail)."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        extra = f"; {detail}" if detail else ""
        super().__init__(f"{code},{MESSAGES.get(code, 'Device error')}{extra}")


def event_bit(code: int) -> int:
    """Standard-event bit an error of ``code`` sets (IEEE 488.2 §11.5.1.1, SCPI-99 §21.8)."""
    if -199 <= code <= -100:
        return ESR_CME
    if -299 <= code <= -200:
        return ESR_EXE
    if -499 <= code <= -400:
        return ESR_QYE
    return ESR_DDE


class ErrorQueue:
    """SCPI error/event queue: FIFO; when full the last entry becomes −350 (SCPI-99 §21.8.2)."""

    def __init__(self, size: int = 10) -> None:
        self.size = size
        self._q: deque[tuple[int, str]] = deque()

    def push(self, code: int, message: str) -> None:
        if len(self._q) >= self.size:
            self._q[-1] = (-350, MESSAGES[-350])
            return
        self._q.append((code, message))

    def pop(self) -> tuple[int, str]:
        return self._q.popleft() if self._q else (0, MESSAGES[0])

    def clear(self) -> None:
        self._q.clear()

    def __len__(self) -> int:
        return len(self._q)


# -- parameters ---------------------------------------------------------------------------
_NRF = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def split_args(text: str) -> list[str]:
    """Split program data on commas outside quotes and parentheses (IEEE 488.2 §7.4.2)."""
    if not any(c in text for c in "'\"("):
        return [a.strip() for a in text.split(",")] if text.strip() else []
    out, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    last = "".join(cur).strip()
    if last or out:
        out.append(last)
    return out


def mnemonic_forms(mnemonic: str) -> tuple[str, str]:
    """(short, long) forms of a mnemonic written as in the manuals: ``NPLCycles`` -> NPLC."""
    short = "".join(c for c in mnemonic if not c.islower())
    return short.upper(), mnemonic.upper()


def match_keyword(text: str, options: Iterable[str]) -> str | None:
    """The option (as declared) that ``text`` names in short or long form, any case."""
    t = text.strip().upper()
    for opt in options:
        short, long_ = mnemonic_forms(opt)
        if t in (short, long_):
            return opt
    return None


def parse_channels(text: str) -> list[int]:
    """A channel list ``(@1)``, ``(@1,3)``, ``(@1:3)`` (SCPI-99 Vol. 1 §8.3.2)."""
    m = re.fullmatch(r"\(\s*@([\d\s,:]+)\)", text.strip())
    if not m:
        raise ScpiError(-104, f"not a channel list: {text!r}")
    chans: list[int] = []
    for part in m.group(1).split(","):
        lo, _, hi = part.partition(":")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise ScpiError(-104, f"not a channel list: {text!r}") from None
        chans.extend(range(a, b + 1) if a <= b else range(a, b - 1, -1))
    return chans


class Param:
    """A parameter type: ``parse`` program data, ``format`` it back for a query."""

    def parse(self, text: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def format(self, value: Any, device: ScpiDevice) -> str:
        return str(value)

    def special(self, text: str) -> Any:
        """Value of ``MIN``/``MAX``/``DEF`` in a query (``VOLT? MAX``), or raise −224."""
        raise ScpiError(-224, text)


@dataclass(frozen=True)
class Num(Param):
    """``<NRf>`` in ``lo..hi`` (else −222), with ``MIN|MAX|DEF``; ``integer`` rounds."""

    lo: float
    hi: float
    default: float | None = None
    integer: bool = False
    fmt: str | None = None  # overrides the device's number format
    snap: Sequence[float] = ()  # ranges: the smallest entry >= |value| is kept

    def special(self, text: str) -> float:
        word = match_keyword(text, ("MINimum", "MAXimum", "DEFault"))
        if word == "MINimum":
            return self._snap(self.lo)
        if word == "MAXimum":
            return self._snap(self.hi)
        if word == "DEFault" and self.default is not None:
            return self._snap(self.default)
        raise ScpiError(-224, text)

    def parse(self, text: str) -> float:
        t = text.strip()
        if not t:
            raise ScpiError(-109)
        if not _NRF.fullmatch(t):
            return self.special(t) if t[0].isalpha() else _raise(-104, t)
        v = float(t)
        if self.integer:
            v = float(round(v))
        if not self.lo <= v <= self.hi:
            raise ScpiError(-222, f"{t} outside {self.lo:g}..{self.hi:g}")
        return self._snap(v)

    def _snap(self, v: float) -> float:
        if not self.snap:
            return int(v) if self.integer else v
        return next((r for r in self.snap if r >= abs(v) * (1 - 1e-9)), self.snap[-1])

    def format(self, value: Any, device: ScpiDevice) -> str:
        if self.integer:
            return str(int(value))
        return (self.fmt or device.NUMBER_FORMAT).format(float(value))


@dataclass(frozen=True)
class Bool(Param):
    """``ON|OFF|1|0`` (a number: non-zero is ON, SCPI-99 §7.3); query answers ``1``/``0``."""

    def parse(self, text: str) -> bool:
        t = text.strip().upper()
        if t in ("ON", "1"):
            return True
        if t in ("OFF", "0"):
            return False
        if _NRF.fullmatch(t):
            return round(float(t)) != 0
        raise ScpiError(-224 if t else -109, text)

    def format(self, value: Any, device: ScpiDevice) -> str:
        return "1" if value else "0"


@dataclass(frozen=True)
class Choice(Param):
    """Character data from ``options`` (declared as in the manual, e.g. ``CURRent``).

    Stored and answered in short form upper case (``CURR``), as SCPI instruments reply.
    ``aliases`` maps extra accepted words (``"1": "ON"``) to an option.
    """

    options: tuple[str, ...]
    aliases: tuple[tuple[str, str], ...] = ()

    def parse(self, text: str) -> str:
        t = text.strip().strip("'\"")
        if not t:
            raise ScpiError(-109)
        for alias, target in self.aliases:
            if t.upper() == alias.upper():
                t = target
        opt = match_keyword(t, self.options)
        if opt is None:
            raise ScpiError(-224, text)
        return mnemonic_forms(opt)[0]


@dataclass(frozen=True)
class Text(Param):
    """A quoted string (``'...'`` or ``"..."``); answered in double quotes."""

    max_len: int = 64

    def parse(self, text: str) -> str:
        t = text.strip()
        if len(t) < 2 or t[0] not in "'\"" or t[-1] != t[0]:
            raise ScpiError(-104 if t else -109, text)
        if len(t) - 2 > self.max_len:
            raise ScpiError(-222, "string too long")
        return t[1:-1]

    def format(self, value: Any, device: ScpiDevice) -> str:
        return f'"{value}"'


def _raise(code: int, detail: str = "") -> Any:
    raise ScpiError(code, detail)


# -- command tree -------------------------------------------------------------------------
@dataclass(frozen=True)
class _NodeSpec:
    short: str
    long: str
    suffix: str  # "" none, "1" only 1 (optional), "n" any (default 1)


@dataclass
class Call:
    """One executed program message unit."""

    query: bool
    args: list[str]
    suffixes: tuple[int, ...]  # numeric suffixes of the suffixed nodes, in order
    header: str  # as received

    def arg(self, index: int = 0, param: Param | None = None, *, optional: bool = False) -> Any:
        """Argument ``index`` parsed with ``param`` (−109 if missing unless ``optional``)."""
        if index >= len(self.args) or not self.args[index]:
            if optional:
                return None
            raise ScpiError(-109)
        text = self.args[index]
        return text if param is None else param.parse(text)

    def no_args(self, allowed: int = 0) -> None:
        if len(self.args) > allowed:
            raise ScpiError(-108)

    @property
    def suffix(self) -> int:
        return self.suffixes[0] if self.suffixes else 1


Handler = Callable[["ScpiDevice", Call], "str | None"]


@dataclass
class _Command:
    pattern: str
    handler: Handler
    query: bool  # True: query form exists
    write: bool  # True: command form exists


_PATTERN_NODE = re.compile(r"(\*?[A-Za-z_]+)(\[1\]|<n>|\d+)?")


def _closing_bracket(text: str) -> int:
    """Index of the ``]`` closing the ``[`` at ``text[0]``."""
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "["
        depth -= ch == "]"
        if depth == 0:
            return i
    raise ValueError(f"unbalanced [ in SCPI pattern {text!r}")


def _expand(pattern: str) -> list[tuple[_NodeSpec, ...]]:
    """All node sequences of ``pattern``, optional nodes present or absent."""
    # tokens: (optional, spec)
    tokens: list[tuple[bool, _NodeSpec]] = []
    rest = pattern.strip()
    while rest:
        optional = rest.startswith("[")
        if optional:
            i = _closing_bracket(rest)
            body, rest = rest[1:i], rest[i + 1 :]
        else:
            m = re.match(r":?[^:\[]+(\[1\])?", rest)
            if m is None:
                raise ValueError(f"bad SCPI pattern {pattern!r}")
            body, rest = m.group(0), rest[m.end() :]
        m = _PATTERN_NODE.fullmatch(body.lstrip(":"))
        if m is None:
            raise ValueError(f"bad SCPI node {body!r} in {pattern!r}")
        word, suffix = m.groups()
        short, long_ = mnemonic_forms(word)
        kind = "1" if suffix == "[1]" else "n" if suffix == "<n>" else ""
        if suffix and suffix.isdigit():  # a fixed digit belongs to the mnemonic
            short, long_ = short + suffix, long_ + suffix
        tokens.append((optional, _NodeSpec(short, long_, kind)))
    seqs: list[tuple[_NodeSpec, ...]] = [()]
    for optional, spec in tokens:
        seqs = [s + (spec,) for s in seqs] + (seqs if optional else [])
    return [s for s in seqs if s]


_HEADER_NODE = re.compile(r"(\*?[A-Z_]+?)(\d*)")


class CommandTree:
    """Registered headers of one instrument class; resolves received headers (cached)."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[int, str], list[tuple[tuple[_NodeSpec, ...], _Command]]] = {}
        self._cache: dict[str, tuple[_Command, tuple[int, ...]] | None] = {}

    def add(self, pattern: str, handler: Handler, *, query: bool, write: bool) -> None:
        cmd = _Command(pattern, handler, query, write)
        for seq in _expand(pattern):
            for first in {seq[0].short, seq[0].long}:
                self._by_key.setdefault((len(seq), first), []).append((seq, cmd))
        self._cache.clear()

    def resolve(self, nodes: Sequence[str]) -> tuple[_Command, tuple[int, ...]] | None:
        key = ":".join(nodes)
        if key in self._cache:
            return self._cache[key]
        parsed = []
        for node in nodes:
            m = _HEADER_NODE.fullmatch(node)
            if m is None:
                self._cache[key] = None
                return None
            parsed.append((m.group(1), m.group(2), node))
        found = None
        for seq, cmd in self._candidates(parsed):
            suffixes = self._match(seq, parsed)
            if suffixes is not None:
                found = (cmd, suffixes)
                break
        if len(self._cache) < 4096:
            self._cache[key] = found
        return found

    def _candidates(self, parsed):
        n = len(parsed)
        word, digits, whole = parsed[0]
        seen = []
        for first in (whole, word):
            for item in self._by_key.get((n, first), ()):
                if item not in seen:
                    seen.append(item)
        return seen

    @staticmethod
    def _match(seq: tuple[_NodeSpec, ...], parsed) -> tuple[int, ...] | None:
        suffixes: list[int] = []
        for spec, (word, digits, whole) in zip(seq, parsed, strict=True):
            if whole in (spec.short, spec.long):
                if spec.suffix:
                    suffixes.append(1)
                continue
            if not digits or not spec.suffix or word not in (spec.short, spec.long):
                return None
            value = int(digits)
            if spec.suffix == "1" and value != 1:
                return None
            suffixes.append(value)
        return tuple(suffixes)


def command(pattern: str) -> Callable[[Handler], Handler]:
    """Declare a handler for ``pattern``; a trailing ``?`` means query-only,
    ``?`` after ``|`` (``"OUTPut[:STATe]|?"``) means both forms, else command-only."""

    def deco(func: Handler) -> Handler:
        func.__dict__.setdefault("_scpi_patterns", []).append(pattern)
        return func

    return deco


@dataclass(frozen=True)
class Setting:
    """A setting that is written, queried back, range-checked and reset by ``*RST``."""

    pattern: str
    param: Param
    default: Any
    on_set: str | None = None  # method name called with the new value
    key: str | None = None  # shared storage key (e.g. NPLC shared by functions)
    query_special: bool = True  # "SETTING? MIN|MAX|DEF" answered

    @property
    def name(self) -> str:
        return self.key or self.pattern


def _split_pattern(pattern: str) -> tuple[str, bool, bool]:
    if pattern.endswith("|?"):
        return pattern[:-2], True, True
    if pattern.endswith("?"):
        return pattern[:-1], True, False
    return pattern, False, True


class ScpiDevice:
    """Mixin: a simulated instrument that parses SCPI / IEEE 488.2 program messages.

    Class attributes a simulator sets: ``idn``, ``SETTINGS``, ``NUMBER_FORMAT``,
    ``ERROR_QUERY`` (header of the error-queue query, None if the instrument has
    no queue), ``ERROR_FORMAT`` (reply of one entry) and ``ERROR_QUEUE_SIZE``.
    """

    idn: ClassVar[str] = "LIGHTCOMP,SIM,0,1.0"
    SETTINGS: ClassVar[tuple[Setting, ...]] = ()
    NUMBER_FORMAT: ClassVar[str] = "{:+.6E}"
    ERROR_QUERY: ClassVar[str | None] = ":SYSTem:ERRor[:NEXT]"
    ERROR_FORMAT: ClassVar[str] = '{code},"{message}"'
    ERROR_QUEUE_SIZE: ClassVar[int] = 10
    SCPI_VERSION: ClassVar[str | None] = "1999.0"
    _tree: ClassVar[CommandTree]
    _settings: ClassVar[dict[str, Setting]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        tree = CommandTree()
        settings: dict[str, Setting] = {}
        seen: set[str] = set()
        for klass in cls.__mro__:  # subclasses first: an override replaces the handler
            for name, func in vars(klass).items():
                if name in seen or not callable(func):
                    continue
                seen.add(name)
                for pattern in getattr(func, "_scpi_patterns", ()):
                    p, q, w = _split_pattern(pattern)
                    tree.add(p, func, query=q, write=w)
        for klass in reversed(cls.__mro__):
            for s in vars(klass).get("SETTINGS", ()):
                settings[s.pattern] = s
        for s in settings.values():
            tree.add(s.pattern, _setting_handler(s), query=True, write=True)
        if cls.ERROR_QUERY:
            tree.add(cls.ERROR_QUERY, ScpiDevice._error_next, query=True, write=False)
        cls._tree = tree
        cls._settings = settings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.errors = ErrorQueue(self.ERROR_QUEUE_SIZE)
        self.esr = ESR_PON  # power-on (IEEE 488.2 §11.5.1.1.2)
        self.ese = 0
        self.sre = 0
        self.values: dict[str, Any] = {}
        self._reset_settings()

    # -- state -------------------------------------------------------------------------
    def _reset_settings(self) -> None:
        for s in self._settings.values():
            self.values[s.name] = s.default
        for s in self._settings.values():
            if s.on_set:
                getattr(self, s.on_set)(s.default)

    def reset(self) -> None:
        """``*RST`` (IEEE 488.2 §10.32): settings to defaults; queues and enables kept."""
        self._reset_settings()

    def error(self, code: int, detail: str = "") -> None:
        """Queue error ``code`` and set its event bit (for handlers that go on after it)."""
        message = MESSAGES.get(code, "Device error")
        if detail and code > 0:
            message = detail
        self.errors.push(code, message)
        self.esr |= event_bit(code)

    def format_number(self, value: float) -> str:
        return self.NUMBER_FORMAT.format(float(value))

    def status_byte(self, mav: bool = False) -> int:
        """IEEE 488.2 §11.2.2 status byte (summary bits of the device's own registers)."""
        stb = self.device_status_bits()
        if len(self.errors):
            stb |= STB_EAV
        if mav:
            stb |= STB_MAV
        if self.esr & self.ese:
            stb |= STB_ESB
        if stb & self.sre & ~STB_MSS:
            stb |= STB_MSS
        return stb

    def device_status_bits(self) -> int:
        """Instrument-specific summary bits of the status byte (0: none)."""
        return 0

    # -- message execution -------------------------------------------------------------
    def _handle(self, line: str) -> str | None:
        replies: list[str] = []
        path: tuple[str, ...] = ()
        for unit in _split_units(line):
            head, _, data = unit.partition(" ")
            if "\t" in head:
                head, _, more = head.partition("\t")
                data = more + " " + data
            parsed = _parse_header(head, path)
            query, nodes, path = parsed
            try:
                if not all(nodes):
                    raise ScpiError(-102, unit)
                found = self._tree.resolve(nodes)
                if found is None:
                    raise ScpiError(-113, unit)
                cmd, suffixes = found
                if (query and not cmd.query) or (not query and not cmd.write):
                    raise ScpiError(-113, unit)
                args = split_args(data)
                reply = cmd.handler(self, Call(query, args, suffixes, unit))
                if query and reply is None:
                    raise ScpiError(-420, unit)
            except ScpiError as exc:
                self.error(exc.code, exc.detail)
                if exc.code <= -100 and exc.code > -200:
                    break  # a command error discards the rest of the message (488.2 §6.1.6)
                continue
            if reply is not None:
                replies.append(reply)
        return ";".join(replies) if replies else None

    # -- IEEE 488.2 common commands (§10) ------------------------------------------------
    @command("*IDN?")
    def _idn(self, call: Call) -> str:
        call.no_args()
        ident = getattr(self, "identity", None)
        return ident() if callable(ident) else self.idn

    @command("*RST")
    def _rst(self, call: Call) -> None:
        call.no_args()
        self.reset()

    @command("*CLS")
    def _cls(self, call: Call) -> None:
        call.no_args()
        self.errors.clear()
        self.esr = 0
        self.clear_events()

    def clear_events(self) -> None:
        """``*CLS`` of the device's own event registers (SCPI-99 §20.7); none by default."""

    @command("*ESE|?")
    def _ese(self, call: Call) -> str | None:
        if call.query:
            return str(self.ese)
        self.ese = int(call.arg(0, Num(0, 255, integer=True)))
        return None

    @command("*SRE|?")
    def _sre(self, call: Call) -> str | None:
        if call.query:
            return str(self.sre)
        self.sre = int(call.arg(0, Num(0, 255, integer=True))) & ~STB_MSS
        return None

    @command("*ESR?")
    def _esr(self, call: Call) -> str:
        value, self.esr = self.esr, 0
        return str(value)

    @command("*STB?")
    def _stb(self, call: Call) -> str:
        return str(self.status_byte())

    @command("*OPC|?")
    def _opc(self, call: Call) -> str | None:
        if call.query:
            return "1"
        self.esr |= ESR_OPC  # every command is complete when the next is parsed
        return None

    @command("*WAI")
    def _wai(self, call: Call) -> None:
        return None

    @command("*TST?")
    def _tst(self, call: Call) -> str:
        return "0"

    def _error_next(self, call: Call) -> str:
        code, message = self.errors.pop()
        return self.ERROR_FORMAT.format(code=code, abs_code=abs(code), message=message)


def _setting_handler(s: Setting) -> Handler:
    def handler(self: ScpiDevice, call: Call) -> str | None:
        if call.query:
            if call.args and s.query_special:
                call.no_args(1)
                return s.param.format(s.param.special(call.args[0]), self)
            call.no_args()
            return s.param.format(self.values[s.name], self)
        call.no_args(1)
        value = call.arg(0, s.param)
        old, self.values[s.name] = self.values[s.name], value
        if s.on_set:
            try:
                getattr(self, s.on_set)(value)
            except ScpiError:
                self.values[s.name] = old  # a refused value leaves the setting as it was
                raise
        return None

    return handler


@lru_cache(maxsize=4096)
def _parse_header(
    head: str, path: tuple[str, ...]
) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    """(query?, absolute nodes, new current path) of a header received at ``path``."""
    head = head.upper()
    query = head.endswith("?")
    head = head.rstrip("?")
    if head.startswith("*"):  # common commands leave the path alone (SCPI-99 §6.2.4)
        return query, (head,), path
    if head.startswith(":"):
        nodes = tuple(head[1:].split(":"))
    else:
        nodes = path + tuple(head.split(":"))
    return query, nodes, nodes[:-1]


_UNIT = re.compile(r"""(?:[^;"']|"[^"]*"|'[^']*')+""")


def _split_units(line: str) -> list[str]:
    """Program message units of one message (``;`` outside quotes; empty units dropped)."""
    if "'" not in line and '"' not in line:
        return [u.strip() for u in line.split(";") if u.strip()]
    if line.count('"') % 2 == 0 and line.count("'") % 2 == 0:
        return [u.strip() for u in _UNIT.findall(line) if u.strip()]
    out, quote, cur = [], "", []
    for ch in line:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == ";":
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur).strip())
    return [u for u in out if u]


__all__ = [
    "Bool",
    "Call",
    "Choice",
    "CommandTree",
    "ErrorQueue",
    "MESSAGES",
    "Num",
    "Param",
    "ScpiDevice",
    "ScpiError",
    "Setting",
    "Text",
    "command",
    "event_bit",
    "mnemonic_forms",
    "parse_channels",
    "split_args",
]

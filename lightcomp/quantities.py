"""The quantity catalogue: the one home of every quantity's names, units, labels and format.

Every quantity the system measures, derives or reports has ONE entry here, and
every surface derives from it: the station's storage of results (store columns
and the ``quantities`` JSON), the store's read queries, the API schemas and
search filters, report / certificate / plot labels and number formats, the
records export column names (:func:`export_column`, ``<name>_<unit>``), the
uncertainty columns (:func:`uncertainty_column`, ``U_<export column>``), test
plan limit names (:func:`by_plan_name`) and the test fixtures.

Adding a quantity is a one-place change: append a :class:`Quantity` to
:data:`QUANTITIES` (and, when it gets a real store column, the column to
``store/models.py`` with a migration).  ``docs/records.md`` is generated from this
module (:func:`records_markdown`; ``python -m lightcomp.quantities > docs/records.md``)
and a test keeps them equal.

Units: values are stored and computed in SI units (``unit``; temperatures in °C,
as measured); ``display_unit`` is what people read (THD and flicker in %),
``display = stored * scale``.  Exports use the display unit, named in the column.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "NON_QUANTITY_KEYS",
    "QUANTITIES",
    "Quantity",
    "by_column",
    "by_export",
    "by_key",
    "by_plan_name",
    "column_quantities",
    "export_column",
    "format_spread",
    "format_value",
    "from_si",
    "limit_label",
    "lookup",
    "records_markdown",
    "uncertainty_column",
]

_UNIT_TOKENS = {
    "": "",
    "lm": "lm",
    "lm/W": "lmw",
    "K": "k",
    "nm": "nm",
    "W": "w",
    "V": "v",
    "A": "a",
    "VA": "va",
    "var": "var",
    "Hz": "hz",
    "kHz": "khz",
    "MHz": "mhz",
    "ns": "ns",
    "s": "s",
    "h": "h",
    "%": "pct",
    "°C": "c",
    "1/h": "per_h",
}
"""Display unit -> the token that ends an export column name (``thd_pct``, ``cct_k``)."""

_SI_POWER = {"": 0, "Hz": 0, "kHz": 3, "MHz": 6, "s": 0, "ns": -9}
"""Stored unit -> e, one unit being 10^e of its SI unit (Hz, s; a fraction: 0)."""


@dataclass(frozen=True)
class Quantity:
    """One catalogued quantity.

    ``name`` is the canonical name (export columns are ``<name>_<unit token>``);
    ``key`` its key in the analysis core (:data:`lightcomp.analysis.ANALYZE_COLUMNS`)
    and the stored ``quantities`` JSON; ``column`` its ``measurements`` column (None:
    JSON only); ``plan`` the limit name in test plans (``<plan>_min``/``<plan>_max``),
    ``aliases`` other accepted spellings.  ``unit`` is the stored (SI) unit, ``""``
    for a number; ``display_unit`` and ``scale`` what people read.  A value is shown
    with ``decimals`` decimals or, when ``sig`` is set, ``sig`` significant digits.
    ``limit`` is the usual limit side (``lower``, ``upper``, ``both``); ``lo``/``hi``
    the physically possible range (SI) a plan limit must lie in.  ``kind``:
    ``number``, ``text`` or ``flag`` (text and flags have no unit or format).
    ``summary``: a column quantity shown among a record's key quantities (API ``measured``);
    ``nominal``: the ``families`` column holding its nominal (rated) value, if any.
    ``label_dc``: the (English, Chinese) label under DC drive, where the usual one says
    "rms" (voltage, current).
    """

    name: str
    key: str
    column: str | None
    plan: str | None
    label_en: str
    label_zh: str
    symbol: str
    unit: str = ""
    display_unit: str | None = None
    scale: float = 1.0
    decimals: int = 3
    sig: int | None = None
    limit: str | None = "both"
    lo: float = -math.inf
    hi: float = math.inf
    aliases: tuple[str, ...] = ()
    kind: str = "number"
    summary: bool = True
    nominal: str | None = None
    label_dc: tuple[str, str] | None = None

    @property
    def shown_unit(self) -> str:
        """The unit people read (``display_unit``, else the SI ``unit``)."""
        return self.unit if self.display_unit is None else self.display_unit

    @property
    def export(self) -> str:
        """Records-export column name, ``<name>_<unit token>`` (see :func:`export_column`)."""
        return export_column(self)

    def label(self, lang: str = "en", *, unit: bool = True, dc: bool = False) -> str:
        """``Luminous flux (lm)`` / ``光通量 (lm)``; ``unit=False`` without the unit;
        ``dc=True`` for a DC-driven item (``Voltage (DC)``, never "rms")."""
        en, zh = self.label_dc if dc and self.label_dc else (self.label_en, self.label_zh)
        text = zh if lang == "zh" else en
        return f"{text} ({self.shown_unit})" if unit and self.shown_unit else text

    def to_display(self, value: Any) -> float | None:
        """A stored (SI) value in the display unit; None for a missing/non-finite value."""
        try:
            v = float(value)
        except (TypeError, ValueError):
            return None
        return v * self.scale if math.isfinite(v) else None

    @property
    def label_short(self) -> str:
        """Column heading: symbol and display unit (``Φv (lm)``, ``Tcp (K)``, ``Ra``)."""
        head = self.symbol or self.label_en
        return f"{head} ({self.shown_unit})" if self.shown_unit else head

    @property
    def names(self) -> tuple[str, ...]:
        """Every spelling that names this quantity (plan name, key, column, export, aliases)."""
        out = [self.name, self.key, self.export, *self.aliases]
        if self.plan:
            out.insert(0, self.plan)
        if self.column:
            out.append(self.column)
        return tuple(dict.fromkeys(out))


def _ri(i: int) -> Quantity:
    return Quantity(
        f"r{i}",
        f"R{i}",
        "r9" if i == 9 else None,
        f"r{i}",
        f"Special colour rendering index R{i} (CIE 13.3)",
        f"特殊显色指数 R{i}",
        f"R{i}",
        decimals=1,
        limit="lower",
        hi=100.0,
    )


_DIMLESS = {"decimals": 4, "lo": 0.0, "hi": 1.0}

#: The catalogue, in the order surfaces list quantities.
QUANTITIES: tuple[Quantity, ...] = (
    # -- photometry -------------------------------------------------------------------
    Quantity("luminous_flux", "luminous_flux", "luminous_flux_lm", "flux", "Luminous flux",
             "光通量", "Φv", "lm", sig=5, limit="lower", lo=0.0, aliases=("flux_lm",),
             nominal="nominal_flux_lm"),
    Quantity("efficacy", "efficacy", "efficacy_lmw", "efficacy", "Luminous efficacy", "光效",
             "ηv", "lm/W", decimals=1, limit="lower", lo=0.0, hi=683.002),
    Quantity("radiant_flux", "radiant_flux", None, "radiant_flux", "Radiant flux", "辐射通量",
             "Φe", "W", sig=4, limit="lower", lo=0.0),
    Quantity("ler", "LER", None, "ler", "Luminous efficacy of radiation", "辐射光视效能", "K",
             "lm/W", decimals=1, limit="lower", lo=0.0, hi=683.002),
    Quantity("sp_ratio", "SP_ratio", None, "sp_ratio", "S/P ratio", "暗视觉/明视觉比", "S/P",
             decimals=3, lo=0.0),
    # -- colorimetry ------------------------------------------------------------------
    Quantity("tristimulus_x", "X", None, None, "Tristimulus value X (CIE 1931)",
             "三刺激值 X", "X", "lm", sig=5, limit=None),
    Quantity("tristimulus_y", "Y", None, None, "Tristimulus value Y (CIE 1931)",
             "三刺激值 Y", "Y", "lm", sig=5, limit=None),
    Quantity("tristimulus_z", "Z", None, None, "Tristimulus value Z (CIE 1931)",
             "三刺激值 Z", "Z", "lm", sig=5, limit=None),
    Quantity("x", "x", "x", "x", "Chromaticity x (CIE 1931)", "色品坐标 x", "x", **_DIMLESS),
    Quantity("y", "y", "y", "y", "Chromaticity y (CIE 1931)", "色品坐标 y", "y", **_DIMLESS),
    Quantity("u_prime", "u_prime", None, "u_prime", "Chromaticity u′ (CIE 1976)",
             "色品坐标 u′", "u′", **_DIMLESS),
    Quantity("v_prime", "v_prime", None, "v_prime", "Chromaticity v′ (CIE 1976)",
             "色品坐标 v′", "v′", **_DIMLESS),
    Quantity("cct", "CCT", "cct_k", "cct", "Correlated colour temperature", "相关色温", "Tcp",
             "K", decimals=0, lo=0.0, nominal="nominal_cct_k"),
    Quantity("duv", "Duv", "duv", "duv", "Duv (Ohno 2013)", "Duv（偏离普朗克轨迹距离）", "Duv",
             decimals=4, lo=-0.1, hi=0.1),
    Quantity("sdcm_steps", "sdcm_steps", "sdcm_steps", "sdcm",
             "MacAdam steps from nominal centre", "色容差（麦克亚当椭圆阶数）", "SDCM",
             decimals=2, limit="upper", lo=0.0, summary=False),
    Quantity("dominant_wavelength", "dominant_wavelength", None, "dominant_wavelength",
             "Dominant wavelength", "主波长", "λd", "nm", decimals=1, lo=360.0, hi=830.0),
    Quantity("purity", "purity", None, "purity", "Excitation purity", "色纯度", "pe",
             decimals=3, lo=0.0, hi=1.0),
    Quantity("peak_wavelength", "peak_wavelength", None, "peak_wavelength", "Peak wavelength",
             "峰值波长", "λp", "nm", decimals=1, lo=360.0, hi=830.0),
    Quantity("fwhm", "fwhm", None, "fwhm", "Spectral bandwidth (FWHM)", "半峰宽", "Δλ0.5", "nm",
             decimals=1, lo=0.0),
    # -- colour rendering -------------------------------------------------------------
    Quantity("ra", "Ra", "ra", "ra", "Colour rendering index Ra (CIE 13.3)", "一般显色指数 Ra",
             "Ra", decimals=1, limit="lower", hi=100.0, nominal="cri_class"),
    *(_ri(i) for i in range(1, 16)),
    Quantity("rf", "Rf", "rf", "rf", "Fidelity index Rf (TM-30-20)", "保真度指数 Rf", "Rf",
             decimals=1, limit="lower", lo=0.0, hi=100.0),
    Quantity("rg", "Rg", "rg", "rg", "Gamut index Rg (TM-30-20)", "色域指数 Rg", "Rg",
             decimals=1, lo=0.0),
    # -- electrical -------------------------------------------------------------------
    Quantity("voltage", "voltage_v", "voltage_v", "voltage", "Voltage (rms)", "电压（有效值）",
             "U", "V", decimals=2, lo=0.0, label_dc=("Voltage (DC)", "电压（直流）")),
    Quantity("current", "current_a", "current_a", "current", "Current (rms)", "电流（有效值）",
             "I", "A", decimals=4, lo=0.0, label_dc=("Current (DC)", "电流（直流）")),
    Quantity("power", "power_w", "power_w", "power", "Active power", "有功功率", "P", "W",
             decimals=2, limit="upper", lo=0.0),
    Quantity("power_factor", "power_factor", "power_factor", "pf", "Power factor", "功率因数",
             "λ", decimals=3, limit="lower", lo=0.0, hi=1.0),
    Quantity("thd", "thd_current", "thd_current", "thd", "THD of current", "电流总谐波失真",
             "THDi", "", display_unit="%", scale=100.0, decimals=1, limit="upper", lo=0.0),
    Quantity("frequency", "frequency_hz", None, "frequency", "Frequency", "频率", "f", "Hz",
             decimals=2, lo=0.0),
    Quantity("apparent_power", "apparent_power_va", None, None, "Apparent power", "视在功率",
             "S", "VA", decimals=2, limit=None, lo=0.0),
    Quantity("reactive_power", "reactive_power_var", None, None, "Reactive power", "无功功率",
             "Q", "var", decimals=2, limit=None),
    # -- thermal ----------------------------------------------------------------------
    Quantity("tc", "tc_c", "tc_c", "tc", "Case temperature Tc", "壳温 Tc", "Tc", "°C",
             decimals=1, limit="upper", lo=-273.15, summary=False),
    Quantity("ambient", "ambient_c", "ambient_c", "ambient", "Ambient temperature",
             "环境温度", "ta", "°C", decimals=1, lo=-273.15, summary=False),
    # -- modulation response (VLC, issue 17; lightcomp.analysis.modulation) ------------
    Quantity("modulation_bandwidth", "modulation_bandwidth_mhz", "modulation_bandwidth_mhz",
             "bandwidth", "Modulation bandwidth (−3 dB, white)", "调制带宽（−3 dB，白光）",
             "f₋₃dB", "MHz", decimals=2, limit="lower", lo=0.0),
    Quantity("modulation_bandwidth_blue", "modulation_bandwidth_blue_mhz",
             "modulation_bandwidth_blue_mhz", "bandwidth_blue",
             "Modulation bandwidth (−3 dB, blue-filtered)", "调制带宽（−3 dB，蓝光滤光）",
             "f₋₃dB,B", "MHz", decimals=2, limit="lower", lo=0.0),
    Quantity("rise_time", "rise_time_ns", "rise_time_ns", "rise_time", "Rise time (10–90 %)",
             "上升时间（10–90 %）", "tr", "ns", decimals=1, limit="upper", lo=0.0),
    Quantity("fall_time", "fall_time_ns", "fall_time_ns", "fall_time", "Fall time (10–90 %)",
             "下降时间（10–90 %）", "tf", "ns", decimals=1, limit="upper", lo=0.0),
    Quantity("modulation_depth_usable", "modulation_depth_usable", None, "usable_depth",
             "Usable modulation depth (THD below the plan's limit)", "可用调制深度（THD 低于限值）",
             "m", decimals=2, limit="lower", lo=0.0),
    # -- measurement corrections ------------------------------------------------------
    Quantity("self_absorption", "self_absorption", None, None,
             "Self-absorption correction factor", "自吸收修正系数", "α", decimals=4,
             limit=None, lo=0.0),
    # -- lumen maintenance: IES LM-80 campaigns (lightcomp.lm80) ------------------------
    Quantity("normalised_flux", "normalised_flux", None, None,
             "Luminous flux relative to 0 h (IES LM-80)", "相对 0 h 光通量（IES LM-80）",
             "Φ/Φ0", decimals=4, limit=None, lo=0.0, summary=False),
    Quantity("delta_u_v_prime", "delta_u_v_prime", None, None,
             "Chromaticity shift Δu′v′ from 0 h (CIE 1976)", "相对 0 h 色品漂移 Δu′v′（CIE 1976）",
             "Δu′v′", decimals=5, limit=None, lo=0.0, summary=False),
    Quantity("tm21_alpha", "tm21_alpha", None, None, "TM-21 decay constant α (IES TM-21-11)",
             "TM-21 衰减常数 α（IES TM-21-11）", "α", "1/h", sig=5, limit=None, summary=False),
    Quantity("tm21_b", "tm21_b", None, None, "TM-21 projected initial constant B (IES TM-21-11)",
             "TM-21 初始常数 B（IES TM-21-11）", "B", decimals=4, limit=None, summary=False),
    # -- classifications (text / flag) ------------------------------------------------
    Quantity("ansi_category", "ansi_category", "ansi_category", "ansi_quadrangle",
             "ANSI C78.377 category", "ANSI C78.377 色温类别", "", limit=None, kind="text"),
    Quantity("ansi_inside", "ansi_inside", "ansi_inside", None,
             "Inside the nominal ANSI quadrangle", "位于标称 ANSI 四边形内", "", limit=None,
             kind="flag"),
    Quantity("photometric_code", "photometric_code", "photometric_code", None,
             "Photometric code (IEC 62717)", "光度代码（IEC 62717）", "", limit=None,
             kind="text"),
)  # fmt: skip

NON_QUANTITY_KEYS: frozenset[str] = frozenset(
    {"name", "error", "attempts", "binning_error", "harmonics_a"}
)
"""Keys of analysis rows / the ``quantities`` JSON that are bookkeeping, not quantities."""


def export_column(q: Quantity) -> str:
    """Records-export column of ``q``: ``<name>_<unit token>`` (``luminous_flux_lm``,
    ``cct_k``, ``thd_pct``, ``tc_c``), the bare name for a number (``duv``, ``x``, ``ra``)."""
    token = _UNIT_TOKENS[q.shown_unit]
    return f"{q.name}_{token}" if token else q.name


def uncertainty_column(q: Quantity) -> str:
    """Export column of the expanded uncertainty (k = 2) of ``q``: ``U_<export column>``."""
    return f"U_{export_column(q)}"


_BY_KEY = {q.key: q for q in QUANTITIES}
_BY_COLUMN = {q.column: q for q in QUANTITIES if q.column}
_BY_EXPORT = {export_column(q): q for q in QUANTITIES}
_BY_PLAN = {q.plan: q for q in QUANTITIES if q.plan}
_BY_NAME: dict[str, Quantity] = {}
for _q in QUANTITIES:  # exact spellings first, so that ``X`` and ``x`` stay apart
    for _n in _q.names:
        _BY_NAME.setdefault(_n, _q)
for _q in QUANTITIES:
    for _n in _q.names:
        _BY_NAME.setdefault(_n.lower(), _q)
del _q, _n


def by_key(key: str) -> Quantity:
    """The quantity of an analysis / ``quantities`` JSON key (``CCT``, ``thd_current``)."""
    return _BY_KEY[key]


def by_column(column: str) -> Quantity:
    """The quantity stored in ``measurements.<column>`` (``cct_k``)."""
    return _BY_COLUMN[column]


def by_export(name: str) -> Quantity:
    """The quantity of a records-export column (``thd_pct``)."""
    return _BY_EXPORT[name]


def by_plan_name(name: str) -> Quantity | None:
    """The quantity a test plan's limit name or accepted alias means, or None."""
    return _BY_PLAN.get(name) or lookup(name)


def lookup(name: str) -> Quantity | None:
    """Any spelling (key, column, plan name, export column, alias) -> quantity, or None."""
    return _BY_NAME.get(name) or _BY_NAME.get(name.lower())


def from_si(q: Quantity | str, value: Any) -> Any:
    """``value`` (a number or array) computed in SI units (Hz, s, a fraction) in the
    stored unit of ``q``: divided by 10^e (MHz: e = 6) or multiplied by 10^−e (ns:
    e = −9), each power an exact float, so the result is the correctly rounded one.
    ``from_si(q, 1.0)`` is the factor of one SI unit (10⁻⁶ for MHz)."""
    q = q if isinstance(q, Quantity) else lookup(q)
    e = _SI_POWER[q.unit]
    return value / 10.0**e if e > 0 else value * 10.0**-e


def limit_label(name: str, *, full: bool = False, dc: bool = False) -> str:
    """What people read for a plan limit name (``r9`` -> ``R9``, ``ansi_quadrangle`` ->
    ``ANSI C78.377 quadrangle``); an unknown name is shown as it is. ``full``: the
    quantity's label rather than its symbol (``efficacy`` -> ``Luminous efficacy``, not
    ``ηv``), where there is room (a Pareto chart's causes); ``dc``: a DC-driven item's
    label (``Voltage (DC)``, never "rms")."""
    if name == "ansi_quadrangle":  # the limit on ansi_category: inside the nominal quadrangle
        return "ANSI C78.377 quadrangle"
    q = lookup(name)
    if q is None:
        return name
    return q.label(unit=False, dc=dc) if full else (q.symbol or q.label_en)


@functools.cache
def column_quantities(kind: str | None = "number") -> tuple[Quantity, ...]:
    """Quantities with a ``measurements`` column (of ``kind``; None: every kind).

    Cached: the catalogue is constant, and writers ask once per stored row."""
    return tuple(q for q in QUANTITIES if q.column and (kind is None or q.kind == kind))


def format_value(q: Quantity | str, value: Any, *, unit: bool = False, missing: str = "–") -> str:
    """``value`` (stored, SI) as people read it: display unit, the quantity's one format.

    ``unit=True`` appends the display unit (``1203.4 lm``, ``12.3 %``).  None,
    NaN and non-numbers give ``missing``; text quantities are shown as they are.
    """
    if isinstance(q, str):
        found = lookup(q)
        if found is None:
            raise KeyError(f"{q!r} is not a catalogued quantity")
        q = found
    if value is None:
        return missing
    if q.kind == "flag":
        return "yes" if bool(value) else "no"
    if q.kind == "text":
        return str(value)
    v = q.to_display(value)
    if v is None:
        return missing
    if q.sig is not None:
        text = _sig(v, q.sig)
    else:
        text = f"{v:.{q.decimals}f}"
        if text.startswith("-") and float(text) == 0.0:
            text = text[1:]
    return f"{text} {q.shown_unit}" if unit and q.shown_unit else text


def format_spread(q: Quantity | str, value: Any, *, like: Any, missing: str = "–") -> str:
    """A spread or difference of ``q`` (standard deviation, moving range, uncertainty; stored
    unit) to the decimals :func:`format_value` gives ``like`` (a typical value of ``q``):
    ``1204.7`` lm spreads by ``37.3`` lm, never ``37.305``: one resolution per quantity."""
    q = lookup(q) if isinstance(q, str) else q
    v = None if q is None else q.to_display(value)
    if v is None:
        return missing
    decimals = len(format_value(q, like).partition(".")[2])
    text = f"{v:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0.0 else text


def _sig(v: float, sig: int) -> str:
    """``v`` with ``sig`` significant digits, never in exponent form (1203.4, 0.01234)."""
    if v == 0:
        return "0"
    digits = sig - 1 - math.floor(math.log10(abs(v)))
    return f"{round(v, digits):.{max(digits, 0)}f}"


def records_markdown(columns: Iterable[tuple[str, str, str]] | None = None) -> str:
    """``docs/records.md``: the records-export quantity columns with units and labels."""
    lines = [
        "# Records export columns",
        "",
        "Generated from the quantity catalogue (`lightcomp/quantities.py`) by",
        "`python -m lightcomp.quantities > docs/records.md`; `tests/test_quantities.py`",
        "checks that this file and the catalogue agree. Do not edit by hand.",
        "",
        "`lightcomp records export` writes one row per component (its current",
        "measurement): the record columns `product_code`, `lot`, `family`, `manufacturer`,",
        "`measured_at` (UTC), `verdict`, `failed_limits`, `error_message`,",
        "`quadrangle_verdict`, `station`, `plan_name`, `plan_version`, `calib_id`,",
        "`analysis_version` (the method set that produced the values, see",
        "`docs/reanalysis.md`), then one",
        "column per quantity, named `<name>_<unit>` and given in that unit. An expanded",
        "uncertainty (k = 2), where one is stored, is the column `U_<column>` in the same unit.",
        "",
        "| column | unit | quantity | 中文 | symbol | stored as |",
        "|---|---|---|---|---|---|",
    ]
    for q in QUANTITIES:
        stored = f"`{q.column}`" if q.column else f"`quantities.{q.key}`"
        if q.scale != 1.0:
            stored += f" ({q.unit or 'fraction'}, × {q.scale:g})"
        unit = q.shown_unit or "–"
        lines.append(
            f"| `{export_column(q)}` | {unit} | {q.label_en} | {q.label_zh} | "
            f"{q.symbol or '–'} | {stored} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - writes docs/records.md
    print(records_markdown(), end="")

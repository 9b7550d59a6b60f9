"""Component test certificate: an LM-79-style test report with the content ISO/IEC 17025:2017
clause 7.8 asks of an accredited laboratory's report.

Content (17025 clause in brackets): title (7.8.2.1 a); laboratory name and address
(b, c); a unique report id on every page (header and footer, "page n of m") and
an end-of-report mark (d); customer = manufacturer (e); method LM-79 / CIE S 025
edition and deviations (f, n); item identification: product code decoded, family,
lot, maker's serial (g); dates of receipt, test and issue (h, i, j); the
statement that the results relate only to the item tested (l); results with
units, electrical and photometric, spectrum, CRI R1..R15 bar chart, TM-30
colour vector graphic (m); test conditions: ambient temperature, supply,
stabilisation history (7.8.3.1 a); statement of conformity against each limit
with the decision rule (7.8.6); measurement uncertainty where the data carry it
(7.8.3.1 c); calibration traceability (6.5); who authorised the report (o).

Report ids: ``LCR-<year>-<6-digit sequence>``, unique in the ``certificates``
table; a corrected report (:func:`issue_certificate` with ``reissue``) gets a new
id, names the report it replaces and the reason (17025 7.8.8.2), and its row
points to the old one (``replaces_id``). ``content_sha256`` is the SHA-256 of
the file written.

Laboratory identity, first found wins (documented):
1. ``lab_config`` argument / ``--lab-config FILE``: TOML with ``[lab] name,
   address`` (optional ``accreditation``) or ``[station] lab, lab_address``;
2. ``$LIGHTCOMP_LAB_CONFIG`` (path of such a file);
3. ``$LIGHTCOMP_LAB_NAME`` / ``$LIGHTCOMP_LAB_ADDRESS``;
4. the test run's ``params`` (``lab``, ``lab_address``, or ``params["station"]``
   with those keys, as the station copies its ``[station]`` table);
5. the default "lightcomp test laboratory" / "(address not configured)".

Decision rules (ILAC-G8:09/2019):
``simple``: simple acceptance, shared risk (§4.2.1): conforms when the measured
value is within the limits; uncertainty is reported but not subtracted.
``guarded``: guard band w = U (k = 2) (§4.2.2): conforms when the value is inside
the limits by at least U, does not conform when outside, otherwise conformity
is not stated ("indeterminate"); limits without a stated U fall back to simple
acceptance (said so in the table).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from lightcomp import quantities as catalogue
from lightcomp.errors import CodeError, ReportError
from lightcomp.jsonvalues import finite
from lightcomp.reports import modulation as modulation_report
from lightcomp.reports import plots
from lightcomp.reports.conformity import DECISION_RULES, conformity
from lightcomp.reports.document import (
    Document,
    Figure,
    Heading,
    KeyValues,
    Paragraph,
    Table,
)
from lightcomp.store import queries
from lightcomp.store.models import Certificate, Component, Measurement

__all__ = [
    "DECISION_RULES",
    "DEFAULT_LAB",
    "build_certificate",
    "issue_certificate",
    "lab_identity",
    "next_report_id",
]

DEFAULT_LAB = {"name": "lightcomp test laboratory", "address": "(address not configured)"}

DEFAULT_METHOD = "ANSI/IES LM-79-19; CIE S 025/E:2015 (LED lamps, LED luminaires and LED modules)"

# The quantities of the results tables, in order (labels, units, formats: the catalogue).
_PHOTOMETRIC = tuple(
    catalogue.lookup(n)
    for n in (
        "luminous_flux", "efficacy", "radiant_flux", "x", "y", "u_prime", "v_prime", "cct",
        "duv", "ansi_category", "sdcm_steps", "ra", "r9", "rf", "rg", "peak_wavelength",
        "dominant_wavelength", "sp_ratio", "photometric_code",
    )
)  # fmt: skip
_ELECTRICAL = tuple(
    catalogue.lookup(n) for n in ("voltage", "current", "power", "power_factor", "thd", "frequency")
)


# ---------------------------------------------------------------------------------------------
# Laboratory identity and report ids
# ---------------------------------------------------------------------------------------------
_LAB_KEYS = frozenset({"name", "address", "accreditation"})


def _lab_from_toml(path: str | Path) -> dict[str, str]:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"lab config {p} does not exist") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ReportError(f"lab config {p} is not readable TOML: {exc}") from None
    unknown = sorted(set(data) - {"lab", "station"})
    if unknown:
        raise ReportError(
            f"lab config {p}: unknown table or key {', '.join(map(repr, unknown))} "
            "(expected [lab] name, address, accreditation)"
        )
    lab = data.get("lab") if isinstance(data.get("lab"), dict) else {}
    bad = sorted(set(lab) - _LAB_KEYS)
    if bad:
        raise ReportError(
            f"lab config {p}: unknown key {', '.join('lab.' + k for k in bad)} "
            f"(allowed: {', '.join(sorted(_LAB_KEYS))})"
        )
    st = data.get("station") if isinstance(data.get("station"), dict) else {}
    name = lab.get("name") or st.get("lab")
    address = lab.get("address") or st.get("lab_address")
    if not name:
        raise ReportError(f'lab config {p} names no laboratory: add [lab] name = "..."')
    out = {"name": str(name), "address": str(address or DEFAULT_LAB["address"])}
    if lab.get("accreditation"):
        out["accreditation"] = str(lab["accreditation"])
    return out


def lab_identity(
    run_params: dict | None = None, lab_config: str | Path | None = None
) -> dict[str, str]:
    """Laboratory name and address (and accreditation) by the order in the module docstring."""
    if lab_config:
        return _lab_from_toml(lab_config)
    env_cfg = os.environ.get("LIGHTCOMP_LAB_CONFIG")
    if env_cfg:
        return _lab_from_toml(env_cfg)
    if os.environ.get("LIGHTCOMP_LAB_NAME"):
        return {
            "name": os.environ["LIGHTCOMP_LAB_NAME"],
            "address": os.environ.get("LIGHTCOMP_LAB_ADDRESS") or DEFAULT_LAB["address"],
        }
    params = run_params or {}
    for src in (params, params.get("station") if isinstance(params.get("station"), dict) else {}):
        if src.get("lab"):
            return {
                "name": str(src["lab"]),
                "address": str(src.get("lab_address") or DEFAULT_LAB["address"]),
            }
    return dict(DEFAULT_LAB)


_ID_RE = re.compile(r"^LCR-(\d{4})-(\d{6})$")


def next_report_id(session, year: int) -> str:
    """Next free report id ``LCR-<year>-<NNNNNN>`` (sequence per year)."""
    prefix = f"LCR-{year}-"
    last = session.scalar(
        select(func.max(Certificate.report_id)).where(Certificate.report_id.like(prefix + "%"))
    )
    seq = int(_ID_RE.match(last).group(2)) + 1 if last and _ID_RE.match(last) else 1
    return f"{prefix}{seq:06d}"


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
#: Readable names of the station's instrument roles (``[instruments.<role>]``).
_ROLE_LABELS = {
    "source": "Source meter",
    "ac_source": "AC source",
    "power_analyzer": "Power analyser",
    "spectro": "Spectroradiometer",
    "thermo": "Temperature monitor",
    "fixture": "Fixture",
}


def supply_sentence(drive: dict) -> str:
    """The plan's drive as a sentence with units ("AC 230 V, 50 Hz"), never internal names."""
    if not drive:
        return ""

    def val(key: str) -> str | None:
        v = finite(drive.get(key))
        if v is None:
            return None
        # a limit has the unit of the quantity it limits
        q = catalogue.lookup(
            {"voltage_limit_v": "voltage_v", "current_limit_a": "current_a"}.get(key, key)
        )
        return f"{v:g} {q.shown_unit}"

    mode = str(drive.get("mode") or "")
    parts: list[str] = []
    if mode == "ac":
        parts = ["AC " + ", ".join(x for x in (val("voltage_v"), val("frequency_hz")) if x)]
    elif mode == "dc-current":
        parts = [f"DC constant current {val('current_a') or '–'}"]
        if val("voltage_limit_v"):
            parts.append(f"voltage limit {val('voltage_limit_v')}")
    elif mode == "dc-voltage":
        parts = [f"DC constant voltage {val('voltage_v') or '–'}"]
        if val("current_limit_a"):
            parts.append(f"current limit {val('current_limit_a')}")
    else:
        parts = [mode or "–"]
    return ", ".join(parts)


def _analysis_version(version_id: str | None) -> str:
    """The analysis version of the values shown, with what it means."""
    from lightcomp.analysis.version import VERSIONS

    if not version_id:
        return "– (recorded before analysis versions)"
    v = VERSIONS.get(version_id)
    return v.summary() if v is not None else version_id


def _when(t: Any, with_time: bool = True) -> str:
    if t is None:
        return "–"
    if isinstance(t, str):
        return t
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%d %H:%M UTC") if with_time else t.strftime("%Y-%m-%d")


def _fmt(v: Any, digits: int) -> str:
    f = finite(v)
    if f is None:
        return "–" if v is None else str(v)
    if digits == 2:  # Duv: fixed 4 decimals
        text = f"{f:.4f}"
    elif abs(f) >= 10**digits:
        text = f"{f:.0f}"
    else:
        text = f"{f:.{digits}g}"
    # a value that rounds to zero is shown as 0, never "-0.0000"
    return text[1:] if text.startswith("-") and float(text) == 0.0 else text


def _fmt_u(u: float) -> str:
    """An uncertainty to two significant digits, without exponent notation."""
    if u == 0:
        return "0"
    decimals = max(0, 1 - int(math.floor(math.log10(abs(u)))))
    return f"{u:.{decimals}f}"


def _value(m: dict, col: str | None, keys: tuple[str, ...]) -> Any:
    if col is not None and m.get(col) is not None:
        return m[col]
    q = m.get("quantities") or {}
    for k in keys:
        if q.get(k) is not None:
            return q[k]
    e = m.get("electrical") or {}
    for k in keys:
        if e.get(k) is not None:
            return e[k]
    return None


def _uncertainty(m: dict, col: str | None, keys: tuple[str, ...]) -> tuple[float, float] | None:
    """(U, k) for a quantity from the measurement's ``uncertainty`` JSON, if stated."""
    u = m.get("uncertainty") or {}
    for k in (col, *keys):
        if k and k in u:
            entry = u[k]
            if isinstance(entry, dict):
                val = finite(entry.get("U", entry.get("expanded")))
                kk = finite(entry.get("k")) or 2.0
            else:
                val, kk = finite(entry), 2.0
            if val is not None:
                return val, kk
    return None


def _mc_method(ev: dict) -> str:
    """The sentence naming how the uncertainties were evaluated (JCGM 101)."""
    conv = "stable to two significant digits" if ev.get("converged") else "at the trial limit"
    return (
        "Uncertainties are evaluated by propagation of distributions, Monte Carlo method "
        f"(JCGM 101:2008, GUM Supplement 1): M = {ev.get('trials')} trials of the whole "
        "measurement model (standard lamp, wavelength scale, bandwidth and stray light, "
        "spectroradiometer noise and nonlinearity, self-absorption, sphere non-uniformity, "
        "electrical meters, temperature probe) through the same analysis as the results "
        f"(model {ev.get('model')}, seed {ev.get('seed')}; U {conv}). U = 2u, coverage "
        "probability about 95 %."
    )


def _results_table(m: dict, rows: tuple[catalogue.Quantity, ...]) -> Table:
    out = []
    for q in rows:
        keys = (q.key, *q.names)
        v = _value(m, q.column, keys)
        if v is None and q.key == "u_prime":
            v = _uv_prime(m)[0]
        if v is None and q.key == "v_prime":
            v = _uv_prime(m)[1]
        if v is None:
            continue
        u = _uncertainty(m, q.column, keys)
        unit = q.shown_unit
        out.append(
            [
                q.label_en,
                catalogue.format_value(q, v),
                unit,
                f"{_fmt_u(u[0] * q.scale)} {unit} (k = {u[1]:g})".replace("  ", " ") if u else "–",
            ]
        )
    return Table(
        ["quantity", "value", "unit", "expanded uncertainty U"], out, align=["l", "r", "l", "r"]
    )


def _uv_prime(m: dict) -> tuple[float | None, float | None]:
    x, y = finite(m.get("x")), finite(m.get("y"))
    if x is None or y is None:
        return None, None
    d = -2 * x + 12 * y + 3
    return 4 * x / d, 9 * y / d


def _limit_key(name: str, entry: dict) -> tuple[str | None, tuple[str, ...]]:
    q = catalogue.lookup(name)
    if q is None:
        return None, (entry.get("quantity") or name, name)
    return q.column, (entry.get("quantity") or q.key, *q.names)


def _conformity_table(m: dict, rule: str) -> tuple[Table, str]:
    rows, styles = [], []
    outcome = []
    for name, e in (m.get("verdicts") or {}).items():
        if not isinstance(e, dict):
            continue
        lo, hi = finite(e.get("min")), finite(e.get("max"))
        value = e.get("value")
        q = catalogue.lookup(name) or catalogue.lookup(str(e.get("quantity")))
        unit = q.shown_unit if q is not None else (e.get("unit") or "")

        def show(v: Any, q=q) -> str:
            return catalogue.format_value(q, v) if q is not None else _fmt(v, 5)

        if lo is not None and hi is not None:
            req = f"{show(lo)} … {show(hi)}"
        elif lo is not None:
            req = f"≥ {show(lo)}"
        elif hi is not None:
            req = f"≤ {show(hi)}"
        elif e.get("expected") is not None:
            req = f"inside ANSI C78.377 quadrangle {e['expected']} K"
        else:
            req = "–"
        col, keys = _limit_key(name, e)
        u = _uncertainty(m, col, keys) if rule == "guarded" else None
        statement, applied = conformity(
            finite(value),
            lo,
            hi,
            rule=rule,
            u=u[0] if u is not None else None,
            passed=bool(e.get("pass")),
        )
        if applied != "simple":  # the guard band in the display unit
            applied = f"guarded, w = {_fmt_u(u[0] * (q.scale if q else 1.0))}"
        outcome.append(statement)
        rows.append(
            [
                catalogue.limit_label(name),
                show(value) if finite(value) is not None else str(value),
                unit,
                req,
                statement,
                applied,
            ]
        )
        styles.append(
            "pass"
            if statement == "conforms"
            else ("fail" if statement.startswith("does") else "warn")
        )
    if not rows:
        overall = "No limits were evaluated; no statement of conformity is made."
    elif all(s == "conforms" for s in outcome):
        overall = "The item conforms to every limit listed."
    elif any(s.startswith("does") for s in outcome):
        bad = [r[0] for r, s in zip(rows, outcome, strict=True) if s.startswith("does")]
        overall = f"The item does NOT conform: {', '.join(bad)}."
    else:
        overall = "Conformity cannot be stated for every limit (indeterminate results)."
    return (
        Table(
            ["limit", "measured", "unit", "requirement", "statement", "rule"],
            rows,
            row_styles=styles,
            align=["l", "r", "l", "l", "l", "l"],
        ),
        overall,
    )


def _history_heading(key: str) -> str:
    if key == "t_s":
        return "time (s)"
    q = catalogue.lookup(key)
    return q.label_short if q is not None else key


def _history_value(key: str, v: Any) -> str:
    q = catalogue.lookup(key)
    if key == "t_s" or q is None:
        return f"{float(v):.0f}" if key == "t_s" else _fmt(v, 6)
    return catalogue.format_value(q, v)


def _stabilisation_table(history: list) -> Table | None:
    rows = [h for h in history if isinstance(h, dict)]
    if not rows:
        return None
    keys: list[str] = []
    for h in rows:
        for k in h:
            if k not in keys:
                keys.append(k)
    shown = rows[:40]
    heads = [_history_heading(k) for k in keys]
    return Table(
        heads,
        [
            [_history_value(k, h.get(k)) if finite(h.get(k)) is not None else "–" for k in keys]
            for h in shown
        ],
        align=["r"] * len(keys),
        note=f"{len(rows) - len(shown)} further readings not shown." if len(rows) > 40 else None,
    )


def _cri_values(m: dict) -> tuple[float | None, list[float] | None]:
    """Ra and R1..R15 as stored by the run (a certificate recomputes nothing)."""
    q = m.get("quantities") or {}
    ri = [finite(q.get(catalogue.lookup(f"r{i}").key)) for i in range(1, 16)]
    ra = finite(m.get("ra")) if m.get("ra") is not None else finite(q.get("Ra"))
    return ra, (ri if all(v is not None for v in ri) else None)


def _tm30(spectrum) -> dict | None:
    if spectrum is None:
        return None
    try:
        from lightcomp.analysis.tm30 import TM30_CIE224

        r = TM30_CIE224(spectrum[0], spectrum[1][None, :])
    except Exception:  # noqa: BLE001 - the graphic is optional; a note says it is missing
        return None
    if not np.isfinite(r["hue_bin_test_ab"][0]).all():
        return None
    return {
        "test": r["hue_bin_test_ab"][0],
        "ref": r["hue_bin_ref_ab"][0],
        "rf": float(r["Rf"][0]),
        "rg": float(r["Rg"][0]),
    }


def _decoded(code: str) -> list[tuple[str, str]]:
    try:
        from lightcomp.coding import decode

        d = decode(code)
    except Exception as exc:  # noqa: BLE001 - show why the code does not decode
        return [("Product code", code), ("Decoded fields", f"(cannot decode: {exc})")]
    rows = [
        ("Product code", str(d.get("printed", code))),
        (
            "Level / category",
            f"{d.get('level')} ({d.get('level_name', '')}) / {d.get('category')} "
            f"({d.get('category_name', '')})",
        ),
        ("Manufacturer (registry id)", str(d.get("manufacturer"))),
        ("Nominal CCT class", f"{d.get('cct_class')} ({d.get('nominal_cct_k') or '–'} K)"),
        ("Colour-rendering class", f"{d.get('cri_code', '')} (Ra ≥ {d.get('cri_class') or '–'})"),
        ("Nominal flux class", f"{d.get('flux_class')} ({_fmt(d.get('nominal_flux_lm'), 5)} lm)"),
        ("Electrical input class", f"{d.get('input_class')} ({d.get('input_name', '')})"),
        ("Model sequence / item serial", f"{d.get('model_seq')} / {d.get('item_serial')}"),
    ]
    return rows


# ---------------------------------------------------------------------------------------------
# Building and issuing
# ---------------------------------------------------------------------------------------------
def build_certificate(
    record: dict,
    spectrum: tuple[np.ndarray, np.ndarray] | None,
    *,
    report_id: str,
    issued_at: datetime,
    authorised_by: str,
    lab: dict[str, str],
    decision_rule: str | None = None,
    replaces: str | None = None,
    reason: str | None = None,
    replaces_version: str | None = None,
) -> Document:
    """The certificate document of one component (``record`` from
    :func:`lightcomp.store.queries.component_record`)."""
    m = record.get("measurement")
    if decision_rule is None:  # the plan's rule, stored with the measurement's U
        ev = (m or {}).get("uncertainty_evaluation") or {}
        decision_rule = ev.get("decision_rule") or "simple"
    if decision_rule not in DECISION_RULES:
        raise ReportError(
            f"unknown decision rule {decision_rule!r}: use {' or '.join(DECISION_RULES)}"
        )
    if m is None:
        raise ReportError(f"component {record['product_code']} has never been measured")
    if m["verdict"] == "error":
        raise ReportError(
            f"component {record['product_code']} has no valid measurement "
            f"(last one ended in error: {m.get('error_message') or 'unknown'}); re-test it first"
        )
    run = record.get("test_run") or {}
    cal = record.get("calibration")
    man = record["manufacturer"]
    fam = record["family"]
    lot = record.get("lot") or {}
    params = run.get("params") or {}
    plan = run.get("plan") or {}
    method = params.get("method") or (plan.get("plan") or {}).get("method") or DEFAULT_METHOD
    deviations = params.get("deviations") or (plan.get("plan") or {}).get("deviations")

    title = "Test report: photometric, colorimetric and electrical measurement of an LED light component"
    doc = Document(
        title=title,
        subtitle=f"{lab['name']} · {lab['address']}",
        report_id=report_id,
        footer=f"{lab['name']} · results relate only to the item tested",
    )
    if replaces:
        doc.add(
            Paragraph(
                f"This report replaces report {replaces}, which is withdrawn. "
                f"Reason for the reissue: {reason}."
                + (
                    f" Report {replaces} gave values of analysis version "
                    f"{replaces_version or '– (before analysis versions)'}; this report gives "
                    f"them on analysis version {m.get('analysis_version')}."
                    if replaces_version != m.get("analysis_version")
                    else ""
                ),
                "warn",
            )
        )
    doc.add(Heading("1. Report and laboratory"))
    kv = [
        ("Report id", report_id),
        ("Laboratory", lab["name"]),
        ("Address (place of testing)", lab["address"]),
    ]
    if lab.get("accreditation"):
        kv.append(("Accreditation", lab["accreditation"]))
    kv += [
        ("Station", str(run.get("station") or "–")),
        ("Customer (manufacturer)", f"{man['name']} (registry id {man['registry_id']})"),
        ("Customer address", man.get("address") or "–"),
        ("Date of issue", _when(issued_at, with_time=False)),
    ]
    if replaces:
        kv.append(("Replaces report", f"{replaces} (reason: {reason})"))
    doc.add(KeyValues(kv))

    doc.add(Heading("2. Item tested"))
    doc.add(
        KeyValues(
            _decoded(record["product_code"])
            + [
                (
                    "Family (manufacturer's model)",
                    f"{fam['name']} (type {fam.get('type_code') or '–'})",
                ),
                ("Lot", lot.get("name") or "–"),
                ("Manufacturer's serial", record.get("external_serial") or "–"),
                ("Date of receipt", _when(lot.get("received_at"), with_time=False)),
                ("Condition on receipt", "as received; no sampling by the laboratory"),
            ]
        )
    )

    doc.add(Heading("3. Method and conditions"))
    temps = m.get("temperatures") or {}
    elec = m.get("electrical") or {}
    ambient = m.get("ambient_c") if m.get("ambient_c") is not None else temps.get("ambient_c")
    drive = plan.get("drive") if isinstance(plan.get("drive"), dict) else {}
    supply = supply_sentence(drive)
    if elec.get("voltage_v") is not None or elec.get("frequency_hz") is not None:
        meas_supply = ", ".join(
            f"{catalogue.lookup(k).label_en.lower()} {catalogue.format_value(k, v, unit=True)}"
            for k, v in elec.items()
            if finite(v) is not None and catalogue.lookup(k) is not None
        )
        supply = f"{supply}; measured: {meas_supply}" if supply else meas_supply
    doc.add(
        KeyValues(
            [
                ("Method", str(method)),
                ("Deviations from the method", str(deviations) if deviations else "none"),
                (
                    "Test plan",
                    f"{run.get('plan_name') or '–'} version {run.get('plan_version') or '–'}",
                ),
                ("Date of test", _when(m.get("measured_at"))),
                ("Analysis version", _analysis_version(m.get("analysis_version"))),
                ("Operator", str(run.get("operator") or "–")),
                (
                    catalogue.lookup("ambient").label_en,
                    catalogue.format_value("ambient", ambient, unit=True),
                ),
                (
                    catalogue.lookup("tc").label_en,
                    catalogue.format_value("tc", m.get("tc_c"), unit=True),
                ),
                ("Supply", supply or "–"),
                (
                    "Instruments",
                    "; ".join(
                        f"{_ROLE_LABELS.get(k, k.replace('_', ' '))}: {v}"
                        for k, v in (m.get("instruments") or {}).items()
                    )
                    or "–",
                ),
            ]
        )
    )
    stab = _stabilisation_table(m.get("stabilisation") or [])
    if stab is not None:
        doc.add(Paragraph("Stabilisation history (readings before the measurement):", "strong"))
        doc.add(stab)

    doc.add(Heading("4. Results"))
    doc.add(Paragraph("Electrical", "strong"))
    doc.add(_results_table(m, _ELECTRICAL))
    doc.add(Paragraph("Photometric and colorimetric", "strong"))
    doc.add(_results_table(m, _PHOTOMETRIC))
    if spectrum is not None:
        doc.add(
            Figure(
                plots.spectrum_png(*spectrum),
                caption="Spectral radiant flux of the item (calibrated, after self-absorption "
                "correction).",
                width=0.85,
            )
        )
    else:
        doc.add(Paragraph("No spectrum is stored for this measurement.", "note"))
    ra, ri = _cri_values(m)
    if ri is not None:
        doc.add(
            Figure(
                plots.cri_bars_png(ri, ra),
                caption="CIE 13.3-1995 general (Ra) and special colour rendering indices R1–R15.",
                width=0.85,
            )
        )
    tm = _tm30(spectrum)
    if tm is not None:
        doc.add(
            Figure(
                plots.tm30_vector_graphic_png(
                    tm["test"], tm["ref"], rf=finite(m.get("rf")), rg=finite(m.get("rg"))
                ),
                caption="ANSI/IES TM-30-20 colour vector graphic (16 hue bins, computed from the "
                "stored spectrum; CIE 224:2017 reference).",
                width=0.5,
            )
        )
    else:
        doc.add(
            Paragraph("TM-30 colour vector graphic not available (no usable spectrum).", "note")
        )
    for block in modulation_report.certificate_blocks(m):  # VLC test, when the plan had one
        doc.add(block)

    doc.add(Heading("5. Statement of conformity"))
    table, overall = _conformity_table(m, decision_rule)
    doc.add(Paragraph(f"Decision rule: {DECISION_RULES[decision_rule]}", "note"))
    doc.add(table)
    style = "pass" if overall.startswith("The item conforms") else "fail"
    doc.add(Paragraph(overall, style if "NOT" in overall or style == "pass" else "warn"))

    doc.add(Heading("6. Measurement uncertainty and traceability"))
    has_u = bool(m.get("uncertainty"))
    doc.add(
        Paragraph(
            "Expanded uncertainties U are stated with the results where the measurement "
            "carries them (coverage factor k as given, k = 2 corresponds to about 95 % "
            "coverage probability, GUM / JCGM 100:2008)."
            if has_u
            else "The measurement record carries no uncertainty budget; no uncertainty is "
            "stated for the results.",
            "normal",
        )
    )
    ev = m.get("uncertainty_evaluation")
    if ev:
        doc.add(Paragraph(_mc_method(ev), "normal"))
    if cal is not None:
        doc.add(
            KeyValues(
                [
                    (
                        "Spectral responsivity calibration",
                        f"{cal['calib_id']} ({cal['kind']}, station {cal['station']})",
                    ),
                    (
                        "Valid",
                        f"{_when(cal['valid_from'], False)} to {_when(cal['valid_until'], False)} (status {cal['status']})",
                    ),
                    ("Standard lamp", cal.get("standard_lamp_id") or "–"),
                    ("Calibration certificate of the standard", cal.get("certificate_id") or "–"),
                    (
                        "Spectral uncertainty of the calibration",
                        "stored with the calibration (relative, k = 2)"
                        if cal.get("has_uncertainty")
                        else "not stored",
                    ),
                ]
            )
        )
        doc.add(
            Paragraph(
                "Traceability: the spectroradiometer/sphere responsivity is calibrated against "
                "the standard lamp named above, whose certificate provides traceability to the "
                "SI through a national metrology institute.",
                "note",
            )
        )
    else:
        doc.add(Paragraph("No calibration is linked to this measurement.", "warn"))

    if ev and ev.get("budget"):
        from lightcomp.uncertainty.report import budget_rows

        shown = {q.key: q for q in (*_ELECTRICAL, *_PHOTOMETRIC)}
        rows = budget_rows(
            ev["budget"],
            m.get("uncertainty") or {},
            [k for k in shown if k in (m.get("uncertainty") or {})],
            label=lambda k: shown[k].label_en,
            fmt_u=lambda k, u: f"{_fmt_u(u * shown[k].scale)} {shown[k].shown_unit}".strip(),
        )
        if rows:
            doc.add(Heading("Annex A. Uncertainty budget"))
            doc.add(
                Paragraph(
                    "Contribution of each input group to the variance of each result, each "
                    "group varied alone in the Monte Carlo (inputs and their sources: "
                    "lightcomp docs/uncertainty.md). Groups below 1 % are not listed.",
                    "note",
                )
            )
            doc.add(
                Table(
                    ["quantity", "U (k = 2)", "main contributions (share of variance)"],
                    rows,
                    align=["l", "r", "l"],
                )
            )

    doc.add(Heading("7. Authorisation"))
    doc.add(
        KeyValues(
            [
                ("Authorised by", authorised_by),
                ("Date of issue", _when(issued_at)),
            ]
        )
    )
    doc.add(
        Paragraph(
            "The results relate only to the item tested, as received. This report shall not be "
            "reproduced except in full without the written approval of the laboratory.",
            "strong",
        )
    )
    doc.add(Paragraph(f"— End of report {report_id} —", "end"))
    return doc


class _Issued:
    """The current (not replaced) certificate of one measurement, as issued."""

    def __init__(self, row: Certificate, replaces_report_id: str | None) -> None:
        self.report_id = row.report_id
        self.issued_at = row.issued_at
        self.format = row.format
        self.content_sha256 = row.content_sha256
        self.reason = row.reason
        self.replaces_report_id = replaces_report_id


def _issued_for(session, measurement_id: int) -> _Issued | None:
    """The newest certificate of ``measurement_id`` that no other certificate replaces."""
    rows = session.scalars(
        select(Certificate)
        .where(Certificate.measurement_id == measurement_id)
        .order_by(Certificate.id.desc())
    ).all()
    ids = [r.id for r in rows]
    replaced = set(
        session.scalars(select(Certificate.replaces_id).where(Certificate.replaces_id.in_(ids)))
    )
    for row in rows:
        if row.id not in replaced:
            prev = session.get(Certificate, row.replaces_id) if row.replaces_id else None
            return _Issued(row, prev.report_id if prev is not None else None)
    return None


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc


def issue_certificate(
    store,
    code: str,
    path: str | Path,
    *,
    authorised_by: str,
    fmt: str | None = None,
    lab_config: str | Path | None = None,
    decision_rule: str | None = None,
    reissue: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Write the certificate of component ``code`` to ``path`` and record it; one transaction.

    ``fmt`` defaults to the file extension (``.html``/``.htm`` → HTML, else PDF).
    With ``reissue`` (an existing report id of the same component) the new report
    replaces it; ``reason`` is then required. Returns ``{"report_id",
    "replaces", "path", "format", "content_sha256", "bytes"}``.
    """
    from lightcomp.reports.lot_report import render

    if not authorised_by or not authorised_by.strip():
        raise ReportError(
            "a certificate needs the name of the person authorising it (--authorised-by)"
        )
    if reissue and not (reason and reason.strip()):
        raise ReportError(f"reissuing {reissue} needs a --reason")
    if reason and not reissue:
        raise ReportError("--reason is only for a reissue (--reissue REPORT_ID)")
    path = Path(path)
    fmt = (fmt or ("html" if path.suffix.lower() in (".html", ".htm") else "pdf")).lower()
    if fmt not in ("html", "pdf"):
        raise ReportError(f"unknown certificate format {fmt!r}: use html or pdf")
    if not path.parent.is_dir():
        raise ReportError(f"output folder {path.parent} does not exist")
    now = now or datetime.now(UTC)
    from lightcomp.coding import canonical, validate

    try:  # the code as stored (the store only looks up; coding knows the spelling rules)
        stored_code = canonical(code)
    except CodeError:
        stored_code = code
    with store.transaction() as session:
        record = queries.component_record(session, stored_code)
        if record is None:
            validate(code)  # a malformed code says what is wrong with it
            raise ReportError(f"unknown product code {code!r}: no such component in the store")
        old = None
        if reissue:
            old = session.scalars(
                select(Certificate).where(Certificate.report_id == reissue)
            ).first()
            if old is None:
                raise ReportError(f"unknown report id {reissue!r}: nothing to reissue")
            if old.component_id != record["component_id"]:
                other = session.get(Component, old.component_id)
                raise ReportError(
                    f"report {reissue} is for component {other.product_code}, not {record['product_code']}"
                )
            old_version = session.scalar(
                select(Measurement.analysis_version).where(Measurement.id == old.measurement_id)
            )
            newer = session.scalars(
                select(Certificate.report_id).where(Certificate.replaces_id == old.id)
            ).first()
            if newer:
                raise ReportError(
                    f"report {reissue} was already replaced by {newer}; reissue {newer}"
                )
        spectrum = queries.component_spectrum(session, record["product_code"])
        from lightcomp.uncertainty.station import evaluation_dict

        ev = evaluation_dict(session, record["measurement"]["measurement_id"])
        if ev is not None:  # how the U were obtained: method line, budget annex, rule
            record["measurement"]["uncertainty_evaluation"] = ev
        lab = lab_identity((record.get("test_run") or {}).get("params"), lab_config)
        issued = None if reissue else _issued_for(session, record["measurement"]["measurement_id"])
        if issued is not None:
            # The same measurement in another format (or again): the same report, same id and
            # issue time. Only a content change needs --reissue, so check by re-rendering the
            # issued format (rendering is deterministic) against its recorded SHA-256.
            def build(fmt_: str) -> bytes:
                return render(
                    build_certificate(
                        record,
                        spectrum,
                        report_id=issued.report_id,
                        issued_at=issued.issued_at,
                        authorised_by=authorised_by.strip(),
                        lab=lab,
                        decision_rule=decision_rule,
                        replaces=issued.replaces_report_id,
                        reason=issued.reason,
                    ),
                    fmt_,
                )

            data = build(fmt)
            check = data if issued.format == fmt else build(issued.format or "pdf")
            if hashlib.sha256(check).hexdigest() != issued.content_sha256:
                raise ReportError(
                    f"this measurement already has report {issued.report_id}, and its content "
                    f"would change (authoriser, decision rule or laboratory); to issue a "
                    f"corrected report use --reissue {issued.report_id} --reason ..."
                )
            _write(path, data)
            return {
                "report_id": issued.report_id,
                "replaces": issued.replaces_report_id,
                "path": str(path),
                "format": fmt,
                "content_sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
            }
        report_id = next_report_id(session, now.year)
        doc = build_certificate(
            record,
            spectrum,
            report_id=report_id,
            issued_at=now,
            authorised_by=authorised_by.strip(),
            lab=lab,
            decision_rule=decision_rule,
            replaces=reissue,
            reason=reason.strip() if reason else None,
            replaces_version=old_version if old is not None else None,
        )
        data = render(doc, fmt)
        digest = hashlib.sha256(data).hexdigest()
        session.add(
            Certificate(
                report_id=report_id,
                component_id=record["component_id"],
                measurement_id=record["measurement"]["measurement_id"],
                replaces_id=old.id if old is not None else None,
                reason=reason.strip() if reason else None,
                issued_at=now,
                authorised_by=authorised_by.strip(),
                format=fmt,
                content_sha256=digest,
            )
        )
        session.flush()
        _write(path, data)
    return {
        "report_id": report_id,
        "replaces": reissue,
        "path": str(path),
        "format": fmt,
        "content_sha256": digest,
        "bytes": len(data),
    }

"""Lot / period yield report: headline yield against the target, failure Pareto, histograms
with limits, Cpk table, chromaticity diagrams, yield trend, control chart, failed components.

One read of the selected records (:func:`lightcomp.store.queries.lot_records`),
then vectorised statistics (:mod:`lightcomp.analysis.yield_stats`) and plots
(:mod:`lightcomp.reports.plots`); the same :class:`~lightcomp.reports.document.Document`
renders to self-contained HTML or to PDF.

Yield = passes / (passes + failures); measurement errors are counted apart
(:func:`lightcomp.analysis.yield_stats.yield_summary`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lightcomp import quantities as catalogue
from lightcomp.errors import ReportError
from lightcomp.reports import modulation as modulation_report
from lightcomp.reports import plots
from lightcomp.reports.document import (
    Document,
    Figure,
    Heading,
    KeyValues,
    Paragraph,
    Table,
    render_html,
    render_pdf,
)
from lightcomp.reports.yields import yield_summary_dict
from lightcomp.store import queries

__all__ = [
    "HISTOGRAM_QUANTITIES",
    "LIMIT_ALIASES",
    "build_lot_report",
    "ansi_bin_rows",
    "limits_by_column",
    "lot_name",
    "render",
    "withdrawn_lots",
    "write_lot_report",
]

#: Quantities histogrammed in the report (measurement columns).
HISTOGRAM_QUANTITIES: tuple[str, ...] = (
    "luminous_flux_lm",
    "efficacy_lmw",
    "cct_k",
    "duv",
    "ra",
    "r9",
    "power_w",
    "power_factor",
)

#: Limit names (station plan short names first) that bound each measurement column,
#: from the quantity catalogue (plan name, then every accepted spelling).
LIMIT_ALIASES: dict[str, tuple[str, ...]] = {
    q.column: q.names for q in catalogue.column_quantities() if q.plan
}

#: Key quantity of the control chart.
CONTROL_QUANTITY = "luminous_flux_lm"

MAX_FAILED_ROWS = 200

#: Control chart: the most recent components shown (a readable individuals chart).
CONTROL_POINTS = 1000


def plural(n: int, noun: str) -> str:
    """``1 failed component``, ``2 failed components``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def histogram_data(
    measured: pd.DataFrame, limits: dict[str, tuple[float | None, float | None]]
) -> dict[str, np.ndarray]:
    """The columns to histogram, in catalogue order: every quantity the plan limits plus
    the usual key quantities, each only when some component has a value (a DC plan gets
    no empty power-factor panel). The modulation quantities have their own figure."""
    skip = set(modulation_report._RESULT_COLUMNS)  # the VLC figure's quantities
    out: dict[str, np.ndarray] = {}
    for q in catalogue.column_quantities():
        col = q.column
        if col in skip or col not in measured.columns:
            continue
        if col not in limits and col not in HISTOGRAM_QUANTITIES:
            continue
        v = measured[col].to_numpy(float)
        if np.isfinite(v).any():
            out[col] = v
    return out


def limits_by_column(
    limits: dict[str, dict[str, Any]],
) -> dict[str, tuple[float | None, float | None]]:
    """Map plan limits ``{name: {min, max}}`` onto measurement columns via :data:`LIMIT_ALIASES`."""
    out: dict[str, tuple[float | None, float | None]] = {}
    for col, names in LIMIT_ALIASES.items():
        for name in names:
            lim = limits.get(name)
            if lim and (lim.get("min") is not None or lim.get("max") is not None):
                out[col] = (lim.get("min"), lim.get("max"))
                break
    return out


def _index(v: float) -> str:
    """A capability index (Cp, Cpk): two decimals, as capability requirements are written."""
    return "–" if v is None or not np.isfinite(v) else f"{v:.2f}"


def _pct(v: float) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{100 * v:.2f} %"


def _when(t: Any) -> str:
    if t is None or (isinstance(t, float) and np.isnan(t)):
        return "–"
    ts = pd.Timestamp(t)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")


def _selection_limits(session, lots: list[str]) -> tuple[dict[str, dict], str | None]:
    """Limits shared by every lot of the selection (None note), or ({} , note) when they differ."""
    seen: list[dict] = []
    for lot in lots[:50]:
        seen.append(queries.lot_limits(session, lot))
    if not seen:
        return {}, None
    first = seen[0]
    if all(s == first for s in seen[1:]):
        return first, None
    return {}, "The selected lots were tested against different limits; limits are not drawn."


def _describe(filters: dict[str, Any]) -> str:
    names = {
        "lot": "lot",
        "family": "family",
        "manufacturer": "manufacturer",
        "since": "since",
        "until": "until",
    }
    parts = [f"{names[k]} {v}" for k, v in filters.items() if v is not None]
    return ", ".join(parts) if parts else "all lots"


def build_lot_report(
    session,
    *,
    lot: str | None = None,
    family: str | None = None,
    manufacturer: str | None = None,
    since: Any = None,
    until: Any = None,
    target: float = 0.95,
    confidence: float = 0.95,
    max_failed_rows: int = MAX_FAILED_ROWS,
    now: datetime | None = None,
    as_of: Any = None,
) -> Document:
    """The yield report of a lot or of a selection (family, manufacturer, date range).

    The report shows the store *as of* one time, stated in it: ``as_of`` if given, else
    ``until``, else (a lot report) the lot's last measurement, else ``now``. Measurements
    after it — a later lot of the family in the trend — do not change the report, so
    re-running it with the same arguments gives the same content.

    Raises :class:`ReportError` for an unknown lot/family/manufacturer or an
    empty selection.
    """
    filters = {
        "lot": lot,
        "family": family,
        "manufacturer": manufacturer,
        "since": since,
        "until": until,
    }
    now = now or datetime.now(UTC)
    query = dict(filters)
    if as_of is not None:
        as_of = queries._as_utc(as_of, end=True, name="as of")
        query["until"] = (
            as_of if until is None else min(as_of, queries._as_utc(until, end=True, name="until"))
        )
    df = queries.lot_records(session, include_uncertainty=True, **query)
    if as_of is None:
        if until is not None:
            as_of = queries._as_utc(until, end=True, name="until")
        elif lot is not None and df["measured_at"].notna().any():
            last = pd.Timestamp(df["measured_at"].max()).to_pydatetime()
            as_of = (last if last.tzinfo else last.replace(tzinfo=UTC)) + timedelta(microseconds=1)
        else:
            as_of = now
    filters_as_of = as_of
    lots = list(dict.fromkeys(df["lot"].dropna()))
    verdict = df["verdict"].to_numpy()
    n_pass = int((verdict == "pass").sum())
    n_fail = int((verdict == "fail").sum())
    n_error = int((verdict == "error").sum())
    ys = yield_summary_dict(n_pass, n_fail, n_error, target=target, confidence=confidence)

    withdrawn = withdrawn_lots(session, lots)
    families = sorted(set(df["family"].dropna()))
    # a withdrawn lot says so in the title and on every page
    what = _describe(filters) + (" (withdrawn)" if lot in withdrawn else "")
    title = f"Yield report — {what}"
    doc = Document(
        title=title,
        subtitle=f"As of {_when(filters_as_of)} (measurements up to this time), by lightcomp "
        f"from the store; selection: {_describe(filters)}.",
        footer=f"lightcomp yield report · {what}",
    )

    # -- headline -------------------------------------------------------------------------------
    doc.add(Heading("Headline"))
    style = {"target met": "pass", "target missed": "fail"}.get(ys["verdict"], "warn")
    pooled = " (all families together)" if len(families) > 1 else ""
    doc.add(
        Paragraph(
            f"Yield{pooled} {_pct(ys['yield'])} (target {100 * target:g} %): {ys['verdict']}. "
            f"{100 * confidence:g} % confidence interval {_pct(ys['lower'])} – {_pct(ys['upper'])} "
            f"({ys.get('method', 'wilson')}).",
            style,
        )
    )
    for name, (when, reason) in withdrawn.items():
        doc.add(
            Paragraph(
                f"Lot {name} was withdrawn on {_when(when)[:10]}"
                + (f" ({reason})" if reason else "")
                + "; its components are counted here and marked withdrawn wherever the lot is "
                "named.",
                "warn",
            )
        )
    stations = sorted(set(df["station"].dropna().astype(str)))
    plan_rows = df[["plan_name", "plan_version"]].drop_duplicates().dropna(subset=["plan_name"])
    plans = sorted(
        f"{p} v{v}" if v is not None and v == v else str(p)
        for p, v in plan_rows.itertuples(index=False)
    )
    cal_ids = [c for c in dict.fromkeys(df["calib_id"].dropna()) if c]
    cals = queries.calibrations(session, cal_ids)
    cal_text = "; ".join(
        f"{c['calib_id']} (station {c['station']}, valid {_when(c['valid_from'])[:10]} to "
        f"{_when(c['valid_until'])[:10]}"
        + (f", certificate {c['certificate_id']}" if c["certificate_id"] else "")
        + ")"
        for c in cals
    )
    shown_lots = [lot_name(n, withdrawn) for n in lots[:20]]
    kv = [
        ("Selection", _describe(filters)),
        ("Lots", ", ".join(shown_lots) + (f" … ({len(lots)} lots)" if len(lots) > 20 else "")),
        ("Families", ", ".join(families)),
        ("Manufacturers", ", ".join(sorted(set(df["manufacturer"].dropna())))),
        ("Components measured", f"{len(df)}"),
        ("Pass", f"{n_pass}"),
        ("Fail", f"{n_fail}"),
        ("Error (not tested)", f"{n_error}"),
        ("Tested (pass + fail)", f"{n_pass + n_fail}"),
        ("Yield", _pct(ys["yield"])),
        (
            f"{100 * confidence:g} % interval",
            f"{_pct(ys['lower'])} – {_pct(ys['upper'])} ({ys.get('method', 'wilson')})",
        ),
        ("Verdict", f"{ys['verdict']} (target {100 * target:g} %)"),
        ("Measured", f"{_when(df['measured_at'].min())} – {_when(df['measured_at'].max())}"),
        ("Station(s)", ", ".join(stations) or "–"),
        ("Plan(s)", ", ".join(plans) or "–"),
        ("Calibration(s)", cal_text or "–"),
    ]
    doc.add(KeyValues(kv))
    doc.add(
        Paragraph(
            "Yield = passes / (passes + failures); components with a measurement error were "
            "not tested and are counted apart. Verdict: lower one-sided bound ≥ target → "
            "target met; upper one-sided bound < target → target missed; otherwise not yet "
            "decidable (lightcomp.analysis.yield_stats).",
            "note",
        )
    )
    ctx = _Context(session, filters, target, confidence, max_failed_rows, filters_as_of, withdrawn)
    if len(families) <= 1:
        _family_body(doc, ctx, df, lot=lot, level=2)
        return doc
    # Several families: a section each — their limits, spreads and processes differ, so no
    # histogram, Cpk table or control chart ever pools two of them.
    doc.add(_family_table(df, families, withdrawn, target, confidence))
    for fam in families:
        doc.add(Heading(f"Family {fam}", level=2))
        _family_body(doc, ctx, df[df["family"] == fam], lot=None, level=3, family=fam)
    return doc


@dataclass(frozen=True)
class _Context:
    """What every section of one report shares."""

    session: Any
    filters: dict[str, Any]
    target: float
    confidence: float
    max_failed_rows: int
    as_of: datetime
    withdrawn: dict[str, tuple[datetime, str | None]]


def withdrawn_lots(session, lots: list[str]) -> dict[str, tuple[datetime, str | None]]:
    """``{lot: (withdrawn at, reason)}`` of the lots withdrawn (lightcomp.store.lots.withdraw_lot).

    As the store stands when the report is made, whatever its "as of" time: a withdrawal
    comes after the measurements, and a report must never show a withdrawn lot as valid."""
    from sqlalchemy import select

    from lightcomp.store.models import Lot

    if not lots:
        return {}
    rows = session.execute(
        select(Lot.name, Lot.withdrawn_at, Lot.withdraw_reason).where(
            Lot.name.in_(lots), Lot.withdrawn_at.is_not(None)
        )
    ).all()
    out = {n: (w if w.tzinfo else w.replace(tzinfo=UTC), r) for n, w, r in rows}
    return {n: out[n] for n in lots if n in out}


def dc_driven(session, df: pd.DataFrame) -> bool:
    """Whether every family of ``df`` is DC-driven (its registry input class, ``CC-DC``,
    ``CV-DC``): then voltage and current are DC values, not rms."""
    from sqlalchemy import select

    from lightcomp.store.models import Family

    names = sorted(set(df["family"].dropna()))
    if not names:
        return False
    classes = session.scalars(select(Family.input_class).where(Family.name.in_(names))).all()
    return bool(classes) and all("DC" in str(c or "").upper() for c in classes)


def lot_name(name: str, withdrawn: dict[str, Any]) -> str:
    """A lot as the report names it: ``LOT-7 (withdrawn)`` when it was withdrawn."""
    return f"{name} (withdrawn)" if name in withdrawn else str(name)


def _family_table(df, families, withdrawn, target, confidence) -> Table:
    """One row per family: its lots, counts, yield and verdict against the target."""
    rows, styles = [], []
    for fam in families:
        part = df[df["family"] == fam]
        v = part["verdict"].to_numpy()
        p, f, e = (int((v == k).sum()) for k in ("pass", "fail", "error"))
        s = yield_summary_dict(p, f, e, target=target, confidence=confidence)
        fam_lots = [lot_name(n, withdrawn) for n in dict.fromkeys(part["lot"].dropna())]
        rows.append(
            [fam, ", ".join(fam_lots), str(len(part)), str(p), str(f), str(e),
             _pct(s["yield"]), f"{_pct(s['lower'])} – {_pct(s['upper'])}", s["verdict"]]
        )  # fmt: skip
        styles.append({"target met": "pass", "target missed": "fail"}.get(s["verdict"], "warn"))
    return Table(
        ["family", "lots", "measured", "pass", "fail", "error", "yield",
         f"{100 * confidence:g} % interval", "verdict"],
        rows,
        row_styles=styles,
        align=["l", "l", "r", "r", "r", "r", "r", "r", "l"],
        widths=[80, 84, 52, 30, 26, 32, 40, 78, 80],
        caption="Yield per family; each family has its own section below (limits, "
        "distributions and control charts are never pooled across families).",
    )  # fmt: skip


def _family_body(
    doc: Document, ctx: _Context, df: pd.DataFrame, *, lot: str | None, level: int,
    family: str | None = None,
) -> None:  # fmt: skip
    """Failure causes, distributions, chromaticity, trend, control chart and failed
    components of ``df`` — one lot, or the components of one family."""
    session, withdrawn = ctx.session, ctx.withdrawn
    lots = list(dict.fromkeys(df["lot"].dropna()))
    n_error = int((df["verdict"] == "error").sum())

    # -- limits -----------------------------------------------------------------------------------
    if lot is not None:
        raw_limits, limits_note = queries.lot_limits(session, lot), None
    else:
        raw_limits, limits_note = _selection_limits(session, lots)
    col_limits = limits_by_column(raw_limits)

    # -- Pareto -------------------------------------------------------------------------------
    doc.add(Heading("Failure causes", level=level))
    from lightcomp.analysis.yield_stats import pareto_failure_causes

    fails = df.loc[df["verdict"] == "fail", "failed_limits"].tolist()
    par = pareto_failure_causes(df["failed_limits"].tolist())
    dc = dc_driven(session, df)
    causes = [catalogue.limit_label(c, full=True, dc=dc) for c in par["cause"].tolist()]
    counts = par["count"].astype(int).tolist()
    if n_error:
        causes.append("(measurement error)")
        counts.append(n_error)
        order = np.argsort(-np.asarray(counts), kind="stable")
        causes = [causes[i] for i in order]
        counts = [counts[i] for i in order]
    if causes:
        doc.add(_figure(plots.pareto_png(causes, counts, n_components=len(df))))
        total = sum(counts)
        cum = np.cumsum(counts)
        doc.add(
            Table(
                ["cause", "components", "% of causes", "cumulative %", "% of components"],
                [
                    [
                        c,
                        str(k),
                        f"{100 * k / total:.1f}",
                        f"{100 * cu / total:.1f}",
                        f"{100 * k / len(df):.2f}",
                    ]
                    for c, k, cu in zip(causes, counts, cum, strict=True)
                ],
                align=["l", "r", "r", "r", "r"],
                note=f"{plural(len(fails), 'failed component')}; one component may fail "
                "several limits.",
            )
        )
    else:
        doc.add(Paragraph("No failures and no measurement errors.", "pass"))

    # -- distributions ---------------------------------------------------------------------------
    doc.add(Heading("Distributions and capability", level=level))
    measured = df["verdict"] != "error"
    data = histogram_data(df.loc[measured], col_limits)
    passed = (df.loc[measured, "verdict"] == "pass").to_numpy()
    if data:
        doc.add(
            _figure(
                plots.histograms_png(data, col_limits, passed=passed, dc=dc),
                caption="Histograms of the measured components (blue pass, red fail); "
                "dashed red lines: limits of the plan."
                + (f" {limits_note}" if limits_note else ""),
            )
        )
        from lightcomp.uncertainty.report import typical_u

        keys = [catalogue.by_column(q).key for q in data]
        typical = typical_u(df.loc[measured, "uncertainty"], keys)
        doc.add(_cpk_table(data, col_limits, typical, dc=dc))
    else:
        doc.add(Paragraph("No measured values: every component had a measurement error.", "note"))
    vlc, vlc_limits = modulation_report.bandwidth_data(df, raw_limits, measured)
    if vlc:  # lots tested with the VLC modulation test
        doc.add(Paragraph("Modulation bandwidth (visible light communication)", "strong"))
        doc.add(_figure(plots.histograms_png(vlc, vlc_limits, passed=passed, ncols=2)))
        from lightcomp.uncertainty.report import typical_u

        vlc_typical = typical_u(
            df.loc[measured, "uncertainty"], [catalogue.by_column(q).key for q in vlc]
        )
        doc.add(_cpk_table(vlc, vlc_limits, vlc_typical))

    # -- chromaticity ----------------------------------------------------------------------------
    doc.add(Heading("Chromaticity", level=level))
    x = df.loc[measured, "x"].to_numpy(float)
    y = df.loc[measured, "y"].to_numpy(float)
    cat = df.loc[measured, "ansi_category"]
    rows, sub_bins = ansi_bin_rows(cat)
    doc.add(_figure(plots.chromaticity_png(x, y, passed, space="xy", sub_bins=sub_bins)))
    doc.add(_figure(plots.chromaticity_png(x, y, passed, space="uv", sub_bins=sub_bins)))
    inside = df.loc[measured, "ansi_inside"]
    n_in = int(inside.fillna(False).astype(bool).sum())
    steps = df["sdcm_steps"].to_numpy(float)
    doc.add(
        Table(
            ["ANSI C78.377 bin", "components", "%"],
            rows,
            align=["l", "r", "r"],
            note=f"{n_in} of {int(measured.sum())} measured components inside their nominal "
            f"ANSI C78.377 quadrangle; median {np.nanmedian(steps):.2f}"
            " MacAdam steps from the nominal centre."
            if np.isfinite(steps).any()
            else None,
        )
    )

    # -- trend -----------------------------------------------------------------------------------
    doc.add(Heading("Yield trend", level=level))
    doc.add(_trend_figure(ctx, df, lots, lot, family))

    # -- control chart ---------------------------------------------------------------------------
    doc.add(Heading("Control chart", level=level))
    v = df.loc[measured, CONTROL_QUANTITY].to_numpy(float)
    v = v[np.isfinite(v)]
    if v.size >= 2:
        from lightcomp.analysis.yield_stats import individuals_chart

        recent = v[-CONTROL_POINTS:]
        chart = individuals_chart(recent)
        scope = (
            f"the most recent {recent.size} of {v.size} measured components"
            if recent.size < v.size
            else "every measured component"
        )
        doc.add(
            _figure(
                plots.control_chart_png(chart, quantity=CONTROL_QUANTITY),
                caption=f"Individuals / moving-range chart of the luminous flux of {scope}"
                + (f" of family {family}" if family else "")
                + ", in order of measurement (3-sigma limits, sigma = MR-bar / 1.128; circled: "
                "Western Electric rules 1–4 or moving range above its UCL). "
                f"{int(np.asarray(chart['out_of_control']).sum())} points flagged.",
            )
        )
    else:
        doc.add(Paragraph("Fewer than two flux values: no control chart.", "note"))

    # -- failed components -----------------------------------------------------------------------
    doc.add(Heading("Failed components", level=level))
    bad = df[df["verdict"] != "pass"]
    if bad.empty:
        doc.add(Paragraph("None.", "pass"))
        return
    shown = bad.head(ctx.max_failed_rows)
    one_lot = len(lots) <= 1
    rows, styles = [], []
    for r in shown.itertuples(index=False):
        reason = (
            "; ".join(_failed_with_values(r._asdict(), r.failed_limits, col_limits))
            if r.verdict == "fail"
            else (r.error_message or "error")
        )
        row = [
            _format_code(r.product_code),
            lot_name(r.lot, withdrawn),
            r.verdict,
            reason,
            catalogue.format_value("luminous_flux_lm", r.luminous_flux_lm),
            catalogue.format_value("cct_k", r.cct_k),
            catalogue.format_value("duv", r.duv),
            catalogue.format_value("ra", r.ra),
            _when(r.measured_at)[:16],
        ]
        rows.append(row[:1] + row[2:] if one_lot else row)
        styles.append("fail" if r.verdict == "fail" else "warn")
    rest = len(bad) - len(shown)
    header = ["product code", "lot", "verdict", "failed limits / error",
              *(catalogue.lookup(c).label_short for c in ("luminous_flux_lm", "cct_k", "duv",
                                                         "ra")),
              "measured (UTC)"]  # fmt: skip
    align = ["l", "l", "l", "l", "r", "r", "r", "r", "l"]
    # PDF widths in points (A4 text width about 504 pt, 7.5 pt type): the code on two lines
    # broken at a hyphen, "(withdrawn)" and "-0.0053" whole, the time under its date
    widths = [114, 54, 37, 119, 35, 29, 38, 27, 51]
    if one_lot:
        header, align, widths = (x[:1] + x[2:] for x in (header, align, widths))
    doc.add(
        Table(
            header,
            rows,
            row_styles=styles,
            align=align,
            widths=widths,
            note=(
                f"… and {rest} more failed or errored components (use `lightcomp records` "
                "for the full list)."
                if rest > 0
                else f"{len(bad)} failed or errored components."
            ),
        )
    )


def ansi_bin_rows(categories: pd.Series) -> tuple[list[list[str]], list[str]]:
    """The ANSI C78.377 table, sorted by bin (nominal CCT, then sub-bin letter, then the
    components outside every quadrangle), and the sub-bins it lists (drawn in the plots)."""
    from lightcomp.analysis.binning import SUB_BIN_LETTERS

    counts = categories.dropna().astype(str).value_counts()
    total = len(categories)

    def key(cat: str) -> tuple[float, int]:
        nominal, _, letter = cat.partition("-")
        try:
            k = float(nominal)
        except ValueError:
            return (float("inf"), 0)
        return (k, SUB_BIN_LETTERS.index(letter) if letter in SUB_BIN_LETTERS else 9)

    rows, sub_bins = [], []
    for cat in sorted(counts.index, key=key):
        n = int(counts[cat])
        nominal, _, letter = cat.partition("-")
        if letter:
            sub_bins.append(cat)
            shown = cat
        elif np.isfinite(key(cat)[0]):
            shown = f"outside (nearest {nominal} K)"
        else:
            shown = cat
        rows.append([shown, str(n), f"{100 * n / total:.1f}"])
    missing = total - int(counts.sum())
    if missing:
        rows.append(["– (no chromaticity)", str(missing), f"{100 * missing / total:.1f}"])
    return rows, sub_bins


#: Width in pixels that fills the text width (the histogram grid: 11 in at 110 dpi); every
#: other plot is shown at its own pixel width relative to it, so all share one text size.
FULL_WIDTH_PX = 1210


def _figure(png: bytes, caption: str | None = None) -> Figure:
    """A report figure at the width that keeps its lettering the size of every other plot's."""
    width_px = int.from_bytes(png[16:20], "big")  # PNG IHDR
    return Figure(png, caption=caption, width=min(1.0, width_px / FULL_WIDTH_PX))


def _failed_with_values(
    row: dict, failed: list, limits: dict[str, tuple[float | None, float | None]]
) -> list[str]:
    """Each failed limit by its label with the measured value and the limit it broke:
    ``R9 -3 (min 0)``; catalogue formats and units."""
    out = []
    for name in failed or []:
        q = catalogue.lookup(str(name))
        text = catalogue.limit_label(name)
        if q is not None and q.column in row:
            text += f" {catalogue.format_value(q, row[q.column], unit=True)}"
            lo, hi = limits.get(q.column, (None, None))
            v = row[q.column]
            try:
                v = float(v)
            except (TypeError, ValueError):
                v = float("nan")
            if lo is not None and (hi is None or not v > lo):
                text += f" (min {catalogue.format_value(q, lo)})"
            elif hi is not None:
                text += f" (max {catalogue.format_value(q, hi)})"
        out.append(text)
    return out


def _format_code(code: str) -> str:
    from lightcomp.coding import format_code

    try:
        return format_code(code)
    except Exception:  # noqa: BLE001 - a display nicety only; show the stored code
        return code


def _cpk_table(
    data: dict[str, np.ndarray],
    limits: dict,
    typical_u: dict[str, float] | None = None,
    *,
    dc: bool = False,
) -> Table:
    """Capability per quantity; with ``typical_u`` (median expanded uncertainty by
    catalogue key, from the stored Monte Carlo results) a "typical U" column."""
    from lightcomp.analysis.yield_stats import process_capability

    rows, styles = [], []
    for q, vals in data.items():
        v = vals[np.isfinite(vals)]
        lo, hi = limits.get(q, (None, None))
        mean = float(v.mean()) if v.size else float("nan")
        sd = float(v.std(ddof=1)) if v.size > 1 else float("nan")
        cp = cpk = float("nan")
        if v.size >= 2 and (lo is not None or hi is not None) and sd > 0:
            pc = process_capability(v, lo, hi)
            cp, cpk = float(pc["cp"]), float(pc["cpk"])
        quantity = catalogue.by_column(q)
        rows.append(
            [
                quantity.label(dc=dc),
                str(v.size),
                catalogue.format_value(quantity, mean),
                catalogue.format_spread(quantity, sd, like=mean),
                catalogue.format_value(quantity, lo),
                catalogue.format_value(quantity, hi),
                _index(cp),
                _index(cpk),
            ]
        )
        if typical_u:
            u = typical_u.get(quantity.key)
            rows[-1].append(catalogue.format_spread(quantity, u, like=mean))
        styles.append(None if not np.isfinite(cpk) else ("pass" if cpk >= 1.33 else "warn"))
    header = ["quantity", "n", "mean", "std dev", "LSL", "USL", "Cp", "Cpk"]
    caption = (
        "Process capability of the measured (non-error) components; sigma is the "
        "overall sample standard deviation. Cpk ≥ 1.33 is the usual requirement (green)."
    )
    if typical_u:
        header.append("typical U (k = 2)")
        caption += (
            " Typical U: median expanded measurement uncertainty of the components "
            "(GUM S1 Monte Carlo, stored with each measurement)."
        )
    widths = [34, 5, 8, 8, 8, 8, 5, 5, 12][: len(header)]  # n never wraps in the PDF
    return Table(
        header,
        rows,
        row_styles=styles,
        align=["l"] + ["r"] * (len(header) - 1),
        caption=caption,
        widths=widths,
    )


def _trend_figure(
    ctx: _Context, df: pd.DataFrame, lots: list[str], lot: str | None, family: str | None
) -> Figure:
    """Yield per lot of the family (lot report, family section) / of the selection; per
    group of consecutive components for a single lot.

    Only measurements before the report's time: a lot measured later does not change it."""
    trend_filters = dict(ctx.filters)
    if lot is not None:
        fam = df["family"].dropna().iloc[0] if df["family"].notna().any() else None
        trend_filters = {"family": fam} if fam else {"lot": lot}
    elif family is not None:
        trend_filters["family"] = family
    until = trend_filters.get("until")
    trend_filters["until"] = (
        ctx.as_of
        if until is None
        else min(ctx.as_of, queries._as_utc(until, end=True, name="until"))
    )
    from lightcomp.analysis.yield_stats import yield_summary

    per_lot = queries.yield_by_lot(ctx.session, **trend_filters)
    per_lot = per_lot[per_lot["n_tested"] > 0]
    target, confidence = ctx.target, ctx.confidence
    if len(per_lot) >= 2:
        s = yield_summary(
            per_lot["n_pass"].to_numpy(),
            per_lot["n_fail"].to_numpy(),
            per_lot["n_error"].to_numpy(),
            target=target,
            confidence=confidence,
        )
        names = per_lot["lot"].astype(str).tolist()
        gone = withdrawn_lots(ctx.session, names)
        hl = names.index(lot) if lot in names else None
        png = plots.yield_trend_png(
            [lot_name(n, gone) for n in names],
            s["yield"],
            s["lower"],
            s["upper"],
            target=target,
            highlight=hl,
            withdrawn=[n in gone for n in names],
        )
        what = "lots of the family" if lot is not None or family else "lots of the selection"
        return _figure(
            png,
            caption=f"Yield of the {what} in order of first measurement, with "
            f"{100 * confidence:g} % intervals; dashed line: {100 * target:g} % target"
            + ("; circled: this lot" if hl is not None else "")
            + ("; open squares: withdrawn lots" if gone else "")
            + ".",
        )
    # One lot: consecutive groups in order of measurement, named by their component numbers
    # (always distinct, unlike clock times of a fast run).
    tested = df[df["verdict"] != "error"]
    k = int(min(20, max(1, len(tested) // 25)))
    groups = np.array_split(np.arange(len(tested)), k)
    ok = (tested["verdict"] == "pass").to_numpy()
    n_pass = np.array([ok[g].sum() for g in groups])
    n_tot = np.array([g.size for g in groups])
    s = yield_summary(n_pass, n_tot - n_pass, target=target, confidence=confidence)
    labels = [f"{g[0] + 1}–{g[-1] + 1}" for g in groups]
    png = plots.yield_trend_png(
        labels,
        s["yield"],
        s["lower"],
        s["upper"],
        target=target,
        xlabel="tested components, in order of measurement",
    )
    times = tested["measured_at"]
    return _figure(
        png,
        caption=f"Yield within the lot in {k} consecutive groups of about {n_tot.mean():.0f} "
        f"tested components (measured {_when(times.min())} – {_when(times.max())}), with "
        f"{100 * confidence:g} % intervals; dashed line: {100 * target:g} % target.",
    )


def render(doc: Document, fmt: str) -> bytes:
    """Render ``doc`` as ``fmt`` ("html" or "pdf") bytes."""
    if fmt == "html":
        return render_html(doc).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(doc)
    raise ReportError(f"unknown report format {fmt!r}: use html or pdf")


def write_lot_report(
    store,
    path: str | Path,
    *,
    fmt: str | None = None,
    **selection: Any,
) -> dict[str, Any]:
    """Build the report for ``selection`` (see :func:`build_lot_report`) and write it to ``path``.

    ``fmt`` defaults to the file extension (``.pdf`` → PDF, else HTML). Returns
    ``{"path", "format", "bytes", "yield", "verdict", "n_pass", "n_fail", "n_error"}``.
    """
    path = Path(path)
    fmt = (fmt or ("pdf" if path.suffix.lower() == ".pdf" else "html")).lower()
    if fmt not in ("html", "pdf"):
        raise ReportError(f"unknown report format {fmt!r}: use html or pdf")
    if not path.parent.is_dir():
        raise ReportError(f"output folder {path.parent} does not exist")
    with store.session() as session:
        doc = build_lot_report(session, **selection)
    data = render(doc, fmt)
    path.write_bytes(data)
    return {"path": str(path), "format": fmt, "bytes": len(data), "title": doc.title}

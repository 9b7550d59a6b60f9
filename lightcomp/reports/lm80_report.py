"""The LM-80 report of a campaign, with its TM-21-11 table (HTML or PDF).

Content follows IES LM-80-20 section 8 (report) as far as the lab's data go:
identification, test conditions (case temperatures, drive current, duration,
interval, measured case temperatures), the sample list, per-interval
lumen-maintenance and chromaticity-shift tables and plots per case
temperature (individual samples and their mean), failures, excursions and
outages; then the TM-21-11 table laid out like a TM-21 calculator's output
(sample size, test duration, fit window, alpha, B, calculated and reported
L70/L90 with the 6x/5.5x limit, in-situ result) so a reviewer can compare
line by line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lightcomp import quantities as catalogue
from lightcomp.errors import ReportError
from lightcomp.reports.document import (
    Document,
    Figure,
    Heading,
    KeyValues,
    PageBreak,
    Paragraph,
    Table,
    render_html,
    render_pdf,
)


def _fmt(x, spec: str = ".4f", empty: str = "–") -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return empty
    return format(x, spec)


def _maintenance_png(data: dict, tc: float, res: dict) -> bytes:
    from lightcomp.reports.plots import _new, _png

    rows = np.array([s["case_temp_c"] == tc for s in data["samples"]])
    h = data["hours"]
    norm = data["normalised"][rows]
    failed = data["failed"][rows].any(axis=1)
    fig = _new(7.0, 3.2)
    ax = fig.add_subplot(1, 1, 1)
    for j in range(norm.shape[0]):
        ax.plot(h, norm[j], color="#c0392b" if failed[j] else "#9aa7b3", lw=0.8, alpha=0.8)
    if res.get("mean_normalised"):
        ax.plot(h, res["mean_normalised"], color="#123", lw=2.2, marker="o", ms=3, label="mean")
    if res.get("projection"):
        w0, w1 = res["fit_window_h"]
        t = np.linspace(w0, w1, 50)
        ax.plot(t, res["b"] * np.exp(-res["alpha"] * t), "--", color="#e67e22", lw=1.6,
                label=f"TM-21 fit {w0:g}-{w1:g} h")  # fmt: skip
    ax.plot([], [], color="#9aa7b3", lw=0.8, label="samples")
    if failed.any():
        ax.plot([], [], color="#c0392b", lw=0.8, label="failed sample")
    ax.set_xlabel("ageing time (h)")
    ax.set_ylabel(catalogue.lookup("normalised_flux").label_short)
    ax.set_title(f"Lumen maintenance, case temperature {tc:g} °C")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _png(fig)


def _duv_png(data: dict, tc: float, res: dict) -> bytes:
    from lightcomp.reports.plots import _new, _png

    rows = np.array([s["case_temp_c"] == tc for s in data["samples"]])
    h = data["hours"]
    duv = data["delta_uv"][rows]
    fig = _new(7.0, 2.8)
    ax = fig.add_subplot(1, 1, 1)
    for j in range(duv.shape[0]):
        ax.plot(h, duv[j], color="#9aa7b3", lw=0.8, alpha=0.8)
    if res.get("delta_uv_mean"):
        ax.plot(h, res["delta_uv_mean"], color="#123", lw=2.2, marker="o", ms=3, label="mean")
    ax.plot([], [], color="#9aa7b3", lw=0.8, label="samples")
    ax.set_xlabel("ageing time (h)")
    ax.set_ylabel(catalogue.lookup("delta_u_v_prime").label_short)
    ax.set_title(f"Chromaticity shift, case temperature {tc:g} °C")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _png(fig)


def _figure(png: bytes, caption: str) -> Figure:
    from lightcomp.reports.document import _png_size

    return Figure(png, caption=caption, size_px=_png_size(png))


def build_lm80_document(store, name: str, *, ts_c: float | None = None) -> Document:
    """The report as a :class:`~lightcomp.reports.document.Document`."""
    from lightcomp.lm80.results import campaign_data, tm21_by_temperature, tm21_in_situ_result

    data = campaign_data(store, name)
    if data["hours"].size == 0:
        raise ReportError(f"campaign {name!r} has no completed interval yet")
    res = tm21_by_temperature(data)
    insitu = tm21_in_situ_result(res, ts_c) if ts_c is not None else None
    h = data["hours"]
    doc = Document(
        title=f"IES LM-80 report — campaign {name}",
        subtitle=f"{data['family']} ({data['manufacturer']}), TM-21-11 projection",
        report_id=f"LM80-{name}",
        footer="Lumen maintenance per IES LM-80-20; projection per IES TM-21-11",
    )
    status = data["status"] + (f" ({data['end_reason']})" if data["end_reason"] else "")
    doc.add(
        Heading("Identification and conditions"),
        KeyValues(
            [
                ("Campaign", name),
                ("Family / type code", f"{data['family']} / {data['family_type_code'] or '–'}"),
                ("Manufacturer", data["manufacturer"]),
                ("Status", status),
                (
                    "Started / ended",
                    f"{data['started_at']:%Y-%m-%d %H:%M} UTC / "
                    + (f"{data['ended_at']:%Y-%m-%d %H:%M} UTC" if data["ended_at"] else "–"),
                ),
                ("Case temperatures (Ts)", ", ".join(f"{t:g} °C" for t in data["case_temps_c"])),
                ("Drive current", f"{data['current_a'] * 1000:g} mA DC, constant"),
                (
                    "Duration / interval",
                    f"{data['duration_h']:g} h / {data['interval_h']:g} h "
                    f"(measured to {h[-1]:g} h)",
                ),
                (
                    "Samples",
                    f"{len(data['samples'])} ({len(data['samples']) // max(len(data['case_temps_c']), 1)} per case temperature)",
                ),
                (
                    "Photometry",
                    f"station {data['station']}: integrating sphere and "
                    "spectroradiometer, LM-79 stabilisation, calibrated spectral flux",
                ),
                (
                    "Ageing rig",
                    f"{data['rig']}: one chamber per case temperature, "
                    "constant-current rack, Tc thermocouples on a logger",
                ),
            ]  # fmt: skip
        ),
    )
    # measured case temperatures per chamber over the readings
    ct_rows = []
    for k, t in enumerate(data["case_temps_c"], 1):
        vals = [float(ct[str(k)]["tc_c"]) for ct in data["chamber_temps"] if str(k) in ct]
        ct_rows.append(
            [f"{k}", f"{t:g}", _fmt(np.mean(vals) if vals else None, ".1f"),
             _fmt(min(vals) if vals else None, ".1f"), _fmt(max(vals) if vals else None, ".1f")]
        )  # fmt: skip
    doc.add(
        Table(
            ["chamber", "target Ts (°C)", "mean Tc at readings", "min", "max"],
            ct_rows,
            caption="Case temperature read by the Tc logger at each reading",
            align=["c", "r", "r", "r", "r"],
        )
    )
    # TM-21 table, calculator layout
    doc.add(Heading("TM-21-11 projection"))
    header = ["", *[f"Ts {r['case_temp_c']:g} °C" for r in res]]
    if insitu:
        header.append(f"in situ {insitu['ts_c']:g} °C")

    def col(r, key):
        p = r.get("projection")
        if key == "units":
            return str(r["units"])
        if key == "duration":
            return f"{r['test_duration_h']:g} h"
        if p is None:
            return "–"
        return {
            "window": f"{r['fit_window_h'][0]:g}–{r['fit_window_h'][1]:g} h" if "fit_window_h" in r else "–",
            "alpha": f"{r['alpha']:.4e}",
            "b": f"{r['b']:.4f}",
            "l70calc": f"{p['L70']['calculated_h']:,.0f} h" if np.isfinite(p['L70']['calculated_h']) else "no decay",
            "l70": p["L70"]["text"],
            "l90": p["L90"]["text"],
            "limit": f"{p['L70']['limit_h']:,.0f} h" if p["L70"]["limit_h"] else "none (< 10 units)",
        }[key]  # fmt: skip

    lines = [
        ("Sample size (units in projection)", "units"),
        ("Test duration", "duration"),
        ("Fit window", "window"),
        (catalogue.lookup("tm21_alpha").label_short, "alpha"),
        (catalogue.lookup("tm21_b").label_short, "b"),
        ("Calculated L70", "l70calc"),
        ("Reported L70", "l70"),
        ("Reported L90", "l90"),
        ("Projection limit", "limit"),
    ]
    rows = []
    for label, key in lines:
        row = [label, *[col(r, key) for r in res]]
        if insitu:
            ins = {**insitu, "case_temp_c": insitu["ts_c"]}
            row.append(
                col(ins, key) if key not in ("window",) else
                f"Arrhenius {insitu['from_c'][0]:g}/{insitu['from_c'][-1]:g} °C"
            )  # fmt: skip
        rows.append(row)
    doc.add(Table(header, rows, caption="TM-21-11 (calculator layout)"))
    for r in res:
        if r.get("note"):
            doc.add(Paragraph(f"Ts {r['case_temp_c']:g} °C: {r['note']}.", "warn"))
        if r.get("projection") is None:
            doc.add(
                Paragraph(f"Ts {r['case_temp_c']:g} °C: no projection — {r.get('reason')}.", "warn")
            )
    doc.add(
        Paragraph(
            "Method: each unit normalised to its 0 h flux and averaged; ln(mean) fitted by least "
            "squares over the last 5000 h of data (the last half beyond 10 000 h, never before "
            "1000 h); Lp = ln(100 B/p)/α; reported values limited to 6× the test duration for "
            "≥ 20 units, 5.5× for 10–19 units, none below 10; catastrophically failed units "
            "excluded from the average and the unit count (IES TM-21-11).",
            "note",
        )
    )
    # failures and events
    fails = [f | {"tc": r["case_temp_c"]} for r in res for f in r["failures"]]
    doc.add(Heading("Failures, excursions and outages"))
    if fails:
        doc.add(
            Table(
                ["sample", "Ts (°C)", "failed between", "treatment"],
                [
                    [
                        f["sample"],
                        f"{f['tc']:g}",
                        f"{f['after_h']:g} h and {f['by_h']:g} h",
                        "catastrophic (open circuit): excluded from TM-21",
                    ]
                    for f in fails
                ],
                row_styles=["fail"] * len(fails),
            )  # fmt: skip
        )
    else:
        doc.add(Paragraph("No catastrophic failure.", "note"))
    seen: dict[str, dict] = {}
    for e in data["events"]:
        if e["kind"] in ("excursion", "outage"):
            d = seen.setdefault(e["key"], {**e, "samples": []})
            d["samples"].append(e["sample"])
    if seen:
        doc.add(
            Table(
                ["event", "start", "duration", "detail", "samples affected"],
                [
                    [
                        e["kind"],
                        _fmt(e["start_h"], ".2f") + " h",
                        _fmt(e["duration_h"], ".2f", "–")
                        + (" h" if e["duration_h"] is not None else ""),
                        _event_detail(e),
                        f"{len(e['samples'])}: "
                        + ", ".join(s[-8:] for s in e["samples"][:6])
                        + (" …" if len(e["samples"]) > 6 else ""),
                    ]
                    for e in seen.values()
                ],
                row_styles=["warn"] * len(seen),
                caption="From the chamber controllers' excursion logs, the rack's interruption "
                "logs and the Tc logger (sample codes shortened to their last 8 characters)",
            )  # fmt: skip
        )
    else:
        doc.add(Paragraph("No chamber excursion or channel outage logged.", "note"))
    # per case temperature
    nf = catalogue.lookup("normalised_flux").label_short
    duv_l = catalogue.lookup("delta_u_v_prime").label_short
    for r in res:
        tc = r["case_temp_c"]
        rows_m = np.array([s["case_temp_c"] == tc for s in data["samples"]])
        doc.add(PageBreak(), Heading(f"Case temperature {tc:g} °C"))
        doc.add(
            _figure(_maintenance_png(data, tc, r), "Normalised luminous flux: samples and mean")
        )
        doc.add(_figure(_duv_png(data, tc, r), "Δu′v′ from the 0 h point (CIE 1976 UCS)"))
        norm = data["normalised"][rows_m]
        duv = data["delta_uv"][rows_m]
        live = ~data["failed"][rows_m]
        table = []
        for k, hk in enumerate(h):
            n = norm[live[:, k], k]
            d = duv[live[:, k], k]
            n, d = n[np.isfinite(n)], d[np.isfinite(d)]
            table.append(
                [f"{hk:g}", str(n.size), str(int((~live[:, k]).sum())),
                 _fmt(r["mean_normalised"][k] if r["mean_normalised"] else None),
                 _fmt(n.min() if n.size else None), _fmt(n.max() if n.size else None),
                 _fmt(d.mean() if d.size else None, ".5f"), _fmt(d.max() if d.size else None, ".5f")]
            )  # fmt: skip
        doc.add(
            Table(
                [
                    "hours",
                    "units",
                    "failed",
                    f"mean {nf} (TM-21 units)",
                    "min",
                    "max",
                    f"mean {duv_l}",
                    f"max {duv_l}",
                ],
                table,
                caption="Per interval (the mean is over the units in the projection)",
                align=["r"] * 8,
            )  # fmt: skip
        )
        samp_rows = []
        for j in np.flatnonzero(rows_m):
            s = data["samples"][j]
            vals = [
                "failed" if data["failed"][j, k] else _fmt(data["normalised"][j, k], ".3f")
                for k in range(h.size)
            ]
            samp_rows.append([s["code"], f"{s['channel']}", *vals])
        doc.add(
            Table(
                ["sample", "ch", *[f"{x:g} h" for x in h]],
                samp_rows,
                caption=f"{catalogue.lookup('normalised_flux').label(unit=False)}, every sample",
                row_styles=["fail" if "failed" in row else None for row in samp_rows],
            )
        )
    doc.add(Paragraph("End of report", "end"))
    return doc


def _event_detail(e: dict) -> str:
    d = e.get("details") or {}
    if e["kind"] == "excursion" and "peak_delta_c" in d:
        return f"chamber {d.get('chamber')}: peak {d['peak_delta_c']:+.1f} K from set-point"
    if e["kind"] == "excursion" and "tc_c" in d:
        return f"chamber {d.get('chamber')}: Tc {d['tc_c']:.1f} °C at reading (target {d['target_c']:g})"
    if e["kind"] == "outage":
        return f"rack channel {d.get('channel')}: output interrupted"
    return ""


def write_lm80_report(store, name: str, path: str | Path, *, ts_c: float | None = None) -> Path:
    """Write the report to ``path`` (``.html`` or ``.pdf``)."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("html", "pdf"):
        raise ReportError(f"report file {path.name!r}: name it .html or .pdf")
    doc = build_lm80_document(store, name, ts_c=ts_c)
    try:
        if fmt == "html":
            path.write_text(render_html(doc), encoding="utf-8")
        else:
            path.write_bytes(render_pdf(doc))
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path

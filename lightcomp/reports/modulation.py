"""VLC modulation results in the certificate and the lot report (issue 17).

:func:`response_png` plots the stored curves of one measurement
(``measurements.modulation``: normalised |H| in dB per bias point, white and
per filter, with the -3 dB line); :func:`certificate_blocks` is the certificate's
modulation section; :func:`bandwidth_data` picks the bandwidth columns of a lot
for the report's histogram and Cpk table, with the plan's limits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lightcomp import quantities as catalogue
from lightcomp.analysis.modulation import HALF_POWER_DB
from lightcomp.reports.document import Block, Figure, KeyValues, Paragraph

__all__ = ["BANDWIDTH_COLUMNS", "bandwidth_data", "certificate_blocks", "response_png"]

BANDWIDTH_COLUMNS: tuple[str, ...] = ("modulation_bandwidth_mhz", "modulation_bandwidth_blue_mhz")
"""Measurement columns histogrammed (with Cpk) in the lot report when a lot has them."""

_RESULT_COLUMNS: tuple[str, ...] = (
    "modulation_bandwidth_mhz",
    "modulation_bandwidth_blue_mhz",
    "rise_time_ns",
    "fall_time_ns",
)
"""The certificate's modulation results (labels, units and formats from the catalogue)."""


def response_png(curves: Mapping[str, Any]) -> bytes:
    """Normalised frequency response (dB against MHz, log axis) of every bias point.

    White: solid lines; each filter (``response_<name>_db``): dashed, same colour
    per bias; the -3 dB (half optical power) line dotted.
    """
    from lightcomp.reports.plots import _new, _png

    f_mhz = np.asarray(curves["frequencies_hz"], dtype=float) / 1e6
    bias_ma = np.asarray(curves.get("bias_a", []), dtype=float) * 1e3
    fig = _new(7.0, 3.6)
    ax = fig.add_subplot()
    colours = ["#2c7fb8", "#41ab5d", "#fe9929", "#7a0177", "#636363"]
    filters = sorted(k[9:-3] for k in curves if k.startswith("response_") and k.endswith("_db"))
    filters = [f for f in filters if f and f != "phase"]
    white = np.atleast_2d(np.asarray(curves["response_db"], dtype=float))
    for i, row in enumerate(white):
        c = colours[i % len(colours)]
        tag = f"{bias_ma[i]:g} mA" if i < bias_ma.size else f"#{i + 1}"
        ax.semilogx(f_mhz, row, "-", color=c, lw=1.5, label=f"white, {tag}")
        for name in filters:
            rows = np.atleast_2d(np.asarray(curves[f"response_{name}_db"], dtype=float))
            if i < len(rows):
                ax.semilogx(f_mhz, rows[i], "--", color=c, lw=1.2, label=f"{name}, {tag}")
    ax.axhline(HALF_POWER_DB, color="#b30000", ls=":", lw=1.0)
    ax.text(f_mhz[0], HALF_POWER_DB + 0.4, "−3 dB", color="#b30000", fontsize=8)
    ax.set_xlabel("Modulation frequency (MHz)")
    ax.set_ylabel("|H(f)| / |H(f₀)| (dB)")
    low = np.nanmin(white) if np.isfinite(white).any() else -20.0
    ax.set_ylim(max(low - 2.0, -40.0), 3.0)
    ax.grid(True, which="both", color="#dddddd", lw=0.5)
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    return _png(fig)


def certificate_blocks(
    m: Mapping[str, Any],
    uncertainty: Callable[[str], str | None] | None = None,
    *,
    words: Any,
    interval: Callable[[str], str | None] | None = None,
) -> list[Block]:
    """The certificate's modulation results (none when the measurement has no VLC test).

    ``uncertainty(key)``: the text of a result's expanded uncertainty
    (``U = 0.52 MHz, k = 2``), or None when it has none; shown after the value.
    ``interval(key)``: the text of its stored shortest 95 % coverage interval
    (``[2.31, 2.43] MHz``), or None; shown under the value. The Monte Carlo's one-sided
    inputs (receiver and instrument responses not de-embedded,
    :mod:`lightcomp.uncertainty.modulation`; rectangular R(0, b), JCGM 101:2008
    §6.4.2.1) make these intervals asymmetric about the value, so U = 2u alone would
    misstate them (JCGM 101:2008 §5.3.4, §7.7); a note says why when any is shown.
    ``words``: the certificate's texts in its language
    (:class:`lightcomp.reports.certificate.Words`: labels from the catalogue, fixed
    texts from its one EN→ZH table)."""
    w = words
    curves = m.get("modulation")
    if not curves and m.get("modulation_bandwidth_mhz") is None:
        return []
    bias = np.asarray((curves or {}).get("bias_a", []), dtype=float) * 1e3

    shown_intervals = []

    def value(key: str, v: Any) -> str:
        text = catalogue.format_value(key, v)
        u = uncertainty(key) if uncertainty is not None else None
        text = f"{text} ({u})" if u else text
        iv = interval(key) if interval is not None else None
        if iv:
            shown_intervals.append(key)
            text += f"\n{w('Shortest 95 % coverage interval')} {iv}"
        return text

    rows = [
        (w.quantity(catalogue.lookup(col), unit=True), value(col, m.get(col)))
        for col in _RESULT_COLUMNS
        if m.get(col) is not None
    ]
    usable = (m.get("quantities") or {}).get("modulation_depth_usable")
    if usable is not None:
        rows.append(
            (
                w.quantity(catalogue.lookup("modulation_depth_usable"), unit=True),
                value("modulation_depth_usable", usable),
            )
        )
    if bias.size:
        rows.insert(0, (w("DC bias of the results (mA)"), f"{bias[0]:g}"))
    out: list[Block] = [Paragraph(w("Modulation response (visible light communication)"), "strong")]
    out.append(KeyValues(rows))
    if shown_intervals:
        out.append(
            Paragraph(
                w.para(
                    "The shortest 95 % coverage intervals of the modulation results are in "
                    "general not symmetric about the values: the receiver and instrument "
                    "responses, not de-embedded, can only lower the measured bandwidth and "
                    "lengthen the measured edges (one-sided distributions, JCGM 101:2008 "
                    "§6.4.2.1), and the analysis of the noisy records is not linear."
                ),
                "note",
            )
        )
    if curves:
        bw = np.asarray(curves.get("bandwidth_hz", []), dtype=float) / 1e6
        if bias.size > 1 and bw.size == bias.size:
            pairs = ", ".join(
                f"{b:g} mA: {catalogue.format_value('modulation_bandwidth_mhz', x, unit=True)}"
                for b, x in zip(bias, bw, strict=True)
            )
            out.append(
                Paragraph(w.para("White bandwidth against bias: {pairs}.", pairs=pairs), "note")
            )
        out.append(
            Figure(
                response_png(curves),
                caption=w.para(
                    "Small-signal electrical-to-optical response |H(f)| normalised to the "
                    "lowest frequency, per DC bias (solid: white light; dashed: through the "
                    "filter named). Stimulus: sine into the bias-T (peak current = depth × "
                    "bias)."
                ),
                width=0.85,
            )
        )
    return out


def bandwidth_data(
    df, limits: Mapping[str, Mapping[str, Any]], measured
) -> tuple[dict[str, np.ndarray], dict[str, tuple[float | None, float | None]]]:
    """Bandwidth columns of a lot with any value, and their limits from the verdicts.

    ``limits``: :func:`lightcomp.store.queries.lot_limits` (limit name -> min/max/quantity).
    """
    data = {
        c: df.loc[measured, c].to_numpy(float)
        for c in BANDWIDTH_COLUMNS
        if c in df and np.isfinite(df.loc[measured, c].to_numpy(float)).any()
    }
    lims: dict[str, tuple[float | None, float | None]] = {}
    for entry in limits.values():
        if isinstance(entry, Mapping) and entry.get("quantity") in data:
            lims[entry["quantity"]] = (entry.get("min"), entry.get("max"))
    return data, lims

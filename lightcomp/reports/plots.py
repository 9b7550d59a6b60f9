"""Plots of the lot report and the test certificate (matplotlib, Agg, no pyplot state).

Every function takes arrays (never the store) and returns PNG bytes. Scatter
plots of many components are rasterised and drawn in a few calls (one per
class), so 100 000 points render in well under a second.

Chromaticity diagrams: CIE 1931 (x, y) and CIE 1976 (u', v') with the spectral
locus, the Planckian locus (:func:`lightcomp.analysis.cct.CCT_to_xy_Planck`), the
ANSI C78.377-2017 7-step quadrangles (:func:`lightcomp.analysis.binning.ansi_quadrangles`,
straight in x, y; drawn densified in u', v') and every component as a point.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from lightcomp import quantities as catalogue

__all__ = [
    "QUANTITY_LABELS",
    "chromaticity_png",
    "control_chart_png",
    "cri_bars_png",
    "histograms_png",
    "pareto_png",
    "spectrum_png",
    "tm30_vector_graphic_png",
    "yield_trend_png",
]

#: Axis labels (with display units) of the report quantities, by measurement column,
#: from the quantity catalogue.
QUANTITY_LABELS: dict[str, str] = {q.column: q.label() for q in catalogue.column_quantities()}

PASS_COLOUR = "#2c7fb8"
FAIL_COLOUR = "#d7301f"
LIMIT_COLOUR = "#b30000"

# Approximate sRGB appearance of the CIE 13.3 test colour samples TCS01-TCS15
# under D65 (for the bar colours only; values are illustrative, not colorimetric data).
_TCS_RGB = [
    "#c08b86",
    "#a39b6d",
    "#8aa35f",
    "#6fa681",
    "#6ba2a8",
    "#7d91b8",
    "#9c86b5",
    "#b785a0",
    "#b3262e",
    "#e5c02a",
    "#2f7a4b",
    "#1f3f8f",
    "#e9c7a8",
    "#55622d",
    "#c99b7f",
]


def _png(fig: Figure, dpi: int = 110) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _new(w: float, h: float, layout: str | None = "constrained") -> Figure:
    return Figure(figsize=(w, h), layout=layout)


# ---------------------------------------------------------------------------------------------
# Lot report
# ---------------------------------------------------------------------------------------------
def pareto_png(causes: Sequence[str], counts: Sequence[int], *, n_components: int) -> bytes:
    """Pareto chart of failure causes: bars (count, descending) and the cumulative percentage."""
    fig = _new(7.5, 3.4)
    ax = fig.add_subplot()
    c = np.asarray(counts, dtype=float)
    if c.size == 0:
        ax.text(0.5, 0.5, "no failures", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return _png(fig)
    from matplotlib.ticker import MaxNLocator

    # horizontal bars: the catalogue labels read without rotation; largest cause on top
    fig.set_size_inches(7.5, max(2.2, 0.9 + 0.32 * c.size))
    idx = np.arange(c.size)
    ax.barh(idx, c, color="#d95f02", edgecolor="#7f3000")
    ax.set_yticks(idx, list(causes), fontsize=8)
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("components (count)")
    noun = "component" if n_components == 1 else "components"
    ax.set_title(f"Failure causes (of {n_components} {noun})", fontsize=10)
    cum = 100.0 * np.cumsum(c) / c.sum()
    for i, (k, cu) in enumerate(zip(c, cum, strict=True)):
        ax.text(k, i, f" {int(k)}  (cum. {cu:.0f} %)", va="center", fontsize=7.5)
    ax.set_xlim(0, c.max() * 1.35)
    return _png(fig)


def _panel_title(column: str) -> str:
    """The catalogue label, or its short form when the long one would run into the next panel."""
    label = QUANTITY_LABELS.get(column, column)
    if len(label) <= 34:
        return label
    q = catalogue.by_column(column)
    return q.label_short if q is not None else label


def histograms_png(
    data: Mapping[str, np.ndarray],
    limits: Mapping[str, tuple[float | None, float | None]],
    *,
    passed: np.ndarray | None = None,
    ncols: int = 4,
) -> bytes:
    """Histograms of several quantities with their limits drawn (red dashed lines).

    ``data`` maps a quantity name (see :data:`QUANTITY_LABELS`) to its values;
    ``limits`` maps it to ``(min, max)`` (either may be None).
    """
    from matplotlib.ticker import MaxNLocator

    names = list(data)
    nrows = max(1, int(np.ceil(len(names) / ncols)))
    fig = _new(11.0, 2.6 * nrows, layout=None)  # a fixed grid: no layout engine (2x faster)
    fig.subplots_adjust(
        left=0.06, right=0.99, bottom=0.1 / nrows, top=1 - 0.12 / nrows, wspace=0.2, hspace=0.45
    )
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):
        v = np.asarray(data[name], dtype=float)
        ok = np.isfinite(v)
        lo, hi = limits.get(name, (None, None))
        if not ok.any():
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        else:
            vals = v[ok]
            lo_v, hi_v = np.percentile(vals, [0, 100])
            span_lo = min([lo_v] + ([lo] if lo is not None else []))
            span_hi = max([hi_v] + ([hi] if hi is not None else []))
            pad = 0.04 * (span_hi - span_lo or abs(span_hi) or 1.0)
            bins = np.linspace(span_lo - pad, span_hi + pad, 41)
            total, _ = np.histogram(vals, bins=bins)
            ax.stairs(total, bins, fill=True, color=PASS_COLOUR, label="pass")
            if passed is not None:
                p = np.asarray(passed, bool)[ok]
                bad, _ = np.histogram(vals[~p], bins=bins)
                if bad.any():
                    ax.stairs(bad, bins, fill=True, color=FAIL_COLOUR, label="fail/error")
            for lim in (lo, hi):
                if lim is not None:
                    ax.axvline(lim, color=LIMIT_COLOUR, ls="--", lw=1.2)
            ax.set_title(
                f"{_panel_title(name)}  (n={vals.size})",
                fontsize=8.5,
            )
        ax.tick_params(labelsize=7)
        # a count axis with whole numbers; at most 4 x ticks so long labels (Duv) do not touch
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel("count", fontsize=7.5)
    for ax in axes[len(names) :]:
        ax.set_axis_off()
    return _png(fig)


def _xy_to_uv_prime(xy: np.ndarray) -> np.ndarray:
    x, y = xy[..., 0], xy[..., 1]
    d = -2.0 * x + 12.0 * y + 3.0
    return np.stack([4.0 * x / d, 9.0 * y / d], axis=-1)


def _densify(poly: np.ndarray, n: int = 20) -> np.ndarray:
    """Closed polygon (K, 2) -> points along its straight edges (K*n + 1, 2)."""
    a = poly
    b = np.roll(poly, -1, axis=0)
    t = np.linspace(0.0, 1.0, n, endpoint=False)[None, :, None]
    pts = (a[:, None, :] * (1 - t) + b[:, None, :] * t).reshape(-1, 2)
    return np.vstack([pts, pts[:1]])


def chromaticity_png(
    x: np.ndarray,
    y: np.ndarray,
    passed: np.ndarray,
    *,
    space: str = "xy",
    title: str | None = None,
) -> bytes:
    """Chromaticity diagram (``space`` "xy" = CIE 1931, "uv" = CIE 1976 u'v') of components.

    Left: the whole diagram (spectral locus) with the zoom area; right: the
    zoom with the Planckian locus, ANSI C78.377 quadrangles (labelled with
    their nominal CCT) and the components, pass and fail coloured.
    """
    from lightcomp.analysis.binning import ansi_quadrangles
    from lightcomp.analysis.cct import CCT_to_xy_Planck
    from lightcomp.analysis.colorimetry import spectral_locus_xy

    uv = space == "uv"
    conv = _xy_to_uv_prime if uv else (lambda a: a)
    pts = conv(np.stack([np.asarray(x, float), np.asarray(y, float)], axis=-1))
    ok = np.isfinite(pts).all(axis=1)
    pts, p = pts[ok], np.asarray(passed, bool)[ok]
    locus = conv(spectral_locus_xy())
    locus = locus[np.r_[0 : np.argmax(locus[:, 0]) + 1]] if not uv else locus
    planck = conv(CCT_to_xy_Planck(np.geomspace(1500.0, 20000.0, 200)))
    quads = {k: conv(_densify(v)) for k, v in ansi_quadrangles().items()}

    fig = _new(10.0, 4.6)
    ax0, ax1 = fig.subplots(1, 2, width_ratios=[1.0, 1.6])
    for ax in (ax0, ax1):
        ax.plot(planck[:, 0], planck[:, 1], color="#222222", lw=0.9, label="Planckian locus")
    ax0.plot(*np.vstack([locus, locus[:1]]).T, color="#555555", lw=0.9)
    if pts.size:
        ax0.plot(pts[:, 0], pts[:, 1], ".", ms=2, color=PASS_COLOUR, rasterized=True)
    # Zoom area: the data and the quadrangles it touches.
    if pts.size:
        lo = np.percentile(pts, 0.0, axis=0)
        hi = np.percentile(pts, 100.0, axis=0)
    else:
        lo, hi = np.array([0.30, 0.30]), np.array([0.48, 0.42])
    span = np.maximum(hi - lo, 0.02 if not uv else 0.012)
    centre = 0.5 * (lo + hi)
    half = 0.5 * span * 1.25 + (0.004 if not uv else 0.003)
    z_lo, z_hi = centre - half, centre + half
    z_lo, z_hi = np.minimum(z_lo, centre - 0.02), np.maximum(z_hi, centre + 0.02)
    ax0.add_patch(
        _rect(z_lo, z_hi),
    )
    for k, q in quads.items():
        ax0.plot(q[:, 0], q[:, 1], color="#7a7a7a", lw=0.5)
        ax1.plot(q[:, 0], q[:, 1], color="#6a6a6a", lw=0.9)
        c = q[:-1].mean(axis=0)
        if np.all(c > z_lo) and np.all(c < z_hi):
            ax1.annotate(
                f"{k} K", c, ha="center", va="center", fontsize=7.5, color="#555555", alpha=0.9
            )
    if pts.size:
        ax1.plot(
            pts[p, 0],
            pts[p, 1],
            ".",
            ms=3,
            color=PASS_COLOUR,
            alpha=0.6,
            rasterized=True,
            label=f"pass ({int(p.sum())})",
        )
        ax1.plot(
            pts[~p, 0],
            pts[~p, 1],
            "x",
            ms=4,
            color=FAIL_COLOUR,
            rasterized=True,
            label=f"fail/error ({int((~p).sum())})",
        )
    ax0.set_xlim(0, 0.75 if not uv else 0.62)
    ax0.set_ylim(0, 0.85 if not uv else 0.6)
    ax1.set_xlim(z_lo[0], z_hi[0])
    ax1.set_ylim(z_lo[1], z_hi[1])
    lab = tuple(
        catalogue.lookup(n).label(unit=False)
        for n in (("u_prime", "v_prime") if uv else ("x", "y"))
    )
    for ax in (ax0, ax1):
        ax.set_xlabel(lab[0])
        ax.set_ylabel(lab[1])
        ax.set_aspect("equal", adjustable="box")
        ax.tick_params(labelsize=7)
        ax.grid(True, lw=0.3, color="#dddddd")
    ax1.legend(fontsize=7.5, loc="best")
    name = "CIE 1976 u'v'" if uv else "CIE 1931 x,y"
    fig.suptitle(title or f"{name} chromaticity with ANSI C78.377 quadrangles", fontsize=10)
    return _png(fig)


def _rect(lo: np.ndarray, hi: np.ndarray):
    from matplotlib.patches import Rectangle

    return Rectangle(tuple(lo), *(hi - lo), fill=False, color=FAIL_COLOUR, lw=0.8)


def yield_trend_png(
    labels: Sequence[str],
    yields: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    target: float = 0.95,
    highlight: int | None = None,
    xlabel: str = "lot",
) -> bytes:
    """Yield per lot (or per time group) with its confidence interval and the target line."""
    fig = _new(7.5, 3.2)
    ax = fig.add_subplot()
    n = len(labels)
    idx = np.arange(n)
    y = 100 * np.asarray(yields, float)
    lo = 100 * np.asarray(lower, float)
    hi = 100 * np.asarray(upper, float)
    ax.errorbar(
        idx,
        y,
        yerr=[np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)],
        fmt="o-",
        color=PASS_COLOUR,
        ecolor="#7fa9c8",
        capsize=3,
        ms=4,
        lw=1,
    )
    if highlight is not None and 0 <= highlight < n:
        ax.plot([idx[highlight]], [y[highlight]], "o", ms=9, mfc="none", mec=FAIL_COLOUR, mew=1.5)
    ax.axhline(
        100 * target, color=LIMIT_COLOUR, ls="--", lw=1.2, label=f"target {100 * target:g} %"
    )
    step = max(1, n // 20)
    ax.set_xticks(
        idx[::step], [labels[i] for i in idx[::step]], rotation=30, ha="right", fontsize=7
    )
    ax.set_ylabel("yield (%)")
    ax.set_xlabel(xlabel)
    low = np.nanmin(np.r_[lo, 100 * target]) if n else 100 * target
    ax.set_ylim(max(0.0, low - 3), 100.5)
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(True, axis="y", lw=0.3)
    return _png(fig)


def control_chart_png(chart: Mapping, *, label: str, times: np.ndarray | None = None) -> bytes:
    """Individuals / moving-range chart from :func:`lightcomp.analysis.yield_stats.individuals_chart`."""
    x = np.asarray(chart["x"], float)
    mr = np.asarray(chart["moving_range"], float)
    out = np.asarray(chart["out_of_control"], bool)
    idx = np.arange(x.size)
    fig = _new(9.0, 4.2)
    ax, axm = fig.subplots(2, 1, sharex=True, height_ratios=[2.2, 1])
    ax.plot(idx, x, "-", color="#9ab", lw=0.5, rasterized=True)
    ax.plot(idx, x, ".", color=PASS_COLOUR, ms=2, rasterized=True)
    ax.plot(
        idx[out],
        x[out],
        "o",
        color=FAIL_COLOUR,
        ms=3,
        mfc="none",
        rasterized=True,
        label=f"out of control ({int(out.sum())})",
    )
    for val, ls, name in (
        (chart["centre"], "-", "centre"),
        (chart["ucl"], "--", "UCL"),
        (chart["lcl"], "--", "LCL"),
    ):
        ax.axhline(val, color="#333333" if name == "centre" else LIMIT_COLOUR, ls=ls, lw=1)
        ax.annotate(
            f"{name} {val:.4g}",
            (1.0, val),
            xycoords=("axes fraction", "data"),
            fontsize=7,
            ha="right",
            va="bottom",
        )
    ax.set_ylabel(label, fontsize=8)
    ax.legend(fontsize=7, loc="upper left")
    axm.plot(idx, mr, "-", color="#777777", lw=0.5, rasterized=True)
    axm.axhline(chart["mr_centre"], color="#333333", lw=1)
    axm.axhline(chart["mr_ucl"], color=LIMIT_COLOUR, ls="--", lw=1)
    axm.set_ylabel("moving range", fontsize=8)
    axm.set_xlabel("component, in order of measurement")
    for a in (ax, axm):
        a.tick_params(labelsize=7)
    return _png(fig)


# ---------------------------------------------------------------------------------------------
# Certificate
# ---------------------------------------------------------------------------------------------
def spectrum_png(wavelengths_nm: np.ndarray, spectral_flux_w_nm: np.ndarray) -> bytes:
    """Spectral (radiant) flux in mW/nm against wavelength, with a visible-spectrum colour band."""
    wl = np.asarray(wavelengths_nm, float)
    s = np.asarray(spectral_flux_w_nm, float) * 1e3
    fig = _new(7.0, 3.0)
    ax = fig.add_subplot()
    ax.fill_between(wl, s, color="#f2c14e", alpha=0.35, lw=0)
    ax.plot(wl, s, color="#333333", lw=1.2)
    top = float(np.nanmax(s)) if s.size else 1.0
    from matplotlib import colormaps

    ax.imshow(
        np.linspace(0, 1, 256)[None, :],
        extent=(380, 780, -0.07 * top, -0.02 * top),
        aspect="auto",
        cmap=colormaps["nipy_spectral"],
    )
    ax.set_xlim(wl.min(), wl.max())
    ax.set_ylim(-0.08 * top, 1.08 * top)
    ax.set_xlabel("wavelength (nm)")
    ax.set_ylabel("spectral flux (mW/nm)")
    ax.grid(True, lw=0.3)
    return _png(fig)


def cri_bars_png(ri: Sequence[float], ra: float | None = None) -> bytes:
    """Bar chart of the CIE 13.3 special colour rendering indices R1..R15 (and Ra)."""
    r = np.asarray(ri, float)
    labels = [f"R{i + 1}" for i in range(r.size)]
    colours = list(_TCS_RGB[: r.size])
    if ra is not None:
        labels = ["Ra", *labels]
        r = np.r_[ra, r]
        colours = ["#888888", *colours]
    fig = _new(7.0, 2.8)
    ax = fig.add_subplot()
    idx = np.arange(r.size)
    ax.bar(idx, r, color=colours, edgecolor="#333333", lw=0.5)
    for i, v in enumerate(r):
        if np.isfinite(v):
            ax.annotate(
                catalogue.format_value(labels[i], v),
                (i, v),
                xytext=(0, 2 if v >= 0 else -9),
                textcoords="offset points",
                ha="center",
                fontsize=6.5,
            )
    ax.set_xticks(idx, labels, fontsize=7.5)
    ax.set_ylim(min(0.0, np.nanmin(r) - 10) if r.size else 0.0, 105)
    ax.axhline(0, color="#333333", lw=0.6)
    ax.set_ylabel("colour rendering index")
    ax.grid(True, axis="y", lw=0.3)
    return _png(fig)


def tm30_vector_graphic_png(
    test_ab: np.ndarray, ref_ab: np.ndarray, *, rf: float | None = None, rg: float | None = None
) -> bytes:
    """ANSI/IES TM-30-20 colour vector graphic from the 16 hue-bin mean a', b' (test, reference).

    Normalisation of TM-30-20 Annex: each reference bin mean is put on the unit
    circle at its hue angle; the test point is the reference point plus the bin's
    (test - reference) shift divided by the reference chroma.
    """
    t = np.asarray(test_ab, float)
    r = np.asarray(ref_ab, float)
    chroma = np.hypot(r[:, 0], r[:, 1])
    theta = np.arctan2(r[:, 1], r[:, 0])
    unit = np.stack([np.cos(theta), np.sin(theta)], axis=-1)
    tn = unit + (t - r) / chroma[:, None]
    fig = _new(4.4, 4.4)
    ax = fig.add_subplot()
    from matplotlib import colormaps

    hsv = colormaps["hsv"]
    for j in range(16):
        a0 = 2 * np.pi * j / 16
        w = np.linspace(a0, a0 + 2 * np.pi / 16, 8)
        ax.fill(
            np.r_[0, 1.4 * np.cos(w)],
            np.r_[0, 1.4 * np.sin(w)],
            color=hsv(((j + 0.5) / 16 + 0.0) % 1.0),
            alpha=0.18,
            lw=0,
        )
    circle = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(circle), np.sin(circle), color="#333333", lw=1.2, label="reference")
    closed = np.vstack([tn, tn[:1]])
    ax.plot(closed[:, 0], closed[:, 1], color=FAIL_COLOUR, lw=1.8, label="test")
    for j in range(16):
        ax.annotate(
            "",
            xy=tn[j],
            xytext=unit[j],
            arrowprops={"arrowstyle": "->", "color": "#222222", "lw": 0.8},
        )
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-1.4, 1.4)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    txt = []
    if rf is not None and np.isfinite(rf):
        txt.append(f"Rf = {catalogue.format_value('Rf', rf)}")
    if rg is not None and np.isfinite(rg):
        txt.append(f"Rg = {catalogue.format_value('Rg', rg)}")
    if txt:
        ax.text(0.02, 0.02, "\n".join(txt), transform=ax.transAxes, fontsize=9, va="bottom")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title("TM-30 colour vector graphic", fontsize=9)
    return _png(fig)

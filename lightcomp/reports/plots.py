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
    "chromaticity_figure",
    "chromaticity_png",
    "control_chart_figure",
    "control_chart_png",
    "cri_bars_png",
    "histograms_png",
    "pareto_png",
    "spectrum_png",
    "tm30_vector_graphic_png",
    "yield_trend_figure",
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


def _panel_title(column: str, dc: bool = False) -> str:
    """The catalogue label, or its short form when the long one would run into the next panel."""
    q = catalogue.by_column(column)
    label = q.label(dc=dc) if q is not None else QUANTITY_LABELS.get(column, column)
    if len(label) <= 34 or q is None:
        return label
    return q.label_short


def histograms_png(
    data: Mapping[str, np.ndarray],
    limits: Mapping[str, tuple[float | None, float | None]],
    *,
    passed: np.ndarray | None = None,
    ncols: int = 4,
    dc: bool = False,
) -> bytes:
    """Histograms of several quantities with their limits drawn (red dashed lines).

    ``data`` maps a quantity name (see :data:`QUANTITY_LABELS`) to its values;
    ``limits`` maps it to ``(min, max)`` (either may be None); ``dc``: the items were
    DC-driven (catalogue labels without "rms").
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
                f"{_panel_title(name, dc)}  (n={vals.size})",
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
    sub_bins: Sequence[str] = (),
) -> bytes:
    """Chromaticity diagram (``space`` "xy" = CIE 1931, "uv" = CIE 1976 u'v') of components.

    Left: the whole diagram (spectral locus) with the zoom area; right: the
    zoom with the Planckian locus, ANSI C78.377 quadrangles (labelled with
    their nominal CCT where no component hides the label), the quarter
    ``sub_bins`` named (e.g. ``"4000-A"``: the ones the report's table lists) and
    the components, pass and fail coloured.
    """
    return _png(chromaticity_figure(x, y, passed, space=space, title=title, sub_bins=sub_bins))


def chromaticity_figure(
    x: np.ndarray,
    y: np.ndarray,
    passed: np.ndarray,
    *,
    space: str = "xy",
    title: str | None = None,
    sub_bins: Sequence[str] = (),
) -> Figure:
    """The figure of :func:`chromaticity_png` (tests read its artists: sub-bin outlines carry
    ``gid="sub-bin <name>"``, the CCT labels ``gid="cct-label <K>"``)."""
    from lightcomp.analysis.binning import ansi_quadrangles, ansi_sub_bin_quadrangles
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
    corners = ansi_quadrangles()
    quads = {k: conv(_densify(v)) for k, v in corners.items()}
    sub_corners = ansi_sub_bin_quadrangles()
    subs = {b: sub_corners[b] for b in sub_bins if b in sub_corners}

    fig = _new(9.0, 4.2)
    ax0, ax1 = fig.subplots(1, 2, width_ratios=[1.0, 1.45])
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
    ax0.add_patch(_rect(z_lo, z_hi))
    for q in quads.values():
        ax0.plot(q[:, 0], q[:, 1], color="#7a7a7a", lw=0.5)
        ax1.plot(q[:, 0], q[:, 1], color="#6a6a6a", lw=0.9)
    for name, c in subs.items():
        poly = conv(_densify(c))
        ax1.plot(poly[:, 0], poly[:, 1], color="#8c6bb1", lw=0.7, ls=":", gid=f"sub-bin {name}")
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
    if subs:
        ax1.plot([], [], color="#8c6bb1", lw=0.7, ls=":", label="sub-bins in the table")
    ax1.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    name = "CIE 1976 u'v'" if uv else "CIE 1931 x,y"
    fig.suptitle(title or f"{name} chromaticity with ANSI C78.377 quadrangles", fontsize=10)
    # Labels where no component sits under them, wholly inside their region and the zoom
    # (never clipped, never read as the neighbour's), placed once the layout is fixed.
    fig.draw_without_rendering()
    pos = ax1.get_position()
    axes_in = np.array([pos.width, pos.height]) * fig.get_size_inches()
    occupancy = _occupancy((pts - z_lo) / (z_hi - z_lo))
    taken: list[np.ndarray] = []
    box = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85}
    regions = [(f"{k} K", f"{k} K", c, 7.5, "#444444", f"cct-label {k}")
               for k, c in corners.items()]  # fmt: skip
    regions += [(name, name.rpartition("-")[2], c, 6.5, "#6a51a3", f"sub-bin-label {name}")
                for name, c in subs.items()]  # fmt: skip
    for text, short, c, size, colour, gid in regions:
        for t in dict.fromkeys((text, short)):  # the full name, else its letter
            half = _text_half(t, size, axes_in)
            spot = _label_spot(
                conv(_grid_in(c)), conv(_densify(c)), z_lo, z_hi, occupancy, taken, half
            )
            if spot is not None:
                ax1.text(*spot, t, ha="center", va="center", fontsize=size, color=colour,
                         bbox=box, zorder=5, gid=gid)  # fmt: skip
                break
    return fig


def _grid_in(corners: np.ndarray, n: int = 11) -> np.ndarray:
    """Candidate label points spread over a quadrangle (bilinear grid of its 4 corners, x,y)."""
    s = np.linspace(0.1, 0.9, n)
    u, v = np.meshgrid(s, s)
    u, v = u.ravel()[:, None], v.ravel()[:, None]
    a, b, c, d = corners
    return (1 - v) * ((1 - u) * a + u * b) + v * ((1 - u) * d + u * c)


def _text_half(text: str, size: float, axes_in: np.ndarray) -> np.ndarray:
    """Half the box of ``text`` at ``size`` pt (with its padding), in axes fraction."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    w, h, _ = TextToPath().get_text_width_height_descent(text, FontProperties(size=size), False)
    return (np.array([w, max(h, 0.75 * size)]) / 2 + 0.3 * size) / 72.0 / axes_in


#: Cells a side of the occupancy grid that label placement counts components in.
_GRID = 200


def _occupancy(points_frac: np.ndarray) -> np.ndarray:
    """Summed-area table of the components per grid cell of the axes (``_GRID``² cells):
    how many lie in any box is four look-ups, for 100 000 components as for 10."""
    f = points_frac.reshape(-1, 2)
    h, _, _ = np.histogram2d(f[:, 0], f[:, 1], bins=_GRID, range=[[0, 1], [0, 1]])
    sat = np.zeros((_GRID + 1, _GRID + 1))
    sat[1:, 1:] = h.cumsum(axis=0).cumsum(axis=1)
    return sat


def _count_in(sat: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Components in the boxes ``lo``..``hi`` (N, 2; axes fraction), every touched cell whole
    (a component near a box edge counts: a label never hides one)."""
    i0 = np.clip(np.floor(lo * _GRID).astype(int), 0, _GRID)
    i1 = np.clip(np.ceil(hi * _GRID).astype(int), 0, _GRID)
    return sat[i1[:, 0], i1[:, 1]] - sat[i0[:, 0], i1[:, 1]] - sat[i1[:, 0], i0[:, 1]] + sat[i0[:, 0], i0[:, 1]]  # fmt: skip


def _label_spot(
    candidates: np.ndarray,
    outline: np.ndarray,
    z_lo: np.ndarray,
    z_hi: np.ndarray,
    occupancy: np.ndarray,
    taken: list[np.ndarray],
    half: np.ndarray,
) -> np.ndarray | None:
    """Where to centre a label of half size ``half`` (axes fraction) for the region
    ``outline``: the candidate (data units) whose box lies wholly inside the region and the
    zoom and overlaps no earlier label, with the fewest components under it (then around
    it, then nearest the region's middle); None when no candidate fits. ``occupancy`` is
    :func:`_occupancy` of the components; ``taken`` (label boxes: centre, half size) grows."""
    from matplotlib.path import Path

    f = (candidates - z_lo) / (z_hi - z_lo)
    region = Path((outline - z_lo) / (z_hi - z_lo))
    box = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * half
    corners = (f[:, None, :] + box[None]).reshape(-1, 2)
    fits = region.contains_points(corners).reshape(-1, 4).all(axis=1)
    fits &= np.all((corners > 0.01) & (corners < 0.99), axis=1).reshape(-1, 4).all(axis=1)
    for t in taken:
        fits &= ~np.all(np.abs(f - t[:2]) < half + t[2:], axis=1)
    if not fits.any():
        return None
    f, cand = f[fits], candidates[fits]
    under = _count_in(occupancy, f - half, f + half)
    near = _count_in(occupancy, f - half - 0.03, f + half + 0.03)
    centre = np.abs(f - f.mean(axis=0)).sum(axis=1)
    best = int(np.lexsort((centre, near, under))[0])
    taken.append(np.r_[f[best], half])
    return cand[best]


def _rect(lo: np.ndarray, hi: np.ndarray):
    from matplotlib.patches import Rectangle

    return Rectangle(tuple(lo), *(hi - lo), fill=False, color=FAIL_COLOUR, lw=0.8)


def yield_trend_png(*args, **kwargs) -> bytes:
    """PNG of :func:`yield_trend_figure` (same arguments)."""
    return _png(yield_trend_figure(*args, **kwargs))


def yield_trend_figure(
    labels: Sequence[str],
    yields: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    target: float = 0.95,
    highlight: int | None = None,
    withdrawn: Sequence[bool] | None = None,
    xlabel: str = "lot",
) -> Figure:
    """Yield per lot (or per group of components) with its confidence interval and the target.

    Every point has its own tick label (horizontal while they fit, else slanted and
    thinned); the legend sits outside the plot, its markers the plotted ones; ``withdrawn``
    lots are drawn as open squares."""
    from matplotlib.lines import Line2D

    n = len(labels)
    fig = _new(7.5, 3.2)
    ax = fig.add_subplot()
    idx = np.arange(n)
    y = 100 * np.asarray(yields, float)
    lo = 100 * np.asarray(lower, float)
    hi = 100 * np.asarray(upper, float)
    gone = np.zeros(n, bool) if withdrawn is None else np.asarray(withdrawn, bool)
    bars = ax.errorbar(
        idx,
        y,
        yerr=[np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)],
        fmt="-",
        color=PASS_COLOUR,
        ecolor="#7fa9c8",
        capsize=3,
        lw=1,
    )
    (dots,) = ax.plot(idx[~gone], y[~gone], "o", ms=4, color=PASS_COLOUR)
    ax.plot(idx[gone], y[gone], "s", ms=6, mfc="white", mec=PASS_COLOUR, mew=1.3)
    handles: list = [(bars, dots)]
    names = ["yield and its interval"]
    if highlight is not None and 0 <= highlight < n:
        (ring,) = ax.plot(
            [idx[highlight]], [y[highlight]], "o", ms=10, mfc="none", mec=FAIL_COLOUR, mew=1.5
        )
        handles.append(ring)
        names.append("this lot")
    if gone.any():
        handles.append(
            Line2D([], [], ls="none", marker="s", ms=6, mfc="white", mec=PASS_COLOUR, mew=1.3)
        )
        names.append("withdrawn lot")
    handles.append(ax.axhline(100 * target, color=LIMIT_COLOUR, ls="--", lw=1.2))
    names.append(f"target {100 * target:g} %")
    # Ticks: every label while they fit side by side (about 95 characters across), then slanted,
    # then every k-th one.
    chars = max((len(t) for t in labels), default=1) + 2
    if n * chars <= 95:
        ax.set_xticks(idx, list(labels), fontsize=7.5)
    else:
        step = max(1, int(np.ceil(n / 25)))
        ax.set_xticks(idx[::step], [labels[i] for i in idx[::step]], fontsize=7,
                      rotation=30, ha="right", rotation_mode="anchor")  # fmt: skip
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylabel("yield (%)")
    ax.set_xlabel(xlabel)
    low = np.nanmin(np.r_[lo, 100 * target]) if n else 100 * target
    bottom = max(0.0, low - 3)
    ax.set_ylim(bottom, 102.5)  # a 100 % point clear of the frame; no tick above 100 %
    ticks = ax.yaxis.get_major_locator().tick_values(bottom, 100.0)
    ax.set_yticks([t for t in ticks if bottom <= t <= 100.0])
    from matplotlib.legend_handler import HandlerTuple

    ax.legend(handles, names, fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0, frameon=False, handler_map={tuple: HandlerTuple(ndivide=1)})  # fmt: skip
    ax.grid(True, axis="y", lw=0.3)
    return fig


def control_chart_png(chart: Mapping, *, quantity: str) -> bytes:
    """PNG of :func:`control_chart_figure`."""
    return _png(control_chart_figure(chart, quantity=quantity))


def control_chart_figure(chart: Mapping, *, quantity: str) -> Figure:
    """Individuals / moving-range chart from :func:`lightcomp.analysis.yield_stats.individuals_chart`
    of ``quantity`` (a catalogue name: its label and number format).

    Limit lines are named with their values in the margin right of the plot (never over the
    data or the frame); the legend above the plot shows the plotted markers."""
    from matplotlib.lines import Line2D

    x = np.asarray(chart["x"], float)
    mr = np.asarray(chart["moving_range"], float)
    out = np.asarray(chart["out_of_control"], bool)
    idx = np.arange(1, x.size + 1)
    fig = _new(9.0, 4.4)
    ax, axm = fig.subplots(2, 1, sharex=True, height_ratios=[2.2, 1])
    ax.plot(idx, x, "-", color="#99aabb", lw=0.5, rasterized=True)
    ax.plot(idx, x, ".", color=PASS_COLOUR, ms=3, rasterized=True)
    circle = {"ls": "none", "marker": "o", "ms": 7, "mfc": "none", "mec": FAIL_COLOUR, "mew": 1.2}
    ax.plot(idx[out], x[out], **circle)
    mr_out = mr > chart["mr_ucl"]
    axm.plot(idx, mr, "-", color="#777777", lw=0.6, rasterized=True)
    axm.plot(idx[mr_out], mr[mr_out], **circle)

    # the chart's values in the quantity's catalogue format (moving ranges: its resolution)
    q = catalogue.lookup(quantity)

    def limits(a, lines):
        for val, name, colour, ls in lines:
            a.axhline(val, color=colour, ls=ls, lw=1)
            a.annotate(
                f"{name} {catalogue.format_spread(q, val, like=chart['centre'])}",
                (1.0, val),
                xycoords=("axes fraction", "data"),
                xytext=(4, 0),
                textcoords="offset points",
                fontsize=7,
                ha="left",
                va="center",
                color=colour,
                annotation_clip=False,
            )

    limits(ax, [(chart["ucl"], "UCL", LIMIT_COLOUR, "--"),
                (chart["centre"], "centre", "#333333", "-"),
                (chart["lcl"], "LCL", LIMIT_COLOUR, "--")])  # fmt: skip
    limits(axm, [(chart["mr_ucl"], "UCL", LIMIT_COLOUR, "--"),
                 (chart["mr_centre"], "MR-bar", "#333333", "-")])  # fmt: skip
    span = [min(np.nanmin(x), chart["lcl"]), max(np.nanmax(x), chart["ucl"])]
    pad = 0.06 * (span[1] - span[0] or 1.0)
    ax.set_ylim(span[0] - pad, span[1] + pad)
    axm.set_ylim(0, 1.1 * max(np.nanmax(mr) if mr.size else 0.0, chart["mr_ucl"]))
    handles = [
        Line2D([], [], color=PASS_COLOUR, marker=".", ms=6, ls="-", lw=0.5, label="component"),
        Line2D([], [], label=f"out of control ({int(out.sum())})", **circle),
        Line2D([], [], color=LIMIT_COLOUR, ls="--", lw=1, label="control limits (3 sigma)"),
    ]
    ax.legend(handles=handles, fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.0),
              ncols=3, borderaxespad=0.2, frameon=False)  # fmt: skip
    ax.set_ylabel(q.label(), fontsize=8)
    axm.set_ylabel(f"moving range ({q.shown_unit})" if q.shown_unit else "moving range", fontsize=8)
    axm.set_xlabel("component, in order of measurement")
    pad = max(1.0, 0.02 * x.size)  # a circled first or last point clear of the frame
    axm.set_xlim(1 - pad, x.size + pad)
    for a in (ax, axm):
        a.tick_params(labelsize=7)
    return fig


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

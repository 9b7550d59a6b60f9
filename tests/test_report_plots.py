"""Plots of the lot report: what a reader must be able to see (labels free and inside,
the sub-bins of the table drawn, legends with the plotted markers, limit lines named)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lightcomp.analysis.binning import (
    ansi_c78377_bin,
    ansi_sub_bin_quadrangles,
    cct_duv_to_xy,
)
from lightcomp.reports import plots
from lightcomp.reports.lot_report import ansi_bin_rows


def _spread(n: int = 400, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # a production spread (as tests/_report_fixtures.py) and a few units of the next bin
    cct = np.r_[3990 + 45 * rng.standard_normal(n - 20), 3450 + 30 * rng.standard_normal(20)]
    duv = 0.001 + 0.0012 * rng.standard_normal(n)
    xy = cct_duv_to_xy(cct, duv)
    return cct, duv, xy


def test_sub_bins_partition_the_quadrangle_as_the_classifier_names_them():
    from matplotlib.path import Path

    cct, duv, xy = _spread()
    b = ansi_c78377_bin(cct, duv, xy[:, 0], xy[:, 1])
    polys = ansi_sub_bin_quadrangles()
    for name in set(b["sub_bin"]) - {""}:
        inside = Path(polys[name]).contains_points(xy[b["sub_bin"] == name], radius=1e-9)
        assert inside.all(), name


def test_ansi_table_sorted_by_bin_and_its_sub_bins_drawn():
    cct, duv, xy = _spread()
    b = ansi_c78377_bin(cct, duv, xy[:, 0], xy[:, 1])
    cat = np.where(b["sub_bin"] != "", b["sub_bin"], b["nominal_cct_k"].astype(str))
    cat = pd.Series(cat.astype(object))
    cat.iloc[:2] = None  # no chromaticity
    rows, sub_bins = ansi_bin_rows(cat)
    names = [r[0] for r in rows]
    assert names[-1].startswith("–")
    listed = [n for n in names if n[:4].isdigit()]
    assert listed == sorted(listed, key=lambda s: (int(s[:4]), s[5:] or "Z"))
    assert set(sub_bins) == set(listed) and {"3500-A", "4000-A"} <= set(sub_bins)
    assert sum(int(r[1]) for r in rows) == len(cat)
    for space in ("xy", "uv"):
        fig = plots.chromaticity_figure(
            xy[:, 0], xy[:, 1], np.ones(len(xy), bool), space=space, sub_bins=sub_bins
        )
        drawn = {
            a.get_gid()[8:] for a in fig.axes[1].lines if (a.get_gid() or "").startswith("sub-bin ")
        }
        assert drawn == set(sub_bins)


def test_cct_labels_inside_the_zoom_and_over_no_component():
    cct, duv, xy = _spread()
    for space in ("xy", "uv"):
        fig = plots.chromaticity_figure(
            xy[:, 0], xy[:, 1], np.ones(len(xy), bool), space=space, sub_bins=["4000-A"]
        )
        ax = fig.axes[1]
        fig.draw_without_rendering()
        frame = ax.get_window_extent()
        pts = xy if space == "xy" else plots._xy_to_uv_prime(xy)
        shown = ax.transData.transform(pts)
        labels = [t for t in ax.texts if (t.get_gid() or "").startswith(("cct-label", "sub-bin"))]
        assert any(t.get_gid() == "cct-label 4000" for t in labels)
        top = max(ln.get_zorder() for ln in ax.lines)
        for t in labels:
            assert t.get_zorder() > top  # drawn over the points, never under them
            box = t.get_window_extent()
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1, t.get_text()  # not clipped
            assert frame.y0 <= box.y0 and box.y1 <= frame.y1, t.get_text()
            under = [box.contains(*p) for p in shown]
            assert not np.any(under), f"{t.get_text()} covers a component"


def _inside(inner, outer) -> bool:
    return (outer.x0 - 0.5 <= inner.x0 and inner.x1 <= outer.x1 + 0.5
            and outer.y0 - 0.5 <= inner.y0 and inner.y1 <= outer.y1 + 0.5)  # fmt: skip


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_trend_labels_every_point_and_legend_shows_the_plotted_markers():
    labels = ["LOT-1", "LOT-2 (withdrawn)", "LOT-3"]
    fig = plots.yield_trend_figure(
        labels, np.array([0.96, 0.9, 0.97]), np.full(3, 0.85), np.full(3, 0.99),
        highlight=0, withdrawn=[False, True, False],
    )  # fmt: skip
    ax = fig.axes[0]
    fig.draw_without_rendering()
    assert max(ax.get_yticks()) <= 100 < ax.get_ylim()[1]  # no "102 %", no point on the frame
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == labels  # one distinct label a point, horizontal while they fit
    assert all(t.get_rotation() == 0 for t in ax.get_xticklabels())
    one = plots.yield_trend_figure(["1–25"], np.array([1.0]), np.array([0.9]), np.array([1.0]))
    assert [t.get_text() for t in one.axes[0].get_xticklabels()] == ["1–25"]
    legend = ax.get_legend()
    frame, box = ax.get_window_extent(), legend.get_window_extent()
    assert not _overlap(box, frame) and _inside(box, fig.bbox)  # beside the data, inside the page
    texts = [t.get_text() for t in legend.get_texts()]
    marker = dict(zip(texts, legend.legend_handles, strict=True))
    assert marker["withdrawn lot"].get_marker() == "s"
    plotted = {ln.get_marker() for ln in ax.lines}
    assert {"o", "s"} <= plotted
    assert (
        marker["this lot"].get_marker() == "o"
        and marker["this lot"].get_markerfacecolor() == "none"
    )


def test_control_chart_limits_named_in_the_margin_and_the_mr_ucl_labelled():
    from lightcomp.analysis.yield_stats import individuals_chart

    rng = np.random.default_rng(1)
    v = 1200 + 20 * rng.standard_normal(120)
    v[50] = 1000  # one out of control
    chart = individuals_chart(v)
    fig = plots.control_chart_figure(chart, quantity="luminous_flux_lm")
    fig.draw_without_rendering()
    ax, axm = fig.axes
    for a, names in ((ax, {"UCL", "centre", "LCL"}), (axm, {"UCL", "MR-bar"})):
        frame = a.get_window_extent()
        assert {t.get_text().split()[0] for t in a.texts} == names
        for t in a.texts:
            box = t.get_window_extent()
            assert box.x0 >= frame.x1 and _inside(box, fig.bbox), t.get_text()
    legend = ax.get_legend()
    box = legend.get_window_extent()
    assert box.y0 >= ax.get_window_extent().y1 - 1 and _inside(box, fig.bbox)
    texts = [t.get_text() for t in legend.get_texts()]
    handle = legend.legend_handles[[i for i, t in enumerate(texts) if "out of control" in t][0]]
    circled = [ln for ln in ax.lines if ln.get_marker() == "o"]
    assert circled and handle.get_marker() == "o"
    assert handle.get_markerfacecolor() == circled[0].get_markerfacecolor() == "none"
    assert handle.get_markersize() == circled[0].get_markersize()

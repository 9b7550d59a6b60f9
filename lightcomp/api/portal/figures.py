"""The component page's chromaticity figure: one point in CIE 1931 (x, y) or CIE 1976
(u', v') with its ANSI C78.377-2017 quadrangle, as SVG (matplotlib, no pyplot state).

The loci and quadrangles come from the analysis core and the report's plotting
helpers (:mod:`lightcomp.reports.plots`), so the diagram matches the lot report's;
only the emphasis differs: the component's own quadrangle is filled and the point
is large enough to see.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure


def chromaticity_svg(
    x: float, y: float, *, space: str = "xy", category: str | None = None, title: str = ""
) -> bytes:
    """SVG of the point (``x``, ``y`` CIE 1931) in ``space`` "xy" or "uv" with the ANSI
    quadrangles; ``category`` (nominal CCT as stored, e.g. "3000") is highlighted."""
    from lightcomp.analysis.binning import ansi_quadrangles
    from lightcomp.analysis.cct import CCT_to_xy_Planck
    from lightcomp.analysis.colorimetry import spectral_locus_xy
    from lightcomp.reports.plots import FAIL_COLOUR, PASS_COLOUR, _densify, _xy_to_uv_prime

    uv = space == "uv"
    conv = _xy_to_uv_prime if uv else (lambda a: a)
    pt = conv(np.array([[float(x), float(y)]]))[0]
    locus = conv(spectral_locus_xy())
    if not uv:
        locus = locus[: int(np.argmax(locus[:, 0])) + 1]
    planck = conv(CCT_to_xy_Planck(np.geomspace(1500.0, 20000.0, 200)))
    quads = {k: conv(_densify(v)) for k, v in ansi_quadrangles().items()}
    own = None
    if category is not None:
        try:
            own = int(float(category))
        except ValueError:
            own = None

    fig = Figure(figsize=(9.0, 4.2), layout="constrained")
    ax0, ax1 = fig.subplots(1, 2, width_ratios=[1.0, 1.5])
    ax0.plot(*np.vstack([locus, locus[:1]]).T, color="#555555", lw=0.9)
    half = 0.03 if not uv else 0.02
    lo, hi = pt - half, pt + half
    from matplotlib.patches import Polygon, Rectangle

    ax0.add_patch(Rectangle(tuple(lo), 2 * half, 2 * half, fill=False, color=FAIL_COLOUR, lw=0.8))
    for ax in (ax0, ax1):
        ax.plot(planck[:, 0], planck[:, 1], color="#222222", lw=0.9)
    for k, q in quads.items():
        ax0.plot(q[:, 0], q[:, 1], color="#8a8a8a", lw=0.4)
        mine = k == own
        if mine:
            ax1.add_patch(Polygon(q, closed=True, color="#f2c14e", alpha=0.35, lw=0))
        ax1.plot(q[:, 0], q[:, 1], color="#b36b00" if mine else "#7a7a7a", lw=1.6 if mine else 0.8)
        c = q[:-1].mean(axis=0)
        if np.all(c > lo) and np.all(c < hi):
            ax1.annotate(f"{k} K", c, ha="center", va="center", fontsize=8, color="#444444")
    ax0.plot(*pt, "o", ms=4, color=PASS_COLOUR)
    ax1.plot(*pt, "o", ms=9, mfc=PASS_COLOUR, mec="white", mew=1.5, zorder=5)
    ax1.annotate(
        f"({pt[0]:.4f}, {pt[1]:.4f})", pt, xytext=(10, -16), textcoords="offset points", fontsize=8
    )
    ax0.set_xlim(0, 0.75 if not uv else 0.62)
    ax0.set_ylim(0, 0.85 if not uv else 0.6)
    ax1.set_xlim(lo[0], hi[0])
    ax1.set_ylim(lo[1], hi[1])
    lab = ("u'", "v'") if uv else ("x", "y")
    for ax in (ax0, ax1):
        ax.set_xlabel(lab[0])
        ax.set_ylabel(lab[1])
        ax.set_aspect("equal", adjustable="box")
        ax.tick_params(labelsize=7)
        ax.grid(True, lw=0.3, color="#dddddd")
    if title:
        fig.suptitle(title, fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()

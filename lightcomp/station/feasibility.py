"""Can a plan's limits be measured, and can they all hold at once?

:func:`check_plan_limits` is called by :func:`lightcomp.station.plan.load_plan` after
the types and ranges of every key are checked. A limit the plan never measures would
make every unit an ``error``; limits that cannot all hold would fail every unit. Both
are refused when the plan is loaded (``lightcomp station check``), naming the key.

Rules (each from the physics or the standard, never a guess about a product):

- Power factor, current THD and mains frequency exist only under AC drive
  (IEC 61000-3-2); Tc and ambient need the plan's temperature step.
- Luminous efficacy of a source cannot exceed the luminous efficacy of its radiation
  (efficacy = LER x radiant efficiency, efficiency <= 1; IES LM-79-19 / CIE S 025).
- Efficacy is flux / power: ``efficacy_min <= flux_max / power_min`` and
  ``efficacy_max >= flux_min / power_max`` must leave room.
- Electrical limits against the drive: a DC current source delivers ``current_a`` at
  most ``voltage_limit_v`` (compliance), a voltage source ``voltage_v`` at most
  ``current_limit_a``; a limit excluding the set value (beyond 1 %) or needing more
  than the compliance cannot hold.
- Chromaticity: every colour lies inside the spectrum locus, so ``x + y <= 1`` and
  x, y below the locus maxima (CIE 1931 2 degree CMFs, CIE 15:2018); a CCT, Duv, x
  or y window must overlap the ANSI C78.377-2017 quadrangle the plan names.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import numpy as np

from lightcomp import quantities as catalogue
from lightcomp.station.plan import Drive, Limit, MeasurementSteps

#: Limits measurable only under AC drive: plan name -> what people read (quantity catalogue).
AC_ONLY = {
    name: catalogue.by_plan_name(name).label_en.lower() for name in ("pf", "thd", "frequency")
}
SET_POINT_TOLERANCE = 0.01
"""A measured drive quantity may differ from its set point by this fraction (source accuracy)."""


@cache
def spectrum_locus_max_xy() -> tuple[float, float]:
    """Largest x and largest y on the CIE 1931 spectrum locus (380-780 nm)."""
    from lightcomp.analysis.data import load_cmfs

    cmf = np.asarray(load_cmfs("1931_2"), dtype=float)
    s = cmf.sum(axis=1)
    ok = s > 0
    return float((cmf[ok, 0] / s[ok]).max()), float((cmf[ok, 1] / s[ok]).max())


def _bounds(limits: Iterable[Limit]) -> dict[str, tuple[float | None, float | None]]:
    return {lim.name: (lim.min, lim.max) for lim in limits}


def _key(name: str, side: str, b: dict) -> str:
    """The key to point at: the given side if the plan sets it, else the other."""
    lo, hi = b.get(name, (None, None))
    if side == "min" and lo is None:
        side = "max"
    elif side == "max" and hi is None:
        side = "min"
    return f"{name}_{side}"


def check_plan_limits(
    drive: Drive,
    steps: MeasurementSteps,
    limits: tuple[Limit, ...],
    quadrangle: int | None,
) -> list[tuple[str, str]]:
    """Problems of a plan's limits as ``(key, message)`` pairs (empty when feasible)."""
    out: list[tuple[str, str]] = []
    b = _bounds(limits)

    def lo(name):
        return b.get(name, (None, None))[0]

    def hi(name):
        return b.get(name, (None, None))[1]

    # -- measurable at all -------------------------------------------------------------
    for name, what in AC_ONLY.items():
        if name in b and drive.mode != "ac":
            key = _key(name, "min", b)
            out.append(
                (
                    key,
                    f"'{key}' limits the {what} in a {drive.mode} plan: the {what} is measured "
                    'only under AC drive (mode = "ac"), so every unit would end in error',
                )
            )
    for name in ("tc", "ambient"):
        if name in b and not steps.temperature:
            key = _key(name, "min", b)
            out.append(
                (
                    key,
                    f"'{key}' limits {name}, but [measurement] temperature = false: it is never "
                    "measured",
                )
            )

    # -- efficacy, LER, flux / power -----------------------------------------------------
    if lo("efficacy") is not None and hi("ler") is not None and lo("efficacy") > hi("ler"):
        out.append(
            (
                "efficacy_min",
                f"efficacy_min = {lo('efficacy'):g} lm/W is above ler_max = {hi('ler'):g} lm/W: "
                "a source's efficacy never exceeds the luminous efficacy of its radiation",
            )
        )
    if lo("efficacy") is not None and hi("flux") is not None and lo("power") is not None:
        best = hi("flux") / lo("power")
        if lo("efficacy") > best:
            out.append(
                (
                    "efficacy_min",
                    f"efficacy_min = {lo('efficacy'):g} lm/W cannot hold with flux_max = "
                    f"{hi('flux'):g} lm and power_min = {lo('power'):g} W (at most {best:.4g} lm/W)",
                )
            )
    if hi("efficacy") is not None and lo("flux") is not None and hi("power") is not None:
        worst = lo("flux") / hi("power")
        if hi("efficacy") < worst:
            out.append(
                (
                    "efficacy_max",
                    f"efficacy_max = {hi('efficacy'):g} lm/W cannot hold with flux_min = "
                    f"{lo('flux'):g} lm and power_max = {hi('power'):g} W (at least {worst:.4g} lm/W)",
                )
            )

    # -- electrical limits against the drive ------------------------------------------------
    tol = SET_POINT_TOLERANCE

    def excludes(name: str, set_value: float | None, unit: str, what: str) -> None:
        if set_value is None or name not in b:
            return
        if lo(name) is not None and lo(name) > set_value * (1 + tol):
            out.append(
                (
                    f"{name}_min",
                    f"{name}_min = {lo(name):g} {unit} is above the plan's {what} "
                    f"{set_value:g} {unit}: it cannot hold",
                )
            )
        if hi(name) is not None and hi(name) < set_value * (1 - tol):
            out.append(
                (
                    f"{name}_max",
                    f"{name}_max = {hi(name):g} {unit} is below the plan's {what} "
                    f"{set_value:g} {unit}: it cannot hold",
                )
            )

    def beyond(name: str, cap: float | None, unit: str, what: str) -> None:
        if cap is not None and lo(name) is not None and lo(name) > cap * (1 + tol):
            out.append(
                (
                    f"{name}_min",
                    f"{name}_min = {lo(name):g} {unit} is above {what} {cap:g} {unit}: "
                    "it cannot hold",
                )
            )

    if drive.mode == "dc-current":
        excludes("current", drive.current_a, "A", "drive current")
        beyond("voltage", drive.voltage_limit_v, "V", "the source's compliance voltage")
        if drive.current_a and drive.voltage_limit_v:
            beyond(
                "power", drive.current_a * drive.voltage_limit_v, "W", "the most the drive gives"
            )
    elif drive.mode == "dc-voltage":
        excludes("voltage", drive.voltage_v, "V", "drive voltage")
        beyond("current", drive.current_limit_a, "A", "the source's current limit")
        if drive.voltage_v and drive.current_limit_a:
            beyond(
                "power", drive.voltage_v * drive.current_limit_a, "W", "the most the drive gives"
            )
    else:
        excludes("voltage", drive.voltage_v, "V", "mains voltage")
        excludes("frequency", drive.frequency_hz, "Hz", "mains frequency")

    # -- chromaticity -------------------------------------------------------------------
    x_max, y_max = spectrum_locus_max_xy()
    if lo("x") is not None and lo("x") > x_max:
        out.append(("x_min", f"x_min = {lo('x'):g}: no colour has x above {x_max:.4f}"))
    if lo("y") is not None and lo("y") > y_max:
        out.append(("y_min", f"y_min = {lo('y'):g}: no colour has y above {y_max:.4f}"))
    if lo("x") is not None and lo("y") is not None and lo("x") + lo("y") > 1:
        out.append(
            (
                "x_min",
                f"x_min = {lo('x'):g} and y_min = {lo('y'):g} cannot both hold: x + y <= 1 "
                "for every colour (CIE 1931)",
            )
        )
    if quadrangle is not None:
        out.extend(_against_quadrangle(quadrangle, b))
    return out


def _against_quadrangle(nominal: int, b: dict) -> list[tuple[str, str]]:
    """Windows on CCT, Duv, x, y that miss the ANSI C78.377 quadrangle ``nominal``."""
    from lightcomp.analysis import binning

    t = binning.ansi_c78377_table()
    i = int(np.flatnonzero(t["nominal_cct_k"] == nominal)[0])
    target, tol = float(t["target_cct_k"][i]), float(t["cct_tolerance_k"][i])
    duv, duv_tol = float(t["target_duv"][i]), float(t["duv_tolerance"][i])
    corners = np.asarray(t["corners_xy"][i], dtype=float)
    spans = {
        "cct": (target - tol, target + tol, "K", "{:.0f}"),
        "duv": (duv - duv_tol, duv + duv_tol, "", "{:.4f}"),
        "x": (float(corners[:, 0].min()), float(corners[:, 0].max()), "", "{:.4f}"),
        "y": (float(corners[:, 1].min()), float(corners[:, 1].max()), "", "{:.4f}"),
    }
    out = []
    for name, (q_lo, q_hi, unit, fmt) in spans.items():
        if name not in b:
            continue
        lo, hi = b[name]
        lo_v = -np.inf if lo is None else lo
        hi_v = np.inf if hi is None else hi
        if hi_v < q_lo or lo_v > q_hi:
            u = f" {unit}" if unit else ""
            window = f"{'' if lo is None else f'{lo:g}'}..{'' if hi is None else f'{hi:g}'}"
            out.append(
                (
                    _key(name, "min" if lo_v > q_hi else "max", b),
                    f"the {name} window {window}{u} lies outside the ANSI {nominal} K quadrangle "
                    f"the plan names ({fmt.format(q_lo)}..{fmt.format(q_hi)}{u}): no unit can "
                    "meet both",
                )
            )
    return out

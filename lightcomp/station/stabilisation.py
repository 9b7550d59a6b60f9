"""Stabilisation of a device under test before it is measured (IES LM-79-19 §5.2, CIE S 025).

The rule of a plan (:class:`~lightcomp.station.plan.StabilisationRule`): take
readings of light output and electrical power every ``interval_s``; the device
is stable when the readings of the last ``window_s`` (at least
``min_readings`` of them) vary by less than ``max_variation``, the variation
being (max − min) / mean of each quantity.  LM-79 defaults: 3 readings, 15 min
apart, over 30 min, < 0.5 %.  Time is the injected clock's, so the simulated
lab runs the 30 minutes in milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lightcomp.station.plan import StabilisationRule


@dataclass(frozen=True)
class StabilisationReading:
    """One reading during stabilisation: time (s since power-on) and quantities."""

    t_s: float
    values: dict[str, float]

    def as_dict(self) -> dict:
        return {"t_s": round(self.t_s, 3), **self.values}


class NotStableError(Exception):
    """The device did not stabilise within the plan's ``max_duration_s``."""


def relative_variation(values: np.ndarray) -> np.ndarray:
    """(max − min) / |mean| along the last axis (0 where the mean is 0)."""
    v = np.asarray(values, dtype=float)
    mean = np.abs(v.mean(axis=-1))
    spread = v.max(axis=-1) - v.min(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mean > 0, spread / np.where(mean > 0, mean, 1.0), 0.0)


def window_readings(
    history: list[StabilisationReading], rule: StabilisationRule
) -> list[StabilisationReading]:
    """The readings inside the last ``window_s`` (inclusive, small tolerance for float time)."""
    if not history:
        return []
    t_end = history[-1].t_s
    eps = 1e-6 * max(rule.window_s, 1.0)
    return [r for r in history if r.t_s >= t_end - rule.window_s - eps]


def is_stable(history: list[StabilisationReading], rule: StabilisationRule) -> bool:
    """True when the readings of the last window satisfy the rule.

    The window must be fully covered (first reading at least ``window_s`` before
    the last) and hold ``min_readings`` readings; every quantity of the rule
    must vary by less than ``max_variation``.
    """
    win = window_readings(history, rule)
    if len(win) < rule.min_readings:
        return False
    if win[-1].t_s - win[0].t_s < rule.window_s * (1 - 1e-9):
        return False
    for q in rule.quantities:
        vals = np.array([r.values.get(q, np.nan) for r in win], dtype=float)
        if not np.all(np.isfinite(vals)):
            return False
        if relative_variation(vals) >= rule.max_variation:
            return False
    return True


def stabilise(
    read: Callable[[], dict[str, float]],
    rule: StabilisationRule,
    clock,
    *,
    check_stop: Callable[[], None] | None = None,
) -> list[StabilisationReading]:
    """Take readings every ``rule.interval_s`` until :func:`is_stable`; return the history.

    ``read()`` returns the rule's quantities (e.g. ``{"flux": lm, "power": W}``);
    ``clock`` provides ``now()`` and ``sleep(s)``.  ``check_stop`` is called
    between readings (it may raise to abandon).  Raises :class:`NotStableError`
    with the last variations when ``max_duration_s`` passes first.
    """
    t0 = clock.now()
    history: list[StabilisationReading] = []
    while True:
        history.append(StabilisationReading(clock.now() - t0, read()))
        if is_stable(history, rule):
            return history
        if history[-1].t_s + rule.interval_s > rule.max_duration_s + 1e-9:
            win = window_readings(history, rule)
            var = {
                q: float(relative_variation(np.array([r.values.get(q, np.nan) for r in win])))
                for q in rule.quantities
            }
            shown = ", ".join(f"{q} {100 * v:.2f} %" for q, v in var.items())
            raise NotStableError(
                f"not stable after {history[-1].t_s:.0f} s (variation over the last "
                f"{rule.window_s:.0f} s: {shown}; limit {100 * rule.max_variation:.2f} %)"
            )
        if check_stop is not None:
            check_stop()
        clock.sleep(rule.interval_s)

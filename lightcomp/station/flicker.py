"""Light waveform for flicker: the photoreceiver on the scope, DC-coupled, once the unit is stable.

The certificate computes percent flicker, flicker index and the IEEE 1789-2015
verdict from what is stored here (:func:`lightcomp.analysis.flicker.flicker_metrics`),
so the record keeps the light's DC level: channel ``LIGHT_CHANNEL`` DC-coupled,
centred on the light by vertical auto-ranging (a first record over 0..8 V finds the
level, the screen is then fitted to the ripple; clipping widens it again).  The stored
sample rate is the one the scope delivered (its x increment), not the one asked for.
"""

from __future__ import annotations

import numpy as np

from lightcomp.drivers.base import Oscilloscope, Waveform
from lightcomp.errors import InstrumentError
from lightcomp.station.plan import FlickerSettings

LIGHT_CHANNEL = 2
"""Scope channel of the photoreceiver (as on the VLC bench, station/sim-vlc.toml)."""
DIVISIONS = 8
_FIRST_SCALE_V = 1.0  # V/div of the first record (0..8 V on screen)
_MIN_SCALE_V = 1e-3
_FILL = 0.75  # fraction of the screen the ripple is fitted to


def capture_light_waveform(scope: Oscilloscope, s: FlickerSettings, tries: int = 6) -> dict:
    """``{"sample_rate_hz": fs, "values": [...]}`` (photoreceiver volts) of one record.

    Raises InstrumentError when the light cannot be ranged (always clipped, or dark).
    """
    scale, offset = _FIRST_SCALE_V, DIVISIONS / 2 * _FIRST_SCALE_V
    fitted = False
    for _ in range(tries):
        scope.configure(s.duration_s, {LIGHT_CHANNEL: (scale, offset, "DC")})
        w = scope.acquire((LIGHT_CHANNEL,), s.points)[LIGHT_CHANNEL]
        if w.clipped:
            scale *= 2.5
            offset = max(offset, DIVISIONS / 2 * scale)
            fitted = False
            continue
        if fitted:
            return _record(w)
        lo, hi = float(w.volts.min()), float(w.volts.max())
        if hi <= 0:
            raise InstrumentError(
                f"scope: no light on channel {LIGHT_CHANNEL} (is the unit powered and the "
                "photoreceiver connected?)"
            )
        offset = (lo + hi) / 2
        scale = max((hi - lo) / (DIVISIONS * _FILL), _MIN_SCALE_V)
        fitted = True
    raise InstrumentError(
        f"scope: light on channel {LIGHT_CHANNEL} cannot be ranged (last scale {scale:g} V/div)"
    )


def _record(w: Waveform) -> dict:
    dt = float(np.median(np.diff(w.times_s)))
    # 6 significant digits: beyond the scope's 16-bit record, and a 4000-sample record
    # stays some 40 kB in the stored electrical JSON
    return {"sample_rate_hz": 1.0 / dt, "values": [float(f"{v:.6g}") for v in w.volts]}

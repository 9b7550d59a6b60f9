"""Labels and number formats of quantities on the portal's pages.

Labels and units come from the report's quantity labels (one home, until the
quantity catalogue ``lightcomp.quantities`` lands) and are translated through the
gettext catalogue; numbers use the same significant digits as the certificate.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from lightcomp.api.portal.i18n import _

# Significant digits as on the certificate (lightcomp.reports.certificate); Duv: 4 decimals.
DIGITS = {
    "luminous_flux_lm": 5,
    "efficacy_lmw": 4,
    "cct_k": 4,
    "duv": 2,
    "x": 4,
    "y": 4,
    "ra": 3,
    "r9": 3,
    "rf": 3,
    "rg": 3,
    "power_w": 4,
    "voltage_v": 5,
    "current_a": 4,
    "power_factor": 3,
    "thd_current": 3,
    "tc_c": 3,
    "sdcm_steps": 3,
}

EXTRA_LABELS = {"x": "Chromaticity x (CIE 1931)", "y": "Chromaticity y (CIE 1931)"}


def label(name: str) -> str:
    """Translated label (with unit) of quantity ``name``."""
    from lightcomp.reports.plots import QUANTITY_LABELS  # matplotlib: not at start-up

    return _(QUANTITY_LABELS.get(name) or EXTRA_LABELS.get(name) or name)


def num(value: Any, name: str | None = None) -> str:
    """``value`` with the quantity's significant digits ('–' when missing)."""
    if value is None or isinstance(value, bool):
        return "–" if value is None else str(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(f):
        return "–"
    digits = DIGITS.get(name or "", 4)
    if digits == 2:
        return f"{f:.4f}"
    if abs(f) >= 10**digits:
        return f"{f:.0f}"
    return f"{f:.{digits}g}"


def pct(value: Any, decimals: int = 1) -> str:
    """A fraction as a percentage ('–' when missing)."""
    if value is None:
        return "–"
    try:
        f = float(value)
    except (TypeError, ValueError):
        return "–"
    return f"{100 * f:.{decimals}f} %" if math.isfinite(f) else "–"


def when(value: Any) -> str:
    """UTC date and time to the minute ('–' when missing)."""
    if not isinstance(value, datetime):
        return "–" if value is None else str(value)
    v = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return v.strftime("%Y-%m-%d %H:%M UTC")


def register(env) -> None:
    """Make the formatters available in templates."""
    env.globals.update(label=label, num=num, pct=pct, when=when)


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name for "mark only"
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


#: Texts the templates translate from data (roles, verdicts, states, code fields, labels).
DYNAMIC_MESSAGES = (
    N_("lab"),
    N_("manufacturer"),
    N_("member"),
    N_("pass"),
    N_("fail"),
    N_("error"),
    N_("unpublished"),
    N_("published"),
    N_("withdrawn"),
    N_("target met"),
    N_("target missed"),
    N_("not yet decidable"),
    N_("type_code"),
    N_("scheme_version"),
    N_("level"),
    N_("level_name"),
    N_("category"),
    N_("category_name"),
    N_("cct_class"),
    N_("nominal_cct_k"),
    N_("cri_class"),
    N_("cri_code"),
    N_("flux_class"),
    N_("nominal_flux_lm"),
    N_("flux_range_lm"),
    N_("input_class"),
    N_("input_code"),
    N_("input_name"),
    N_("model_seq"),
    N_("item_serial"),
    N_("check"),
    N_("Luminous flux (lm)"),
    N_("Luminous efficacy (lm/W)"),
    N_("CCT (K)"),
    N_("Duv"),
    N_("Ra"),
    N_("R9"),
    N_("Rf (TM-30)"),
    N_("Rg (TM-30)"),
    N_("Active power (W)"),
    N_("Power factor"),
    N_("Voltage (V)"),
    N_("Current (A)"),
    N_("THD of current"),
    N_("Case temperature Tc (°C)"),
    N_("MacAdam steps (SDCM)"),
    N_("Chromaticity x (CIE 1931)"),
    N_("Chromaticity y (CIE 1931)"),
)

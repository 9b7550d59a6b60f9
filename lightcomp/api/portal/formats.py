"""Labels and number formats of quantities on the portal's pages.

Labels (English and Chinese), units and number formats come from the quantity
catalogue :mod:`lightcomp.quantities`, the one home of those facts; the gettext
catalogue only holds the portal's own texts.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from lightcomp.api.portal.i18n import _, current_language


def label(name: str) -> str:
    """Label with unit of quantity ``name`` in the active language, from the quantity
    catalogue (:mod:`lightcomp.quantities`); an uncatalogued name is shown translated."""
    from lightcomp.quantities import lookup

    q = lookup(name)
    return q.label(current_language()) if q is not None else _(name)


def num(value: Any, name: str | None = None) -> str:
    """``value`` (stored, SI) in the quantity's display unit and format (the catalogue's
    :func:`~lightcomp.quantities.format_value`); '–' when missing."""
    from lightcomp.quantities import format_value, lookup

    q = lookup(name) if name else None
    if q is not None:
        return format_value(q, value)
    if value is None or isinstance(value, bool):
        return "–" if value is None else str(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{f:.4g}" if math.isfinite(f) else "–"


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
    from lightcomp.api.records import utc

    return utc(value).strftime("%Y-%m-%d %H:%M UTC")


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
)

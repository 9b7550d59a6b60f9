"""Publication of lots to alliance members, and withdrawal with a reason.

The lifecycle lives in :mod:`lightcomp.store.lots`; these names are kept for callers.
"""

from lightcomp.store.lots import (
    MAX_REASON_CHARS,
    LotStateError,
    publication_status,
    publish_lot,
    withdraw_lot,
)

__all__ = ["MAX_REASON_CHARS", "LotStateError", "publication_status", "publish_lot", "withdraw_lot"]

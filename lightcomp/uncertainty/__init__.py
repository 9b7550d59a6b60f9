"""Measurement uncertainty of every reported quantity: GUM Supplement 1 Monte Carlo.

:mod:`lightcomp.uncertainty.model` holds the measurement model's inputs (with the
sources of their values, see ``docs/uncertainty.md``) and reads model files;
:mod:`lightcomp.uncertainty.montecarlo` draws M trials of the whole model at once
and pushes them through the analysis core. Pure: imports neither the store nor
drivers.
"""

from lightcomp.uncertainty.model import (
    GROUP_LABELS,
    GROUPS,
    UncertaintyModel,
    UncertaintyModelError,
    load_model,
)
from lightcomp.uncertainty.montecarlo import (
    ComponentInputs,
    MCResult,
    QuantityStats,
    monte_carlo,
    summarize,
)

__all__ = [
    "GROUPS",
    "GROUP_LABELS",
    "ComponentInputs",
    "MCResult",
    "QuantityStats",
    "UncertaintyModel",
    "UncertaintyModelError",
    "load_model",
    "monte_carlo",
    "summarize",
]

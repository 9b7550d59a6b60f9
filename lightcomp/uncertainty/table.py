"""``U_`` columns for spectra analysed outside the station (``lightcomp analyze
--uncertainty MODEL.toml``): one Monte Carlo per spectrum, expanded U (k = 2) in
the unit of its column."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lightcomp.uncertainty.model import GROUPS, UncertaintyModel, load_model
from lightcomp.uncertainty.montecarlo import ComponentInputs, monte_carlo

#: Columns whose unit depends on absolute spectra (no U for relative ones).
_ABSOLUTE_ONLY = ("X", "Y", "Z", "luminous_flux", "radiant_flux", "efficacy")

#: The input groups varied: all but the electrical and thermal readings, which are not
#: in a spectra file.
_SPECTRAL_GROUPS = tuple(g for g in GROUPS if g not in ("electrical", "temperature"))


def uncertainty_columns(
    wavelengths: np.ndarray,
    spectra: np.ndarray,
    columns: Sequence[str],
    model: UncertaintyModel | str | Path,
    *,
    trials: int | None = None,
    absolute: bool = False,
    power_w: float | None = None,
    failed: Sequence[bool] | None = None,
) -> dict[str, np.ndarray]:
    """``{"U_<column>": (N,) array}`` for every numeric column of the analysis table.

    Each spectrum gets its own Monte Carlo of the spectral inputs of ``model``
    (no budget): ``trials`` fixed trials, or without it the model's adaptive
    procedure. A spectrum the analysis refused (``failed``) gets NaN.
    """
    if not isinstance(model, UncertaintyModel):
        model = load_model(model)
    s = np.atleast_2d(np.asarray(spectra, dtype=float))
    n = s.shape[0]
    wanted = [c for c in columns if c not in ("name", "error")]
    if not absolute:
        wanted = [c for c in wanted if c not in _ABSOLUTE_ONLY]
    out = {f"U_{c}": np.full(n, np.nan) for c in wanted}
    readings = {"power_w": float(power_w)} if power_w is not None else {}
    for i in range(n):  # one MC per component (each is M trials, vectorised)
        if failed is not None and failed[i]:
            continue
        r = monte_carlo(
            ComponentInputs(np.asarray(wavelengths, float), s[i], readings=readings),
            model,
            trials=trials,
            adaptive=None if trials is None else False,
            budget=False,
            groups=_SPECTRAL_GROUPS,
        )
        for c in wanted:
            if c in r.stats:
                out[f"U_{c}"][i] = r.stats[c].U
    return out

"""The reference-side interpolation tables (``_cr_common.ReferenceTable``).

Small batches take a gather-and-product route, large ones an in-place route; both
must give the same floats, so that a station's one-spectrum call, the Monte Carlo's
batches and a re-analysis of the archive store identical values.
"""

from __future__ import annotations

import numpy as np
import pytest

from lightcomp.analysis import _cr_common, cri, tm30


@pytest.mark.parametrize("table", [cri._reference_table, tm30._reference_table32])
def test_small_and_large_batches_interpolate_identically(table) -> None:
    tab = table()
    rng = np.random.default_rng(3)
    # every segment (1000-4000-5000-7000-25000 K), its limits, and invalid values
    T = np.concatenate(
        [
            rng.uniform(1000.0, 25000.0, 300),
            [1000.0, 4000.0, 5000.0, 7000.0, 25000.0, 999.0, 25001.0, np.nan],
        ]
    )
    assert T.size > _cr_common._FEW_ROWS  # the in-place route
    large = tab(T)
    small = np.vstack([tab(T[i : i + 1]) for i in range(T.size)])  # the gather route
    np.testing.assert_array_equal(small, large)
    assert np.isnan(large[-3:]).all() and np.isfinite(large[:-3]).all()

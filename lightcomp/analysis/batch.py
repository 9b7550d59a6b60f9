"""The batch pipeline behind :func:`lightcomp.analysis.analyze` and ``analyze_arrays``.

One chunk of spectra on the 1 nm analysis grid goes through:

1. one matrix product ``S @ P`` with every linear functional the quantities need
   (:func:`product_matrix`: CIE 1931 2° X, Y, Z; the 15 CIE 13.3 test colour samples'
   X, Y, Z; V'(λ); the radiant sum; the CIE 1964 10° white and the 99 CIE 224 colour
   evaluation samples as CAT02 R, G, B), so the spectra are read once;
2. colorimetry and CCT/Duv (Ohno 2013) from the first columns;
3. CIE 13.3 (:func:`lightcomp.analysis.cri.Ri_from_products`) and CIE 224 / TM-30
   (:func:`lightcomp.analysis.tm30.Rf_Rg_from_products`) from their column blocks,
   with the reference side interpolated in CCT (``_cr_common.ReferenceTable``);
4. dominant wavelength, purity, peak and FWHM.

The functions here take arrays and return arrays; no pandas, no per-spectrum Python.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from lightcomp.analysis import _cr_common, cri, tm30
from lightcomp.analysis.data import load_cmfs, load_scotopic
from lightcomp.analysis.spectra import WL

#: Column layout of :func:`product_matrix`.
COL_XYZ = slice(0, 3)
COL_CRI = slice(0, 48)  # white X, Y, Z then the TCS (the layout of cri._matrix())
COL_VPRIME = 48
COL_RADIANT = 49
COL_TM30 = slice(47, 350)  # 3 unused columns, 10° white CAT02 RGB, CES RGB (tm30._matrix())


@lru_cache(maxsize=2)
def product_matrix(dtype: str = "float64") -> np.ndarray:
    """(401, 350) matrix of every linear functional of the spectrum the quantities need.

    Columns: 0-2 CIE 1931 2° x̄, ȳ, z̄; 3-47 the TCS01-15 (CIE 13.3) X, then Y, then Z;
    48 V'(λ) (CIE 1951 scotopic); 49 ones (radiant sum); 50-52 CIE 1964 10° white in
    CAT02 R, G, B; 53-349 the 99 CES (CIE 224) in CAT02 R, then G, then B.
    """
    m_cri = cri._matrix()
    m_tm = tm30._matrix()
    out = np.empty((WL.size, 350))
    out[:, COL_CRI] = m_cri
    out[:, COL_VPRIME] = load_scotopic()
    out[:, COL_RADIANT] = 1.0
    out[:, 50:350] = m_tm[:, 3:]
    out = np.ascontiguousarray(out, dtype=dtype)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=1)
def reference_table() -> _cr_common.ReferenceTable:
    """CIE 13.3 then CIE 224 reference features in one table (one interpolation per call).

    Columns: :data:`cri.N_REFERENCE_FEATURES` of CIE 13.3, then the 297 CAM02-UCS
    J', a', b' of the CES under the CIE 224 reference; same nodes and values as the
    two modules' own tables.
    """

    def features(T: np.ndarray) -> np.ndarray:
        return np.hstack([cri._reference_features(T), tm30._reference_features(T)])

    with np.errstate(invalid="ignore", divide="ignore"):
        return _cr_common.ReferenceTable(features)


def colour_rendering(
    V: np.ndarray, T: np.ndarray, S5: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(R1..R15 (n, 15), Rf (n,), Rg (n,)) from the products ``S @ product_matrix()``.

    ``S5``: the input at 380, 385, ..., 780 nm when it was given on that 5 nm grid;
    CIE 13.3 is then evaluated natively at 5 nm (:func:`cri.Ri_from_5nm`).
    """
    ref = reference_table()(T)
    k = cri.N_REFERENCE_FEATURES
    if S5 is None:
        ri = cri.Ri_from_products(V[:, COL_CRI], T, ref[:, :k])
    else:
        ri = cri.Ri_from_5nm(S5, T)
    rf, rg = tm30.Rf_Rg_from_products(V[:, COL_TM30], T, ref[:, k:])
    return ri, rf, rg


def _check_layout() -> None:  # pragma: no cover - guards the column constants above
    p = product_matrix()
    assert np.array_equal(p[:, COL_XYZ], load_cmfs("1931_2"))
    assert np.array_equal(p[:, COL_TM30][:, 3:], tm30._matrix()[:, 3:])

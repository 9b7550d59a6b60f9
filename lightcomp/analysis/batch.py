"""The batch pipeline behind :func:`lightcomp.analysis.analyze` and ``analyze_arrays``.

One chunk of spectra on the 1 nm analysis grid goes through:

1. two matrix products with every linear functional the quantities need
   (:func:`products`): float64 for CIE 1931 2° X, Y, Z, the 15 CIE 13.3 test colour
   samples' X, Y, Z, V'(λ) and the radiant sum; float32 for the CIE 1964 10° white and
   the 99 CIE 224 colour evaluation samples as CAT02 R, G, B (error budget in
   docs/performance.md);
2. colorimetry and CCT/Duv (Ohno 2013) from the first columns;
3. CIE 13.3 (:func:`lightcomp.analysis.cri.Ri_from_products`) and CIE 224 / TM-30
   (:func:`lightcomp.analysis.tm30.Rf_Rg_from_products`) from their column blocks,
   with the reference side interpolated in CCT (``_cr_common.ReferenceTable``: float64
   for CIE 13.3, float32 for CIE 224);
4. dominant wavelength, purity, peak and FWHM.

The functions here take arrays and return arrays; no pandas, no per-spectrum Python.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from lightcomp.analysis import cri, tm30
from lightcomp.analysis.data import load_scotopic
from lightcomp.analysis.spectra import WL

#: Column layout of :func:`product_matrix`.
COL_XYZ = slice(0, 3)
COL_CRI = slice(0, 48)  # white X, Y, Z then the TCS (the layout of cri._matrix())
COL_VPRIME = 48
COL_RADIANT = 49


@lru_cache(maxsize=1)
def product_matrix() -> np.ndarray:
    """(401, 353) float64 matrix of every linear functional the quantities need.

    Columns: 0-2 CIE 1931 2° x̄, ȳ, z̄; 3-47 the TCS01-15 (CIE 13.3) X, then Y, then Z;
    48 V'(λ) (CIE 1951 scotopic); 49 ones (radiant sum); 50-352 the columns of
    ``tm30._matrix()`` (2° white, 10° white and the 99 CES in CAT02 R, G, B).
    """
    out = np.empty((WL.size, 50 + 303))
    out[:, COL_CRI] = cri._matrix()
    out[:, COL_VPRIME] = load_scotopic()
    out[:, COL_RADIANT] = 1.0
    out[:, 50:] = tm30._matrix()
    out.setflags(write=False)
    return out


def products(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One product ``S @ product_matrix()``: the float64 columns 0-49 (n, 50) and the
    CIE 224 columns as float32 (n, 303), as :func:`lightcomp.analysis.tm30.products32`."""
    V = S @ product_matrix()
    return V[:, :50], V[:, 50:].astype(np.float32)


def colour_rendering(
    V: np.ndarray, V32: np.ndarray, T: np.ndarray, S5: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(R1..R15 (n, 15), Rf (n,), Rg (n,)) from the products (:func:`products`).

    ``S5``: the input at 380, 385, ..., 780 nm when it was given on that 5 nm grid;
    CIE 13.3 is then evaluated natively at 5 nm (:func:`cri.Ri_from_5nm`).
    """
    table = cri._reference_table()
    where = table.locate(T)  # the same nodes in every reference table
    # (Ri_from_products and Rf_Rg_from_products set their own floating-point state.)
    if S5 is None:
        ri = cri.Ri_from_products(V[:, COL_CRI], T, table(T, where))
    else:
        ri = cri.Ri_from_5nm(S5, T)
    rf, rg = tm30.Rf_Rg_from_products(V32, T, tm30._reference_table32()(T, where))
    return ri, rf, rg

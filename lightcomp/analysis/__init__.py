"""lightcomp.analysis: pure, vectorised photometry and colorimetry of spectra.

Every function takes ``wavelengths`` (W,) in nm and ``spectra`` (N, W) and
returns arrays (N,) or (N, k). Spectra on any grid covering 380-780 nm with
steps <= 5 nm are resampled once to the 1 nm analysis grid
(:mod:`lightcomp.analysis.spectra`; Sprague per CIE 167 for uniform grids,
cubic spline otherwise) and all quantities use the CIE tables at 1 nm
(CIE 1931 2 degree CMFs unless a method requires the 1964 10 degree
observer), with no intermediate rounding.

:func:`analyze` computes the full set of quantities for a batch as a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from lightcomp.analysis import _cr_common, illuminants
from lightcomp.analysis.cct import CCT_Duv_Ohno2013
from lightcomp.analysis.colorimetry import (
    XYZ,
    XYZ_to_uv_prime,
    XYZ_to_xy,
    dominant_wavelength_purity,
)
from lightcomp.analysis.photometry import (
    KM_LM_PER_W,
    KM_SCOTOPIC_LM_PER_W,
    luminous_efficacy,
    luminous_efficacy_of_radiation,
    luminous_flux,
    radiant_flux,
    scotopic_photopic_ratio,
)
from lightcomp.analysis.spectra import (
    WL,
    _as_batch,
    check_spectra,
    peak_and_fwhm_grid,
    resampler,
    spectrum_names,
    to_analysis_grid,
    validate_wavelengths,
)
from lightcomp.errors import AnalysisInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ANALYZE_COLUMNS",
    "CCT_Duv_Ohno2013",
    "WL",
    "XYZ",
    "XYZ_to_uv_prime",
    "XYZ_to_xy",
    "analyze",
    "analyze_arrays",
    "check_spectra",
    "dominant_wavelength_purity",
    "luminous_efficacy",
    "luminous_efficacy_of_radiation",
    "luminous_flux",
    "radiant_flux",
    "scotopic_photopic_ratio",
    "to_analysis_grid",
]

#: Columns of :func:`analyze`, in order (extra columns ``error`` and, with
#: ``power_w``, ``efficacy`` follow them).
ANALYZE_COLUMNS: tuple[str, ...] = (
    "name",
    "X",
    "Y",
    "Z",
    "x",
    "y",
    "u_prime",
    "v_prime",
    "CCT",
    "Duv",
    "Ra",
    *(f"R{i}" for i in range(1, 16)),
    "Rf",
    "Rg",
    "dominant_wavelength",
    "purity",
    "peak_wavelength",
    "fwhm",
    "luminous_flux",
    "radiant_flux",
    "LER",
    "SP_ratio",
)

_QUANTITIES: tuple[str, ...] = tuple(c for c in ANALYZE_COLUMNS if c != "name")

#: Rows per internal chunk of :func:`analyze` (bounds memory for large batches).
CHUNK_SIZE = 2048


#: Beyond this |Duv| no CCT is given (CIE 15:2018, 9.5: CCT is not meaningful), and so
#: no colour rendering indices, which need a reference at the CCT.
DUV_MAX_CCT = 0.05
#: Quantities that are NaN by design for relative spectra.
_ABSOLUTE_ONLY = ("luminous_flux", "radiant_flux")
_SCALED = ("X", "Y", "Z", "luminous_flux", "radiant_flux")
_CCT_DEPENDENT = ("CCT", "Ra", *(f"R{i}" for i in range(1, 16)), "Rf", "Rg")
_R1 = _QUANTITIES.index("R1")  # R1..R15 are consecutive rows of the table


def _explain_non_finite(table, sl, errors, labels, absolute, duv) -> None:
    """Give every row of ``sl`` that has a non-finite quantity and no error a reason.

    Vectorised test; messages are built only for the (few) rows concerned.
    """
    block = table[:, sl]
    finite = np.isfinite(block)
    if not absolute:
        for name in _ABSOLUTE_ONLY:
            finite[_QUANTITIES.index(name)] = True
    rows = np.flatnonzero(~finite.all(axis=0))
    for i in rows:
        r = sl.start + i
        if errors[r] is not None:
            continue
        missing = [q for q, f in zip(_QUANTITIES, finite[:, i], strict=True) if not f]
        reasons = []
        if "CCT" in missing:
            d = duv[i]
            if np.isfinite(d) and abs(d) > DUV_MAX_CCT:
                reasons.append(
                    f"|Duv| = {abs(d):.3g} > {DUV_MAX_CCT:g}: no CCT and no colour rendering "
                    "indices (CIE 15:2018: CCT is not meaningful so far from the Planckian "
                    "locus)"
                )
            else:
                reasons.append(
                    "chromaticity outside the Planckian table (CCT 950-105 000 K): no CCT "
                    "and no colour rendering indices"
                )
            missing = [q for q in missing if q not in _CCT_DEPENDENT and q != "Duv"]
        elif any(q in _CCT_DEPENDENT for q in missing):
            t = block[_QUANTITIES.index("CCT"), i]
            lo, hi = illuminants.REFERENCE_T_RANGE
            if not lo <= t <= hi:
                reasons.append(
                    f"CCT {t:.0f} K outside {lo:.0f}-{hi:.0f} K (the reference illuminants "
                    "of CIE 13.3 and CIE 224): no colour rendering indices"
                )
                missing = [q for q in missing if q not in _CCT_DEPENDENT]
        if "Rg" in missing and "Rf" not in missing:
            reasons.append(
                "Rg undefined: a TM-30 hue bin holds no colour evaluation sample under the "
                f"reference at {block[_QUANTITIES.index('CCT'), i]:.0f} K"
            )
            missing.remove("Rg")
        over = [q for q in missing if q in _SCALED and np.isinf(block[_QUANTITIES.index(q), i])]
        if over:
            reasons.append(
                f"{', '.join(over)} exceed the float range (about 1.8e308): check the unit "
                "of the spectra"
            )
            missing = [q for q in missing if q not in over]
        if "fwhm" in missing:
            reasons.append("the main peak does not fall to half maximum within 380-780 nm")
            missing.remove("fwhm")
        if missing:
            reasons.append(f"{', '.join(missing)} not finite")
        errors[r] = f"{labels[r]}: " + "; ".join(reasons)


def analyze_arrays(
    wavelengths: np.ndarray,
    spectra: np.ndarray,
    *,
    names: Sequence[str] | None = None,
    absolute: bool = False,
    power_w: float | np.ndarray | None = None,
    strict: bool = False,
) -> dict[str, np.ndarray]:
    """All quantities of :func:`analyze` as arrays, without a DataFrame.

    The path for callers that analyse many small batches (the station, the Monte
    Carlo uncertainty propagation): no pandas, no row names unless an error message
    needs them, no worker threads for batches that fit one chunk.

    Parameters are those of :func:`analyze` (``names`` only serve the error
    messages).

    Returns
    -------
    dict of str to array (N,)
        One float64 array per :data:`ANALYZE_COLUMNS` key except ``name``, then
        ``error``: an object array holding ``None`` for a usable row or the message
        naming the spectrum and the reason its quantities are NaN; with
        ``power_w``, also ``efficacy`` (lm/W).
    """
    table, errors, efficacy, _ = _analyze_table(
        wavelengths, spectra, names, absolute, power_w, strict, lazy_names=True
    )
    out: dict[str, np.ndarray] = dict(zip(_QUANTITIES, table, strict=True))
    out["error"] = errors
    if efficacy is not None:
        out["efficacy"] = efficacy
    return out


def _analyze_table(wavelengths, spectra, names, absolute, power_w, strict, *, lazy_names):
    """(quantities x N table, error object array, efficacy or None, row names): the work
    of both APIs. ``lazy_names``: default names only built for rows with a message."""
    wl = validate_wavelengths(wavelengths)
    s = _as_batch(wl, spectra)
    n = s.shape[0]
    if names is None and lazy_names:
        labels = _LazyNames(n)
    else:
        labels = spectrum_names(n, names)
    # One message (or None) per row, as an object array: the bookkeeping is array work.
    errors = np.full(n, None, dtype=object)
    if strict:
        # Fail fast: validate every spectrum before any computation.
        errors[:] = check_spectra(wl, s, labels)
        _raise_first(errors)
    from lightcomp.analysis import cri

    resample = resampler(wl)
    cols5 = cri.native_5nm_columns(wl)
    if power_w is not None:
        power = np.asarray(power_w, dtype=float)
        if power.ndim > 1 or power.size not in (1, n):
            raise AnalysisInputError(
                f"power_w must be one value or one per spectrum ({n}), got shape {power.shape}"
            )
        power = np.broadcast_to(power.reshape(-1) if power.ndim else power, (n,))

    quantities = _QUANTITIES
    # One (k, n) block: each column is a contiguous row (the DataFrame of analyze is
    # built from it without copying).
    table = np.full((len(quantities), n), np.nan)
    out = dict(zip(quantities, table, strict=True))
    from lightcomp.analysis import batch

    def work(sl: slice) -> None:
        """All quantities of rows ``sl`` (written to disjoint rows of ``out``/``errors``)."""
        start = sl.start
        raw = s[sl]
        if not strict:  # (strict: all rows were checked up front)
            errors[sl] = check_spectra(wl, raw, labels[sl])
        bad = np.not_equal(errors[sl], None)
        if bad.any():
            raw = np.where(bad[:, None], 0.0, raw)
        sg = raw if resample is None else resample(raw)
        # Spectra of extreme scale (e.g. W/nm times 1e306, or 1e-310) are normalised to
        # a peak of 1 first: every relative quantity is scale-free and the sums would
        # overflow or lose their digits in subnormals; absolute ones are scaled back.
        sg, factor = _cr_common.normalise_scale(sg)
        raw5 = None
        if cols5 is not None:  # CIE 13.3 natively on 5 nm input
            raw5 = raw[:, cols5] if factor is None else raw[:, cols5] / factor[:, None]
        # The products of every linear functional (batch.products): float64 for the
        # colorimetry and CIE 13.3, float32 for the CIE 224 samples' test side.
        V, V32 = batch.products(sg)
        xyz = V[:, batch.COL_XYZ]
        no_light = (xyz[:, 1] <= 0) & ~bad
        for i in np.flatnonzero(no_light):
            errors[start + i] = (
                f"{labels[start + i]}: no luminous content (Y = {xyz[i, 1]:.4g} <= 0)"
            )
        good = ~(bad | no_light)
        if not good.all():
            V[~good] = np.nan
            V32[~good] = np.nan
            xyz = V[:, batch.COL_XYZ]
        xy = XYZ_to_xy(xyz)
        uvp = XYZ_to_uv_prime(xyz)
        # CIE 1960 (u, v) = (u', 2/3 v')
        cct, duv = CCT_Duv_Ohno2013(np.stack([uvp[:, 0], uvp[:, 1] * (2.0 / 3.0)], axis=1))
        dwl, purity = dominant_wavelength_purity(xy)
        if absolute:
            with np.errstate(over="ignore"):
                f = KM_LM_PER_W if factor is None else KM_LM_PER_W * factor[:, None]
                xyz_out = f * xyz
                radiant = V[:, batch.COL_RADIANT]
                out["radiant_flux"][sl] = radiant if factor is None else radiant * factor
            out["luminous_flux"][sl] = xyz_out[:, 1]
        else:
            xyz_out = xyz * (100.0 / xyz[:, 1:2])
        out["X"][sl], out["Y"][sl], out["Z"][sl] = xyz_out.T
        out["x"][sl], out["y"][sl] = xy.T
        out["u_prime"][sl], out["v_prime"][sl] = uvp.T
        out["CCT"][sl], out["Duv"][sl] = cct, duv
        out["dominant_wavelength"][sl], out["purity"][sl] = dwl, purity
        peak, fwhm = peak_and_fwhm_grid(sg)
        out["peak_wavelength"][sl] = np.where(good, peak, np.nan)
        out["fwhm"][sl] = np.where(good, fwhm, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            # LER = 683 sum(S V) / sum(S); S/P = 1700 sum(S V') / (683 sum(S V))
            out["LER"][sl] = KM_LM_PER_W * xyz[:, 1] / V[:, batch.COL_RADIANT]
            out["SP_ratio"][sl] = (
                KM_SCOTOPIC_LM_PER_W * V[:, batch.COL_VPRIME] / (KM_LM_PER_W * xyz[:, 1])
            )
        # Colour rendering: rows with a usable spectrum and a meaningful CCT (CIE 15:2018:
        # only within |Duv| <= 0.05 of the Planckian locus); others stay NaN.
        far = np.abs(duv) > DUV_MAX_CCT
        if far.any():
            out["CCT"][start + np.flatnonzero(far)] = np.nan
        ok = good & np.isfinite(cct) & ~far
        if ok.all():
            ri, rf, rg = batch.colour_rendering(V, V32, cct, raw5)
            rows = sl
        else:
            idx = np.flatnonzero(ok)
            ri, rf, rg = batch.colour_rendering(
                V[idx], V32[idx], cct[idx], None if raw5 is None else raw5[idx]
            )
            rows = start + idx
        out["Ra"][rows] = ri[:, :8].mean(axis=1)
        table[_R1 : _R1 + 15, rows] = ri.T
        out["Rf"][rows] = rf
        out["Rg"][rows] = rg
        _explain_non_finite(table, sl, errors, labels, absolute, duv)

    # Chunks bound memory and run on the analysis worker threads (numpy releases the
    # GIL in BLAS and in its array loops; BLAS itself is kept to one thread meanwhile).
    # Equal chunks, as many as the memory bound needs rounded up to a multiple of the
    # threads (balanced load; small batches are split too, but not below 64 rows).
    threads = _cr_common.THREADS
    n_chunks = _ceil_div(_ceil_div(n, CHUNK_SIZE), threads) * threads
    size = max(_ceil_div(n, max(n_chunks, 1)), min(64, CHUNK_SIZE))
    chunks = [slice(i, min(i + size, n)) for i in range(0, n, size)]
    _cr_common.run_parallel(chunks, work)
    if strict:
        _raise_first(errors)
    efficacy = None
    if power_w is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            efficacy = np.where(
                power > 0, out["luminous_flux"] / np.where(power > 0, power, 1.0), np.nan
            )
    return table, errors, efficacy, labels


class _LazyNames(Sequence):
    """Default names ``spectrum 1`` ... built only for the rows that need a message."""

    def __init__(self, n: int, offset: int = 0) -> None:
        self._n, self._offset = n, offset

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            start, stop, step = i.indices(self._n)
            if step != 1:
                return [self[j] for j in range(start, stop, step)]
            return _LazyNames(max(stop - start, 0), self._offset + start)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        return "spectrum " + str(self._offset + i + 1)


def analyze(
    wavelengths: np.ndarray,
    spectra: np.ndarray,
    names: Sequence[str] | None = None,
    *,
    absolute: bool = False,
    power_w: float | np.ndarray | None = None,
    strict: bool = False,
) -> pd.DataFrame:
    """Photometric and colorimetric quantities of a batch of spectra as a table.

    Parameters
    ----------
    wavelengths : array, shape (W,)
        Wavelengths (nm): strictly increasing, covering 380-780 nm, step <= 5 nm.
    spectra : array, shape (N, W) or (W,)
        Spectral distributions; relative (any unit) or, with ``absolute=True``,
        spectral radiant flux in W/nm.
    names : sequence of N str, optional
        Spectrum names (default ``spectrum 1`` ...).
    absolute : bool
        Spectra are absolute (W/nm): then X, Y, Z are in lumen
        (``683 lm/W * sum(S * cmf) * 1 nm``, so ``Y`` = luminous flux) and the
        flux columns are filled. Otherwise X, Y, Z are normalised to ``Y = 100``
        and ``luminous_flux``, ``radiant_flux`` are NaN.
    power_w : float or array (N,), optional
        Electrical input power (W); adds the column ``efficacy`` (lm/W,
        luminous efficacy of the source; NaN for relative spectra).
    strict : bool
        Raise :class:`AnalysisInputError` on the first unusable spectrum instead
        of reporting it in the ``error`` column.

    Returns
    -------
    pandas.DataFrame
        One row per spectrum, columns :data:`ANALYZE_COLUMNS` then ``error``
        (``None`` or the message naming the spectrum and the problem; the
        quantities of such a row are NaN) and ``efficacy`` when ``power_w``
        is given. Quantities: CIE 1931 2 degree X, Y, Z, x, y; CIE 1976 u', v';
        CCT (K) and Duv (Ohno 2013, positive above the Planckian locus); Ra
        and R1-R15 (CIE 13.3); Rf, Rg (CIE 224:2017 / TM-30); dominant
        wavelength (nm, negative complementary wavelength for purples) and
        excitation purity relative to illuminant E; peak wavelength and FWHM
        of the main peak (nm); luminous flux (lm), radiant flux (W, 380-780 nm),
        LER (lm/W optical) and S/P ratio.

    Notes
    -----
    Vectorised, processed in chunks of at most :data:`CHUNK_SIZE` spectra so
    that memory stays bounded for large batches (100 000 spectra at 401
    points). Each chunk is validated, resampled once and evaluated completely
    (XYZ once, its CCT passed to CRI and TM-30); the chunks run on up to
    ``_cr_common.THREADS`` (2) worker threads, numpy releasing the GIL in BLAS
    and its array loops, with BLAS limited to one thread meanwhile (via
    ``threadpoolctl`` when installed) so that the cores are not oversubscribed.
    Results do not depend on the chunking or the threads (Rf and Rg, from a float32
    CAM02-UCS, to float32 rounding: ~1e-5; docs/performance.md). CRI and TM-30 come
    from :mod:`lightcomp.analysis.cri` and :mod:`lightcomp.analysis.tm30`.
    """
    import pandas as pd

    table, errors, efficacy, labels = _analyze_table(
        wavelengths, spectra, names, absolute, power_w, strict, lazy_names=False
    )
    frame = pd.DataFrame(table.T, columns=list(_QUANTITIES), copy=False)
    frame.insert(0, "name", labels)
    frame["error"] = pd.Series(errors, dtype=object)
    if efficacy is not None:
        frame["efficacy"] = efficacy
    return frame


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _raise_first(errors: np.ndarray) -> None:
    bad = errors[np.not_equal(errors, None)]
    if bad.size:
        more = f" (and {len(bad) - 1} more bad spectra)" if len(bad) > 1 else ""
        raise AnalysisInputError(bad[0] + more)

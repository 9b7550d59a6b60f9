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

from lightcomp.analysis import _cr_common
from lightcomp.analysis.cct import CCT_Duv_Ohno2013
from lightcomp.analysis.colorimetry import (
    XYZ,
    XYZ_to_uv,
    XYZ_to_uv_prime,
    XYZ_to_xy,
    dominant_wavelength_purity,
)
from lightcomp.analysis.data import load_cmfs, load_scotopic
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
    fwhm_grid,
    peak_wavelength_grid,
    resampling_matrix,
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

#: Rows per internal chunk of :func:`analyze` (bounds memory for large batches).
CHUNK_SIZE = 2048


def _rendering_batch(
    fn, sg: np.ndarray, cct: np.ndarray, errors: list[str | None], idx: np.ndarray, label: str
):
    """Call a colour-rendering function on rows ``idx``; isolate failing rows.

    Vectorised over the chunk; only if the batch call raises
    :class:`AnalysisInputError` are the rows retried one by one to find and
    report the offending spectra (an error path, not the normal one).
    """
    if idx.size == 0:
        return None
    try:
        return [idx, fn(WL, sg[idx], CCT=cct[idx])]
    except AnalysisInputError:
        pass
    results = []
    good = []
    for i in idx:
        try:
            results.append(fn(WL, sg[i : i + 1], CCT=cct[i : i + 1]))
            good.append(i)
        except AnalysisInputError as exc:
            errors[i] = f"{label}: {exc}"
    if not good:
        return None
    if isinstance(results[0], dict):
        merged = {k: np.concatenate([np.atleast_1d(r[k]) for r in results]) for k in results[0]}
    else:
        merged = tuple(np.concatenate([np.atleast_1d(r[j]) for r in results]) for j in range(2))
    return [np.asarray(good), merged]


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
    Results do not depend on the chunking or the threads. CRI and TM-30 come
    from :mod:`lightcomp.analysis.cri` and :mod:`lightcomp.analysis.tm30`.
    """
    import pandas as pd

    wl = validate_wavelengths(wavelengths)
    s = _as_batch(wl, spectra)
    n = s.shape[0]
    labels = spectrum_names(n, names)
    if strict:
        # Fail fast: validate every spectrum before any computation.
        errors = check_spectra(wl, s, labels)
        _raise_first(errors)
    else:
        errors = [None] * n  # filled by the chunks (check_spectra per chunk, in parallel)
    m = resampling_matrix(wl)
    if power_w is not None:
        power = np.asarray(power_w, dtype=float)
        if power.ndim > 1 or power.size not in (1, n):
            raise AnalysisInputError(
                f"power_w must be one value or one per spectrum ({n}), got shape {power.shape}"
            )
        power = np.broadcast_to(power.reshape(-1) if power.ndim else power, (n,))

    quantities = [c for c in ANALYZE_COLUMNS if c != "name"]
    # One (k, n) block: each column is a contiguous row, and the DataFrame is built
    # from it without copying.
    table = np.full((len(quantities), n), np.nan)
    out = dict(zip(quantities, table, strict=True))
    from lightcomp.analysis import cri, tm30

    weights = np.column_stack([load_cmfs("1931_2"), load_scotopic(), np.ones(WL.size)])

    def work(sl: slice) -> None:
        """All quantities of rows ``sl`` (written to disjoint rows of ``out``/``errors``)."""
        start = sl.start
        rows = np.arange(sl.start, sl.stop)
        if not strict:  # (strict: all rows were checked up front)
            errors[sl] = check_spectra(wl, s[sl], labels[sl])
        bad = np.array([e is not None for e in errors[sl]], dtype=bool)
        raw = s[sl]
        if bad.any():
            raw = np.where(bad[:, None], 0.0, raw)
        sg = raw if m is None else raw @ m.T
        # One pass over the chunk: x_bar, y_bar (= V), z_bar, V', 1 (radiant sum).
        sums = sg @ weights
        xyz = sums[:, :3]
        no_light = (xyz[:, 1] <= 0) & ~bad
        for i in rows[no_light]:
            errors[i] = f"{labels[i]}: no luminous content (Y = {xyz[i - start, 1]:.4g} <= 0)"
        good = ~(bad | no_light)
        all_good = bool(good.all())
        if not all_good:
            xyz = np.where(good[:, None], xyz, np.nan)
        xy = XYZ_to_xy(xyz)
        uvp = XYZ_to_uv_prime(xyz)
        cct, duv = CCT_Duv_Ohno2013(XYZ_to_uv(xyz))
        dwl, purity = dominant_wavelength_purity(xy)
        if absolute:
            xyz_out = KM_LM_PER_W * xyz
            out["luminous_flux"][sl] = xyz_out[:, 1]
            out["radiant_flux"][sl] = np.where(good, sums[:, 4], np.nan)
        else:
            xyz_out = xyz * (100.0 / xyz[:, 1:2])
        for j, c in enumerate("XYZ"):
            out[c][sl] = xyz_out[:, j]
        out["x"][sl], out["y"][sl] = xy[:, 0], xy[:, 1]
        out["u_prime"][sl], out["v_prime"][sl] = uvp[:, 0], uvp[:, 1]
        out["CCT"][sl], out["Duv"][sl] = cct, duv
        out["dominant_wavelength"][sl], out["purity"][sl] = dwl, purity
        out["peak_wavelength"][sl] = np.where(good, peak_wavelength_grid(sg), np.nan)
        out["fwhm"][sl] = np.where(good, fwhm_grid(sg), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            # LER = 683 sum(S V) / sum(S); S/P = 1700 sum(S V') / (683 sum(S V))
            out["LER"][sl] = np.where(good, KM_LM_PER_W * xyz[:, 1] / sums[:, 4], np.nan)
            out["SP_ratio"][sl] = np.where(
                good, KM_SCOTOPIC_LM_PER_W * sums[:, 3] / (KM_LM_PER_W * xyz[:, 1]), np.nan
            )

        # Colour rendering: only rows with a usable spectrum and CCT.
        ok = np.flatnonzero(good & np.isfinite(cct))
        chunk_errors: list[str | None] = [None] * sg.shape[0]
        res = _rendering_batch(cri.CRI_CIE13_3, sg, cct, chunk_errors, ok, "CRI")
        if res is not None:
            idx, (ra, ri) = res
            out["Ra"][start + idx] = ra
            ri = np.asarray(ri)
            for k in range(15):
                out[f"R{k + 1}"][start + idx] = ri[:, k]
        res = _rendering_batch(tm30.TM30_CIE224, sg, cct, chunk_errors, ok, "TM-30")
        if res is not None:
            idx, r = res
            out["Rf"][start + idx] = r["Rf"]
            out["Rg"][start + idx] = r["Rg"]
        for i, e in enumerate(chunk_errors):
            if e is not None and errors[start + i] is None:
                errors[start + i] = f"{labels[start + i]}: {e}"

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

    frame = pd.DataFrame(table.T, columns=quantities, copy=False)
    frame.insert(0, "name", labels)
    frame["error"] = pd.Series(errors, dtype=object)
    if power_w is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            eff = np.where(
                power > 0, out["luminous_flux"] / np.where(power > 0, power, 1.0), np.nan
            )
        frame["efficacy"] = eff
    return frame


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _raise_first(errors: list[str | None]) -> None:
    bad = [e for e in errors if e is not None]
    if bad:
        more = f" (and {len(bad) - 1} more bad spectra)" if len(bad) > 1 else ""
        raise AnalysisInputError(bad[0] + more)

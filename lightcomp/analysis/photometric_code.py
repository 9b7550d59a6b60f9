"""IEC 62717 / IEC 62612 photometric code ``ABC/DEF`` (e.g. ``830/349``).

Positions (IEC 62717:2014, clause 10 / Annex D; *verify* against the purchased text):

- ``A``: colour-rendering group, the tens digit of Ra (9: Ra 90-100, 8: 80-89,
  7: 70-79, 6: 60-69 ...). Ra = 100 gives 9; Ra < 0 gives 0.
- ``BC``: CCT / 100, rounded to the nearest integer, halves up (2650 K -> 27,
  2750 K -> 28; two digits; 950-9949 K).
- ``D``: initial chromaticity spread in MacAdam steps (the smallest integer
  n with the measured point inside the n-step ellipse, i.e. ceil(steps), at least 1).
- ``E``: maintained chromaticity spread in MacAdam steps at 25 % of rated life
  (max. 6000 h), same rule.
- ``F``: lumen-maintenance code at that time (:func:`lumen_maintenance_code`:
  9 >= 90 %, 8 >= 80 %, 7 >= 70 %).

lightcomp conventions (documented choices):

- Missing maintained data (NaN) gives ``-`` in ``E``/``F`` (e.g. ``830/3--``).
- A spread of more than 9 steps cannot be written as one digit and is coded
  ``X``; :func:`parse_photometric_code` returns ``math.inf`` for it.
- Lumen maintenance below 70 % has no code and is written ``-`` as well (the
  function cannot tell it from "not measured"; keep the fraction itself).
"""

from __future__ import annotations

import math
import re

import numpy as np

from lightcomp.errors import AnalysisInputError, CodeError

__all__ = ["lumen_maintenance_code", "parse_photometric_code", "photometric_code"]

_CODE_RE = re.compile(r"^(?P<a>\d)(?P<bc>\d{2})/(?P<d>[1-9X])(?P<e>[1-9X-])(?P<f>[789-])$")


def lumen_maintenance_code(fraction: np.ndarray) -> np.ndarray:
    """IEC 62717 lumen-maintenance code of a maintained-flux fraction: ``"9"`` >= 0.9, ``"8"`` >= 0.8, ``"7"`` >= 0.7, else ``"-"``.

    Parameters
    ----------
    fraction : array_like
        Maintained luminous flux / initial flux (dimensionless, not %); NaN = not measured.

    Returns
    -------
    array of str (``<U1``), shape of ``fraction``
    """
    f = np.asarray(fraction, dtype=float)
    if np.any(f < 0) or np.any(f > 2):
        raise AnalysisInputError(
            "lumen_maintenance_code: fraction must be a ratio in 0..2 (not a percentage)"
        )
    code = np.full(f.shape, "-", dtype="<U1")
    with np.errstate(invalid="ignore"):
        code = np.where(f >= 0.7, "7", code)
        code = np.where(f >= 0.8, "8", code)
        code = np.where(f >= 0.9, "9", code)
    return code


def _steps_digit(steps: np.ndarray, name: str, allow_missing: bool) -> np.ndarray:
    s = np.asarray(steps, dtype=float)
    nan = np.isnan(s)
    if nan.any() and not allow_missing:
        raise AnalysisInputError(
            f"photometric_code: {name} is NaN at indices {np.flatnonzero(nan)[:10].tolist()}"
        )
    if np.any(s[~nan] < 0):
        raise AnalysisInputError(f"photometric_code: {name} must be >= 0 MacAdam steps")
    with np.errstate(invalid="ignore"):
        n = np.maximum(np.ceil(s - 1e-9), 1.0)
        digit = np.where(n > 9, "X", np.char.mod("%d", np.nan_to_num(np.minimum(n, 9))))
    return np.where(nan, "-", digit).astype("<U1")


def photometric_code(
    ra: np.ndarray,
    cct_k: np.ndarray,
    initial_steps: np.ndarray,
    maintained_steps: np.ndarray | None = None,
    lumen_maintenance: np.ndarray | None = None,
) -> np.ndarray:
    """IEC 62717 photometric code ``ABC/DEF`` per component.

    Parameters
    ----------
    ra : array_like, shape (N,)
        General colour rendering index Ra (CIE 13.3).
    cct_k : array_like, shape (N,)
        CCT (K) to code; normally the rated (nominal) CCT.
    initial_steps : array_like, shape (N,)
        Initial chromaticity deviation from the rated centre in MacAdam steps
        (:func:`lightcomp.analysis.binning.macadam_steps`).
    maintained_steps : array_like, shape (N,), optional
        Deviation at 25 % of rated life (max. 6000 h); NaN / None = not measured.
    lumen_maintenance : array_like, shape (N,), optional
        Flux fraction at that time (0-1); NaN / None = not measured.

    Returns
    -------
    array of str, shape (N,), e.g. ``["830/349", "930/3--"]``

    Raises
    ------
    AnalysisInputError
        NaN Ra, CCT or initial steps; CCT outside 950-9949 K; shapes differ.
    """
    ra_a = np.atleast_1d(np.asarray(ra, dtype=float))
    cct = np.atleast_1d(np.asarray(cct_k, dtype=float))
    n = ra_a.shape
    missing = np.full(n, np.nan)
    ms = missing if maintained_steps is None else np.atleast_1d(np.asarray(maintained_steps, float))
    lm = (
        missing
        if lumen_maintenance is None
        else np.atleast_1d(np.asarray(lumen_maintenance, float))
    )
    init = np.atleast_1d(np.asarray(initial_steps, dtype=float))
    for name, arr in (
        ("cct_k", cct),
        ("initial_steps", init),
        ("maintained_steps", ms),
        ("lumen_maintenance", lm),
    ):
        if arr.shape != n:
            raise AnalysisInputError(f"photometric_code: {name} has shape {arr.shape}, ra has {n}")
    for name, arr in (("ra", ra_a), ("cct_k", cct)):
        if np.isnan(arr).any():
            raise AnalysisInputError(
                f"photometric_code: {name} is NaN at indices {np.flatnonzero(np.isnan(arr))[:10].tolist()}"
            )
    if np.any(ra_a > 100.0 + 1e-9):
        raise AnalysisInputError("photometric_code: Ra above 100")
    # Round half up (2650 K -> 27, 2750 K -> 28): np.round rounds half to even.
    cct100 = np.floor(cct / 100.0 + 0.5)
    bad = (cct100 < 10) | (cct100 > 99)
    if bad.any():
        raise AnalysisInputError(
            f"photometric_code: CCT {cct[bad][:5].tolist()} K cannot be coded as two digits (950-9949 K)"
        )
    a = np.char.mod("%d", np.clip(np.floor(ra_a / 10.0), 0, 9).astype(int))
    bc = np.char.mod("%02d", cct100.astype(int))
    d = _steps_digit(init, "initial_steps", allow_missing=False)
    e = _steps_digit(ms, "maintained_steps", allow_missing=True)
    f = lumen_maintenance_code(lm)
    out = np.char.add(np.char.add(np.char.add(a, bc), "/"), np.char.add(np.char.add(d, e), f))
    return out.astype(str)


def parse_photometric_code(code: str) -> dict:
    """Split an IEC 62717 photometric code (e.g. ``"830/349"``) into its fields.

    Returns
    -------
    dict
        ``cri_group`` (int, tens digit of Ra), ``ra_min`` (int), ``cct_k`` (int,
        e.g. 3000), ``initial_macadam_steps`` (int or ``math.inf`` for ``X``),
        ``maintained_macadam_steps`` (int, ``math.inf`` or None for ``-``),
        ``lumen_maintenance_code`` (str), ``lumen_maintenance_min`` (0.9/0.8/0.7
        or None for ``-``).

    Raises
    ------
    CodeError
        The text is not of the form ``ABC/DEF``; the message names the first
        position that is wrong.
    """
    if not isinstance(code, str):
        raise CodeError(f"photometric code must be a string, got {type(code).__name__}")
    text = code.strip()
    m = _CODE_RE.match(text)
    if m is None:
        checks = [
            (0, r"\d", "A (CRI group digit 0-9)"),
            (1, r"\d", "B (first CCT/100 digit)"),
            (2, r"\d", "C (second CCT/100 digit)"),
            (3, r"/", "separator '/'"),
            (4, r"[1-9X]", "D (initial MacAdam steps 1-9 or X)"),
            (5, r"[1-9X-]", "E (maintained MacAdam steps 1-9, X or -)"),
            (6, r"[789-]", "F (lumen-maintenance code 7, 8, 9 or -)"),
        ]
        for pos, pat, what in checks:
            if pos >= len(text) or not re.fullmatch(pat, text[pos]):
                got = repr(text[pos]) if pos < len(text) else "end of text"
                raise CodeError(
                    f"photometric code {code!r}: position {pos + 1} should be {what}, got {got}"
                )
        raise CodeError(
            f"photometric code {code!r}: expected 7 characters 'ABC/DEF', got {len(text)}"
        )

    def steps(ch: str) -> int | float | None:
        if ch == "-":
            return None
        return math.inf if ch == "X" else int(ch)

    group = int(m["a"])
    f = m["f"]
    return {
        "cri_group": group,
        "ra_min": 10 * group,
        "cct_k": 100 * int(m["bc"]),
        "initial_macadam_steps": steps(m["d"]),
        "maintained_macadam_steps": steps(m["e"]),
        "lumen_maintenance_code": f,
        "lumen_maintenance_min": None if f == "-" else int(f) / 10.0,
    }

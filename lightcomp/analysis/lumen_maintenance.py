"""Lumen maintenance: IES LM-80 data projected with IES TM-21-11.

Method (IES TM-21-11, as summarised in the domain brief):

1. Normalise the flux of every unit to 1 at 0 h and average the units at each
   reading time.
2. Fit ln(Phi) = ln(B) - alpha t by least squares on the TM-21 window: the last
   5000 h when the test lasted 6000-10000 h, the last 50 % of the test when it
   lasted longer, and never data before 1000 h. Tests shorter than 6000 h are
   rejected.
3. Lp = ln(100 B / p) / alpha (p in %). alpha <= 0 (no decay) gives no finite Lp.
4. Reported value limited to 6 x the test duration for >= 20 units, 5.5 x for
   10-19 units; fewer than 10 units: no projection is reported (*verify* the
   TM-21 wording). Wording as TM-21 reports it: ``"L70(10k) = 51,000 h"`` or,
   when the limit applies, ``"L70(10k) > 60,000 h"``. lightcomp rounds the
   reported hours to 3 significant figures (*verify* TM-21 section 7).
5. In-situ case temperature: Arrhenius interpolation between two LM-80 case
   temperatures T1 < T2 (K): Ea/k = ln(alpha1/alpha2) / (1/T2 - 1/T1),
   A = alpha1 exp(Ea/(k T1)), alpha_s = A exp(-Ea/(k T_s)), B_s = sqrt(B1 B2).

Also :func:`lumen_maintenance_code` for the IEC 62717 photometric code (re-exported).
"""

from __future__ import annotations

import numpy as np

from lightcomp.analysis.photometric_code import lumen_maintenance_code
from lightcomp.errors import AnalysisInputError

__all__ = [
    "TM21_MIN_DURATION_H",
    "lumen_maintenance_code",
    "tm21_fit",
    "tm21_in_situ",
    "tm21_lifetime",
    "tm21_projection",
    "tm21_window_start_h",
]

#: Shortest LM-80 test TM-21 projects from (h).
TM21_MIN_DURATION_H = 6000.0


def tm21_window_start_h(test_duration_h: float) -> float:
    """First hour of the TM-21 fit window: D - 5000 h for 6000 <= D <= 10000 h, D/2 beyond; never < 1000 h."""
    d = float(test_duration_h)
    if d < TM21_MIN_DURATION_H:
        raise AnalysisInputError(
            f"TM-21 needs at least {TM21_MIN_DURATION_H:.0f} h of LM-80 data, got {d:g} h"
        )
    start = d - 5000.0 if d <= 10000.0 else 0.5 * d
    return max(start, 1000.0)


def tm21_fit(hours: np.ndarray, flux: np.ndarray) -> dict[str, np.ndarray]:
    """Average normalised LM-80 flux and fit the TM-21 exponential.

    Parameters
    ----------
    hours : array_like, shape (T,)
        Reading times (h), strictly increasing, first = 0.
    flux : array_like, shape (U, T) or (G, U, T)
        Luminous flux (any unit) of U units at each time; G independent data
        sets (e.g. case temperatures or drive currents) sharing the times.

    Returns
    -------
    dict
        ``alpha`` (G,) decay constant (1/h), ``b`` (G,) projected initial
        constant, ``mean_normalised`` (G, T), ``window_start_h`` (float),
        ``test_duration_h`` (float), ``n_units`` (int), ``n_points`` (int, points
        in the fit window). For a 2-D ``flux`` G = 1.
    """
    t = np.asarray(hours, dtype=float)
    f = np.asarray(flux, dtype=float)
    if t.ndim != 1 or t.size == 0:
        raise AnalysisInputError("tm21_fit: hours must be a non-empty 1-D array")
    if f.ndim == 2:
        f = f[None]
    if f.ndim != 3 or f.shape[-1] != t.size or f.shape[1] == 0:
        raise AnalysisInputError(
            f"tm21_fit: flux must be (units, times) or (sets, units, times) with {t.size} times, "
            f"got {np.shape(flux)}"
        )
    if not (np.isfinite(t).all() and np.isfinite(f).all()):
        raise AnalysisInputError("tm21_fit: NaN or infinite hours/flux (drop failed units first)")
    if t[0] != 0.0 or np.any(np.diff(t) <= 0):
        raise AnalysisInputError("tm21_fit: hours must start at 0 h and increase strictly")
    if np.any(f <= 0):
        raise AnalysisInputError("tm21_fit: flux must be > 0")
    duration = float(t[-1])
    start = tm21_window_start_h(duration)
    mean = (f / f[..., :1]).mean(axis=1)  # (G, T)
    sel = t >= start - 1e-9
    if sel.sum() < 2:
        raise AnalysisInputError("tm21_fit: fewer than 2 readings in the TM-21 fit window")
    tw = t[sel]
    yw = np.log(mean[:, sel])
    tc = tw - tw.mean()
    slope = (yw - yw.mean(axis=1, keepdims=True)) @ tc / (tc @ tc)
    intercept = yw.mean(axis=1) - slope * tw.mean()
    return {
        "alpha": -slope,
        "b": np.exp(intercept),
        "mean_normalised": mean,
        "window_start_h": start,
        "test_duration_h": duration,
        "n_units": int(f.shape[1]),
        "n_points": int(sel.sum()),
    }


def _fmt_hours(h: np.ndarray) -> np.ndarray:
    return np.array([f"{v:,.0f}" for v in np.ravel(h)], dtype=object).reshape(np.shape(h))


def _round_sig(x: np.ndarray, sig: int = 3) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(x > 0, np.floor(np.log10(np.abs(x))), 0.0)
        q = 10.0 ** (mag - sig + 1)
        return np.where(np.isfinite(x) & (x > 0), np.round(x / q) * q, x)


def tm21_lifetime(
    alpha: np.ndarray,
    b: np.ndarray,
    test_duration_h: float,
    n_units: int,
    percent: float = 70.0,
) -> dict[str, np.ndarray]:
    """TM-21 Lp: calculated value, reported value (with the 6x / 5.5x limit) and its wording.

    Parameters
    ----------
    alpha, b : array_like, shape (G,)
        Fit constants (:func:`tm21_fit` or :func:`tm21_in_situ`).
    test_duration_h : float
        LM-80 test duration D (h); labels the result ``Lp(Dk)``.
    n_units : int
        Units in the sample (sets the projection limit).
    percent : float
        Maintained flux p (%), e.g. 70 for L70.

    Returns
    -------
    dict
        ``calculated_h`` (G,) = ln(100 B / p) / alpha (inf when alpha <= 0),
        ``limit_h`` (float, NaN for < 10 units), ``reported_h`` (G,) (NaN when
        no projection), ``capped`` (G,) bool, ``text`` (G,) str.
    """
    a = np.atleast_1d(np.asarray(alpha, dtype=float))
    bb = np.broadcast_to(np.asarray(b, dtype=float), a.shape)
    if not (0 < percent < 100):
        raise AnalysisInputError(f"tm21_lifetime: percent must be in (0, 100), got {percent}")
    if not (np.isfinite(a).all() and np.isfinite(bb).all()) or np.any(bb <= 0):
        raise AnalysisInputError("tm21_lifetime: alpha and b must be finite, b > 0")
    if test_duration_h < TM21_MIN_DURATION_H:
        raise AnalysisInputError(
            f"TM-21 needs at least {TM21_MIN_DURATION_H:.0f} h of LM-80 data, got {test_duration_h:g} h"
        )
    with np.errstate(divide="ignore"):
        calc = np.where(a > 0, np.log(100.0 * bb / percent) / np.where(a > 0, a, 1.0), np.inf)
    if n_units >= 20:
        limit = 6.0 * test_duration_h
    elif n_units >= 10:
        limit = 5.5 * test_duration_h
    else:
        limit = np.nan
    label = f"L{percent:g}({test_duration_h / 1000:g}k)"
    if np.isnan(limit):
        text = np.full(a.shape, f"{label}: no projection (TM-21 needs >= 10 units, got {n_units})")
        return {
            "calculated_h": calc,
            "limit_h": limit,
            "reported_h": np.full(a.shape, np.nan),
            "capped": np.zeros(a.shape, dtype=bool),
            "text": text.astype(str),
        }
    capped = calc > limit
    reported = np.where(capped, limit, np.minimum(_round_sig(calc), limit))
    hours_txt = _fmt_hours(reported)
    text = np.where(capped, f"{label} > " + hours_txt + " h", f"{label} = " + hours_txt + " h")
    return {
        "calculated_h": calc,
        "limit_h": limit,
        "reported_h": reported,
        "capped": capped,
        "text": text.astype(str),
    }


def tm21_projection(
    hours: np.ndarray, flux: np.ndarray, percents: tuple[float, ...] = (70.0, 80.0, 90.0)
) -> dict:
    """:func:`tm21_fit` followed by :func:`tm21_lifetime` for each p in ``percents``.

    Returns
    -------
    dict
        The fit dict plus ``"L70"``, ``"L80"``, ``"L90"`` (keys ``f"L{p:g}"``),
        each a :func:`tm21_lifetime` dict with arrays of shape (G,).
    """
    fit = tm21_fit(hours, flux)
    out: dict = dict(fit)
    for p in percents:
        out[f"L{p:g}"] = tm21_lifetime(
            fit["alpha"], fit["b"], fit["test_duration_h"], fit["n_units"], p
        )
    return out


def tm21_in_situ(
    alpha1: np.ndarray,
    b1: np.ndarray,
    case_temp1_c: float | np.ndarray,
    alpha2: np.ndarray,
    b2: np.ndarray,
    case_temp2_c: float | np.ndarray,
    in_situ_temp_c: float | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """TM-21 Arrhenius interpolation of alpha (and B) to an in-situ case temperature.

    Parameters
    ----------
    alpha1, b1, case_temp1_c : array_like
        Fit constants at the lower LM-80 case temperature (deg C).
    alpha2, b2, case_temp2_c : array_like
        Fit constants at the higher case temperature (deg C).
    in_situ_temp_c : array_like
        In-situ case temperature (deg C), within [T1, T2] (interpolation only).

    Returns
    -------
    alpha_s, b_s : arrays (broadcast shape)
    """
    a1, a2 = np.asarray(alpha1, dtype=float), np.asarray(alpha2, dtype=float)
    t1 = np.asarray(case_temp1_c, dtype=float) + 273.15
    t2 = np.asarray(case_temp2_c, dtype=float) + 273.15
    ts = np.asarray(in_situ_temp_c, dtype=float) + 273.15
    if np.any(a1 <= 0) or np.any(a2 <= 0):
        raise AnalysisInputError("tm21_in_situ: both alphas must be > 0 (decaying flux)")
    if np.any(t2 <= t1):
        raise AnalysisInputError("tm21_in_situ: case_temp2_c must be above case_temp1_c")
    if np.any(ts < t1 - 1e-9) or np.any(ts > t2 + 1e-9):
        raise AnalysisInputError(
            "tm21_in_situ: in-situ temperature must lie between the two LM-80 case temperatures "
            "(TM-21 interpolates, never extrapolates)"
        )
    ea_k = np.log(a1 / a2) / (1.0 / t2 - 1.0 / t1)
    big_a = a1 * np.exp(ea_k / t1)
    alpha_s = big_a * np.exp(-ea_k / ts)
    b_s = np.sqrt(np.asarray(b1, dtype=float) * np.asarray(b2, dtype=float))
    return alpha_s, b_s


#: IEC 62717: maintained values are stated at 25 % of rated life, at most 6000 h.
IEC62717_MAINTENANCE_FRACTION_OF_LIFE = 0.25
IEC62717_MAINTENANCE_MAX_H = 6000.0


def maintained_flux_fraction_IEC62717(
    hours: np.ndarray, flux: np.ndarray, rated_life_h: float
) -> tuple[float, float]:
    """Lumen maintenance at the IEC 62717 time, from LM-80 data.

    The time is 25 % of the rated life, at most 6000 h (IEC 62717 photometric
    code, digit F): the average normalised flux, interpolated linearly between
    readings. That time is never beyond 6000 h, the shortest test TM-21 accepts,
    so no projection is involved; shorter data are refused.

    Parameters
    ----------
    hours : array, shape (T,)
        Reading times (h), first = 0.
    flux : array, shape (U, T)
        Flux of U units (any unit).
    rated_life_h : float
        Rated life (h) of the family.

    Returns
    -------
    (fraction, at_h) : maintained flux as a fraction of initial, and the time (h).
    """
    t = np.asarray(hours, dtype=float)
    f = np.asarray(flux, dtype=float)
    if not np.isfinite(rated_life_h) or rated_life_h <= 0:
        raise AnalysisInputError(f"rated life must be > 0 h, got {rated_life_h!r}")
    if f.ndim != 2 or f.shape[1] != t.size or t.size < 2:
        raise AnalysisInputError(
            f"LM-80 flux must be (units, times) with {t.size} times, got {f.shape}"
        )
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(t))):
        raise AnalysisInputError("LM-80 data contain NaN or infinite values")
    if t[0] != 0 or np.any(np.diff(t) <= 0) or np.any(f <= 0):
        raise AnalysisInputError("LM-80 data must start at 0 h, increase, and have flux > 0")
    at = min(IEC62717_MAINTENANCE_FRACTION_OF_LIFE * rated_life_h, IEC62717_MAINTENANCE_MAX_H)
    if at > t[-1]:
        raise AnalysisInputError(
            f"LM-80 data end at {t[-1]:g} h; IEC 62717 needs the flux at {at:g} h"
        )
    mean = (f / f[:, :1]).mean(axis=0)
    return float(np.interp(at, t, mean)), at

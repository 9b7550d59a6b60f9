"""Photometry: luminous flux, radiant flux, efficacies, S/P ratio.

Conventions (CIE 15:2018, ISO 23539:2005/CIE S 010:2004):

- spectra are absolute spectral radiant flux ``Phi_e,l`` in W/nm, resampled once
  to the 1 nm analysis grid (380-780 nm); integrals are sums times 1 nm, no
  intermediate rounding;
- photopic ``V(l)`` = CIE 1931 2 degree ``y_bar``, ``Km = 683.002 lm/W``;
  scotopic ``V'(l)`` CIE 1951, ``K'm = 1700.06 lm/W`` (:mod:`lightcomp.constants`);
- radiant flux is integrated over 380-780 nm only (the analysis grid), so
  LER = luminous flux / radiant flux refers to the visible band.

Functions ending in ``_grid`` take spectra already on the analysis grid
(shape (N, 401)); the others accept any valid grid (see
:func:`lightcomp.analysis.spectra.to_analysis_grid`).
"""

from __future__ import annotations

import numpy as np

from lightcomp.analysis.data import load_photopic, load_scotopic
from lightcomp.analysis.spectra import to_analysis_grid

# Km, K'm have one home, with their source and the 683 vs 683.002 note.
from lightcomp.constants import KM_LM_PER_W, KM_SCOTOPIC_LM_PER_W

__all__ = [
    "KM_LM_PER_W",
    "KM_SCOTOPIC_LM_PER_W",
    "luminous_efficacy",
    "luminous_efficacy_of_radiation",
    "luminous_efficacy_of_radiation_grid",
    "luminous_flux",
    "luminous_flux_grid",
    "radiant_flux",
    "radiant_flux_grid",
    "scotopic_luminous_flux_grid",
    "scotopic_photopic_ratio",
    "scotopic_photopic_ratio_grid",
]


def _batch(s: np.ndarray) -> np.ndarray:
    s = np.asarray(s, dtype=float)
    return s[None, :] if s.ndim == 1 else s


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)


def luminous_flux_grid(spectra_grid: np.ndarray) -> np.ndarray:
    """Luminous flux (lm) of spectra (W/nm) on the analysis grid, shape (N,).

    ``Phi_v = Km * sum(Phi_e,l * V(l)) * 1 nm``, ``Km = 683 lm/W``.
    """
    return KM_LM_PER_W * (_batch(spectra_grid) @ load_photopic())


def scotopic_luminous_flux_grid(spectra_grid: np.ndarray) -> np.ndarray:
    """Scotopic luminous flux (scotopic lm), ``K'm * sum(Phi_e,l * V'(l)) * 1 nm``, shape (N,)."""
    return KM_SCOTOPIC_LM_PER_W * (_batch(spectra_grid) @ load_scotopic())


def radiant_flux_grid(spectra_grid: np.ndarray) -> np.ndarray:
    """Radiant flux (W) over 380-780 nm of spectra (W/nm) on the analysis grid, shape (N,)."""
    return _batch(spectra_grid).sum(axis=1)


def luminous_efficacy_of_radiation_grid(spectra_grid: np.ndarray) -> np.ndarray:
    """LER (lm/W optical) = luminous flux / radiant flux over 380-780 nm, shape (N,).

    Independent of the scale of the spectra, so also valid for relative
    spectra. NaN where the radiant flux is zero.
    """
    s = _batch(spectra_grid)
    return _ratio(luminous_flux_grid(s), radiant_flux_grid(s))


def scotopic_photopic_ratio_grid(spectra_grid: np.ndarray) -> np.ndarray:
    """S/P ratio = (1700 sum S V') / (683 sum S V), shape (N,); scale independent."""
    s = _batch(spectra_grid)
    return _ratio(scotopic_luminous_flux_grid(s), luminous_flux_grid(s))


def luminous_flux(wavelengths: np.ndarray, spectra: np.ndarray) -> np.ndarray:
    """Luminous flux (lm) of absolute spectral radiant flux (W/nm), shape (N,).

    ``Phi_v = 683 lm/W * integral(Phi_e,l V(l) dl)`` over 380-780 nm, 1 nm
    sums after resampling (CIE 15:2018).

    Parameters
    ----------
    wavelengths : array, shape (W,)
        Wavelengths (nm).
    spectra : array, shape (N, W) or (W,)
        Spectral radiant flux (W/nm).
    """
    return luminous_flux_grid(to_analysis_grid(wavelengths, spectra))


def radiant_flux(wavelengths: np.ndarray, spectra: np.ndarray) -> np.ndarray:
    """Radiant flux (W) over 380-780 nm of spectral radiant flux (W/nm), shape (N,)."""
    return radiant_flux_grid(to_analysis_grid(wavelengths, spectra))


def luminous_efficacy_of_radiation(wavelengths: np.ndarray, spectra: np.ndarray) -> np.ndarray:
    """Luminous efficacy of radiation, LER (lm/W optical), over 380-780 nm, shape (N,).

    Scale independent (valid for relative spectra). See
    :func:`luminous_efficacy_of_radiation_grid`.
    """
    return luminous_efficacy_of_radiation_grid(to_analysis_grid(wavelengths, spectra))


def luminous_efficacy(
    wavelengths: np.ndarray, spectra: np.ndarray, power_w: float | np.ndarray
) -> np.ndarray:
    """Luminous efficacy of the source (lm/W electrical) = luminous flux / input power.

    Parameters
    ----------
    wavelengths : array, shape (W,)
        Wavelengths (nm).
    spectra : array, shape (N, W) or (W,)
        Absolute spectral radiant flux (W/nm).
    power_w : float or array, shape (N,)
        Electrical input power (W); NaN result where it is not positive.
    """
    phi = luminous_flux(wavelengths, spectra)
    p = np.broadcast_to(np.asarray(power_w, dtype=float), phi.shape)
    return np.where(p > 0, _ratio(phi, p), np.nan)


def scotopic_photopic_ratio(wavelengths: np.ndarray, spectra: np.ndarray) -> np.ndarray:
    """Scotopic/photopic (S/P) ratio, ``1700 int(S V') / 683 int(S V)``, shape (N,).

    CIE 1951 scotopic V'(l) and CIE 1924 photopic V(l) at 1 nm; scale independent.
    """
    return scotopic_photopic_ratio_grid(to_analysis_grid(wavelengths, spectra))

"""Synthetic white-LED spectra shared by the colour-rendering tests."""

from __future__ import annotations

import numpy as np

from lightcomp.analysis.data import load_cmfs
from lightcomp.analysis.spectra import WL


def led_spectra(n: int, seed: int) -> np.ndarray:
    """Synthetic white LEDs on the analysis grid: half phosphor-converted (blue
    Gaussian + broad phosphors), half RGB(A) mixes; kept if 2200-6500 K and
    |Duv| < 0.02 (chromaticity from the 2° CMFs, CCT by Ohno 2013)."""
    from lightcomp.analysis.cct import CCT_Duv_Ohno2013

    rng = np.random.default_rng(seed)

    def g(mu, fwhm):
        return np.exp(-4.0 * np.log(2.0) * ((WL - mu) / fwhm) ** 2)

    def u(lo, hi, m):
        return rng.uniform(lo, hi, (m, 1))

    out = []
    while sum(len(o) for o in out) < n:
        m = 20 * n
        pc = (
            u(0.15, 1.2, m) * g(u(440, 465, m), u(16, 26, m))
            + g(u(525, 565, m), u(90, 130, m))
            + u(0, 1.2, m) * g(u(600, 650, m), u(70, 100, m))
        )
        rgb = (
            u(0.2, 1.0, m) * g(u(445, 470, m), u(18, 26, m))
            + u(0.3, 1.0, m) * g(u(515, 540, m), u(25, 40, m))
            + u(0.0, 0.8, m) * g(u(585, 600, m), u(15, 20, m))
            + u(0.3, 1.5, m) * g(u(615, 640, m), u(15, 25, m))
        )
        s = np.where(rng.random((m, 1)) < 0.5, pc, rgb)
        xyz = s @ load_cmfs("1931_2")
        den = xyz @ np.array([1.0, 15.0, 3.0])
        cct, duv = CCT_Duv_Ohno2013(np.stack([4 * xyz[:, 0] / den, 6 * xyz[:, 1] / den], 1))
        out.append(s[(cct >= 2200) & (cct <= 6500) & (np.abs(duv) < 0.02)])
    return np.concatenate(out)[:n]


def synthetic_leds(n_pc: int = 200, n_rgb: int = 100, seed: int = 7) -> np.ndarray:
    """Varied LED spectra on the 1 nm grid: phosphor-converted (blue + broad phosphor), RGB."""
    rng = np.random.default_rng(seed)

    def g(c, w):
        return np.exp(-0.5 * ((WL[None, :] - c[:, None]) / w[:, None]) ** 2)

    # pc-LED: blue die + broad YAG-like phosphor + red phosphor; the blue share
    # (log-uniform) sets the CCT, the red share the Duv.
    red = rng.uniform(0.15, 0.75, n_pc)[:, None]
    blue = np.exp(rng.uniform(np.log(0.05), np.log(3.0), n_pc))[:, None]
    pc = (
        blue * g(rng.uniform(445, 460, n_pc), rng.uniform(9, 11, n_pc))
        + (1 - 0.6 * red) * g(rng.uniform(555, 575, n_pc), rng.uniform(45, 55, n_pc))
        + red * g(rng.uniform(620, 650, n_pc), rng.uniform(30, 40, n_pc))
    )
    # RGB mixes of three narrow LEDs
    rgb = (
        rng.uniform(0.8, 1.6, n_rgb)[:, None]
        * g(rng.uniform(615, 630, n_rgb), rng.uniform(8, 11, n_rgb))
        + rng.uniform(0.45, 0.7, n_rgb)[:, None]
        * g(rng.uniform(525, 545, n_rgb), rng.uniform(14, 18, n_rgb))
        + rng.uniform(0.15, 0.8, n_rgb)[:, None]
        * g(rng.uniform(445, 460, n_rgb), rng.uniform(9, 12, n_rgb))
    )
    return np.vstack([pc, rgb])

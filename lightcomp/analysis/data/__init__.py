"""Tabulated CIE data shipped with lightcomp (package data, 1 nm, 380-780 nm).

Every CSV file in this directory starts with ``#`` comment lines naming its
source (CIE 018:2019 / CIE 15:2018 tables as published by CVRL, extracted once
from colour-science without modification), followed by a header row. All
tables are on the analysis grid :data:`lightcomp.analysis.spectra.WL`
(380-780 nm, 1 nm, 401 points).

Loaders return read-only float64 arrays and are cached.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np

__all__ = [
    "CMFS_FILES",
    "load_cmfs",
    "load_cmfs_1931_full",
    "load_photopic",
    "load_scotopic",
    "load_table",
    "read_csv",
    "read_rows",
]

#: Observer name -> CMF file. ``"1931_2"``: CIE 1931 2 degree; ``"1964_10"``: CIE 1964 10 degree.
CMFS_FILES: dict[str, str] = {
    "1931_2": "cie1931_2deg_xyz_cmfs.csv",
    "1964_10": "cie1964_10deg_xyz_cmfs.csv",
}

_N_POINTS = 401  # 380..780 nm at 1 nm


def read_rows(filename: str) -> tuple[list[str], list[list[str]]]:
    """Header and data rows (cells as text) of a CSV of this package; ``#`` lines are
    comments (the source), blank lines are skipped."""
    text = resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return lines[0].split(","), [ln.split(",") for ln in lines[1:]]


def read_csv(filename: str) -> tuple[list[str], np.ndarray]:
    """Header and the numeric rows (float64, one row per data line) of a package CSV."""
    header, rows = read_rows(filename)
    return header, np.array([[float(v) for v in row] for row in rows], dtype=float)


@cache
def load_table(filename: str) -> np.ndarray:
    """Load a data CSV of this package: shape (401, 1 + k), first column wavelength (nm).

    Checks that the wavelength column is exactly 380, 381, ..., 780 nm.
    """
    _, table = read_csv(filename)
    if table.shape[0] != _N_POINTS or not np.array_equal(table[:, 0], np.arange(380.0, 781.0)):
        raise RuntimeError(f"package data file {filename} is not on the 380-780 nm 1 nm grid")
    table.setflags(write=False)
    return table


def load_cmfs(observer: str = "1931_2") -> np.ndarray:
    """CIE colour-matching functions x_bar, y_bar, z_bar at 1 nm, 380-780 nm.

    Parameters
    ----------
    observer : {"1931_2", "1964_10"}
        CIE 1931 2 degree (default) or CIE 1964 10 degree standard observer
        (CIE 018:2019, CIE 15:2018).

    Returns
    -------
    array, shape (401, 3), read-only
        Columns x_bar, y_bar, z_bar (dimensionless, y_bar peak = 1 for 2 degree).
    """
    try:
        filename = CMFS_FILES[observer]
    except KeyError:
        raise ValueError(
            f"unknown observer {observer!r}; expected one of {sorted(CMFS_FILES)}"
        ) from None
    return _column_block(filename, 1, 4)


@cache
def _column_block(filename: str, start: int, stop: int) -> np.ndarray:
    """Contiguous read-only copy of columns start:stop of a table (fast matrix products)."""
    block = np.ascontiguousarray(load_table(filename)[:, start:stop])
    block.setflags(write=False)
    return block


def load_photopic() -> np.ndarray:
    """CIE 1924 photopic luminous efficiency V(lambda), shape (401,), 380-780 nm at 1 nm."""
    return _column_block("cie1924_photopic_v.csv", 1, 2)[:, 0]


def load_scotopic() -> np.ndarray:
    """CIE 1951 scotopic luminous efficiency V'(lambda), shape (401,), 380-780 nm at 1 nm."""
    return _column_block("cie1951_scotopic_vprime.csv", 1, 2)[:, 0]


@cache
def load_cmfs_1931_full() -> tuple[np.ndarray, np.ndarray]:
    """CIE 1931 2 degree CMFs over the full CIE range, 360-830 nm at 1 nm.

    Returns ``(wavelengths_nm (471,), cmfs (471, 3))``, read-only. Used for the
    Planckian locus (CCT, Duv, binning), which CIE 15:2018 and the reference
    libraries compute over the whole table; everything measured uses 380-780 nm.
    """
    name = "cie1931_2deg_xyz_cmfs_360_830.csv"
    _, table = read_csv(name)
    if table.shape != (471, 4) or not np.array_equal(table[:, 0], np.arange(360.0, 831.0)):
        raise RuntimeError(f"package data file {name} is not on the 360-830 nm 1 nm grid")
    wl = np.ascontiguousarray(table[:, 0])
    cmfs = np.ascontiguousarray(table[:, 1:])
    wl.setflags(write=False)
    cmfs.setflags(write=False)
    return wl, cmfs

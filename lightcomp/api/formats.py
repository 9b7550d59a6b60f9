"""Output formats of the API beyond JSON: spectra as CSV or IES TM-27 XML, raw readings."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
from fastapi.responses import Response

from lightcomp.api.errors import HttpError
from lightcomp.store import decode_array

__all__ = ["csv_bytes", "format_from_accept", "raw_csv_response", "tm27_bytes"]


def format_from_accept(accept: str) -> str:
    a = accept.lower()
    if "xml" in a and "csv" not in a:
        return "tm27"
    return "csv"


def _cell(value: float) -> str:
    """repr of a Python float (shortest exact round trip); a missing (NaN) value is empty."""
    return repr(value) if value == value else ""


def csv_bytes(cols: dict[str, np.ndarray]) -> bytes:
    buf = io.StringIO()
    buf.write(",".join(cols) + "\n")
    data = np.column_stack([np.asarray(c, dtype=float) for c in cols.values()])
    for row in data.tolist():
        buf.write(",".join(map(_cell, row)) + "\n")
    return buf.getvalue().encode()


DARK_HEADER = "X-Dark-Reading"
"""Response header of ``data=raw``: ``stored``, or ``none: <why>`` when the measurement has
no separate dark reading (the ``dark_signal`` column is then empty)."""


def _why_no_dark(arrays) -> str:
    plan = arrays.plan if isinstance(arrays.plan, dict) else {}
    measurement = plan.get("measurement") if isinstance(plan.get("measurement"), dict) else {}
    if measurement.get("dark") is False:
        return "none: the test plan takes no dark reading ([measurement] dark = false)"
    instruments = arrays.instruments if isinstance(arrays.instruments, dict) else {}
    identity = str(instruments.get("spectro") or "").split(",")[0].strip()
    name = f"the spectrometer ({identity})" if identity else "the spectrometer"
    return (
        f"none: {name} returns readings with its own dark signal subtracted "
        "(no shutter-closed reading to store)"
    )


def raw_csv_response(row, arrays) -> Response:
    """The raw reading and its dark on the instrument's own wavelengths, as stored by a
    station: a (2, P) array of pixel wavelengths and values, the dark as (P,).

    The ``dark_signal`` column is always there; when the measurement has no separate dark
    reading (a spectroradiometer that subtracts its own, or a plan without dark) its cells
    are empty and the :data:`DARK_HEADER` header says why."""
    raw = decode_array(arrays.raw_spectrum) if arrays is not None else None
    if raw is None:
        raise HttpError(404, "no raw reading stored for this component")
    if raw.ndim == 2 and raw.shape[0] == 2:
        pix_wl, values = raw
    else:  # a raw signal already on the calibrated grid
        pix_wl, values = decode_array(arrays.wavelengths), raw
    dark = decode_array(arrays.dark_spectrum) if arrays.dark_spectrum is not None else None
    if dark is None:
        dark, note = np.full(np.shape(values), np.nan), _why_no_dark(arrays)
    elif np.shape(dark) != np.shape(values):
        note = (
            f"none: the stored dark reading has {np.size(dark)} values, the raw reading "
            f"{np.size(values)} (not on the same pixels)"
        )
        dark = np.full(np.shape(values), np.nan)
    else:
        note = "stored"
    cols = {"instrument_wavelength_nm": pix_wl, "raw_signal": values, "dark_signal": dark}
    return Response(
        csv_bytes(cols),
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{row.product_code}-raw.csv"',
            DARK_HEADER: note,
        },
    )


def tm27_bytes(row, wl: np.ndarray, spd: np.ndarray, lab_name: str) -> bytes:
    from lightcomp.spectrafiles import write_tm27

    header = {
        "Manufacturer": row.manufacturer_name,
        "CatalogNumber": row.family_name,
        "UniqueIdentifier": row.product_code,
        "Laboratory": lab_name,
    }
    if row.measured_at is not None:
        header["ReportDate"] = row.measured_at.date().isoformat()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spectrum.xml"
        write_tm27(
            path,
            wl,
            spd,
            description=f"{row.product_code} spectral flux",
            spectral_quantity="flux",
            header=header,
        )
        return path.read_bytes()

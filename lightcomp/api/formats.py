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


def csv_bytes(cols: dict[str, np.ndarray]) -> bytes:
    buf = io.StringIO()
    buf.write(",".join(cols) + "\n")
    data = np.column_stack([np.asarray(c, dtype=float) for c in cols.values()])
    for row in data.tolist():  # repr of Python floats: shortest exact round trip
        buf.write(",".join(map(repr, row)) + "\n")
    return buf.getvalue().encode()


def raw_csv_response(row, arrays) -> Response:
    """The raw reading (and dark) on the instrument's own wavelengths, as stored by a station:
    a (2, P) array of pixel wavelengths and values, the dark as (P,)."""
    raw = decode_array(arrays.raw_spectrum) if arrays is not None else None
    if raw is None:
        raise HttpError(404, "no raw reading stored for this component")
    if raw.ndim == 2 and raw.shape[0] == 2:
        pix_wl, values = raw
    else:  # a raw signal already on the calibrated grid
        pix_wl, values = decode_array(arrays.wavelengths), raw
    cols = {"instrument_wavelength_nm": pix_wl, "raw_signal": values}
    dark = decode_array(arrays.dark_spectrum) if arrays.dark_spectrum is not None else None
    if dark is not None and dark.shape == values.shape:
        cols["dark_signal"] = dark
    return Response(
        csv_bytes(cols),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{row.product_code}-raw.csv"'},
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

"""Records export (CSV, JSON, Parquet) and spectra export (CSV, IES TM-27-14 XML).

Records: one row per component (its current measurement): the record columns
``product_code``, ``external_serial``, ``lot``, ``family``, ``type_code``,
``manufacturer``, ``measured_at`` (UTC; ISO 8601 text in CSV/JSON, a timestamp in
Parquet), ``verdict``, ``failed_limits`` (list; ``;``-joined in CSV),
``error_message``, ``quadrangle_verdict`` ("inside" / "outside" the nominal ANSI
C78.377 quadrangle), then ONE column per catalogued quantity, named and valued
as the quantity catalogue says (:func:`lightcomp.quantities.export_column`,
``<name>_<unit>`` in the display unit: ``luminous_flux_lm``, ``cct_k``, ``duv``,
``ra``, ``r1`` ... ``r15``, ``thd_pct`` ...; the list with units is
``docs/records.md``), an expanded uncertainty ``U_<column>`` after its quantity
where one is stored, then ``station``, ``plan_name``, ``plan_version``,
``operator``, ``calib_id``, ``analysis_version``.  JSON numbers are shortest round-trip floats.

Spectra: CSV has the wavelength (nm) as first column and one column per
product code (spectral radiant flux, W/nm); all spectra must share one
wavelength grid. TM-27: one XML file per component, ``<product code>.xml``,
spectral quantity "flux" (W/nm).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lightcomp import quantities as catalogue
from lightcomp.csvcells import safe_frame
from lightcomp.errors import ReportError
from lightcomp.jsonvalues import json_safe
from lightcomp.store import queries

__all__ = ["RECORD_FORMATS", "SPECTRA_FORMATS", "records_frame", "write_records", "write_spectra"]

RECORD_FORMATS = ("csv", "json", "parquet")
SPECTRA_FORMATS = ("csv", "tm27")

_LEAD = [
    "product_code",
    "external_serial",
    "lot",
    "family",
    "type_code",
    "manufacturer",
    "measured_at",
    "verdict",
    "failed_limits",
    "error_message",
    "quadrangle_verdict",
]
_TAIL = ["station", "plan_name", "plan_version", "operator", "calib_id", "analysis_version"]


def _quantity_values(q: catalogue.Quantity, df: pd.DataFrame, json_q: list[dict]) -> pd.Series:
    """Values of ``q`` (display unit): its store column, else the ``quantities`` JSON."""
    if q.column is not None and q.column in df:
        col = df[q.column]
    else:
        col = pd.Series([d.get(q.key) for d in json_q], index=df.index, dtype=object)
    if q.kind != "number":
        return col.astype(object).where(col.notna(), None)
    vals = pd.to_numeric(col, errors="coerce").astype("float64")
    return vals * q.scale if q.scale != 1.0 else vals


def _uncertainty_values(q: catalogue.Quantity, unc: list[dict]) -> np.ndarray | None:
    """Expanded uncertainties ``U`` of ``q`` (display unit), or None when no row has one."""
    vals = []
    for d in unc:
        e = d.get(q.key)
        u = e.get("U") if isinstance(e, dict) else None
        vals.append(q.to_display(u))
    if all(v is None for v in vals):
        return None
    return np.array([np.nan if v is None else v for v in vals], dtype=float)


def records_frame(session, **selection: Any) -> pd.DataFrame:
    """The export table of the selection (see the module docstring); one query."""
    df = queries.lot_records(
        session, include_quantities=True, include_uncertainty=True, **selection
    )
    inside = df["ansi_inside"]
    df["quadrangle_verdict"] = np.where(
        inside.isna(), None, np.where(inside.fillna(False).astype(bool), "inside", "outside")
    )
    json_q = [d if isinstance(d, dict) else {} for d in df["quantities"]]
    unc = [d if isinstance(d, dict) else {} for d in df["uncertainty"]]
    out: dict[str, Any] = {c: df[c] for c in _LEAD}
    for q in catalogue.QUANTITIES:
        if q.kind == "flag":  # ansi_inside: reported as quadrangle_verdict
            continue
        out[catalogue.export_column(q)] = _quantity_values(q, df, json_q)
        u = _uncertainty_values(q, unc)
        if u is not None:
            out[catalogue.uncertainty_column(q)] = u
    for c in _TAIL:
        out[c] = df[c]
    return pd.DataFrame(out).reset_index(drop=True)


def write_records(
    store, fmt: str, out: str | Path | None = None, **selection: Any
) -> tuple[int, str | None]:
    """Export the records of the selection as ``fmt``; return ``(rows, text)``.

    ``text`` is the CSV/JSON document when ``out`` is None (for stdout), else None.
    Parquet needs ``out`` (binary) and the ``pyarrow`` package.
    """
    fmt = fmt.lower()
    if fmt not in RECORD_FORMATS:
        raise ReportError(f"unknown records format {fmt!r}: use {', '.join(RECORD_FORMATS)}")
    if out is not None and not Path(out).parent.is_dir():
        raise ReportError(f"output folder {Path(out).parent} does not exist")
    with store.session() as session:
        df = records_frame(session, **selection)
    if fmt == "csv":
        flat = df.copy()
        flat["failed_limits"] = flat["failed_limits"].map("; ".join)
        flat["measured_at"] = _iso(flat["measured_at"])
        buf = io.StringIO()
        # Shortest exact float repr even if a library switched numpy to legacy printing
        # (colour-science sets legacy='1.13', which rounds to 8 decimals).
        with np.printoptions(legacy=False):
            safe_frame(flat).to_csv(buf, index=False, lineterminator="\n")
        text = buf.getvalue()
    elif fmt == "json":
        text = _json_records(df)
    else:
        if out is None:
            raise ReportError("parquet is binary: give an output file with -o FILE")
        try:
            df.to_parquet(out, index=False)
        except ImportError as exc:
            raise ReportError(
                "parquet export needs the pyarrow package: pip install pyarrow"
            ) from exc
        return len(df), None
    if out is None:
        return len(df), text
    Path(out).write_text(text, encoding="utf-8")
    return len(df), None


def write_spectra(store, fmt: str, out: str | Path, **selection: Any) -> tuple[int, list[Path]]:
    """Export the spectra of the selection: one CSV file, or one TM-27 XML per component in a folder.

    Returns ``(count, files written)``.
    """
    from lightcomp.spectrafiles import write_spectra_csv, write_tm27

    fmt = fmt.lower()
    if fmt not in SPECTRA_FORMATS:
        raise ReportError(f"unknown spectra format {fmt!r}: use {', '.join(SPECTRA_FORMATS)}")
    out = Path(out)
    with store.session() as session:
        codes, wls, specs = queries.records_spectra(session, **selection)
    if fmt == "csv":
        if out.is_dir():
            out = out / "spectra.csv"
        if not out.parent.is_dir():
            raise ReportError(f"output folder {out.parent} does not exist")
        wl = wls[0]
        same = all(w.shape == wl.shape and np.array_equal(w, wl) for w in wls)
        if not same:
            raise ReportError(
                "the selected spectra are on different wavelength grids: export them as "
                "tm27 (one file each) or select one station/lot"
            )
        write_spectra_csv(
            out,
            wl,
            np.stack(specs),
            codes,
            comments=["lightcomp spectra export: spectral radiant flux (W/nm)"],
        )
        return len(codes), [out]
    if out.exists() and not out.is_dir():
        raise ReportError(
            f"{out} is a file: tm27 export writes one XML per component into a folder"
        )
    if not out.parent.is_dir():
        raise ReportError(f"output folder {out.parent} does not exist")
    out.mkdir(exist_ok=True)
    files = []
    for code, wl, s in zip(codes, wls, specs, strict=True):
        path = out / f"{code}.xml"
        write_tm27(
            path,
            wl,
            s,
            description=f"Spectral radiant flux of LED component {code}",
            spectral_quantity="flux",
            header={"UniqueIdentifier": code, "DocumentCreationDate": _today()},
        )
        files.append(path)
    return len(files), files


def _iso(times: pd.Series) -> pd.Series:
    """UTC time stamps as ISO 8601 text (``2026-03-02T08:00:00.000000Z``)."""
    return times.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_records(df: pd.DataFrame) -> str:
    """The frame as a JSON array of records, one field a line and every list on its own line
    (``"failed_limits": ["r9", "duv"]``, ``[]``): readable and diffable without line noise.

    Values through :func:`lightcomp.jsonvalues.json_safe` (NaN -> null, numpy -> Python);
    ``json`` writes a float as its ``repr``, the shortest text that reads back to the same
    double, and never escapes ``/`` (``"840/3--"``).
    """
    flat = df.copy()
    flat["measured_at"] = _iso(flat["measured_at"])
    rows = json_safe(flat.astype(object).to_dict(orient="records"))

    def dump(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, allow_nan=False)

    objects = [
        " {\n" + ",\n".join(f"  {dump(k)}: {dump(v)}" for k, v in row.items()) + "\n }"
        for row in rows
    ]
    return "[\n" + ",\n".join(objects) + "\n]\n" if objects else "[]\n"


def _today() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%d")

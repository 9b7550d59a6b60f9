"""Records export (CSV, JSON, Parquet) and spectra export (CSV, IES TM-27-14 XML).

Records: one row per component (its current measurement): ``product_code``, ``lot``,
``family``, ``manufacturer``, ``measured_at`` (ISO 8601 UTC), ``verdict``,
``failed_limits`` (list; ``;``-joined in CSV), ``error_message``,
``ansi_category``, ``quadrangle_verdict`` ("inside" / "outside" the nominal
ANSI C78.377 quadrangle), ``sdcm_steps``, ``photometric_code``, the key
quantity columns (SI units, unit in the name), ``station``, ``plan_name``,
``plan_version``, ``calib_id``, then every scalar of the measurement's
``quantities`` JSON as ``q_<name>`` (lists as JSON text in CSV).

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

from lightcomp.csvcells import safe_frame
from lightcomp.errors import ReportError
from lightcomp.store import queries

__all__ = ["RECORD_FORMATS", "SPECTRA_FORMATS", "records_frame", "write_records", "write_spectra"]

RECORD_FORMATS = ("csv", "json", "parquet")
SPECTRA_FORMATS = ("csv", "tm27")

_LEAD = [
    "product_code",
    "lot",
    "family",
    "manufacturer",
    "measured_at",
    "verdict",
    "failed_limits",
    "error_message",
    "ansi_category",
    "quadrangle_verdict",
    "sdcm_steps",
    "photometric_code",
]
_DROP = {
    "component_id",
    "measurement_id",
    "test_run_id",
    "item_serial",
    "quantities",
    "ansi_inside",
}


def records_frame(session, **selection: Any) -> pd.DataFrame:
    """The export table of the selection (see the module docstring); one query."""
    df = queries.lot_records(session, include_quantities=True, **selection)
    inside = df["ansi_inside"]
    df["quadrangle_verdict"] = np.where(
        inside.isna(), None, np.where(inside.fillna(False).astype(bool), "inside", "outside")
    )
    q = pd.DataFrame.from_records(
        [d if isinstance(d, dict) else {} for d in df["quantities"]], index=df.index
    )
    if not q.empty:
        for c in q.columns:
            if q[c].map(lambda v: isinstance(v, list | dict)).any():
                q[c] = q[c].map(lambda v: v if not isinstance(v, list | dict) else json.dumps(v))
        q = q.add_prefix("q_")
    df["measured_at"] = df["measured_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    key = [c for c in df.columns if c not in _DROP and c not in _LEAD]
    out = pd.concat([df[_LEAD + key], q], axis=1)
    return out.reset_index(drop=True)


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
        buf = io.StringIO()
        # Shortest exact float repr even if a library switched numpy to legacy printing
        # (colour-science sets legacy='1.13', which rounds to 8 decimals).
        with np.printoptions(legacy=False):
            safe_frame(flat).to_csv(buf, index=False, lineterminator="\n")
        text = buf.getvalue()
    elif fmt == "json":
        text = df.to_json(orient="records", indent=1, force_ascii=False, double_precision=15)
        text += "\n"
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


def _today() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%d")

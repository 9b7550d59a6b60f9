"""Reading and writing spectral data files: spectra CSV and IES TM-27-14 XML.

I/O lives here, outside the pure analysis core (:mod:`lightcomp.analysis`).

Spectra CSV
    Optional ``#`` comment lines, then a header row, then one row per
    wavelength. The first column is the wavelength in nm (any header label,
    e.g. ``wavelength_nm``); every further column is one spectrum named by
    its header. Comma separated (``;`` or tab accepted when the header uses
    it). An empty cell is a missing value (NaN), reported later by the
    analysis for that spectrum only.

IES TM-27-14 XML
    ``<IESTM2714><Header>...</Header><SpectralDistribution>
    <SpectralQuantity>...</SpectralQuantity>
    <SpectralData wavelength="380">value</SpectralData>...``
    (IES TM-27-14, "IES Standard Format for the Electronic Transfer of
    Spectral Data"). Namespaces are ignored on reading; files are written
    with ``xmlns="http://www.ies.org/iestm2714" version="1.0"``, which
    colour-science reads as well.

Malformed files raise :class:`~lightcomp.errors.AnalysisInputError` naming the
file and, where it applies, the line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from lightcomp.errors import AnalysisInputError

__all__ = [
    "TM27_HEADER_FIELDS",
    "TM27_NAMESPACE",
    "SpectraFile",
    "read_spectra",
    "read_spectra_csv",
    "read_tm27",
    "write_spectra_csv",
    "write_tm27",
]

#: Namespace written into TM-27 files.
TM27_NAMESPACE = "http://www.ies.org/iestm2714"

#: Header elements of IES TM-27-14, in schema order.
TM27_HEADER_FIELDS: tuple[str, ...] = (
    "Manufacturer",
    "CatalogNumber",
    "Description",
    "DocumentCreator",
    "UniqueIdentifier",
    "MeasurementEquipment",
    "Laboratory",
    "ReportNumber",
    "ReportDate",
    "DocumentCreationDate",
    "Comments",
)

#: SpectralQuantity values allowed by IES TM-27-14.
TM27_SPECTRAL_QUANTITIES: tuple[str, ...] = (
    "absorptance",
    "exitance",
    "flux",
    "intensity",
    "irradiance",
    "radiance",
    "reflectance",
    "relative",
    "transmittance",
    "R-Factor",
    "T-Factor",
    "other",
)


@dataclass
class SpectraFile:
    """Spectra read from a file.

    Attributes
    ----------
    wavelengths : array, shape (W,)
        Wavelengths (nm) as in the file (not validated or resampled here).
    spectra : array, shape (N, W)
        One row per spectrum.
    names : list of N str
        Spectrum names (CSV header; TM-27 UniqueIdentifier or the file name).
    path : str
        The file read.
    header : dict
        TM-27 header fields (empty for CSV).
    spectral_quantity : str or None
        TM-27 SpectralQuantity (None for CSV).
    cell_errors : dict of int to str
        Spectrum index -> why it holds NaN from the file (first unreadable cell), so
        that the analysis reports that spectrum with the cause and the others normally.
    """

    wavelengths: np.ndarray
    spectra: np.ndarray
    names: list[str]
    path: str = ""
    header: dict[str, str] = field(default_factory=dict)
    spectral_quantity: str | None = None
    cell_errors: dict[int, str] = field(default_factory=dict)


def _fail(path: Path | str, message: str, line: int | None = None) -> AnalysisInputError:
    where = f"{path}" if line is None else f"{path} line {line}"
    return AnalysisInputError(f"{where}: {message}")


def _read_bytes(path: Path | str) -> bytes:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise AnalysisInputError(f"{p}: file not found") from None
    except OSError as exc:
        raise AnalysisInputError(f"{p}: cannot read file ({exc.strerror or exc})") from None
    return raw


def read_spectra(path: Path | str) -> SpectraFile:
    """Read a spectra CSV or an IES TM-27 XML file (chosen by content).

    XML is recognised by a leading ``<`` (after whitespace/BOM); anything else
    is read as CSV, streamed line by line (memory about twice the numeric data).
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            head = fh.read(4096)
    except FileNotFoundError:
        raise AnalysisInputError(f"{p}: file not found") from None
    except OSError as exc:
        raise AnalysisInputError(f"{p}: cannot read file ({exc.strerror or exc})") from None
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return _parse_tm27(_read_bytes(path), path)
    return read_spectra_csv(path)


def read_spectra_csv(path: Path | str) -> SpectraFile:
    """Read a spectra CSV (first column wavelength in nm, one column per named spectrum).

    Streamed: the file is never held as text; each data line becomes one row of
    floats (numpy's parser), so memory stays about twice the numeric data. A cell
    that is not a number makes only its spectrum unusable: it is NaN and
    :attr:`SpectraFile.cell_errors` names the cell (line, wavelength, text, and a hint
    for a decimal comma); a bad wavelength cell or a ragged row refuses the file.
    """
    p = Path(path)
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            with p.open(encoding=encoding, newline="") as fh:
                return _parse_csv(fh, path)
        except UnicodeDecodeError:
            continue
        except FileNotFoundError:
            raise AnalysisInputError(f"{p}: file not found") from None
        except OSError as exc:
            raise AnalysisInputError(f"{p}: cannot read file ({exc.strerror or exc})") from None
    raise AnalysisInputError(f"{p}: cannot decode the file")  # pragma: no cover - latin-1


_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d*,\d+([eE][+-]?\d+)?\s*$")


def _cell_hint(cell: str) -> str:
    if _DECIMAL_COMMA.match(cell):
        return "; a decimal comma? write numbers with a point (0.5, not 0,5)"
    return ""


def _parse_csv(lines, path: Path | str) -> SpectraFile:
    header_i = None
    header_line = ""
    line_no = 0
    for line_no, line in enumerate(lines, start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            header_i, header_line = line_no - 1, line.rstrip("\r\n")
            break
    if header_i is None:
        raise _fail(path, "no header row and no data (empty file)")
    delimiter = ","
    if "," not in header_line:
        delimiter = next((d for d in (";", "\t") if d in header_line), ",")
    header = next(csv.reader([header_line], delimiter=delimiter))
    header = [h.strip() for h in header]
    while len(header) > 1 and header[-1] == "":
        header.pop()  # trailing delimiter
    if len(header) < 2:
        raise _fail(
            path,
            "header needs a wavelength column and at least one spectrum column",
            header_i + 1,
        )
    try:
        float(header[0])
    except ValueError:
        pass
    else:
        raise _fail(
            path,
            "first row must be a header (wavelength label, then one name per spectrum), "
            f"found the number {header[0]!r}",
            header_i + 1,
        )
    names = header[1:]
    for k, name in enumerate(names, start=2):
        if not name:
            raise _fail(path, f"column {k} of the header has no spectrum name", header_i + 1)
    seen: dict[str, int] = {}
    for k, name in enumerate(names, start=2):
        if name in seen:
            raise _fail(
                path,
                f"spectrum name {name!r} appears twice in the header (columns {seen[name]} and {k})",
                header_i + 1,
            )
        seen[name] = k
    ncol = len(header)
    rows: list[np.ndarray] = []
    wavelengths: list[float] = []
    cell_errors: dict[int, str] = {}
    for line_no, line in enumerate(lines, start=header_i + 2):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if '"' in text:
            cells = next(csv.reader([text], delimiter=delimiter))
        else:
            cells = text.split(delimiter)
        if len(cells) > ncol and all(not c.strip() for c in cells[ncol:]):
            cells = cells[:ncol]
        if len(cells) != ncol:
            hint = ""
            if delimiter == "," and any(_DECIMAL_COMMA.match(f"0,{c}") for c in cells[1:2]):
                hint = " (decimal commas? then separate the columns with ';')"
            raise _fail(
                path,
                f"expected {ncol} fields (wavelength + {ncol - 1} spectra as in the header), "
                f"found {len(cells)}{hint}",
                line_no,
            )
        try:
            wl = float(cells[0])
        except ValueError:
            raise _fail(
                path,
                f"cannot read {cells[0].strip()!r} as a number (wavelength, column 1)"
                + _cell_hint(cells[0]),
                line_no,
            ) from None
        if not np.isfinite(wl):
            raise _fail(path, "wavelength is missing or not finite", line_no)
        values = [c if c.strip() else "nan" for c in cells[1:]]
        try:
            row = np.array(values, dtype=float)  # numpy's parser: no Python float per cell
        except ValueError:
            row = np.empty(len(values))
            for k, cell in enumerate(values):
                try:
                    row[k] = float(cell)
                except ValueError:
                    row[k] = np.nan
                    if k not in cell_errors:
                        cell_errors[k] = (
                            f"cannot read {cell.strip()!r} as a number ({path} line {line_no}, "
                            f"{wl:g} nm){_cell_hint(cell)}"
                        )
        rows.append(row)
        wavelengths.append(wl)
    if not rows:
        raise _fail(path, "header but no data rows")
    spectra = np.empty((len(names), len(rows)))
    for j in range(len(rows)):  # one line at a time: the list is freed as we go
        spectra[:, j] = rows[j]
        rows[j] = None  # type: ignore[call-overload]
    return SpectraFile(
        wavelengths=np.array(wavelengths),
        spectra=spectra,
        names=names,
        path=str(path),
        cell_errors=cell_errors,
    )


def write_spectra_csv(
    path: Path | str,
    wavelengths: np.ndarray,
    spectra: np.ndarray,
    names: Sequence[str],
    *,
    comments: Sequence[str] = (),
    wavelength_label: str = "wavelength_nm",
) -> None:
    """Write spectra (N, W) as a spectra CSV: wavelength column, then one column per name.

    Values are written with ``repr`` precision (round-trip exact). ``comments``
    become leading ``#`` lines.
    """
    wl = np.asarray(wavelengths, dtype=float)
    s = np.atleast_2d(np.asarray(spectra, dtype=float))
    names = [str(n) for n in names]
    if s.shape != (len(names), wl.size):
        raise AnalysisInputError(
            f"write_spectra_csv: spectra shape {s.shape} does not match {len(names)} names "
            f"x {wl.size} wavelengths"
        )
    from lightcomp.csvcells import safe_cell

    buf = io.StringIO()
    for c in comments:
        buf.write(f"# {c}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([safe_cell(wavelength_label), *(safe_cell(n) for n in names)])
    for j in range(wl.size):
        w.writerow([repr(float(wl[j])), *(repr(float(v)) for v in s[:, j])])
    Path(path).write_text(buf.getvalue(), encoding="utf-8")


# --------------------------------------------------------------------------- TM-27


def _local(tag: str) -> str:
    """Tag without namespace (expat with namespace_separator gives 'uri tag')."""
    return tag.rsplit(" ", 1)[-1].rsplit(":", 1)[-1]


def _parse_xml(text: bytes, path: Path | str) -> list[tuple[list[str], dict, str, int]]:
    """Flat list of elements: (tag path, attributes, text, line) using expat (with line numbers)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    elements: list[tuple[list[str], dict, str, int]] = []
    stack: list[tuple[str, dict, list[str], int]] = []

    def start(tag, attrs):
        stack.append(
            (_local(tag), {_local(k): v for k, v in attrs.items()}, [], parser.CurrentLineNumber)
        )

    def end(tag):
        name, attrs, text, line = stack.pop()
        elements.append(([s[0] for s in stack] + [name], attrs, "".join(text).strip(), line))

    def chars(data):
        if stack:
            stack[-1][2].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        raise _fail(path, f"malformed XML ({expat.ErrorString(exc.code)})", exc.lineno) from None
    return elements


def read_tm27(path: Path | str) -> SpectraFile:
    """Read an IES TM-27-14 spectral data XML file.

    Returns one spectrum per ``<SpectralDistribution>`` (normally one), named
    by the header's ``UniqueIdentifier`` (or the file name when it has none; the
    ``Description`` stays in :attr:`SpectraFile.header`). Header
    fields are returned in :attr:`SpectraFile.header`.
    """
    return _parse_tm27(_read_bytes(path), path)


def _parse_tm27(text: bytes, path: Path | str) -> SpectraFile:
    elements = _parse_xml(text, path)
    if not elements or elements[-1][0] != ["IESTM2714"]:
        root = elements[-1][0][0] if elements else "nothing"
        raise _fail(path, f"not an IES TM-27 file: root element is <{root}>, expected <IESTM2714>")
    header = {
        tags[-1]: txt
        for tags, _a, txt, _l in elements
        if len(tags) == 3 and tags[1] == "Header" and txt
    }
    distributions: list[tuple[list[float], list[float], int]] = []
    quantities: list[str] = []
    current_wl: list[float] = []
    current_v: list[float] = []
    first_line = 0
    for tags, attrs, txt, line in elements:
        if len(tags) == 3 and tags[1] == "SpectralDistribution" and tags[2] == "SpectralData":
            if "wavelength" not in attrs:
                raise _fail(path, "<SpectralData> without a wavelength attribute", line)
            try:
                wl = float(attrs["wavelength"])
            except ValueError:
                raise _fail(
                    path, f"cannot read wavelength {attrs['wavelength']!r} as a number", line
                ) from None
            try:
                v = float(txt) if txt else float("nan")
            except ValueError:
                raise _fail(
                    path, f"cannot read value {txt!r} at {attrs['wavelength']} nm as a number", line
                ) from None
            if not current_wl:
                first_line = line
            current_wl.append(wl)
            current_v.append(v)
        elif len(tags) == 3 and tags[1] == "SpectralDistribution" and tags[2] == "SpectralQuantity":
            quantities.append(txt)
        elif len(tags) == 2 and tags[1] == "SpectralDistribution":
            if not current_wl:
                raise _fail(path, "<SpectralDistribution> has no <SpectralData> elements", line)
            distributions.append((current_wl, current_v, first_line))
            current_wl, current_v = [], []
    if not distributions:
        raise _fail(path, "no <SpectralDistribution> element")
    wl0 = np.array(distributions[0][0])
    for wls, _v, line in distributions[1:]:
        if not np.array_equal(np.array(wls), wl0):
            raise _fail(path, "the spectral distributions use different wavelength grids", line)
    # Named by the document's identifier (TM-27-14 UniqueIdentifier, e.g. a UUID or the
    # lab's report id), not its free-text description; the file name when it has none.
    base = header.get("UniqueIdentifier") or Path(path).stem
    names = (
        [base]
        if len(distributions) == 1
        else [f"{base} {i + 1}" for i in range(len(distributions))]
    )
    order = np.argsort(wl0, kind="stable")  # SpectralData may be listed in any order
    spectra = np.array([v for _w, v, _l in distributions])[:, order]
    return SpectraFile(
        wavelengths=wl0[order],
        spectra=spectra,
        names=names,
        path=str(path),
        header=header,
        spectral_quantity=quantities[0] if quantities else None,
    )


def write_tm27(
    path: Path | str,
    wavelengths: np.ndarray,
    spectrum: np.ndarray,
    *,
    description: str,
    spectral_quantity: str = "relative",
    header: Mapping[str, str] | None = None,
    document_creator: str = "lightcomp",
    bandwidth_fwhm_nm: float | None = None,
    bandwidth_corrected: bool | None = None,
) -> None:
    """Write one spectrum as an IES TM-27-14 XML file.

    Parameters
    ----------
    path : path
        File to write (UTF-8).
    wavelengths : array, shape (W,)
        Wavelengths (nm).
    spectrum : array, shape (W,)
        Values; ``spectral_quantity="flux"`` for spectral radiant flux (W/nm).
    description : str
        Header ``Description`` (required by TM-27-14; used as the spectrum name
        when read back).
    spectral_quantity : str
        One of :data:`TM27_SPECTRAL_QUANTITIES` (default ``relative``).
    header : mapping, optional
        Further header fields (keys from :data:`TM27_HEADER_FIELDS`, e.g.
        ``Manufacturer``, ``CatalogNumber``, ``UniqueIdentifier``,
        ``MeasurementEquipment``, ``Laboratory``, ``ReportNumber``,
        ``ReportDate``, ``DocumentCreationDate``, ``Comments``).
    document_creator : str
        Header ``DocumentCreator`` (required by TM-27-14).
    bandwidth_fwhm_nm : float, optional
        Spectroradiometer bandwidth (nm), ``BandwidthFWHM``.
    bandwidth_corrected : bool, optional
        ``BandwidthCorrected``.
    """
    wl = np.asarray(wavelengths, dtype=float)
    s = np.asarray(spectrum, dtype=float)
    if s.ndim == 2 and s.shape[0] == 1:
        s = s[0]
    if s.shape != wl.shape or wl.ndim != 1:
        raise AnalysisInputError(
            f"write_tm27: spectrum shape {s.shape} does not match wavelengths shape {wl.shape}"
        )
    if spectral_quantity not in TM27_SPECTRAL_QUANTITIES:
        raise AnalysisInputError(
            f"write_tm27: spectral quantity {spectral_quantity!r} is not one of "
            f"{', '.join(TM27_SPECTRAL_QUANTITIES)}"
        )
    fields = dict(header or {})
    unknown = sorted(set(fields) - set(TM27_HEADER_FIELDS))
    if unknown:
        raise AnalysisInputError(f"write_tm27: unknown header field(s) {', '.join(unknown)}")
    fields["Description"] = description
    fields.setdefault("DocumentCreator", document_creator)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<IESTM2714 xmlns={quoteattr(TM27_NAMESPACE)} version="1.0">',
        "  <Header>",
    ]
    for key in TM27_HEADER_FIELDS:
        if fields.get(key) not in (None, ""):
            out.append(f"    <{key}>{escape(str(fields[key]))}</{key}>")
    out += ["  </Header>", "  <SpectralDistribution>"]
    out.append(f"    <SpectralQuantity>{spectral_quantity}</SpectralQuantity>")
    if bandwidth_fwhm_nm is not None:
        out.append(f"    <BandwidthFWHM>{float(bandwidth_fwhm_nm)!r}</BandwidthFWHM>")
    if bandwidth_corrected is not None:
        out.append(
            f"    <BandwidthCorrected>{'true' if bandwidth_corrected else 'false'}</BandwidthCorrected>"
        )
    for w, v in zip(wl, s, strict=True):
        out.append(f'    <SpectralData wavelength="{float(w)!r}">{float(v)!r}</SpectralData>')
    out += ["  </SpectralDistribution>", "</IESTM2714>", ""]
    Path(path).write_text("\n".join(out), encoding="utf-8")

"""CLI: ``lightcomp analyze SPECTRA`` — photometry and colorimetry of spectra from a file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer


class OutputFormat(StrEnum):
    csv = "csv"
    json = "json"


def analyze_file(
    spectra_path: Path,
    *,
    absolute: bool = False,
    strict: bool = False,
    power_w: float | None = None,
):
    """Read a spectra CSV or TM-27 XML file: ``(the file's spectra, the table of
    :func:`lightcomp.analysis.analyze`)``."""
    from lightcomp.analysis import analyze
    from lightcomp.errors import AnalysisInputError
    from lightcomp.spectrafiles import read_spectra

    if power_w is not None and not absolute:
        raise AnalysisInputError(
            "--power-w needs --absolute: the efficacy (lm/W) is the luminous flux of "
            "absolute spectra (W/nm) over the power"
        )
    data = read_spectra(spectra_path)
    if strict and data.cell_errors:
        k = min(data.cell_errors)
        raise AnalysisInputError(f"{data.names[k]}: {data.cell_errors[k]}")
    try:
        frame = analyze(
            data.wavelengths,
            data.spectra,
            data.names,
            absolute=absolute,
            power_w=power_w,
            strict=strict,
        )
    except AnalysisInputError as exc:  # say which file (grid problems concern all spectra)
        raise AnalysisInputError(f"{spectra_path}: {exc}") from exc
    for k, message in data.cell_errors.items():  # the cause, not just "NaN in the spectrum"
        frame.at[k, "error"] = f"{data.names[k]}: {message}"
    return data, frame


def format_terminal(frame) -> str:
    """A table for people: one column per spectrum, one row per quantity.

    Headings, display units and digits come from the quantity catalogue
    (:mod:`lightcomp.quantities`); errors follow the table. Files (``-o``,
    ``--format``) keep full precision. X, Y, Z of relative spectra (no luminous flux)
    are shown without a unit (Y = 100).
    """
    import math

    from lightcomp import quantities

    names = [str(n) for n in frame["name"]]
    relative = "luminous_flux" in frame and frame["luminous_flux"].isna().all()
    rows = []
    for col in frame.columns:
        if col in ("name", "error"):
            continue
        q = quantities.lookup(col)
        if q is None:  # not catalogued (e.g. U_ columns): full precision
            label, fmt = col, lambda v: repr(float(v))
        else:
            label = q.symbol if relative and col in ("X", "Y", "Z") else q.label_short
            fmt = lambda v, q=q: quantities.format_value(q, v, missing="")  # noqa: E731
        cells = ["" if v is None or not math.isfinite(v) else fmt(v) for v in frame[col]]
        if not any(cells):
            continue  # e.g. the fluxes of relative spectra
        rows.append([label, *cells])
    width0 = max(len(r[0]) for r in rows)
    widths = [max(len(names[j]), *(len(r[j + 1]) for r in rows)) for j in range(len(names))]
    lines = ["  ".join([" " * width0, *(n.rjust(w) for n, w in zip(names, widths, strict=True))])]
    for r in rows:
        cells = (c.rjust(w) for c, w in zip(r[1:], widths, strict=True))
        lines.append("  ".join([r[0].ljust(width0), *cells]))
    for name, err in zip(names, frame["error"], strict=True):
        if err is not None and err == err:
            lines.append(f"note: {err}" if str(err).startswith(name) else f"note: {name}: {err}")
    return "\n".join(lines) + "\n"


def format_table(frame, fmt: OutputFormat) -> str:
    """The table as CSV (NaN as empty cell) or JSON (list of records, NaN as null)."""
    if fmt is OutputFormat.json:
        import json

        from lightcomp.jsonvalues import json_safe

        return json.dumps(json_safe(frame.to_dict(orient="records")), indent=2) + "\n"
    import numpy as np

    from lightcomp.csvcells import safe_frame

    with np.printoptions(legacy=False):  # exact floats whatever else set numpy's printing
        return safe_frame(frame).to_csv(index=False, lineterminator="\n")


def register(app: typer.Typer) -> None:
    """Add ``analyze`` to ``app``."""

    @app.command("analyze")
    def analyze_cmd(
        spectra: Path = typer.Argument(
            ...,
            help="Spectra file: CSV (first column wavelength in nm, one column per spectrum "
            "named by its header) or IES TM-27-14 XML.",
            show_default=False,
        ),
        output: Path | None = typer.Option(
            None, "-o", "--output", help="Write the table to this file instead of stdout."
        ),
        fmt: OutputFormat | None = typer.Option(
            None,
            "--format",
            help="Output format (default: json if OUT ends in .json, else csv).",
            case_sensitive=False,
        ),
        absolute: bool = typer.Option(
            False,
            "--absolute",
            help="Spectra are spectral radiant flux in W/nm: fill luminous_flux (lm) and "
            "radiant_flux (W); X, Y, Z in lm. Otherwise relative: Y = 100.",
        ),
        strict: bool = typer.Option(
            False,
            "--strict",
            help="Fail (exit 2) on the first unusable spectrum instead of reporting it in "
            "the error column.",
        ),
        power_w: float | None = typer.Option(
            None,
            "--power-w",
            help="Electrical input power (W) of every spectrum's source: adds the efficacy "
            "column (lm/W; needs --absolute).",
        ),
        uncertainty: Path | None = typer.Option(
            None,
            "--uncertainty",
            help="Uncertainty model file (TOML, docs/uncertainty.md): add U_<column>, the "
            "expanded uncertainty (k = 2, GUM S1 Monte Carlo) of every column.",
        ),
        trials: int | None = typer.Option(
            None,
            "--trials",
            min=100,
            help="Monte Carlo trials M, fixed (default: the model's adaptive procedure).",
        ),
    ) -> None:
        """Photometric and colorimetric quantities of every spectrum in SPECTRA.

        Columns: name, X, Y, Z, x, y, u_prime, v_prime, CCT, Duv, Ra, R1-R15, Rf,
        Rg, dominant_wavelength, purity, peak_wavelength, fwhm, luminous_flux,
        radiant_flux, LER, SP_ratio, error (and efficacy with --power-w).
        """
        if output is not None and not output.parent.is_dir():
            from lightcomp.errors import ConfigError

            raise ConfigError(f"cannot write {output}: folder {output.parent} does not exist")
        explicit_fmt = fmt
        if fmt is None:
            fmt = (
                OutputFormat.json
                if output is not None and output.suffix.lower() == ".json"
                else OutputFormat.csv
            )
        data, frame = analyze_file(spectra, absolute=absolute, strict=strict, power_w=power_w)
        if uncertainty is not None:
            from lightcomp.uncertainty.table import uncertainty_columns

            for col, values in uncertainty_columns(
                data.wavelengths,
                data.spectra,
                list(frame.columns),
                uncertainty,
                trials=trials,
                absolute=absolute,
                power_w=power_w,
                failed=frame["error"].notna().to_numpy(),
            ).items():
                frame[col] = values
        import sys

        if output is None and explicit_fmt is None and sys.stdout.isatty() and len(frame) <= 8:
            text = format_terminal(frame)
        else:
            text = format_table(frame, fmt)
        if output is None:
            typer.echo(text, nl=False)
        else:
            try:
                output.write_text(text, encoding="utf-8")
            except OSError as exc:
                from lightcomp.errors import ConfigError

                raise ConfigError(f"cannot write {output}: {exc.strerror or exc}") from None
        failed = frame["error"].notna()
        if failed.any():
            typer.echo(
                f"warning: {int(failed.sum())} of {len(frame)} spectra could not be analysed "
                f"(see the error column); first: {frame.loc[failed, 'error'].iloc[0]}",
                err=True,
            )

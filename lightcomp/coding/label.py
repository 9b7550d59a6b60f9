"""Printable labels: the human-readable product code plus a QR code (ISO/IEC 18004).

The QR symbol holds the canonical code (32 characters of the QR alphanumeric
set, version 2 at error-correction level M); the text line below shows the
printed form in a monospaced font so that 0/O and 1/I stay distinguishable.
Output format by file suffix: ``.png`` (Pillow, a matplotlib dependency),
``.svg`` and ``.pdf`` (written directly, vector, dimensions in mm).
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import segno

from lightcomp.coding.scheme import decode
from lightcomp.errors import CodeError

MONO_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/dejavu/DejaVuSansMono.ttf",
    "/Library/Fonts/Menlo.ttc",
    "C:/Windows/Fonts/consola.ttf",
)
SUFFIXES = (".png", ".svg", ".pdf")
MM_PER_PT = 25.4 / 72


def qr_matrix(code: str) -> list[list[bool]]:
    """Modules of the QR symbol for ``code`` (True = dark), quiet zone excluded."""
    canon = decode(code)["code"]
    qr = segno.make(canon, error="m", micro=False, boost_error=False)
    return [[bool(v) for v in row] for row in qr.matrix]


def write_label(
    code: str,
    path: str | Path,
    *,
    lines: tuple[str, ...] | list[str] = (),
    module_mm: float = 0.5,
    dpi: int = 300,
) -> Path:
    """Write a label for ``code`` to ``path`` (.png, .svg or .pdf); return the path.

    ``lines``: extra text lines under the code (e.g. family name, lot).
    ``module_mm``: size of one QR module in mm (0.5 mm suits 300 dpi label
    printers). ``dpi``: resolution of PNG output. Raises :class:`CodeError`
    for an invalid code or an unsupported suffix.
    """
    fields = decode(code)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise CodeError(f"label file {path.name}: use one of {', '.join(SUFFIXES)}")
    if not 0.1 <= module_mm <= 5:
        raise CodeError(f"module size {module_mm} mm outside 0.1..5 mm")
    texts = [fields["printed"], *[str(t) for t in lines]]
    for t in texts:
        if any(not ch.isprintable() for ch in t):
            raise CodeError("label text lines must not contain control characters")
    matrix = qr_matrix(fields["code"])
    if suffix == ".png":
        _png(matrix, texts, path, module_mm, dpi)
    elif suffix == ".svg":
        _svg(matrix, texts, path, module_mm)
    else:
        _pdf(matrix, texts, path, module_mm)
    return path


def _geometry(matrix, texts, module_mm):
    """Label layout in mm: quiet zone 4 modules, text lines below the symbol."""
    n = len(matrix)
    quiet = 4 * module_mm
    qr_mm = n * module_mm
    font_mm = max(2.0, module_mm * 4)  # text cap height ~ 0.7 font size
    text_w = max(len(t) for t in texts) * font_mm * 0.6  # monospace advance 0.6 em
    width = max(qr_mm + 2 * quiet, text_w + 2 * quiet)
    height = qr_mm + 2 * quiet + len(texts) * font_mm * 1.3
    qr_x = (width - qr_mm) / 2
    return width, height, qr_x, quiet, font_mm


def _svg(matrix, texts, path: Path, module_mm: float) -> None:
    width, height, qx, qy, font_mm = _geometry(matrix, texts, module_mm)
    parts = []
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                parts.append(
                    f"M{qx + c * module_mm:.3f} {qy + r * module_mm:.3f}h{module_mm}v{module_mm}h-{module_mm}z"
                )
    ty = qy + len(matrix) * module_mm + qy
    text_el = []
    for i, t in enumerate(texts):
        y = ty + (i + 0.8) * font_mm * 1.3
        text_el.append(
            f'<text x="{width / 2:.3f}" y="{y:.3f}" font-size="{font_mm:.3f}" text-anchor="middle" '
            f'font-family="DejaVu Sans Mono, Consolas, Menlo, monospace">{escape(t)}</text>'
        )
    svg = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.3f}mm" height="{height:.3f}mm" '
        f'viewBox="0 0 {width:.3f} {height:.3f}">\n'
        f"<title>{escape(texts[0])}</title>\n"
        f'<rect width="{width:.3f}" height="{height:.3f}" fill="#fff"/>\n'
        f'<path fill="#000" d="{"".join(parts)}"/>\n' + "\n".join(text_el) + "\n</svg>\n"
    )
    path.write_text(svg, encoding="utf-8")


def _png(matrix, texts, path: Path, module_mm: float, dpi: int) -> None:
    from PIL import Image, ImageDraw, ImageFont

    px_per_mm = dpi / 25.4
    width, height, qx, qy, font_mm = _geometry(matrix, texts, module_mm)
    mod_px = max(1, round(module_mm * px_per_mm))
    img = Image.new("L", (round(width * px_per_mm), round(height * px_per_mm)), 255)
    draw = ImageDraw.Draw(img)
    x0 = round(qx * px_per_mm)
    y0 = round(qy * px_per_mm)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                x, y = x0 + c * mod_px, y0 + r * mod_px
                draw.rectangle([x, y, x + mod_px - 1, y + mod_px - 1], fill=0)
    size = max(8, round(font_mm * px_per_mm))
    font = None
    for candidate in MONO_FONTS:
        try:
            font = ImageFont.truetype(candidate, size)
            break
        except OSError:
            continue
    if font is None:
        font = ImageFont.load_default(size=size)
    ty = y0 + len(matrix) * mod_px + round(qy * px_per_mm)
    for i, t in enumerate(texts):
        draw.text((img.width / 2, ty + (i + 0.5) * size * 1.3), t, fill=0, font=font, anchor="mm")
    img.save(path, dpi=(dpi, dpi))


def _pdf(matrix, texts, path: Path, module_mm: float) -> None:
    """A one-page PDF 1.4 (vector modules, Courier text), written without dependencies."""
    width, height, qx, qy, font_mm = _geometry(matrix, texts, module_mm)
    pt = 1 / MM_PER_PT  # points per mm
    ops = ["0 g"]
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                x = (qx + c * module_mm) * pt
                y = (height - qy - (r + 1) * module_mm) * pt
                ops.append(f"{x:.3f} {y:.3f} {module_mm * pt:.3f} {module_mm * pt:.3f} re")
    ops.append("f")
    ty = qy + len(matrix) * module_mm + qy
    size = font_mm * pt
    for i, t in enumerate(texts):
        text_w = len(t) * 0.6 * size
        x = (width * pt - text_w) / 2
        y = (height - ty - (i + 0.8) * font_mm * 1.3) * pt
        safe = t.encode("latin-1", "replace").decode("latin-1")
        safe = safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"BT /F1 {size:.3f} Tf {x:.3f} {y:.3f} Td ({safe}) Tj ET")
    content = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width * pt:.3f} {height * pt:.3f}] "
            "/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
        ).encode(),
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>",
        b"<< /Title (" + texts[0].encode("ascii") + b") /Producer (lightcomp) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    path.write_bytes(bytes(out))

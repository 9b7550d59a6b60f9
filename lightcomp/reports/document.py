"""A small document model rendered to self-contained HTML and to PDF from the same content.

A report is a :class:`Document`: a title, an optional report id (printed on every
page), and a list of blocks (:class:`Heading`, :class:`Paragraph`,
:class:`KeyValues`, :class:`Table`, :class:`Figure`, :class:`PageBreak`).

* HTML: one file, images embedded as base64 PNG, CSS inline; the report id is in
  the header and in a ``position: fixed`` footer, which browsers repeat on every
  printed page.
* PDF: ReportLab platypus; header and footer on every page carry the title,
  report id and "page n of m"; figures are the same PNG images. A table row is
  never left alone on a page under a repeated header (at least two rows each side
  of a page break).
* Chinese (``Document.language`` ``zh`` or ``zh+en``): the PDF embeds a CJK TrueType
  font (:func:`cjk_font_path`; Debian ``fonts-wqy-zenhei``), because the PDF standard
  fonts have no Chinese glyphs and ReportLab cannot embed CFF/OpenType fonts such as
  Noto CJK; characters the CJK font lacks fall back to Helvetica.
"""

from __future__ import annotations

import base64
import html
import io
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lightcomp.errors import ReportError

__all__ = [
    "CJK_FONT_PACKAGE",
    "Document",
    "Figure",
    "Heading",
    "KeyValues",
    "PageBreak",
    "Paragraph",
    "Table",
    "cjk_font_path",
    "render_html",
    "render_pdf",
]


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Paragraph:
    text: str
    style: Literal["normal", "note", "strong", "pass", "fail", "warn", "end"] = "normal"


@dataclass
class KeyValues:
    """Two-column label/value table (identification, conditions ...)."""

    rows: list[tuple[str, str]]
    caption: str | None = None


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str | None = None
    #: per-row highlight: None, "pass", "fail" or "warn"
    row_styles: list[str | None] | None = None
    align: list[Literal["l", "r", "c"]] | None = None
    #: relative column widths for the PDF (default: from the text length)
    widths: list[float] | None = None
    note: str | None = None


@dataclass
class Figure:
    png: bytes
    caption: str | None = None
    #: width as a fraction of the text width
    width: float = 1.0
    #: pixel size of the PNG (for the aspect ratio)
    size_px: tuple[int, int] = (0, 0)


@dataclass
class PageBreak:
    pass


Block = Heading | Paragraph | KeyValues | Table | Figure | PageBreak


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)
    subtitle: str | None = None
    report_id: str | None = None
    #: short text in every page footer (lab name, statement ...)
    footer: str | None = None
    #: ``en``, ``zh`` or ``zh+en``: any Chinese needs the embedded CJK font in the PDF
    language: str = "en"
    #: the running header's report id and the footer's page number, in the document's language
    report_label: str | None = None
    page_label: str = "page {n} of {total}"

    @property
    def has_chinese(self) -> bool:
        """Whether the text is (partly) Chinese, so the PDF must embed a CJK font."""
        return "zh" in self.language

    def add(self, *blocks: Block) -> Document:
        self.blocks.extend(blocks)
        return self


# ---------------------------------------------------------------------------------------------
# Fonts
# ---------------------------------------------------------------------------------------------
#: The Debian package whose font the Chinese PDF embeds (``.ci/run`` installs it).
CJK_FONT_PACKAGE = "fonts-wqy-zenhei"

#: CJK fonts with TrueType outlines that ReportLab can embed (path, index in a .ttc),
#: first found wins; ``$LIGHTCOMP_CJK_FONT`` (a .ttf, or .ttc whose first face is used)
#: comes before them.
CJK_FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),  # fonts-wqy-zenhei
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),  # fonts-arphic-uming
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),  # fonts-wqy-microhei
)


def cjk_font_path() -> tuple[Path, int]:
    """(path, subfont index) of the CJK TrueType font a Chinese PDF embeds.

    Raises a one-line :class:`ReportError` naming the package to install when none
    is found (a bare machine), rather than writing a PDF of empty boxes.
    """
    env = os.environ.get("LIGHTCOMP_CJK_FONT")
    if env:
        if not Path(env).is_file():
            raise ReportError(f"LIGHTCOMP_CJK_FONT={env} is not a font file")
        return Path(env), 0
    for path, index in CJK_FONT_CANDIDATES:
        if Path(path).is_file():
            return Path(path), index
    raise ReportError(
        "a Chinese PDF needs a CJK TrueType font and none is installed: install the Debian "
        f"package {CJK_FONT_PACKAGE} (apt-get install {CJK_FONT_PACKAGE}) or set "
        "LIGHTCOMP_CJK_FONT to a .ttf/.ttc file"
    )


def _register_cjk() -> tuple[str, set[int]]:
    """Register the CJK font with ReportLab (once per file): its name and the code
    points it has glyphs for. The font is looked up on every call, so a font removed
    since gives the one-line error, not a PDF of empty boxes."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path, index = cjk_font_path()
    name = f"CJK-{path.stem}-{index}"
    try:
        font = pdfmetrics.getFont(name)
    except KeyError:
        try:
            font = TTFont(name, str(path), subfontIndex=index)
        except Exception as exc:  # noqa: BLE001 - a damaged or CFF font: say which file
            raise ReportError(
                f"cannot embed the CJK font {path} ({exc}); install {CJK_FONT_PACKAGE}"
            ) from None
        pdfmetrics.registerFont(font)
    return name, set(font.face.charToGlyph)


def _text_width(text: str) -> int:
    """Width in Latin character cells (a CJK character takes two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(text))


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------
_CSS = """
body{font-family:"DejaVu Sans",Helvetica,Arial,"Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif;font-size:10pt;color:#222;
 max-width:1000px;margin:0 auto;padding:1em 1.5em 4em 1.5em}
h1{font-size:17pt;margin:.2em 0;color:#123}
h2{font-size:13pt;margin:1.2em 0 .4em;border-bottom:1px solid #9ab;color:#123}
h3{font-size:11pt;margin:1em 0 .3em;color:#123}
.sub{color:#456;margin:0 0 .6em}
.rid{float:right;font-family:monospace;color:#345}
table{border-collapse:collapse;margin:.4em 0 .8em;font-size:9pt}
th,td{border:1px solid #bbb;padding:2px 6px;vertical-align:top}
th{background:#e8eef3;text-align:left}
td.r{text-align:right;font-variant-numeric:tabular-nums} td.c{text-align:center}
table.kv th{width:16em;background:#f3f6f8}
tr.pass td{background:#eaf6ea} tr.fail td{background:#fbe4e4} tr.warn td{background:#fff5d6}
.caption{font-size:9pt;color:#456;margin:.2em 0 .8em}
p.note{font-size:9pt;color:#456} p.strong{font-weight:bold}
p.pass{font-weight:bold;color:#1a6b1a} p.fail{font-weight:bold;color:#a01818}
p.warn{font-weight:bold;color:#8a6400}
p.end{text-align:center;font-weight:bold;margin-top:2em}
figure{margin:.5em 0 1em} figure img{max-width:100%;height:auto}
.footer{position:fixed;bottom:0;left:0;right:0;background:#fff;border-top:1px solid #ccc;
 font-size:8pt;color:#456;padding:3px 1.5em}
@media print{.footer{position:fixed}}
"""


def _esc(text: str) -> str:
    return html.escape(str(text)).replace("\n", "<br>")


def render_html(doc: Document) -> str:
    """The document as one self-contained HTML page (UTF-8 text)."""
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if doc.has_chinese else "en"}"><head><meta charset="utf-8">',
        f"<title>{_esc(doc.title)}{' - ' + _esc(doc.report_id) if doc.report_id else ''}</title>",
        f"<style>{_CSS}</style></head><body>",
    ]
    rid_text = (doc.report_label or f"Report {doc.report_id}") if doc.report_id else ""
    if doc.report_id:
        out.append(f'<div class="rid">{_esc(rid_text)}</div>')
    out.append(f"<h1>{_esc(doc.title)}</h1>")
    if doc.subtitle:
        out.append(f'<p class="sub">{_esc(doc.subtitle)}</p>')
    for b in doc.blocks:
        out.append(_html_block(b))
    foot = " · ".join(x for x in (doc.footer, rid_text) if x)
    if foot:
        out.append(f'<div class="footer">{_esc(foot)}</div>')
    out.append("</body></html>")
    return "\n".join(out)


def _html_block(b: Block) -> str:
    if isinstance(b, Heading):
        lvl = min(max(b.level, 2), 4)
        return f"<h{lvl}>{_esc(b.text)}</h{lvl}>"
    if isinstance(b, Paragraph):
        return f'<p class="{b.style}">{_esc(b.text)}</p>'
    if isinstance(b, KeyValues):
        rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in b.rows)
        cap = f'<div class="caption">{_esc(b.caption)}</div>' if b.caption else ""
        return f'<table class="kv">{rows}</table>{cap}'
    if isinstance(b, Table):
        align = b.align or ["l"] * len(b.header)
        head = "".join(f"<th>{_esc(h)}</th>" for h in b.header)
        body = []
        for i, r in enumerate(b.rows):
            st = b.row_styles[i] if b.row_styles and b.row_styles[i] else None
            cls = f' class="{st}"' if st else ""
            cells = "".join(
                f'<td class="{align[j] if j < len(align) else "l"}">{_esc(c)}</td>'
                for j, c in enumerate(r)
            )
            body.append(f"<tr{cls}>{cells}</tr>")
        cap = f'<div class="caption">{_esc(b.caption)}</div>' if b.caption else ""
        note = f'<p class="note">{_esc(b.note)}</p>' if b.note else ""
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{cap}{note}"
    if isinstance(b, Figure):
        data = base64.b64encode(b.png).decode("ascii")
        cap = f"<figcaption class='caption'>{_esc(b.caption)}</figcaption>" if b.caption else ""
        w = f"{round(100 * b.width)}%"
        alt = _esc(b.caption or "figure")
        return (
            f'<figure><img style="width:{w}" alt="{alt}" '
            f'src="data:image/png;base64,{data}">{cap}</figure>'
        )
    if isinstance(b, PageBreak):
        return '<div style="page-break-after:always"></div>'
    raise TypeError(f"unknown block {type(b).__name__}")


# ---------------------------------------------------------------------------------------------
# PDF (ReportLab)
# ---------------------------------------------------------------------------------------------
def render_pdf(doc: Document) -> bytes:
    """The document as PDF bytes (A4; header and footer with the report id on every page)."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        Image,
        KeepTogether,
        SimpleDocTemplate,
        Spacer,
        TableStyle,
    )
    from reportlab.platypus import PageBreak as RLPageBreak
    from reportlab.platypus import Paragraph as RLParagraph

    keep_rows_table = _keep_rows_table_class()
    buf = io.BytesIO()
    margin = 16 * mm
    page_w, page_h = A4
    text_w = page_w - 2 * margin
    regular, bold = "Helvetica", "Helvetica-Bold"
    glyphs: set[int] | None = None
    if doc.has_chinese:  # one embedded CJK face (it has no bold: weight shows by colour/size)
        regular, glyphs = _register_cjk()
        bold = regular
    ss = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=ss["BodyText"], fontName=regular, fontSize=9, leading=11.5)
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=9)
    cell = ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9, spaceBefore=0)
    cell_b = ParagraphStyle("cellb", parent=cell, fontName=bold)
    styles = {
        "normal": body,
        "note": ParagraphStyle(
            "note", parent=body, fontSize=8, textColor=colors.HexColor("#445566")
        ),
        # a bold line introduces what follows (a table's title): never last on a page
        "strong": ParagraphStyle("strong", parent=body, fontName=bold, keepWithNext=1),
        "pass": ParagraphStyle(
            "pass", parent=body, fontName=bold, textColor=colors.HexColor("#1a6b1a")
        ),
        "fail": ParagraphStyle(
            "fail", parent=body, fontName=bold, textColor=colors.HexColor("#a01818")
        ),
        "warn": ParagraphStyle(
            "warn", parent=body, fontName=bold, textColor=colors.HexColor("#8a6400")
        ),
        "end": ParagraphStyle(
            "end", parent=body, fontName=bold, alignment=TA_CENTER, spaceBefore=14
        ),
    }
    h_styles = {
        1: ParagraphStyle(
            "h1", parent=ss["Heading1"], fontName=bold, fontSize=15, leading=18, spaceAfter=4
        ),
        2: ParagraphStyle(
            "h2",
            parent=ss["Heading2"],
            fontName=bold,
            fontSize=12,
            leading=14,
            spaceBefore=8,
            keepWithNext=1,
        ),
        3: ParagraphStyle(
            "h3",
            parent=ss["Heading3"],
            fontName=bold,
            fontSize=10,
            leading=12,
            spaceBefore=6,
            keepWithNext=1,
        ),
    }

    def esc(t: str) -> str:
        text = html.escape(str(t))
        if glyphs is not None:  # characters the CJK face lacks (−, subscripts): Helvetica
            text = "".join(
                c if ord(c) in glyphs or c in "\n" else f'<font name="Helvetica">{c}</font>'
                for c in text
            )
        return text.replace("\n", "<br/>")

    fill = {
        "pass": colors.HexColor("#eaf6ea"),
        "fail": colors.HexColor("#fbe4e4"),
        "warn": colors.HexColor("#fff5d6"),
    }
    story: list = [RLParagraph(esc(doc.title), h_styles[1])]
    if doc.subtitle:
        story.append(RLParagraph(esc(doc.subtitle), styles["note"]))
    for b in doc.blocks:
        if isinstance(b, Heading):
            head = RLParagraph(esc(b.text), h_styles[min(max(b.level, 2), 3)])
            head._lc_heading = True
            story.append(head)
        elif isinstance(b, Paragraph):
            story.append(RLParagraph(esc(b.text), styles.get(b.style, body)))
        elif isinstance(b, KeyValues):
            data = [[RLParagraph(esc(k), cell_b), RLParagraph(esc(v), cell)] for k, v in b.rows]
            t = keep_rows_table(data, colWidths=[0.3 * text_w, 0.7 * text_w])
            t.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
                        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f3f6f8")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                    ]
                )
            )
            story.append(t)
            if b.caption:
                story.append(RLParagraph(esc(b.caption), small))
            story.append(Spacer(1, 4))
        elif isinstance(b, Table):
            align = b.align or ["l"] * len(b.header)
            ral = {"l": 0, "r": 2, "c": 1}
            cstyles = [
                ParagraphStyle(f"c{j}", parent=cell, alignment=ral.get(a, 0))
                for j, a in enumerate(align)
            ]
            data = [[RLParagraph(esc(h), cell_b) for h in b.header]]
            for r in b.rows:
                data.append(
                    [
                        RLParagraph(esc(c), cstyles[j] if j < len(cstyles) else cell)
                        for j, c in enumerate(r)
                    ]
                )
            if b.widths:
                widths = [text_w * w / sum(b.widths) for w in b.widths]
            else:
                widths = _col_widths(b, text_w)
            t = keep_rows_table(data, colWidths=widths, repeatRows=1)
            cmds = [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef3")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2),
            ]
            for i, st in enumerate(b.row_styles or []):
                if st in fill:
                    cmds.append(("BACKGROUND", (0, i + 1), (-1, i + 1), fill[st]))
            t.setStyle(TableStyle(cmds))
            story.append(t)
            if b.caption:
                story.append(RLParagraph(esc(b.caption), small))
            if b.note:
                story.append(RLParagraph(esc(b.note), styles["note"]))
            story.append(Spacer(1, 4))
        elif isinstance(b, Figure):
            w_px, h_px = b.size_px if all(b.size_px) else _png_size(b.png)
            w = text_w * b.width
            h = w * h_px / w_px
            max_h = page_h - 2 * margin - 40 * mm
            if h > max_h:
                w, h = w * max_h / h, max_h
            img = Image(io.BytesIO(b.png), width=w, height=h)
            parts = [img]
            if story and getattr(story[-1], "_lc_heading", False):
                parts.insert(0, story.pop())  # a heading stays on the page of its figure
            if b.caption:
                parts.append(RLParagraph(esc(b.caption), small))
            parts.append(Spacer(1, 4))
            story.append(KeepTogether(parts))
        elif isinstance(b, PageBreak):
            story.append(RLPageBreak())

    title = doc.title
    rid = doc.report_id
    footer = doc.footer
    rid_text = (doc.report_label or f"Report {rid}") if rid else ""

    def fit(text: str, width: float, size: float = 7.5) -> str:
        """``text`` cut (with "…") to fit ``width`` points: running heads never overlap."""
        from reportlab.pdfbase.pdfmetrics import stringWidth

        if stringWidth(text, regular, size) <= width:
            return text
        while text and stringWidth(text + "…", regular, size) > width:
            text = text[:-1]
        return text.rstrip() + "…"

    from reportlab.pdfgen import canvas as rl_canvas

    class NumberedCanvas(rl_canvas.Canvas):
        """Canvas that knows the page count (for "page n of m") and decorates every page."""

        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self._saved: list[dict] = []

        def showPage(self):  # noqa: N802 (ReportLab API)
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._saved)
            for state in self._saved:
                self.__dict__.update(state)
                self._decorate(total)
                super().showPage()
            super().save()

        def _decorate(self, total: int) -> None:
            self.saveState()
            self.setFont(regular, 7.5)
            self.setFillColor(colors.HexColor("#445566"))
            from reportlab.pdfbase.pdfmetrics import stringWidth

            top = page_h - 10 * mm
            right_w = stringWidth(rid_text, regular, 7.5) + 12
            self.drawString(margin, top, fit(title, text_w - right_w))
            if rid:
                self.drawRightString(page_w - margin, top, rid_text)
            self.setStrokeColor(colors.HexColor("#bbbbbb"))
            self.line(margin, top - 2, page_w - margin, top - 2)
            self.line(margin, 12 * mm, page_w - margin, 12 * mm)
            bottom = 8 * mm
            right = doc.page_label.format(n=self._pageNumber, total=total)
            if rid:
                right = f"{rid} · {right}"  # the header names it "Report …"
            self.drawRightString(page_w - margin, bottom, right)
            left_w = text_w - stringWidth(right, regular, 7.5) - 12
            self.drawString(margin, bottom, fit(footer or "", left_w))
            self.restoreState()

    tmpl = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=doc.title + (f" {rid}" if rid else ""),
        author=footer or "lightcomp",
        invariant=1,
    )
    tmpl.build(story, canvasmaker=NumberedCanvas)
    return buf.getvalue()


def _col_widths(t: Table, text_w: float) -> list[float]:
    """Column widths from the text they hold: at least the longest header word, at most 36 chars."""
    n = len(t.header)
    floor = [max((_text_width(w) for w in str(h).split()), default=3) + 1 for h in t.header]
    longest = [_text_width(h) for h in t.header]
    for r in t.rows[:200]:
        for j, c in enumerate(r[:n]):
            longest[j] = max(longest[j], _text_width(c))
    want = [max(f, min(v, 36)) + 2 for f, v in zip(floor, longest, strict=True)]  # + padding
    total = sum(want)
    widths = [text_w * v / total for v in want]
    # Shared out in proportion, a narrow column of a wide table can fall below its longest
    # header word ("Measure/d"): give such columns that word's width (bold 7.5 pt cells:
    # about CELL_PT_PER_CHAR a character, plus the padding) and take it from the others.
    least = [(f + 2) * CELL_PT_PER_CHAR for f in floor]
    if sum(least) < text_w:
        for _ in range(len(widths)):
            short = [j for j, v in enumerate(widths) if v < least[j] - 1e-9]
            if not short:
                break
            need = sum(least[j] - widths[j] for j in short)
            for j in short:
                widths[j] = least[j]
            rest = [j for j in range(len(widths)) if j not in short and widths[j] > least[j]]
            spare = sum(widths[j] - least[j] for j in rest)
            for j in rest:  # from each in proportion to what it has above its own least
                widths[j] -= need * (widths[j] - least[j]) / spare
    return widths


#: Width of a character of the tables' bold 7.5 pt header type, in points (DejaVu Sans
#: Bold's average advance, about 0.6 em).
CELL_PT_PER_CHAR = 4.6


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG from its IHDR chunk."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG image")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _keep_rows_table_class():
    """ReportLab's Table that never leaves fewer than two body rows on either side of a
    page break (an orphan row alone under a repeated header reads as a separate table)."""
    from reportlab.platypus import Table as RLTable

    class KeepRowsTable(RLTable):
        min_rows = 2

        def split(self, availWidth, availHeight):  # noqa: N803 (ReportLab API)
            parts = super().split(availWidth, availHeight)
            if len(parts) != 2:
                return parts
            head = self.repeatRows
            n_body = len(self._cellvalues) - head
            first = len(parts[0]._cellvalues) - head
            rest = n_body - first
            if first < self.min_rows:
                return []  # the whole table starts on the next page
            if rest >= self.min_rows:
                return parts
            move = self.min_rows - rest  # rows handed from the first part to the second
            if first - move < self.min_rows:
                return []
            cut = sum(self._rowHeights[head + first - move : head + first])
            return super().split(availWidth, availHeight - cut - 0.01)

    return KeepRowsTable

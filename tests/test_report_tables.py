"""PDF table layout: column widths from the text they hold."""

from __future__ import annotations

import pytest
from reportlab.pdfbase.pdfmetrics import stringWidth

from lightcomp.reports.document import Table, _col_widths

TEXT_W = 510.0  # A4 less the 16 mm margins, in points
PADDING = 12.0  # ReportLab's default left + right cell padding


def test_a_narrow_column_of_a_wide_table_keeps_its_header_word_whole():
    """The conformity table: long limit labels and requirements take the width in
    proportion, yet "Measured" and "Statement" must not break inside the word."""
    header = ["Limit", "Measured", "Unit", "Requirement", "Statement", "Rule"]
    rows = [
        [
            "Special colour rendering index R9 (CIE 13.3)",
            "21.7",
            "lm/W",
            "inside ANSI C78.377 quadrangle 4000 K",
            "conforms",
            "guarded, w = 0.023 V",
        ]
    ] * 5
    widths = _col_widths(Table(header, rows), TEXT_W)
    assert sum(widths) == pytest.approx(TEXT_W)
    for head, w in zip(header, widths, strict=True):
        word = max(head.split(), key=len)
        assert w >= stringWidth(word, "Helvetica-Bold", 7.5) + PADDING, head
    # and the long columns still get the most
    assert widths[0] > widths[1] and widths[3] > widths[4]

"""QR codes for receipts: the verification link, drawn fast and scored like reportlab does."""

from __future__ import annotations

import itertools
import re
from typing import Any

from reportlab.graphics.barcode import qrencoder
from reportlab.lib import colors
from reportlab.pdfgen.canvas import Canvas

_QR_QUIET_MODULES = 2


def draw_qr(canvas: Canvas, text: str, x: float, y: float, size: float) -> None:
    """A QR code as one filled path of horizontal runs (reportlab's widget makes a shape per
    run and took half the rendering time). Error correction M survives a smudged print."""
    modules = qr_modules(text)
    count = len(modules)
    module = size / (count + 2 * _QR_QUIET_MODULES)
    path = canvas.beginPath()
    for row, cells in enumerate(modules):
        top = y + size - (row + _QR_QUIET_MODULES + 1) * module
        col = 0
        for dark, run in itertools.groupby(cells):
            length = len(list(run))
            if dark:
                left = x + (col + _QR_QUIET_MODULES) * module
                path.rect(left, top, length * module, module)
            col += length
    canvas.setFillColor(colors.black)
    canvas.drawPath(path, stroke=0, fill=1)


def qr_modules(text: str) -> list[list[bool]]:
    """The matrix reportlab's ``QRCode.make()`` builds, mask choice included, 3x faster.

    reportlab lays the symbol out and scores it once per mask pattern (8 x ~1 ms). The data bits
    sit in the same places under every mask, so this lays out once, derives each masked variant
    by XOR-ing integer rows and scores it with the same penalty rules (``getLostPoint``).
    """
    code: Any = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)  # reportlab is untyped
    code.addData(text)
    code.version = code.calculate_version()
    code.makeImpl(True, 0)  # "test" layout: format bits blank, as reportlab scores it
    size = code.moduleCount
    rows = [int("".join("1" if dark else "0" for dark in row), 2) for row in code.modules]
    flips = _mask_flips(code)

    def penalty(mask: int) -> int:
        return _qr_penalty([r ^ f for r, f in zip(rows, flips[mask], strict=True)], size)

    best = min(range(8), key=penalty)
    code.makeImpl(False, best)
    modules: list[list[bool]] = code.modules
    return modules


_MASK_FLIPS: dict[int, list[list[int]]] = {}
_QR_RUN = re.compile(r"0{5,}|1{5,}")
_QR_FINDER = "10111010000"


def _mask_flips(code: Any) -> list[list[int]]:
    """Per mask, the row bits that differ from the mask-0 layout (data modules only)."""
    flips = _MASK_FLIPS.get(code.version)
    if flips is None:
        size = code.moduleCount
        util: Any = qrencoder.QRUtil
        masks = [util.getMask(m) for m in range(8)]
        flips = [[0] * size for _ in range(8)]
        for col, row in code.dataPosIterator():
            for m in range(1, 8):
                if masks[m](row, col) != masks[0](row, col):
                    flips[m][row] |= 1 << (size - 1 - col)
        _MASK_FLIPS[code.version] = flips
    return flips


def _qr_penalty(rows: list[int], size: int) -> int:
    """reportlab's ``QRUtil.getLostPoint`` on rows of bits (most significant = leftmost).

    Faithful to its quirks: the finder-like pattern is only looked for along rows (its column
    pass compares tuples with a list, which never matches) and never at the last position."""
    lines = [format(r, f"0{size}b") for r in rows]
    columns = ["".join(col) for col in zip(*lines, strict=True)]
    score = sum(len(run) - 2 for line in lines + columns for run in _QR_RUN.findall(line))
    full = (1 << size) - 1
    for above, below in itertools.pairwise(rows):
        same = ~(above ^ below) & full
        score += 3 * (same & (same >> 1) & ~(above ^ (above >> 1)) & (full >> 1)).bit_count()
    for line in lines:
        start = line.find(_QR_FINDER, 0, size - 1)
        while start >= 0:
            score += 40
            start = line.find(_QR_FINDER, start + len(_QR_FINDER), size - 1)
    dark = sum(r.bit_count() for r in rows)
    return score + 10 * (abs(100 * dark // (size * size) - 50) // 5)

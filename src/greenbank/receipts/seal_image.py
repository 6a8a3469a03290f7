"""The red round seal printed on a receipt, drawn by code (no image files).

Chinese bank business seals are a red ring with a five-pointed star in the middle, the bank's
name running clockwise along the upper arc and the seal's purpose ("电子回单专用章") written
straight below the star. The picture is only the visible sign; the legal seal is the digital
signature (电子签名法 Art. 13-14). The drawing is built once per (bank, font, size) and reused
for every receipt.
"""

from __future__ import annotations

import math
from functools import lru_cache

from reportlab.graphics import renderPDF
from reportlab.graphics.shapes import Circle, Drawing, Group, Polygon, String
from reportlab.lib.colors import Color
from reportlab.pdfgen.canvas import Canvas

SEAL_RED = Color(0.86, 0.08, 0.10, alpha=0.88)
SEAL_PURPOSE = "电子回单专用章"
_ARC_MAX_DEGREES = 240.0
_ARC_DEGREES_PER_CHAR = 34.0


def star_points(cx: float, cy: float, outer: float) -> list[float]:
    """Ten x, y pairs of a five-pointed star with one point straight up."""
    inner = outer * math.sin(math.radians(18)) / math.sin(math.radians(54))
    points: list[float] = []
    for i in range(10):
        radius = outer if i % 2 == 0 else inner
        angle = math.radians(90 + 36 * i)
        points += [cx + radius * math.cos(angle), cy + radius * math.sin(angle)]
    return points


def arc_angles(count: int) -> list[float]:
    """Angles (degrees anticlockwise from 3 o'clock) of characters laid clockwise over the top."""
    if count <= 0:
        return []
    if count == 1:
        return [90.0]
    span = min(_ARC_MAX_DEGREES, _ARC_DEGREES_PER_CHAR * (count - 1))
    step = span / (count - 1)
    return [90.0 + span / 2 - i * step for i in range(count)]


def draw_seal(
    canvas: Canvas, bank_name: str, font_name: str, size: float, x: float, y: float
) -> None:
    """Draw the seal ``size`` points wide with its lower-left corner at (x, y).

    The drawing is built once and cached; reportlab's renderer annotates the shapes it walks, so
    call this only inside ``render.render_page``, which draws one page at a time.
    """
    renderPDF.draw(seal_drawing(bank_name, font_name, size), canvas, x, y)


@lru_cache(maxsize=8)
def seal_drawing(bank_name: str, font_name: str, size: float = 120.0) -> Drawing:
    """A square drawing ``size`` points wide holding the whole seal."""
    radius = size / 2
    ring = size * 0.035
    drawing = Drawing(size, size)
    drawing.add(
        Circle(
            radius,
            radius,
            radius - ring / 2,
            strokeColor=SEAL_RED,
            strokeWidth=ring,
            fillColor=None,
        )
    )
    drawing.add(
        Polygon(
            star_points(radius, radius + size * 0.02, size * 0.15),
            fillColor=SEAL_RED,
            strokeColor=None,
        )
    )
    name_size = min(size * 0.13, size * 2.4 / max(len(bank_name), 1))
    text_radius = radius - ring * 2.6 - name_size
    for ch, angle in zip(bank_name, arc_angles(len(bank_name)), strict=True):
        theta = math.radians(angle)
        glyph = Group(
            String(
                0,
                0,
                ch,
                fontName=font_name,
                fontSize=name_size,
                fillColor=SEAL_RED,
                textAnchor="middle",
            ),
            transform=_rotate_about(
                radius + text_radius * math.cos(theta),
                radius + text_radius * math.sin(theta),
                angle - 90,
            ),
        )
        drawing.add(glyph)
    purpose_size = size * 0.085
    drawing.add(
        String(
            radius,
            radius - size * 0.25,
            SEAL_PURPOSE,
            fontName=font_name,
            fontSize=purpose_size,
            fillColor=SEAL_RED,
            textAnchor="middle",
        )
    )
    return drawing


def _rotate_about(
    x: float, y: float, degrees: float
) -> tuple[float, float, float, float, float, float]:
    """Affine matrix: rotate by ``degrees`` and move the origin to (x, y)."""
    rad = math.radians(degrees)
    cos, sin = math.cos(rad), math.sin(rad)
    return (cos, sin, -sin, cos, x, y)

"""Offline ID-card OCR with RapidOCR (PaddleOCR models on ONNX Runtime, shipped in the wheel).

Optional: ``pip install 'greenbank[ocr]'`` (rapidocr-onnxruntime, which brings onnxruntime,
opencv-python and numpy). It is imported on first use, so the rest of greenbank never pays for
it. Reading a card takes about 1-3 s of CPU per side.

:func:`parse_id_card` is pure: it turns recognised text lines (with their positions) into the
printed fields. Lines on one visual row are joined left to right first, because OCR splits
"姓名 王小明" into a label and a value on some cards and keeps them together on others.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from greenbank.accounts.providers import IdCardText, OcrResult, VendorCode
from greenbank.errors import ConfigurationError

_ID = re.compile(r"\d{17}[\dXx]")
_FRONT_LABELS = ("姓名", "性别", "民族", "出生", "住址", "公民身份号码")


@dataclass(frozen=True)
class TextLine:
    """One recognised line: its text, the centre of its box, its height, its confidence."""

    text: str
    x: float
    y: float
    height: float
    confidence: float = 1.0


def rows_of(lines: Sequence[TextLine]) -> list[str]:
    """Join lines whose centres lie within half a line height of each other, left to right."""
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda item: (item.y, item.x)):
        if rows and abs(rows[-1][0].y - line.y) < max(rows[-1][0].height, line.height) / 2:
            rows[-1].append(line)
        else:
            rows.append([line])
    return ["".join(part.text for part in sorted(row, key=lambda p: p.x)) for row in rows]


def _after(row: str, label: str) -> str:
    return row.split(label, 1)[1].strip(" :：") if label in row else ""


def parse_id_card(front: Sequence[TextLine], back: Sequence[TextLine]) -> IdCardText:
    """The printed fields of a resident ID card from both sides' lines (missing ones: "")."""
    fields: dict[str, str] = {}
    address: list[str] = []
    in_address = False
    for raw in rows_of(front):
        row = "".join(raw.split())
        if row.startswith(_FRONT_LABELS) and not row.startswith("住址"):
            in_address = False
        if row.startswith("姓名"):
            fields["name"] = _after(row, "姓名")
        elif row.startswith("性别"):
            sex_part = _after(row, "性别")
            fields["sex"] = sex_part.split("民族", 1)[0][:1]
            fields["ethnicity"] = _after(row, "民族")
        elif row.startswith("出生"):
            fields["birth"] = _after(row, "出生")
        elif row.startswith("住址"):
            in_address = True
            address.append(_after(row, "住址"))
        elif in_address and not _ID.search(row):
            address.append(row)
        match = _ID.search(row)
        if match:
            fields["id_number"] = match.group(0).upper()
            in_address = False
    for raw in rows_of(back):
        row = "".join(raw.split())
        if "签发机关" in row:
            fields["authority"] = _after(row, "签发机关")
        elif "有效期限" in row:
            fields["validity"] = _after(row, "有效期限")
    return IdCardText(address="".join(address), **fields)


class RapidOcr:
    """The OCR provider backed by rapidocr-onnxruntime (one engine per process, thread-safe
    through a lock: ONNX sessions are, the engine's pre-processing state is not)."""

    name = "rapidocr"

    def __init__(self) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as err:  # pragma: no cover - depends on the optional extra
            raise ConfigurationError(
                "GREENBANK_ACCOUNTS_OCR_PROVIDER=rapidocr needs: pip install 'greenbank[ocr]'"
            ) from err
        self._engine: Any = RapidOCR()
        self._lock = threading.Lock()

    def _lines(self, image: bytes) -> list[TextLine]:
        with self._lock:
            found, _elapsed = self._engine(image)
        lines = []
        for box, text, confidence in found or []:
            ys = [float(point[1]) for point in box]
            xs = [float(point[0]) for point in box]
            lines.append(
                TextLine(
                    text=str(text),
                    x=sum(xs) / len(xs),
                    y=sum(ys) / len(ys),
                    height=max(ys) - min(ys),
                    confidence=float(confidence),
                )
            )
        return lines

    def read_id_card(self, *, front: bytes, back: bytes) -> OcrResult:
        try:
            front_lines, back_lines = self._lines(front), self._lines(back)
        except Exception as err:  # any decoder or runtime failure is a vendor-side error
            return OcrResult(VendorCode.SERVICE_ERROR, detail=type(err).__name__)
        fields = parse_id_card(front_lines, back_lines)
        if not fields.id_number or not fields.name:
            return OcrResult(VendorCode.UNREADABLE, fields=fields)
        confidence = min(line.confidence for line in (*front_lines, *back_lines))
        return OcrResult(VendorCode.OK, fields=fields, confidence=round(confidence, 3))

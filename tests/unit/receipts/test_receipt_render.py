"""The rendered receipt: one A4 page, embedded CJK font, masked parties, receipt number in
the document info; and the pieces (masking, percent, seal geometry) by worked example."""

from __future__ import annotations

import io
import math
import re
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils.reader import PdfFileReader
from reportlab.graphics.barcode import qrencoder
from tests.unit.receipts.conftest import BANK, VERIFY_URL

from greenbank.receipts.qr import qr_modules
from greenbank.receipts.render import (
    InvalidReceipt,
    ReceiptData,
    ReceiptType,
    mask_account,
    mask_name,
    percent,
    receipt_no_from_keywords,
    render_receipt,
    verification_link,
)
from greenbank.receipts.seal_image import arc_angles, star_points
from greenbank.receipts.signing import document_receipt_no


def _page_ops(pdf: bytes) -> bytes:
    """The decoded content stream of the only page."""
    page = PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Kids"][0]
    data: bytes = page["/Contents"].data
    return data


def test_one_a4_page_with_the_receipt_number_in_the_info(receipt_pdf: bytes) -> None:
    reader = PdfFileReader(io.BytesIO(receipt_pdf))
    assert len(reader.root["/Pages"]["/Kids"]) == 1
    box = [float(x) for x in reader.root["/Pages"]["/Kids"][0]["/MediaBox"]]
    assert box == pytest.approx([0, 0, 595.2756, 841.8898], abs=0.01)
    assert document_receipt_no(reader) == "RC202405010000123"
    assert "RC202405010000123" in str(reader.trailer_view["/Info"]["/Title"])


def test_the_chinese_font_is_embedded_as_a_truetype_subset(receipt_pdf: bytes) -> None:
    assert b"/FontFile2" in receipt_pdf
    assert re.search(rb"/BaseFont /[A-Z]{6}\+WenQuanYiMicroHei", receipt_pdf)
    assert b"STSong" not in receipt_pdf


def test_the_page_has_text_a_table_a_qr_code_and_a_red_seal(receipt_pdf: bytes) -> None:
    ops = _page_ops(receipt_pdf)
    assert b"Tj" in ops  # text
    assert ops.count(b" re") > 100  # table cells and QR modules are rectangles
    assert b".86 .08 .1 rg" in ops or b".86 .08 .1 RG" in ops  # the seal's red


def test_rendering_does_not_depend_on_optional_fields(receipt: ReceiptData) -> None:
    bare = replace(
        receipt,
        type=ReceiptType.TOP_UP,
        product=None,
        term=None,
        rate=None,
        value_date=None,
        maturity_date=None,
        rate_bonus=None,
    )
    pdf = render_receipt(bare, bank_name=BANK, verify_url=VERIFY_URL)
    assert pdf.startswith(b"%PDF-")


@pytest.mark.parametrize(
    "change",
    [
        {"receipt_no": "RC 1"},
        {"receipt_no": "../x"},
        {"amount_fen": 0},
        {"time": datetime(2024, 5, 1, 10, 0)},  # noqa: DTZ001 - naive on purpose
    ],
)
def test_bad_receipt_data_is_refused(receipt: ReceiptData, change: dict[str, object]) -> None:
    with pytest.raises(InvalidReceipt):
        replace(receipt, **change)  # type: ignore[arg-type]


def test_receipt_type_labels() -> None:
    labels = [t.label for t in ReceiptType]
    assert labels == ["充值", "提现", "存款购买", "提前支取", "利息", "到期"]


@pytest.mark.parametrize(
    ("name", "masked"), [("张三丰", "张*"), ("张三", "张*"), ("欧阳娜娜", "欧*"), ("", "")]
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("account", "masked"),
    [
        ("6217271234561234", "6217 27** **** 1234"),
        ("6236 6800 1234 5678 901", "6236 68** **** 8901"),
        ("6217 27** **** 1234", "6217 27** **** 1234"),  # already masked stays as is
    ],
)
def test_mask_account(account: str, masked: str) -> None:
    assert mask_account(account) == masked


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        (Decimal("0.0215"), "2.15%"),
        (Decimal("0.01875"), "1.875%"),
        (Decimal("0.03"), "3.00%"),
        (Decimal("0.001"), "0.10%"),
    ],
)
def test_percent(rate: Decimal, text: str) -> None:
    assert percent(rate) == text


def test_receipt_number_keyword() -> None:
    assert receipt_no_from_keywords("电子回单, receipt-no=RC-1_2") == "RC-1_2"
    assert receipt_no_from_keywords("电子回单") is None


def test_verification_link_carries_number_and_code() -> None:
    assert (
        verification_link("https://b.example/v", "RC1234", "7KQ2MXH9PA")
        == "https://b.example/v?no=RC1234&code=7KQ2MXH9PA"
    )
    assert verification_link("https://b.example/v?lang=zh", "RC1234", "X").endswith(
        "?lang=zh&no=RC1234&code=X"
    )


def test_seal_arc_angles() -> None:
    # 3 characters: span min(240, 34 * 2) = 68 degrees centred on 90.
    assert arc_angles(3) == pytest.approx([124.0, 90.0, 56.0])
    assert arc_angles(1) == [90.0]
    assert arc_angles(0) == []
    # 12 characters: capped at 240 degrees, 240/11 apart.
    angles = arc_angles(12)
    assert angles[0] == pytest.approx(210.0) and angles[-1] == pytest.approx(-30.0)


def test_star_points() -> None:
    points = star_points(0, 0, 10)
    assert len(points) == 20
    assert points[0] == pytest.approx(0) and points[1] == pytest.approx(10)  # top point
    inner = math.hypot(points[2], points[3])
    assert inner == pytest.approx(10 * 0.381966, rel=1e-5)  # golden-ratio inner radius


def _reportlab_qr(text: str) -> list[list[bool]]:
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(text)
    code.make()  # lays out and scores all eight masks
    modules: list[list[bool]] = code.modules
    return modules


@pytest.mark.parametrize("number", ["RC202405010000123", "RP20260302000001", "RT20991231999999"])
def test_the_qr_matrix_is_the_one_reportlab_builds(number: str) -> None:
    link = verification_link(VERIFY_URL, number, "7KQ2MXH9PA")
    assert qr_modules(link) == _reportlab_qr(link)


@settings(max_examples=60, deadline=None)
@given(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=400)
)
def test_the_qr_mask_choice_matches_reportlab_for_any_text(text: str) -> None:
    # Versions 1-14, both sides of the version-7 format change; any mask difference shows here.
    assert qr_modules(text) == _reportlab_qr(text)

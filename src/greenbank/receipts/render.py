"""Fill the electronic receipt template: one A4 page with an embedded Chinese font.

The font is WenQuanYi Micro Hei (TrueType outlines, so reportlab embeds a subset of the glyphs
the page uses) shipped on PyPI by ``paperang-p2-fonts-cjk``; no system font is read. The
receipt number goes into the document info (/Title and a ``receipt-no=`` keyword) so the
sealing and verification steps can find it without parsing page content.
"""

from __future__ import annotations

import enum
import io
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, Table, TableStyle

from greenbank.errors import ConfigurationError, ValidationFailed
from greenbank.money import format_yuan, to_chinese_capitals
from greenbank.receipts.qr import draw_qr
from greenbank.receipts.seal_image import draw_seal

FONT_NAME = "GreenbankCJK"
FONT_PACKAGE = "paperang_p2_fonts_cjk"
FONT_FILE = "fonts/wqy-microhei.ttc"
SHANGHAI = ZoneInfo("Asia/Shanghai")
RECEIPT_KEYWORD = "receipt-no="
_RECEIPT_NO_RE = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
_KEYWORD_RE = re.compile(re.escape(RECEIPT_KEYWORD) + r"([A-Za-z0-9_-]{4,64})")

MARGIN = 40.0
INK = colors.Color(0.12, 0.12, 0.12)
RULE = colors.Color(0.45, 0.45, 0.45)
LABEL_BG = colors.Color(0.95, 0.96, 0.95)
ACCENT = colors.Color(0.05, 0.42, 0.27)


class ReceiptType(enum.StrEnum):
    TOP_UP = "top_up"
    WITHDRAWAL = "withdrawal"
    DEPOSIT_PURCHASE = "deposit_purchase"
    EARLY_WITHDRAWAL = "early_withdrawal"
    INTEREST = "interest"
    MATURITY = "maturity"

    @property
    def label(self) -> str:
        return _TYPE_LABELS[self]


_TYPE_LABELS = {
    ReceiptType.TOP_UP: "充值",
    ReceiptType.WITHDRAWAL: "提现",
    ReceiptType.DEPOSIT_PURCHASE: "存款购买",
    ReceiptType.EARLY_WITHDRAWAL: "提前支取",
    ReceiptType.INTEREST: "利息",
    ReceiptType.MATURITY: "到期",
}


class InvalidReceipt(ValidationFailed):
    code = "invalid_receipt"
    title = "Receipt data is not valid"


@dataclass(frozen=True)
class Party:
    """One side of the transfer. Personal names are masked on the page; a bank's own is not."""

    name: str
    account: str
    bank: str
    organisation: bool = False


@dataclass(frozen=True)
class ReceiptData:
    receipt_no: str
    type: ReceiptType
    time: datetime
    serial_no: str
    payer: Party
    payee: Party
    amount_fen: int
    verification_code: str
    product: str | None = None
    term: str | None = None
    rate: Decimal | None = None
    value_date: date | None = None
    maturity_date: date | None = None
    rate_bonus: Decimal | None = None

    def __post_init__(self) -> None:
        if not _RECEIPT_NO_RE.fullmatch(self.receipt_no):
            raise InvalidReceipt("receipt number must be 4-64 letters, digits, '-' or '_'")
        if self.time.utcoffset() is None:
            raise InvalidReceipt("receipt time must be timezone-aware")
        if self.amount_fen <= 0:
            raise InvalidReceipt("receipt amount must be positive", amount_fen=self.amount_fen)


def mask_name(name: str) -> str:
    """张三丰 -> 张*: only the first character shows, and not how many follow."""
    return name[:1] + "*" if name else name


def mask_account(account: str) -> str:
    """6217271234561234 -> 6217 27** **** 1234, whatever the length (it is not shown either)."""
    digits = account.replace(" ", "")
    if "*" in digits or len(digits) <= 10:
        return account
    return f"{digits[:4]} {digits[4:6]}** **** {digits[-4:]}"


def percent(rate: Decimal) -> str:
    """Decimal("0.0215") -> "2.15%", Decimal("0.01875") -> "1.875%"; at least two decimals."""
    value = (rate * 100).normalize()
    exponent = value.as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{value:.{places}f}%"


def receipt_no_from_keywords(keywords: str) -> str | None:
    match = _KEYWORD_RE.search(keywords)
    return match.group(1) if match else None


@lru_cache(maxsize=1)
def register_font() -> str:
    """Register the CJK font once per process (parsing the 5 MB TTC costs ~60 ms)."""
    try:
        source = resources.files(FONT_PACKAGE).joinpath(FONT_FILE)
        with resources.as_file(source) as path:
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise ConfigurationError(
            f"the receipt font package {FONT_PACKAGE!r} is not installed"
        ) from exc
    return FONT_NAME


@lru_cache(maxsize=4)
def _styles(font: str) -> tuple[ParagraphStyle, ParagraphStyle]:
    value = ParagraphStyle("value", fontName=font, fontSize=9.5, leading=12, wordWrap="CJK")
    note = ParagraphStyle(
        "note", fontName=font, fontSize=8, leading=11.5, wordWrap="CJK", textColor=RULE
    )
    return value, note


def verification_link(verify_url: str, receipt_no: str, code: str) -> str:
    separator = "&" if "?" in verify_url else "?"
    return verify_url + separator + urlencode({"no": receipt_no, "code": code})


_rendering = threading.Lock()


def render_page(
    draw: Callable[[Canvas, str], None],
    *,
    title: str,
    author: str,
    keywords: str,
    creator: str,
    subject: str | None = None,
) -> bytes:
    """One unsigned A4 page: ``draw(canvas, font)`` fills it, with the CJK font registered.

    reportlab keeps per-document state in shared objects (the embedded font's subset, the cached
    seal drawing), so pages are drawn one at a time; sealing them stays parallel.
    """
    with _rendering:
        font = register_font()
        buffer = io.BytesIO()
        canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
        canvas.setTitle(title)
        canvas.setAuthor(author)
        if subject is not None:
            canvas.setSubject(subject)
        canvas.setKeywords(keywords)
        canvas.setCreator(creator)
        draw(canvas, font)
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()


def render_receipt(data: ReceiptData, *, bank_name: str, verify_url: str) -> bytes:
    """The receipt as an unsigned one-page A4 PDF."""

    def draw(canvas: Canvas, font: str) -> None:
        width, height = A4
        top = _draw_header(canvas, data, bank_name, font, height - MARGIN)
        table = _details_table(data, font)
        _, table_height = table.wrapOn(canvas, width - 2 * MARGIN, height)
        table_bottom = top - 10 - table_height
        table.drawOn(canvas, MARGIN, table_bottom)
        _draw_footer(canvas, data, font, verify_url, table_bottom)
        seal_size = 118.0
        seal_x, seal_y = width - MARGIN - 20 - seal_size, table_bottom - seal_size / 2 + 8
        draw_seal(canvas, bank_name, font, seal_size, seal_x, seal_y)

    return render_page(
        draw,
        title=f"{bank_name}电子回单 {data.receipt_no}",
        author=bank_name,
        subject=f"电子回单 {data.type.label}",
        keywords=f"电子回单, {RECEIPT_KEYWORD}{data.receipt_no}",
        creator="greenbank receipts",
    )


def draw_title(
    canvas: Canvas,
    *,
    bank: str,
    caption: str,
    label: str,
    font: str,
    top: float,
    size: float,
    spacing: float,
    baseline: float,
) -> None:
    """The head every sealed document of the bank shares: its name and an English caption at
    the left, the spaced-out title centred ``baseline`` points below ``top``."""
    canvas.setFillColor(ACCENT)
    canvas.setFont(font, 15)
    canvas.drawString(MARGIN, top - 15, bank)
    canvas.setFont("Helvetica", 7.5)
    canvas.drawString(MARGIN, top - 26, caption)
    canvas.setFillColor(INK)
    title = canvas.beginText()
    title.setTextRenderMode(2)  # fill + stroke: a bold look from the single regular face
    title.setFont(font, size)
    title.setCharSpace(spacing)
    width = canvas.stringWidth(label, font, size) + 4 * spacing
    title.setTextOrigin((A4[0] - width) / 2, top - baseline)
    title.textOut(label)
    title.setCharSpace(0)  # the text state outlives the text object: reset what was changed
    title.setTextRenderMode(0)
    canvas.setLineWidth(0.5)
    canvas.drawText(title)


def _draw_header(canvas: Canvas, data: ReceiptData, bank: str, font: str, top: float) -> float:
    width = A4[0]
    draw_title(
        canvas, bank=bank, caption="ELECTRONIC RECEIPT SERVICE", label="电 子 回 单",
        font=font, top=top, size=22, spacing=6, baseline=50,
    )  # fmt: skip
    canvas.setFont(font, 9)
    canvas.drawCentredString(width / 2, top - 64, f"（{data.type.label}）")
    line_y = top - 86
    canvas.setFont(font, 9.5)
    canvas.drawString(MARGIN, line_y, f"回单编号：{data.receipt_no}")
    stamp = data.time.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    canvas.drawRightString(width - MARGIN, line_y, f"交易时间：{stamp}")
    canvas.setStrokeColor(ACCENT)
    canvas.setLineWidth(1.6)
    canvas.line(MARGIN, line_y - 7, width - MARGIN, line_y - 7)
    return line_y - 9


def _details_table(data: ReceiptData, font: str) -> Table:
    value_style, _ = _styles(font)

    def v(text: str) -> Paragraph:
        return Paragraph(text, value_style)

    def side(p: Party) -> tuple[str, str, str]:
        name = p.name if p.organisation else mask_name(p.name)
        return name, mask_account(p.account), p.bank

    payer, payee = side(data.payer), side(data.payee)
    amount = ParagraphStyle("amount", parent=value_style, fontSize=12, leading=15)
    rows: list[list[object]] = [
        ["付\n款\n人", "户  名", v(payer[0]), "收\n款\n人", "户  名", v(payee[0])],
        ["", "账  号", v(payer[1]), "", "账  号", v(payee[1])],
        ["", "开户行", v(payer[2]), "", "开户行", v(payee[2])],
        [
            "金额（大写）",
            "",
            Paragraph("人民币" + to_chinese_capitals(data.amount_fen), amount),
            "",
            "",
            "",
        ],
        ["金额（小写）", "", Paragraph("¥" + format_yuan(data.amount_fen), amount), "", "", ""],
        ["交易类型", "", v(data.type.label), "交易流水号", "", v(data.serial_no)],
    ]
    optional = [
        ("产品名称", data.product),
        ("存    期", data.term),
        ("年利率", percent(data.rate) if data.rate is not None else None),
        ("利率加点", percent(data.rate_bonus) if data.rate_bonus is not None else None),
        ("起息日", data.value_date.isoformat() if data.value_date else None),
        ("到期日", data.maturity_date.isoformat() if data.maturity_date else None),
    ]
    present = [(k, val) for k, val in optional if val is not None]
    for i in range(0, len(present), 2):
        pair = present[i : i + 2] + [("", "")] * (2 - len(present[i : i + 2]))
        rows.append([pair[0][0], "", v(pair[0][1]), pair[1][0], "", v(pair[1][1])])
    rows.append(["验证码", "", v(_grouped(data.verification_code)), "", "", ""])
    last = len(rows) - 1
    style: list[Any] = [
        ("FONT", (0, 0), (-1, -1), font, 9.5),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("GRID", (0, 0), (-1, -1), 0.6, RULE),
        ("BOX", (0, 0), (-1, -1), 1.2, INK),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
        ("SPAN", (0, 0), (0, 2)),
        ("SPAN", (3, 0), (3, 2)),
        ("ALIGN", (0, 0), (0, 2), "CENTER"),
        ("ALIGN", (3, 0), (3, 2), "CENTER"),
        ("BACKGROUND", (0, 0), (1, 2), LABEL_BG),
        ("BACKGROUND", (3, 0), (4, 2), LABEL_BG),
    ]
    for row in range(3, last + 1):
        style += [("SPAN", (0, row), (1, row)), ("BACKGROUND", (0, row), (1, row), LABEL_BG)]
        if row in (3, 4, last):
            style.append(("SPAN", (2, row), (5, row)))
        else:
            style += [("SPAN", (3, row), (4, row)), ("BACKGROUND", (3, row), (4, row), LABEL_BG)]
    usable = A4[0] - 2 * MARGIN
    side_col, label_col = 24.0, 58.0
    value_col = (usable - 2 * side_col - 2 * label_col) / 2
    widths = [side_col, label_col, value_col, side_col, label_col, value_col]
    return Table(rows, colWidths=widths, style=TableStyle(style))


def _grouped(code: str) -> str:
    return f"{code[:5]}-{code[5:]}" if len(code) == 10 else code


def _draw_footer(canvas: Canvas, data: ReceiptData, font: str, url: str, bottom: float) -> None:
    _, note_style = _styles(font)
    qr_size = 84.0
    qr_y = bottom - 18 - qr_size
    link = verification_link(url, data.receipt_no, data.verification_code)
    draw_qr(canvas, link, MARGIN, qr_y, qr_size)
    canvas.setFont(font, 7.5)
    canvas.setFillColor(RULE)
    canvas.drawCentredString(MARGIN + qr_size / 2, qr_y - 9, "扫码验证回单")
    notes = Paragraph(
        "说明：<br/>1. 本回单为电子回单，已加盖本行电子签章（数字签名），任何改动均可被检测。"
        "<br/>2. 可扫描左侧二维码，或访问 "
        f"{_escape(url)} 输入回单编号及验证码核验真伪。"
        "<br/>3. 电子回单可重复打印，重复打印不代表重复交易，请勿重复记账。",
        note_style,
    )
    notes_width = A4[0] - 2 * MARGIN - qr_size - 170
    _, notes_height = notes.wrapOn(canvas, notes_width, 200)
    notes.drawOn(canvas, MARGIN + qr_size + 14, bottom - 18 - notes_height)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

"""The carbon reduction certificate (碳减排证书): the green life card's figures, sealed, on A4.

It reuses the receipts library rather than copying it: the embedded CJK font, the QR drawing,
the drawn seal and the PAdES certification seal (``seal_pdf``) and its verifier. The document is
its own ``DocumentKind``: the number rides in the document keywords as
``carbon-certificate-no=`` and the seal's reason reads ``碳减排证书 <number>``, so a certificate
never passes for a receipt, nor a receipt for a certificate. Figures are printed exactly as
stored with the certificate row (already masked), so the public verification shows the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from cryptography import x509
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, Table, TableStyle

from greenbank.carbon.card import kg_text
from greenbank.clock import SHANGHAI
from greenbank.crypto import sm3
from greenbank.receipts.pki import SealIdentity
from greenbank.receipts.qr import draw_qr
from greenbank.receipts.render import (
    ACCENT,
    INK,
    LABEL_BG,
    MARGIN,
    RULE,
    draw_title,
    render_page,
)
from greenbank.receipts.seal_image import draw_seal
from greenbank.receipts.signing import DocumentKind, seal_pdf
from greenbank.receipts.tsa import TimestampAuthority
from greenbank.receipts.verify import VerificationResult, verify_receipt_pdf

KEYWORD = "carbon-certificate-no="
_KEYWORD_RE = re.compile(re.escape(KEYWORD) + r"([A-Za-z0-9_-]{4,64})")
PUBLIC_PATH = "/api/v1/carbon/certificates/"  # the JSON API, for machines
PAGE_PATH = "/verify/certificate"  # the HTML page, for people (the QR code's)
SCENARIOS_PATH = "/api/v1/carbon/scenarios"


def certificate_no_from_keywords(keywords: str) -> str | None:
    match = _KEYWORD_RE.search(keywords)
    return match.group(1) if match else None


CERTIFICATE = DocumentKind("certificate", "碳减排证书 ", certificate_no_from_keywords)


@dataclass(frozen=True)
class Figures:
    """The figures a certificate states, masked, as read from the carbon account."""

    masked_name: str
    since: date  # the account's opening day
    lifetime_mg: int
    provisional_mg: int  # part of lifetime_mg computed with provisional factors
    level: str
    trees: str  # Decimal as text, e.g. "0.20"
    tree_source: str
    tree_provisional: bool
    top_scenarios: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        """SM3 of every figure: equal figures, equal fingerprint (the same-day idempotency)."""
        canonical = json.dumps(asdict(self), default=str, ensure_ascii=False, sort_keys=True)
        return sm3(canonical.encode()).hex()


@dataclass(frozen=True)
class CertificateData:
    certificate_no: str
    issued_at: datetime  # aware; the figures are as of this moment
    verification_code: str
    figures: Figures


def verification_link(base_url: str, certificate_no: str, code: str) -> str:
    """The public verification page printed in the QR code (number and code filled in)."""
    return f"{base_url.rstrip('/')}{PAGE_PATH}?{urlencode({'no': certificate_no, 'code': code})}"


def render_certificate(data: CertificateData, *, bank_name: str, base_url: str) -> bytes:
    """The certificate as an unsigned one-page A4 PDF."""

    def draw(canvas: Canvas, font: str) -> None:
        width, height = A4
        y = _header(canvas, data, bank_name, font, height - MARGIN)
        y = _flow(canvas, _statement(data, font), y - 18)
        canvas.setFillColor(ACCENT)
        canvas.setFont(font, 30)
        canvas.drawCentredString(width / 2, y - 42, f"{kg_text(data.figures.lifetime_mg)} kg CO₂e")
        y = _flow(canvas, _figures_table(data, font), y - 66)
        y = _flow(canvas, _methodology_note(data, font, base_url), y - 14)
        _footer(canvas, data, bank_name, font, base_url, y - 18)

    return render_page(
        draw,
        title=f"{bank_name}碳减排证书 {data.certificate_no}",
        author=bank_name,
        subject="个人碳账户累计减排量证明",
        keywords=f"碳减排证书, {KEYWORD}{data.certificate_no}",
        creator="greenbank carbon",
    )


def seal_certificate(
    pdf: bytes, identity: SealIdentity, *, tsa: TimestampAuthority | None = None
) -> bytes:
    """The bank's receipt seal as a certification signature, with the certificate's reason."""
    return seal_pdf(pdf, identity, tsa=tsa, kind=CERTIFICATE)


def verify_certificate_pdf(
    pdf: bytes, trust_roots: Sequence[x509.Certificate], *, at: datetime | None = None
) -> VerificationResult:
    """The receipts' offline check for this kind (``receipt_no`` holds the certificate number;
    ``not_a_receipt`` means not a certificate sealed by the receipt seal)."""
    return verify_receipt_pdf(pdf, trust_roots, at=at, kind=CERTIFICATE)


def _header(canvas: Canvas, data: CertificateData, bank: str, font: str, top: float) -> float:
    width = A4[0]
    draw_title(
        canvas, bank=bank, caption="CARBON REDUCTION CERTIFICATE", label="碳 减 排 证 书",
        font=font, top=top, size=24, spacing=8, baseline=58,
    )  # fmt: skip
    canvas.setFont(font, 9.5)
    canvas.drawCentredString(width / 2, top - 76, "（绿色生活名片 · 个人碳账户累计减排量）")
    line_y = top - 100
    canvas.drawString(MARGIN, line_y, f"证书编号：{data.certificate_no}")
    issued = f"出具时间：{_shanghai(data.issued_at)}（北京时间）"
    canvas.drawRightString(width - MARGIN, line_y, issued)
    canvas.setStrokeColor(ACCENT)
    canvas.setLineWidth(1.6)
    canvas.line(MARGIN, line_y - 7, width - MARGIN, line_y - 7)
    return line_y - 9


def _flow(canvas: Canvas, item: Paragraph | Table, top: float) -> float:
    """Draw a flowable with its top at ``top``, full text width; returns its bottom."""
    _, item_height = item.wrapOn(canvas, A4[0] - 2 * MARGIN, A4[1])
    item.drawOn(canvas, MARGIN, top - item_height)
    return float(top - item_height)


def _statement(data: CertificateData, font: str) -> Paragraph:
    fig = data.figures
    style = ParagraphStyle(
        "statement", fontName=font, fontSize=12, leading=21, wordWrap="CJK", firstLineIndent=24
    )
    return Paragraph(
        f"兹证明 {escape(fig.masked_name)} 自 {fig.since.isoformat()} 开立本行个人碳账户以来，"
        "经本行按已公布的方法学逐笔核算，"
        f"截至 {_shanghai(data.issued_at)}（北京时间）其低碳行为累计减少二氧化碳当量排放：",
        style,
    )


def _figures_table(data: CertificateData, font: str) -> Table:
    value = ParagraphStyle("value", fontName=font, fontSize=10, leading=14, wordWrap="CJK")

    def v(text: str) -> Paragraph:
        return Paragraph(escape(text), value)

    fig = data.figures
    tree_note = "；暂估因子" if fig.tree_provisional else ""
    rows = [
        ["累计减排量", v(f"{kg_text(fig.lifetime_mg)} kg CO₂e")],
        ["其中暂估部分", v(f"{kg_text(fig.provisional_mg)} kg CO₂e（按暂估排放因子计算）")],
        ["相当于树木", v(f"{fig.trees} 棵（10 年生城市树苗的固碳量{tree_note}）")],
        ["树木当量来源", v(fig.tree_source)],
        ["绿色等级", v(fig.level)],
        ["常用低碳场景", v("、".join(fig.top_scenarios) or "暂无")],
        ["验证码", v(f"{data.verification_code[:5]}-{data.verification_code[5:]}")],
    ]
    style = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), font, 10),
            ("TEXTCOLOR", (0, 0), (-1, -1), INK),
            ("GRID", (0, 0), (-1, -1), 0.6, RULE),
            ("BOX", (0, 0), (-1, -1), 1.2, INK),
            ("BACKGROUND", (0, 0), (0, -1), LABEL_BG),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 6),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
        ]
    )
    label_width = 96.0
    return Table(rows, colWidths=[label_width, A4[0] - 2 * MARGIN - label_width], style=style)


def _methodology_note(data: CertificateData, font: str, base_url: str) -> Paragraph:
    note = ParagraphStyle(
        "note", fontName=font, fontSize=8.5, leading=13, wordWrap="CJK", textColor=RULE
    )
    scenarios = escape(base_url.rstrip("/") + SCENARIOS_PATH)
    return Paragraph(
        "核算说明：<br/>"
        "1. 每笔减排量按行为发生当日（北京时间）生效的场景方法学版本计算，公式、参数、单位及来源"
        f"可在 {scenarios} 查询；低于基准线的行为不计减排（保守性原则），并受每日、每月上限约束。"
        "<br/>2. 标注“暂估”的因子尚无公开发布值，相关减排量为暂估数；方法学更新后历史记录可能重新"
        "核算并以调整记录入账，本证书所载数字不随之改变。"
        "<br/>3. 本证书仅证明截至出具时间的累计数据，不可转让，"
        "不构成碳排放权、碳信用或其他碳资产。",
        note,
    )


def _footer(
    canvas: Canvas, data: CertificateData, bank: str, font: str, base_url: str, top: float
) -> None:
    width = A4[0]
    qr_size = 84.0
    qr_y = top - qr_size
    link = verification_link(base_url, data.certificate_no, data.verification_code)
    draw_qr(canvas, link, MARGIN, qr_y, qr_size)
    canvas.setFont(font, 7.5)
    canvas.setFillColor(RULE)
    canvas.drawCentredString(MARGIN + qr_size / 2, qr_y - 9, "扫码验证证书")
    notes = Paragraph(
        "验证方式：<br/>1. 本证书已加盖本行电子签章（数字签名），任何改动均可被检测。"
        "<br/>2. 扫描左侧二维码，或访问 "
        f"{escape(base_url.rstrip('/') + PAGE_PATH)} 输入证书编号和验证码，"
        "可查看本行存档的证书数据并下载原件比对，也可上传证书文件校验。",
        ParagraphStyle(
            "footer", fontName=font, fontSize=8, leading=11.5, wordWrap="CJK", textColor=RULE
        ),
    )
    notes_width = width - 2 * MARGIN - qr_size - 170
    _, notes_height = notes.wrapOn(canvas, notes_width, 200)
    notes.drawOn(canvas, MARGIN + qr_size + 14, top - notes_height)
    seal_size = 118.0
    seal_x = width - MARGIN - 20 - seal_size
    canvas.setFillColor(INK)
    canvas.setFont(font, 10.5)
    canvas.drawCentredString(seal_x + seal_size / 2, top - 10, f"出具单位：{bank}")
    day = data.issued_at.astimezone(SHANGHAI).strftime("%Y年%m月%d日")
    canvas.drawCentredString(seal_x + seal_size / 2, top - 26, day)
    draw_seal(canvas, bank, font, seal_size, seal_x, top - 20 - seal_size)


def _shanghai(instant: datetime) -> str:
    return instant.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")

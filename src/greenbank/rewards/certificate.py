"""The donation certificate: a one-page A4 PDF sealed with the bank's electronic seal.

It reuses the receipts library (font, drawn seal, ``seal_pdf``), so the certificate number rides
in the document keywords as a receipt number does and ``verify_receipt_pdf`` checks it offline
(the signature's reason reads ``电子回单 <certificate no>``, the receipts library's wording).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from greenbank.clock import SHANGHAI
from greenbank.receipts.pki import SealIdentity
from greenbank.receipts.render import ACCENT, MARGIN, RECEIPT_KEYWORD, render_page
from greenbank.receipts.seal_image import draw_seal
from greenbank.receipts.signing import seal_pdf


@dataclass(frozen=True)
class CertificateData:
    certificate_no: str
    donor: str  # masked
    project: str
    partner: str
    units: int
    unit_name: str
    points: int
    donated_at: datetime


def render_certificate(data: CertificateData, *, bank_name: str) -> bytes:
    def draw(canvas: Canvas, font: str) -> None:
        width, height = A4
        canvas.setFillColor(ACCENT)
        canvas.setFont(font, 22)
        canvas.drawCentredString(width / 2, height - MARGIN - 40, "公益捐赠证书")
        canvas.setFont(font, 11)
        canvas.drawCentredString(width / 2, height - MARGIN - 62, "Certificate of Donation")
        when = data.donated_at.astimezone(SHANGHAI).strftime("%Y年%m月%d日")
        lines = [
            f"证书编号：{data.certificate_no}",
            f"捐赠人：{data.donor}",
            f"公益项目：{data.project}",
            f"执行机构：{data.partner}",
            f"捐赠数量：{data.units} {data.unit_name}",
            f"使用绿色积分：{data.points}",
            f"捐赠日期：{when}",
            "",
            "感谢您以低碳生活积累的绿色积分支持公益事业。",
        ]
        canvas.setFillColorRGB(0, 0, 0)
        canvas.setFont(font, 13)
        y = height - MARGIN - 120
        for line in lines:
            canvas.drawString(MARGIN + 30, y, line)
            y -= 26
        canvas.setFont(font, 12)
        canvas.drawRightString(width - MARGIN - 30, y - 20, bank_name)
        size = 118.0
        draw_seal(canvas, bank_name, font, size, width - MARGIN - 40 - size, y - 90)

    return render_page(
        draw,
        title=f"{bank_name}公益捐赠证书 {data.certificate_no}",
        author=bank_name,
        keywords=f"公益捐赠证书, {RECEIPT_KEYWORD}{data.certificate_no}",
        creator="greenbank rewards",
    )


def sealed_certificate(data: CertificateData, *, bank_name: str, identity: SealIdentity) -> bytes:
    return seal_pdf(render_certificate(data, bank_name=bank_name), identity)

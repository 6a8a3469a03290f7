"""The green life card (绿色生活名片): a shareable card per customer, as PNG and SVG.

It shows only what a customer would share: the masked name, the lifetime reduction, the trees
equivalent with its (provisional) source, the level, the top scenarios, and a QR code to the
public verification page ``/verify/card/{public_id}`` (``carbon.pages``; for machines
``/api/v1/carbon/cards/{public_id}``), which shows the same masked data read from the database
(so a doctored image does not match). The PNG uses the CJK font the
receipts use (WenQuanYi Micro Hei from ``paperang-p2-fonts-cjk``); the SVG names a CJK font
family and lets the viewer render it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont
from reportlab.graphics.barcode import qrencoder
from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.carbon.errors import CardNotFound
from greenbank.carbon.expr import plain
from greenbank.carbon.models import CarbonAccount, Counter, Scenario
from greenbank.carbon.points import MG_PER_KG, TREE_FACTOR, level_for, trees_equivalent
from greenbank.clock import business_date
from greenbank.crypto import mask_name
from greenbank.customers.models import Customer
from greenbank.errors import ConfigurationError

FONT_PACKAGE, FONT_FILE = "paperang_p2_fonts_cjk", "fonts/wqy-microhei.ttc"
WIDTH, HEIGHT = 720, 420
GREEN, INK, PALE = (14, 107, 69), (30, 30, 30), (236, 246, 240)
CARD_PATH = "/api/v1/carbon/cards/"  # the JSON API, for machines
CARD_PAGE_PATH = "/verify/card/"  # the HTML page, for people (the QR code's)


@dataclass(frozen=True)
class CardData:
    public_id: str
    masked_name: str
    since: date
    lifetime_mg: int  # never negative (a net negative adjustment shows as 0)
    lifetime_kg: str  # e.g. "12.34"
    trees: Decimal
    tree_source: str
    tree_provisional: bool
    level: str  # 绿芽 / 绿叶 / 绿树 / 森林
    top_scenarios: list[str]
    verify_url: str


def card_for_customer(session: Session, customer_id: str, base_url: str) -> CardData:
    account = session.get(CarbonAccount, customer_id)
    if account is None:
        raise CardNotFound("open the carbon account first")
    return _data(session, account, base_url)


def card_by_public_id(session: Session, public_id: str, base_url: str) -> CardData:
    account = session.scalar(select(CarbonAccount).where(CarbonAccount.public_id == public_id))
    if account is None:
        raise CardNotFound()
    return _data(session, account, base_url)


def _data(session: Session, account: CarbonAccount, base_url: str) -> CardData:
    lifetime = max(0, account.lifetime_mg)
    top = session.execute(
        select(Scenario.name)
        .join(Counter, Counter.scenario == Scenario.code)
        .where(Counter.customer_id == account.customer_id, Counter.period == "lifetime")
        .order_by(Counter.co2e_mg.desc(), Scenario.code)
        .limit(3)
    )
    return CardData(
        public_id=account.public_id,
        masked_name=_masked_name(session, account.customer_id),
        since=business_date(account.consented_at),  # the Shanghai day, not the UTC one
        lifetime_mg=lifetime,
        lifetime_kg=kg_text(lifetime),
        trees=trees_equivalent(lifetime),
        tree_source=TREE_FACTOR.source,
        tree_provisional=TREE_FACTOR.status.value == "provisional",
        level=level_for(lifetime).level.name,
        top_scenarios=[name for (name,) in top],
        verify_url=f"{base_url.rstrip('/')}{CARD_PAGE_PATH}{account.public_id}",
    )


def kg_text(co2e_mg: int) -> str:
    """Milligrams as kilograms to two decimals, as printed: 89_000 -> "0.09", 0 -> "0"."""
    kg = (Decimal(co2e_mg) / MG_PER_KG).quantize(Decimal("0.01"))
    return plain(kg) if kg else "0"


def _masked_name(session: Session, customer_id: str) -> str:
    """Seam: the customers domain has no name look-up service yet, so the (encrypted) column is
    read here and masked at once; without a name on file the card says 绿色用户."""
    try:
        customer = session.get(Customer, customer_id)
        name = customer.name if customer is not None else None
    except ConfigurationError:  # no key ring in this process
        name = None
    return mask_name(name) if name else "绿色用户"


def _lines(data: CardData) -> list[tuple[str, int, tuple[int, int, int]]]:
    """(text, font size, colour) from the top; shared by PNG and SVG so they always agree."""
    trees_note = "（暂估因子）" if data.tree_provisional else ""
    return [
        ("绿色生活名片", 30, GREEN),
        (f"{data.masked_name}  ·  {data.level}", 24, INK),
        (f"累计减排 {data.lifetime_kg} kg CO₂e", 34, GREEN),
        (f"相当于 {data.trees} 棵树一年吸收{trees_note}", 20, INK),
        ("常用低碳场景：" + ("、".join(data.top_scenarios) or "暂无"), 18, INK),
        (f"自 {data.since.isoformat()} 起", 16, INK),
    ]


def qr_modules(text: str) -> list[list[bool]]:
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(text)
    code.make()
    return [[bool(cell) for cell in row] for row in code.modules]


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    try:
        path = resources.files(FONT_PACKAGE).joinpath(FONT_FILE)
        with resources.as_file(path) as file:
            return ImageFont.truetype(str(file), size)
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        raise ConfigurationError(f"the CJK font package {FONT_PACKAGE!r} is missing") from exc


def render_png(data: CardData) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), PALE)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 12), fill=GREEN)
    y = 36
    for text, size, colour in _lines(data):
        draw.text((36, y), text, font=_font(size), fill=colour)
        y += size + 22
    modules = qr_modules(data.verify_url)
    cell = 150 // (len(modules) + 4)
    left, top = WIDTH - 36 - cell * (len(modules) + 4), HEIGHT - 36 - cell * (len(modules) + 4)
    draw.rectangle(
        (left, top, left + cell * (len(modules) + 4), top + cell * (len(modules) + 4)),
        fill=(255, 255, 255),
    )
    for r, row in enumerate(modules):
        for c, dark in enumerate(row):
            if dark:
                x, yy = left + (c + 2) * cell, top + (r + 2) * cell
                draw.rectangle((x, yy, x + cell - 1, yy + cell - 1), fill=(0, 0, 0))
    draw.text((36, HEIGHT - 30), f"扫码验证 · {data.public_id}", font=_font(12), fill=INK)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def render_svg(data: CardData) -> str:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="WenQuanYi Micro Hei, Noto Sans CJK SC, '
        'PingFang SC, Microsoft YaHei, sans-serif">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="rgb{PALE}"/>',
        f'<rect width="{WIDTH}" height="12" fill="rgb{GREEN}"/>',
    ]
    y = 36
    for text, size, colour in _lines(data):
        parts.append(
            f'<text x="36" y="{y + size}" font-size="{size}" fill="rgb{colour}">'
            f"{escape(text)}</text>"
        )
        y += size + 22
    modules = qr_modules(data.verify_url)
    cell = 150 // (len(modules) + 4)
    side = cell * (len(modules) + 4)
    left, top = WIDTH - 36 - side, HEIGHT - 36 - side
    path = "".join(
        f"M{left + (c + 2) * cell},{top + (r + 2) * cell}h{cell}v{cell}h-{cell}z"
        for r, row in enumerate(modules)
        for c, dark in enumerate(row)
        if dark
    )
    parts += [
        f'<rect x="{left}" y="{top}" width="{side}" height="{side}" fill="#fff"/>',
        f'<path d="{path}" fill="#000"/>',
        f'<text x="36" y="{HEIGHT - 18}" font-size="12" fill="rgb{INK}">'
        f"扫码验证 · {escape(data.public_id)}</text>",
        "</svg>",
    ]
    return "\n".join(parts)

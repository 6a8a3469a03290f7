"""Tables of the deposit catalogue: products and the posted-rate history.

Enum settings are stored as their short values ('time_deposit', '1y', 'refuse') so rows read well
in plain SQL; rates are stored as exact decimal strings, never REAL (architecture: money & rates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from greenbank.db import Base
from greenbank.deposits.domain import (
    FEN_PER_YUAN,
    BelowMinimum,
    DayCount,
    DepositProduct,
    InvalidProduct,
    ProductKind,
    Term,
)
from greenbank.ids import new_id


class ProductStatus(Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    PAUSED = "paused"
    RETIRED = "retired"


class RateKind(Enum):
    PRODUCT = "product"  # the product's own rate, fixed for a holding on its value date
    DEMAND = "demand"  # the bank-wide demand rate: early withdrawals and days past maturity


DEMAND_SERIES = "demand"


# 存款保险条例 (国务院令第660号) Art. 5: the statement every product page shows.
DEPOSIT_INSURANCE_STATEMENT = (
    "存款保险提示：本行已参加存款保险。依照《存款保险条例》，同一存款人在同一家投保机构所有"
    "被保险存款账户的存款本金和利息合并计算的资金数额在最高偿付限额（人民币50万元）以内的，"
    "实行全额偿付；超出最高偿付限额的部分，依法从投保机构清算财产中受偿。"
)

_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,39}")


def with_insurance_statement(text: str) -> str:
    """Disclosure text that always ends with the deposit-insurance statement."""
    text = text.strip()
    if DEPOSIT_INSURANCE_STATEMENT in text:
        return text
    return f"{text}\n\n{DEPOSIT_INSURANCE_STATEMENT}" if text else DEPOSIT_INSURANCE_STATEMENT


@dataclass(frozen=True, kw_only=True)
class ProductSpec:
    """The settings a Product row is created from; amounts are fen, ``None`` limits: no limit."""

    code: str
    name: str
    kind: ProductKind
    term: Term
    minimum_fen: int
    sale_start: datetime
    step_fen: int = FEN_PER_YUAN
    maximum_fen: int | None = None
    total_quota_fen: int | None = None
    per_customer_limit_fen: int | None = None
    sale_end: datetime | None = None
    partial_withdrawal_allowed: bool = True
    below_minimum: BelowMinimum = BelowMinimum.REFUSE
    rollover_allowed: bool = True
    return_to_balance_allowed: bool = True
    day_count: DayCount = DayCount.YEARS_MONTHS_DAYS
    green: bool = False
    disclosure: str = ""

    def check(self) -> None:
        """What the pure DepositProduct does not check (it checks terms and amounts)."""
        if not _CODE.fullmatch(self.code):
            raise InvalidProduct("code is 2-40 of A-Z, 0-9 and '-', not starting with '-'")
        if not self.name.strip():
            raise InvalidProduct("name is required")
        for limit in (self.total_quota_fen, self.per_customer_limit_fen):
            if limit is not None and limit < self.minimum_fen:
                raise InvalidProduct("quota and per-customer limit are at least the minimum")
        if self.sale_start.tzinfo is None or (self.sale_end and self.sale_end.tzinfo is None):
            raise InvalidProduct("sale window times must be timezone-aware")
        if self.sale_end is not None and self.sale_end <= self.sale_start:
            raise InvalidProduct("the sale window ends before it starts")
        if not (self.rollover_allowed or self.return_to_balance_allowed):
            raise InvalidProduct("allow at least one maturity option")


def _code_of(member: Enum) -> str:
    return member.label if isinstance(member, Term) else str(member.value)


class CodedEnum(TypeDecorator[Any]):
    """An Enum member stored as its short code (Term as its label, '1y')."""

    impl = String(20)
    cache_ok = True

    def __init__(self, enum: type[Enum]) -> None:
        super().__init__()
        self.enum = enum
        # Batch writes and reads look codes up instead of going through the Enum machinery.
        self._members = {_code_of(member): member for member in enum}
        self._codes = {member: _code_of(member) for member in enum}

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        code = self._codes.get(value)
        return code if code is not None else _code_of(self.enum(value))

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        return self._members[value]


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal stored as its exact string ('0.0150'): SQLite's NUMERIC would go through float."""

    impl = String(24)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


class Product(Base):
    """One deposit product (one term each). ``None`` limits mean 'no limit'."""

    __tablename__ = "deposit_products"
    __table_args__ = (
        CheckConstraint("minimum_fen > 0 AND step_fen > 0", name="positive_amounts"),
        CheckConstraint("quota_used_fen >= 0", name="quota_used_not_negative"),
        CheckConstraint(
            "total_quota_fen IS NULL OR quota_used_fen <= total_quota_fen", name="within_quota"
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[ProductKind] = mapped_column(CodedEnum(ProductKind))
    term: Mapped[Term] = mapped_column(CodedEnum(Term))
    minimum_fen: Mapped[int]
    maximum_fen: Mapped[int | None]
    step_fen: Mapped[int]
    total_quota_fen: Mapped[int | None]
    per_customer_limit_fen: Mapped[int | None]
    quota_used_fen: Mapped[int] = mapped_column(default=0)
    sale_start: Mapped[datetime]
    sale_end: Mapped[datetime | None]
    partial_withdrawal_allowed: Mapped[bool]
    below_minimum: Mapped[BelowMinimum] = mapped_column(CodedEnum(BelowMinimum))
    rollover_allowed: Mapped[bool]
    return_to_balance_allowed: Mapped[bool]
    day_count: Mapped[DayCount] = mapped_column(CodedEnum(DayCount))
    green: Mapped[bool]
    disclosure: Mapped[str] = mapped_column(Text)
    status: Mapped[ProductStatus] = mapped_column(CodedEnum(ProductStatus), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def settings(self) -> DepositProduct:
        """The pure product the interest engine and amount checks work with."""
        return DepositProduct(
            kind=self.kind,
            terms=frozenset({self.term}),
            minimum_fen=self.minimum_fen,
            step_fen=self.step_fen,
            maximum_fen=self.maximum_fen,
            day_count=self.day_count,
            below_minimum=self.below_minimum,
        )

    @property
    def quota_remaining_fen(self) -> int | None:
        if self.total_quota_fen is None:
            return None
        return self.total_quota_fen - self.quota_used_fen

    def in_sale_window(self, now: datetime) -> bool:
        return self.sale_start <= now and (self.sale_end is None or now < self.sale_end)

    def on_sale(self, now: datetime) -> bool:
        return self.status is ProductStatus.PUBLISHED and self.in_sale_window(now)


class RatePosting(Base):
    """One posted annual rate; postings are never updated, a new one supersedes by date.

    ``series`` is the product id or 'demand': it makes 'one posting per series per day' a UNIQUE
    constraint, which a NULL ``product_id`` could not (NULLs are distinct in UNIQUE).
    """

    __tablename__ = "deposit_rates"
    __table_args__ = (
        UniqueConstraint("series", "effective_from"),
        CheckConstraint(
            "(kind = 'demand' AND product_id IS NULL)"
            " OR (kind = 'product' AND product_id = series)",
            name="series_matches_kind",
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    series: Mapped[str] = mapped_column(String(36))
    kind: Mapped[RateKind] = mapped_column(CodedEnum(RateKind))
    product_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("deposit_products.id"), index=True
    )
    rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    effective_from: Mapped[date]
    posted_at: Mapped[datetime]
    posted_by: Mapped[str] = mapped_column(String(100))

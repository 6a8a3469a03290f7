"""Reads over holdings: the customer's holdings and history, and the staff figures.

Accrued interest is the contract rate to date (for display: withdrawing early pays the demand
rate instead, which the withdrawal trial shows); expected interest is what the current term pays
at maturity. Staff figures are set-based: one grouped query per report.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from greenbank.clock import Clock, business_date
from greenbank.db import UowFactory
from greenbank.deposits.catalogue import read
from greenbank.deposits.holdings_models import (
    DepositHolding,
    HoldingPayout,
    HoldingStatus,
    MaturityOption,
)
from greenbank.deposits.interest import accrued_interest, expected_interest
from greenbank.deposits.models import Product
from greenbank.deposits.withdrawal import HoldingNotFound


@dataclass(frozen=True, slots=True)
class HoldingView:
    holding: DepositHolding
    product_code: str
    product_name: str
    accrued_interest_fen: int
    expected_interest_fen: int
    payouts: tuple[HoldingPayout, ...] = ()


def _view(
    holding: DepositHolding, code: str, name: str, today: date, payouts: tuple[HoldingPayout, ...]
) -> HoldingView:
    if holding.status is HoldingStatus.ACTIVE:
        contract = holding.contract
        accrued, expected = accrued_interest(contract, today), expected_interest(contract)
    else:
        accrued = expected = 0
    return HoldingView(holding, code, name, accrued, expected, payouts)


def list_holdings(
    *, uow: UowFactory, clock: Clock, customer_id: str, include_closed: bool = False
) -> list[HoldingView]:
    """The customer's holdings, newest first, with accrued and expected interest."""
    today = business_date(clock.now())

    def query(session: Session) -> list[HoldingView]:
        stmt = (
            select(DepositHolding, Product.code, Product.name)
            .join(Product, Product.id == DepositHolding.product_id)
            .where(DepositHolding.customer_id == customer_id)
            .order_by(DepositHolding.opened_at.desc(), DepositHolding.id.desc())
        )
        if not include_closed:
            stmt = stmt.where(DepositHolding.status == HoldingStatus.ACTIVE)
        return [_view(h, code, name, today, ()) for h, code, name in session.execute(stmt)]

    return read(uow, query)


def holding_detail(
    *, uow: UowFactory, clock: Clock, customer_id: str, holding_id: str
) -> HoldingView:
    """One holding with its history (withdrawals, rollovers, the payout at maturity)."""
    today = business_date(clock.now())

    def query(session: Session) -> HoldingView:
        row = session.execute(
            select(DepositHolding, Product.code, Product.name)
            .join(Product, Product.id == DepositHolding.product_id)
            .where(DepositHolding.id == holding_id, DepositHolding.customer_id == customer_id)
        ).first()
        if row is None:
            raise HoldingNotFound(holding_id=holding_id)
        payouts = session.scalars(
            select(HoldingPayout)
            .where(HoldingPayout.holding_id == holding_id)
            .order_by(HoldingPayout.paid_on, HoldingPayout.created_at, HoldingPayout.cycle)
        )
        holding, code, name = row
        return _view(holding, code, name, today, tuple(payouts))

    return read(uow, query)


@dataclass(frozen=True, slots=True)
class ProductSales:
    code: str
    name: str
    status: str
    holdings_active: int
    principal_outstanding_fen: int
    sold_fen: int  # every purchase ever (opening principals; rollovers are not sales)
    total_quota_fen: int | None
    quota_remaining_fen: int | None


def product_sales(*, uow: UowFactory) -> list[ProductSales]:
    """Per product: active holdings, principal outstanding, sold to date, quota left."""

    def query(session: Session) -> list[ProductSales]:
        active = DepositHolding.status == HoldingStatus.ACTIVE
        figures = {
            pid: (int(n), int(outstanding), int(sold))
            for pid, n, outstanding, sold in session.execute(
                select(
                    DepositHolding.product_id,
                    func.count().filter(active),
                    func.coalesce(func.sum(DepositHolding.principal_fen).filter(active), 0),
                    func.sum(DepositHolding.opening_principal_fen),
                ).group_by(DepositHolding.product_id)
            )
        }
        products = session.scalars(select(Product).order_by(Product.code))
        return [
            ProductSales(
                code=p.code,
                name=p.name,
                status=p.status.value,
                holdings_active=figures.get(p.id, (0, 0, 0))[0],
                principal_outstanding_fen=figures.get(p.id, (0, 0, 0))[1],
                sold_fen=figures.get(p.id, (0, 0, 0))[2],
                total_quota_fen=p.total_quota_fen,
                quota_remaining_fen=p.quota_remaining_fen,
            )
            for p in products
        ]

    return read(uow, query)


@dataclass
class MaturityDay:
    day: date
    holdings: int = 0
    principal_fen: int = 0
    interest_fen: int = 0  # term interest due that day
    rollover: int = 0  # how many renew automatically
    by_product: dict[str, int] = field(default_factory=dict)  # principal per product code


def maturity_calendar(*, uow: UowFactory, clock: Clock, days: int = 90) -> list[MaturityDay]:
    """What matures each day from today for ``days`` days: holdings, principal, interest."""
    today = business_date(clock.now())
    end = today + timedelta(days=days)

    def query(session: Session) -> list[MaturityDay]:
        stmt = (
            select(DepositHolding, Product.code)
            .join(Product, Product.id == DepositHolding.product_id)
            .where(
                DepositHolding.status == HoldingStatus.ACTIVE,
                DepositHolding.maturity_date >= today,
                DepositHolding.maturity_date < end,
            )
        )
        calendar: dict[date, MaturityDay] = {}
        by_product: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for holding, code in session.execute(stmt):
            entry = calendar.setdefault(holding.maturity_date, MaturityDay(holding.maturity_date))
            entry.holdings += 1
            entry.principal_fen += holding.principal_fen
            entry.interest_fen += expected_interest(holding.contract)
            entry.rollover += holding.maturity_option is MaturityOption.ROLLOVER
            by_product[holding.maturity_date][code] += holding.principal_fen
        for day, entry in calendar.items():
            entry.by_product = dict(sorted(by_product[day].items()))
        return [calendar[day] for day in sorted(calendar)]

    return read(uow, query)

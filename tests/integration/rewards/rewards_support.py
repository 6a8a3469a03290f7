"""Customers with an open carbon account holding some points, for the rewards tests.

The carbon account is opened through its service; the points balance is then set directly
(the event pipeline that earns points is tested by the carbon tests).
"""

from __future__ import annotations

from sqlalchemy import update

from greenbank.bootstrap import Container
from greenbank.carbon.consent import TERMS_VERSION, open_account
from greenbank.carbon.models import CarbonAccount
from greenbank.carbon.points import DEFAULT_LEVELS
from greenbank.ids import new_id
from greenbank.rewards import mall
from greenbank.rewards.domain import ItemKind
from greenbank.rewards.schemas import ItemIn, ItemOut

STAFF = "pm.li"
LEVEL_MG = {level.code: level.min_mg for level in DEFAULT_LEVELS}


def carbon_customer(
    container: Container,
    points: int,
    *,
    level: str = "sprout",
    lifetime_mg: int | None = None,
    customer_id: str | None = None,
) -> str:
    """A customer at ``level`` (lifetime reduction: the level's threshold unless given)."""
    customer_id = customer_id or new_id()
    open_account(
        container.uow,
        container.clock,
        customer_id=customer_id,
        accept_terms=True,
        terms_version=TERMS_VERSION,
    )
    with container.uow() as unit:
        unit.session.execute(
            update(CarbonAccount)
            .where(CarbonAccount.customer_id == customer_id)
            .values(
                points_balance=points,
                points_earned=points,
                level=level,
                lifetime_mg=LEVEL_MG[level] if lifetime_mg is None else lifetime_mg,
            )
        )
        unit.commit()
    return customer_id


def points_of(container: Container, customer_id: str) -> int:
    with container.uow() as unit:
        account = unit.session.get_one(CarbonAccount, customer_id)
        return account.points_balance


def make_item(container: Container, code: str, **overrides: object) -> ItemOut:
    spec = {"code": code, "kind": ItemKind.GIFT, "name": f"gift {code}", "points_price": 100,
            "stock": 10, **overrides}  # fmt: skip
    return mall.create_item(
        uow=container.uow, clock=container.clock, spec=ItemIn.model_validate(spec), by=STAFF
    )

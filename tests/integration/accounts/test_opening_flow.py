"""The opening state machine against a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from sqlalchemy import select, text
from tests.integration.accounts.opening_support import walk

from greenbank.accounts import review
from greenbank.accounts.models import ApplicationState, BoundCard, ClassIIAccount
from greenbank.bootstrap import Container
from greenbank.customers.models import Customer
from greenbank.ledger.service import get_account


def test_wang_xiaoming_opens_an_account(container: Container) -> None:
    svc, customer_id, app = walk(container, "wang_xiaoming")
    assert app.state == ApplicationState.CARD_BOUND
    opened = review.submit(svc, customer_id=customer_id, application_id=app.id)
    assert opened.state == ApplicationState.OPENED
    with container.uow() as work:
        account = work.session.scalars(select(ClassIIAccount)).one()
        card = work.session.scalars(select(BoundCard)).one()
        customer = work.session.get_one(Customer, customer_id)
        ledger = get_account(work.session, f"customer:{customer_id}:class2")
        assert account.ledger_account_id == ledger.id
        assert account.account_number.startswith("6231880001")
        assert card.masked_number == "6217 27** **** ***0 015"
        assert customer.status == "verified"
        assert customer.name == "王小明"
        raw = work.session.execute(text("SELECT id_number FROM customers")).scalar_one()
        assert "440106199003071231" not in raw

"""Issue 5: a customer who closed their Class II account can open a new one (one OPEN account
per person), which gets a new number on the same, reopened ledger balance."""

from __future__ import annotations

import pytest
from funds_support import World, assert_ledger_clean, open_account
from sqlalchemy import select

from greenbank.accounts import states
from greenbank.accounts.errors import AccountLimitReached
from greenbank.accounts.models import ClassIIAccount
from greenbank.accounts.service import get_open_account
from greenbank.bootstrap import Container
from greenbank.ledger import service as ledger
from greenbank.ledger.errors import AccountNotFound


def _close(world: World) -> None:
    closed = states.close(
        world.container.uow, world.rt, customer_id=world.customer_id, idempotency_key="close-1"
    )
    assert closed.status == "closed"


def test_a_closed_account_can_be_followed_by_a_new_one(container: Container) -> None:
    world = World.open(container)
    world.funded(10_000)
    world.withdraw(10_000)
    world.settle()
    assert world.balance().balance_fen == 0
    _close(world)
    old = world.account()

    customer_id, new_id = open_account(container)
    assert customer_id == world.customer_id and new_id != old.id
    again = World(container, customer_id, new_id, world.rt)
    new = again.account()
    assert (new.status, new.ledger_account_id) == ("active", old.ledger_account_id)
    assert new.account_number != old.account_number
    assert world.account().status == "closed"
    with container.uow() as uow:
        open_now = get_open_account(uow.session, customer_id)
        assert open_now is not None and open_now.id == new_id
        code = ledger.customer_account_code(customer_id)
        assert ledger.get_account(uow.session, code).status == "open"

    again.funded(2_500)
    assert again.balance().balance_fen == 2_500
    assert_ledger_clean(container)


def test_a_second_open_account_is_still_refused(container: Container) -> None:
    World.open(container)
    with pytest.raises(AccountLimitReached):
        open_account(container)
    with container.uow() as uow:
        rows = uow.session.scalars(select(ClassIIAccount)).all()
    assert len(rows) == 1


def test_reopening_an_open_account_changes_nothing(container: Container) -> None:
    world = World.open(container)
    world.funded(1_000)
    code = ledger.customer_account_code(world.customer_id)
    with container.uow() as uow:
        assert ledger.reopen_account(uow.session, code=code).status == "open"
        with pytest.raises(AccountNotFound):
            ledger.reopen_account(uow.session, code="customer:nobody:class2")
    assert world.balance().balance_fen == 1_000

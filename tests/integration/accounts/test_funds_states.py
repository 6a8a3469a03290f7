"""Frozen, restricted and closed accounts; closing with a balance; replacing the bound card."""

from __future__ import annotations

from datetime import date

import pytest
from funds_support import CARD, OTHER_CARD, World, assert_ledger_clean
from sqlalchemy import select

from greenbank.accounts import states
from greenbank.accounts.funds_errors import (
    AccountClosed,
    AccountFrozen,
    AccountRestricted,
    HoldingsOpen,
    InvalidStateChange,
    NotBoundCard,
    ReasonRequired,
    TransfersInFlight,
)
from greenbank.accounts.funds_policy import FundsPolicy
from greenbank.audit.models import AuditLine
from greenbank.bootstrap import Container
from greenbank.ledger import service as ledger
from greenbank.ledger.domain import EntrySpec


@pytest.fixture
def world(container: Container) -> World:
    return World.open(container)


def _freeze(world: World, reason: str = "police request 2026-17") -> states.StateOut:
    return states.freeze(
        world.container.uow, world.clock, account_id=world.account_id, reason=reason, actor="op1"
    )


def test_nothing_moves_on_a_frozen_account_until_it_is_unfrozen(world: World) -> None:
    world.funded(10_000)
    frozen = _freeze(world)
    assert (frozen.status, frozen.status_reason) == ("frozen", "police request 2026-17")
    with pytest.raises(AccountFrozen):
        world.top_up(1_000)
    with pytest.raises(AccountFrozen):
        world.withdraw(1_000)
    with pytest.raises(InvalidStateChange):
        _freeze(world)
    back = states.unfreeze(
        world.container.uow,
        world.clock,
        account_id=world.account_id,
        reason="case closed",
        actor="op2",
    )
    assert (back.status, back.status_reason) == ("active", None)
    assert world.withdraw(1_000).status == "processing"
    with world.container.uow() as uow:
        lines = uow.session.execute(
            select(AuditLine.action, AuditLine.actor, AuditLine.detail)
            .where(AuditLine.subject == world.account_id)
            .order_by(AuditLine.at, AuditLine.id)
        ).all()
    frozen_line = next(line for line in lines if line.action == "accounts.frozen")
    assert frozen_line.actor == "op1"
    assert frozen_line.detail["reason"] == "police request 2026-17"
    assert "accounts.unfrozen" in [line.action for line in lines]


def test_a_transfer_already_with_the_rail_still_settles_after_a_freeze(world: World) -> None:
    world.funded(10_000)
    world.withdraw(4_000)
    _freeze(world)
    (settled,) = world.settle()
    assert settled.status == "settled"
    assert world.balance().balance_fen == 6_000
    assert_ledger_clean(world.container)


def test_freezing_needs_a_reason(world: World) -> None:
    with pytest.raises(ReasonRequired):
        _freeze(world, reason=" ")


def test_an_expired_id_restricts_the_account_to_withdrawals_to_the_bound_card(
    container: Container,
) -> None:
    world = World.open(container, id_valid_to=date(2026, 3, 1)).with_policy(
        FundsPolicy(non_bound_enabled=True)
    )
    current = World.open(
        container, phone="13900001111", id_number="440106199001011235", card="6222020200119988776"
    )
    world.funded(10_000)
    assert states.restrict_expired_ids(container.uow, container.clock) == [world.account_id]
    assert states.restrict_expired_ids(container.uow, container.clock) == []  # idempotent
    account = world.account()
    assert (account.status, account.status_reason) == ("restricted", states.ID_EXPIRED)
    assert current.account().status == "active"
    with pytest.raises(AccountRestricted):
        world.top_up(1_000)
    with pytest.raises(AccountRestricted):
        world.withdraw(1_000, card_number=OTHER_CARD)  # even with non-bound flows switched on
    assert world.withdraw(1_000).status == "processing"
    _freeze(world)
    unfrozen = states.unfreeze(
        container.uow, container.clock, account_id=world.account_id, reason="reviewed", actor="op"
    )
    assert unfrozen.status == "restricted"  # the ID is still expired


def test_an_empty_account_closes_at_once(world: World) -> None:
    closed = states.close(
        world.container.uow, world.rt, customer_id=world.customer_id, idempotency_key="close-1"
    )
    assert (closed.status, closed.transfer) == ("closed", None)
    with world.container.uow() as uow:
        code = ledger.customer_account_code(world.customer_id)
        assert ledger.get_account(uow.session, code).status == "closed"
    with pytest.raises(AccountClosed):
        world.top_up(1_000)
    again = states.close(
        world.container.uow, world.rt, customer_id=world.customer_id, idempotency_key="close-2"
    )
    assert again.status == "closed"


def test_closing_with_a_balance_sends_it_home_first_then_closes(world: World) -> None:
    world.funded(12_345)
    closing = states.close(
        world.container.uow, world.rt, customer_id=world.customer_id, idempotency_key="close-1"
    )
    assert closing.status == "restricted"
    assert closing.transfer is not None
    assert (closing.transfer.kind, closing.transfer.purpose, closing.transfer.amount_fen) == (
        "withdrawal",
        "closing",
        12_345,
    )
    with pytest.raises(AccountRestricted):
        world.top_up(1_000)  # no money in while closing
    replay = states.close(
        world.container.uow, world.rt, customer_id=world.customer_id, idempotency_key="close-1"
    )
    assert replay.transfer is not None and replay.transfer.id == closing.transfer.id
    with pytest.raises(TransfersInFlight):
        states.close(
            world.container.uow, world.rt, customer_id=world.customer_id, idempotency_key="close-2"
        )
    world.settle()
    account = world.account()
    assert account.status == "closed"
    assert account.closed_at is not None
    assert world.balance().balance_fen == 0
    assert_ledger_clean(world.container)


def test_a_failed_closing_withdrawal_leaves_the_account_to_close_again(world: World) -> None:
    world.funded(5_050)
    world.funded(5_049)  # 100.99 CNY in all: the sandbox declines amounts ending in 99 fen
    states.close(
        world.container.uow, world.rt, customer_id=world.customer_id, idempotency_key="close-1"
    )
    (failed,) = world.settle()
    assert failed.status == "failed"
    account = world.account()
    assert account.status == "restricted"
    assert account.status_reason is not None and "failed" in account.status_reason
    assert world.balance().available_fen == 10_099
    assert_ledger_clean(world.container)


def test_a_frozen_account_or_one_with_deposits_can_not_be_closed(world: World) -> None:
    world.funded(10_000)
    with world.container.uow() as uow:
        session, clock = uow.session, world.clock
        holding = ledger.open_holding_account(
            session, clock=clock, holding_id="h1", customer_id=world.customer_id
        )
        ledger.post_entry(
            session,
            clock=clock,
            spec=EntrySpec.transfer(
                code="deposit_purchase",
                idempotency_key="buy-1",
                amount_fen=5_000,
                debit=ledger.customer_account_code(world.customer_id),
                credit=holding.code,
            ),
        )
        uow.commit()
    with pytest.raises(HoldingsOpen):
        states.close(
            world.container.uow, world.rt, customer_id=world.customer_id, idempotency_key="close-1"
        )
    _freeze(world)
    with pytest.raises(AccountFrozen):
        states.close(
            world.container.uow, world.rt, customer_id=world.customer_id, idempotency_key="close-2"
        )


def test_a_replaced_bound_card_is_the_only_card_money_may_use(world: World) -> None:
    card = states.VerifiedCard(
        card_number=OTHER_CARD,
        bank_code="ABC",
        bank_name="中国农业银行",
        bin=OTHER_CARD[:6],
        bank_mobile="13812345678",
        bank_mobile_bidx="0" * 64,
        check_id="check-1",
    )
    with world.container.uow() as uow:
        new = states.replace_bound_card(
            uow.session, world.clock, account_id=world.account_id, card=card, actor="customer"
        )
        uow.commit()
        assert new.masked_number == "6222 02** **** ***3 445"
    assert world.top_up(1_000, card_number=OTHER_CARD).bank_name == "中国农业银行"
    with pytest.raises(NotBoundCard):
        world.top_up(1_000, card_number=CARD)
    with world.container.uow() as uow, pytest.raises(TransfersInFlight):
        states.replace_bound_card(
            uow.session, world.clock, account_id=world.account_id, card=card, actor="customer"
        )

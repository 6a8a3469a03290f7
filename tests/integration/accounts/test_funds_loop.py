"""Top-ups and withdrawals through the sandbox rail, on both databases; the ledger verifies
clean after every scenario."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from funds_support import CARD, OTHER_CARD, World, assert_ledger_clean
from sqlalchemy import select

from greenbank.accounts.card_rail import RailInstruction, RailNotice, SandboxCardRail
from greenbank.accounts.errors import IdempotencyKeyReused
from greenbank.accounts.funds_errors import (
    AccountFrozen,
    InvalidTransferAmount,
    NotBoundCard,
    RailNoticeConflict,
)
from greenbank.accounts.funds_models import AmlAlert, FundTransfer
from greenbank.accounts.settlement import apply_notice, instruction_for
from greenbank.bootstrap import Container
from greenbank.bus.models import OutboxEvent
from greenbank.crypto import mask_card
from greenbank.errors import ServiceUnavailable
from greenbank.ledger.errors import InsufficientFunds
from greenbank.receipts.models import Receipt


@pytest.fixture
def world(container: Container) -> World:
    return World.open(container)


def _events(world: World) -> list[tuple[str, dict[str, Any]]]:
    with world.container.uow() as uow:
        rows = uow.session.execute(
            select(OutboxEvent.event_type, OutboxEvent.payload)
            .where(OutboxEvent.event_type.like("accounts.%_completed"))
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
        )
        return [(kind, payload) for kind, payload in rows]


def test_a_top_up_is_credited_only_when_the_rail_settles(world: World) -> None:
    first = world.top_up(10_000)
    assert (first.status, first.kind, first.bound_card) == ("processing", "top_up", True)
    assert first.card_masked == "6217 00** **** ***4 567"
    assert world.balance().balance_fen == 0
    (settled,) = world.settle()
    assert (settled.id, settled.status) == (first.id, "settled")
    assert settled.rail_reference == world.rail.rail_reference(first.id)
    assert settled.settled_at == first.requested_at + timedelta(seconds=5)
    assert world.balance().balance_fen == 10_000
    ((kind, payload),) = _events(world)
    assert kind == "accounts.top_up_completed"
    assert payload["amount_fen"] == 10_000
    assert payload["transfer_id"] == first.id
    assert payload["payer"] == {
        "name": "张**",
        "account": "6217 00** **** ***4 567",
        "bank": "中国工商银行",
    }
    assert payload["payee"]["account"] == mask_card(world.account().account_number)
    assert _receipts(world) == [("top_up", first.id, 10_000, "6217 00** **** 4567")]
    world.settle()  # a repeated sweep issues nothing more
    assert len(_receipts(world)) == 1
    assert_ledger_clean(world.container)


def _receipts(world: World) -> list[tuple[str, str, int, str]]:
    with world.container.uow() as uow:
        rows = uow.session.execute(
            select(Receipt.type, Receipt.source_id, Receipt.amount_fen, Receipt.payer_account)
            .where(Receipt.source_type == "fund_transfer")
            .order_by(Receipt.receipt_no)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_declined_top_up_fails_and_credits_nothing(world: World) -> None:
    world.top_up(10_099)  # amounts ending in 99 fen are declined by the sandbox
    (failed,) = world.settle()
    assert (failed.status, failed.failure_code) == ("failed", "card_declined")
    assert world.balance().balance_fen == 0
    assert _events(world) == []
    assert_ledger_clean(world.container)


def test_a_top_up_the_rail_refuses_fails_at_once(world: World) -> None:
    refused = world.top_up(10_098)
    assert (refused.status, refused.failure_code) == ("failed", "rail_unavailable")
    assert world.settle() == []


def test_a_settled_top_up_can_be_reversed_by_the_card_bank(world: World) -> None:
    settled = world.funded(10_000)
    notice = _reversal(world, settled.id)
    reversed_ = apply_notice(world.container.uow, world.rt, notice)
    assert reversed_.status == "reversed"
    assert world.balance().balance_fen == 0
    again = apply_notice(world.container.uow, world.rt, notice)  # a repeated callback
    assert again.status == "reversed"
    assert_ledger_clean(world.container)


def test_a_reversal_after_the_money_was_spent_freezes_the_account_and_alerts(world: World) -> None:
    top_up = world.funded(10_000)
    world.withdraw(8_000)
    world.settle()
    result = apply_notice(world.container.uow, world.rt, _reversal(world, top_up.id))
    assert result.status == "reversal_shortfall"
    assert world.balance().balance_fen == 2_000  # nothing was half-reversed
    assert world.account().status == "frozen"
    with world.container.uow() as uow:
        alert = uow.session.execute(
            select(AmlAlert.rule, AmlAlert.customer_id, AmlAlert.amount_fen)
        ).one()
    assert tuple(alert) == (
        "reversal_shortfall",
        world.customer_id,
        10_000,
    )
    with pytest.raises(AccountFrozen):
        world.withdraw(1_000)
    assert_ledger_clean(world.container)


def _reversal(world: World, transfer_id: str):  # type: ignore[no-untyped-def]
    with world.container.uow() as uow:
        transfer = uow.session.get_one(FundTransfer, transfer_id)
        instruction = instruction_for(uow.session, transfer)
    return world.rail.reversal_notice(instruction, now=world.clock.now())


def test_a_withdrawal_holds_the_money_then_posts_the_hold(world: World) -> None:
    world.funded(10_000)
    pending = world.withdraw(4_000)
    assert pending.status == "processing"
    held = world.balance()
    assert (held.balance_fen, held.held_fen, held.available_fen) == (10_000, 4_000, 6_000)
    (settled,) = world.settle()
    assert settled.status == "settled"
    after = world.balance()
    assert (after.balance_fen, after.held_fen, after.available_fen) == (6_000, 0, 6_000)
    kind, payload = _events(world)[-1]
    assert kind == "accounts.withdrawal_completed"
    assert _receipts(world)[-1][0] == "withdrawal"
    assert payload["payee"]["account"] == "6217 00** **** ***4 567"
    assert_ledger_clean(world.container)


def test_a_failed_withdrawal_voids_the_hold(world: World) -> None:
    world.funded(10_000)
    world.withdraw(4_099)
    (failed,) = world.settle()
    assert (failed.status, failed.failure_code) == ("failed", "card_declined")
    after = world.balance()
    assert (after.balance_fen, after.held_fen, after.available_fen) == (10_000, 0, 10_000)
    refused = world.withdraw(4_098)  # refused by the rail at once: the hold goes at once
    assert refused.status == "failed"
    assert world.balance().available_fen == 10_000
    assert_ledger_clean(world.container)


def test_a_withdrawal_can_not_overdraw_and_leaves_no_trace(world: World) -> None:
    world.funded(10_000)
    world.withdraw(6_000)
    with pytest.raises(InsufficientFunds):
        world.withdraw(5_000)  # 4,000 fen available
    with world.container.uow() as uow:
        kinds = uow.session.scalars(select(FundTransfer.kind)).all()
    assert sorted(kinds) == ["top_up", "withdrawal"]


def test_a_withdrawal_settling_after_its_hold_expired_is_still_booked(world: World) -> None:
    world.funded(10_000)
    world.withdraw(3_000)
    world.clock.advance(world.rt.policy.withdrawal_hold_ttl)
    (settled,) = world.settle()
    assert settled.status == "settled"
    assert world.balance().balance_fen == 7_000
    assert_ledger_clean(world.container)


def test_a_retried_request_returns_the_first_result_and_moves_money_once(world: World) -> None:
    first = world.top_up(10_000, key="same")
    again = world.top_up(10_000, key="same")
    assert (again.id, again.replayed, first.replayed) == (first.id, True, False)
    world.settle()
    later = world.top_up(10_000, key="same")
    assert (later.id, later.status) == (first.id, "settled")
    assert world.balance().balance_fen == 10_000
    with pytest.raises(IdempotencyKeyReused):
        world.top_up(20_000, key="same")
    with pytest.raises(IdempotencyKeyReused):
        world.withdraw(10_000, key="same")
    assert_ledger_clean(world.container)


def test_only_the_bound_card_may_be_named(world: World) -> None:
    with pytest.raises(NotBoundCard):
        world.top_up(10_000, card_number=OTHER_CARD)
    world.funded(10_000)
    with pytest.raises(NotBoundCard):
        world.withdraw(1_000, card_number=OTHER_CARD)
    spaced = " ".join(CARD[i : i + 4] for i in range(0, len(CARD), 4))
    assert world.withdraw(1_000, card_number=spaced).bound_card


@pytest.mark.parametrize("amount", [0, -1, 100_000_001])
def test_amounts_must_be_positive_and_within_the_single_limit(world: World, amount: int) -> None:
    with pytest.raises(InvalidTransferAmount):
        world.top_up(amount)


def test_a_notice_that_contradicts_a_settled_transfer_is_refused(world: World) -> None:
    settled = world.funded(10_000)
    with world.container.uow() as uow:
        instruction = instruction_for(uow.session, uow.session.get_one(FundTransfer, settled.id))
    declined = world.rail.query(
        instruction.__class__(**{**instruction.__dict__, "amount_fen": 10_099}),
        now=world.clock.now(),
    )
    with pytest.raises(RailNoticeConflict):
        apply_notice(world.container.uow, world.rt, declined)
    assert world.balance().balance_fen == 10_000


class _Unreachable:
    """A rail that does not answer for the references listed (a network partition)."""

    name = "sandbox"

    def __init__(self, rail: SandboxCardRail, down: set[str]) -> None:
        self.rail, self.down = rail, down

    def _check(self, reference: str) -> None:
        if reference in self.down or "*" in self.down:
            raise ServiceUnavailable("card rail timed out")

    def submit(self, instruction: RailInstruction) -> RailNotice:
        self._check(instruction.reference)
        return self.rail.submit(instruction)

    def query(self, instruction: RailInstruction, *, now: datetime) -> RailNotice:
        self._check(instruction.reference)
        return self.rail.query(instruction, now=now)

    def verify_callback(self, body: bytes, signature: str) -> RailNotice:
        return self.rail.verify_callback(body, signature)


def test_a_rail_that_does_not_answer_leaves_the_transfer_for_the_next_sweep(world: World) -> None:
    flaky = _Unreachable(world.rail, {"*"})
    down = replace(world, rt=replace(world.rt, rail=flaky))
    pending = down.top_up(10_000)
    assert pending.status == "processing"
    second = down.top_up(20_000)
    flaky.down = {pending.id}
    (settled,) = down.settle()  # the first is still unreachable; the other settles
    assert (settled.id, settled.status) == (second.id, "settled")
    flaky.down = set()
    assert [t.id for t in down.settle()] == [pending.id]
    assert world.balance().balance_fen == 30_000
    assert_ledger_clean(world.container)

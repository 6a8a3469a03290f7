"""Worked examples: one per business event in docs/ledger.md, with the postings it must make.

Postings are journal-signed (debit +, credit -); balances are in the account's natural sign.
"""

from __future__ import annotations

from datetime import timedelta

from ledger_harness import Books

from greenbank.ledger import commands
from greenbank.ledger.accounts import (
    CARD_CLEARING,
    INTEREST_EXPENSE,
    INTEREST_PAYABLE,
    MARKETING_EXPENSE,
    POINTS_LIABILITY,
)
from greenbank.ledger.domain import EntryCode, EntrySpec, HoldState, PostingSpec
from greenbank.ledger.schemas import EntryOut
from greenbank.ledger.service import get_hold


def legs(entry: EntryOut) -> set[tuple[str, int]]:
    return {(p.account, p.amount_fen) for p in entry.postings}


def open_holding(books: Books, holding_id: str) -> str:
    c = books.container
    return commands.open_holding_account(
        uow_factory=c.uow, clock=c.clock, holding_id=holding_id, customer_id="alice"
    ).code


def buy(books: Books, holding: str, amount_fen: int) -> EntryOut:
    return books.post(
        EntrySpec.transfer(
            code=EntryCode.DEPOSIT_PURCHASE,
            idempotency_key=f"buy-{holding}",
            debit=books.alice,
            credit=holding,
            amount_fen=amount_fen,
        )
    )


def test_top_up_from_the_bound_card(books: Books) -> None:
    entry = books.top_up(books.alice, 100_000, "t1")
    assert legs(entry) == {(CARD_CLEARING, 100_000), (books.alice, -100_000)}
    assert books.balance(books.alice) == 100_000  # liability: positive when credited
    assert books.balance(CARD_CLEARING) == 100_000  # asset: the other bank owes us
    books.verify_clean()


def test_withdrawal_to_the_bound_card_holds_then_posts(books: Books) -> None:
    c = books.container
    books.top_up(books.alice, 100_000, "t1")
    held = commands.hold(
        uow_factory=c.uow,
        clock=c.clock,
        account=books.alice,
        amount_fen=30_000,
        idempotency_key="w1-hold",
        expires_at=c.clock.now() + timedelta(hours=1),
    )
    assert (books.balance(books.alice), books.available(books.alice)) == (100_000, 70_000)
    entry = commands.post_hold(
        uow_factory=c.uow,
        clock=c.clock,
        hold_id=held.id,
        spec=EntrySpec.transfer(
            code=EntryCode.WITHDRAWAL,
            idempotency_key="w1",
            debit=books.alice,
            credit=CARD_CLEARING,
            amount_fen=30_000,
        ),
    )
    assert legs(entry) == {(books.alice, 30_000), (CARD_CLEARING, -30_000)}
    assert (books.balance(books.alice), books.available(books.alice)) == (70_000, 70_000)
    assert books.balance(CARD_CLEARING) == 70_000
    with c.uow() as uow:
        assert get_hold(uow.session, held.id).state is HoldState.POSTED
    books.verify_clean()


def test_deposit_purchase_moves_money_into_a_holding(books: Books) -> None:
    books.top_up(books.alice, 1_200_000, "t1")
    holding = open_holding(books, "h1")
    entry = buy(books, holding, 1_000_000)
    assert legs(entry) == {(books.alice, 1_000_000), (holding, -1_000_000)}
    assert books.balance(books.alice) == 200_000
    assert books.balance(holding) == 1_000_000
    books.verify_clean()


def test_full_early_withdrawal_returns_principal_and_demand_interest(books: Books) -> None:
    # domain-rules.md: 50,000 CNY, 320 days at demand 0.30% -> 133.33 CNY.
    books.top_up(books.alice, 5_000_000, "t1")
    holding = open_holding(books, "h1")
    buy(books, holding, 5_000_000)
    entry = books.post(
        EntrySpec(
            code=EntryCode.EARLY_WITHDRAWAL,
            idempotency_key="ew1",
            postings=(
                PostingSpec(holding, 5_000_000),
                PostingSpec(INTEREST_EXPENSE, 13_333),
                PostingSpec(books.alice, -5_013_333),
            ),
        )
    )
    assert len(entry.postings) == 3
    assert books.balance(books.alice) == 5_013_333
    assert books.balance(holding) == 0
    assert books.balance(INTEREST_EXPENSE) == 13_333
    commands.close_account(uow_factory=books.container.uow, code=holding)
    books.verify_clean()


def test_partial_early_withdrawal_keeps_the_rest(books: Books) -> None:
    # 20,000 of 50,000 CNY out after 320 days at 0.30%: 20,000 * 0.003 * 320/360 = 53.33 CNY.
    books.top_up(books.alice, 5_000_000, "t1")
    holding = open_holding(books, "h1")
    buy(books, holding, 5_000_000)
    books.post(
        EntrySpec(
            code=EntryCode.EARLY_WITHDRAWAL,
            idempotency_key="ew1",
            postings=(
                PostingSpec(holding, 2_000_000),
                PostingSpec(INTEREST_EXPENSE, 5_333),
                PostingSpec(books.alice, -2_005_333),
            ),
            metadata={"partial": True},
        )
    )
    assert books.balance(holding) == 3_000_000
    assert books.balance(books.alice) == 2_005_333
    books.verify_clean()


def test_interest_accrued_then_paid(books: Books) -> None:
    # 10,000 CNY for 1 year at 1.50% -> 150.00 CNY, accrued then paid to the Class II balance.
    accrual = books.post(
        EntrySpec.transfer(
            code=EntryCode.INTEREST_ACCRUAL,
            idempotency_key="acc1",
            debit=INTEREST_EXPENSE,
            credit=INTEREST_PAYABLE,
            amount_fen=15_000,
        )
    )
    assert legs(accrual) == {(INTEREST_EXPENSE, 15_000), (INTEREST_PAYABLE, -15_000)}
    assert books.balance(INTEREST_PAYABLE) == 15_000
    paid = books.post(
        EntrySpec.transfer(
            code=EntryCode.INTEREST,
            idempotency_key="int1",
            debit=INTEREST_PAYABLE,
            credit=books.alice,
            amount_fen=15_000,
        )
    )
    assert legs(paid) == {(INTEREST_PAYABLE, 15_000), (books.alice, -15_000)}
    assert books.balance(INTEREST_PAYABLE) == 0
    assert books.balance(books.alice) == 15_000
    assert books.balance(INTEREST_EXPENSE) == 15_000
    books.verify_clean()


def test_maturity_returns_principal_and_term_interest(books: Books) -> None:
    books.top_up(books.alice, 1_000_000, "t1")
    holding = open_holding(books, "h1")
    buy(books, holding, 1_000_000)
    entry = books.post(
        EntrySpec(
            code=EntryCode.MATURITY,
            idempotency_key="mat1",
            postings=(
                PostingSpec(holding, 1_000_000),
                PostingSpec(INTEREST_EXPENSE, 15_000),
                PostingSpec(books.alice, -1_015_000),
            ),
        )
    )
    assert legs(entry) == {
        (holding, 1_000_000),
        (INTEREST_EXPENSE, 15_000),
        (books.alice, -1_015_000),
    }
    assert (books.balance(holding), books.balance(books.alice)) == (0, 1_015_000)
    books.verify_clean()


def test_rollover_moves_principal_and_interest_into_a_new_holding(books: Books) -> None:
    books.top_up(books.alice, 1_000_000, "t1")
    old, new = open_holding(books, "h1"), open_holding(books, "h2")
    buy(books, old, 1_000_000)
    books.post(
        EntrySpec(
            code=EntryCode.ROLLOVER,
            idempotency_key="roll1",
            postings=(
                PostingSpec(old, 1_000_000),
                PostingSpec(INTEREST_EXPENSE, 15_000),
                PostingSpec(new, -1_015_000),
            ),
        )
    )
    assert (books.balance(old), books.balance(new)) == (0, 1_015_000)
    assert books.balance(books.alice) == 0  # a same-name rollover never touches Class II
    books.verify_clean()


def test_rate_bonus_perk_is_a_marketing_expense(books: Books) -> None:
    # A 0.25% green bonus on 10,000 CNY for a year: 25.00 CNY paid by marketing, not interest.
    entry = books.post(
        EntrySpec.transfer(
            code=EntryCode.RATE_BONUS,
            idempotency_key="bonus1",
            debit=MARKETING_EXPENSE,
            credit=books.alice,
            amount_fen=2_500,
        )
    )
    assert legs(entry) == {(MARKETING_EXPENSE, 2_500), (books.alice, -2_500)}
    assert books.balance(MARKETING_EXPENSE) == 2_500
    assert books.balance(INTEREST_EXPENSE) == 0
    books.verify_clean()


def test_points_issued_are_a_liability(books: Books) -> None:
    books.post(
        EntrySpec.transfer(
            code=EntryCode.POINTS_ISSUE,
            idempotency_key="pts1",
            debit=MARKETING_EXPENSE,
            credit=POINTS_LIABILITY,
            amount_fen=800,
        )
    )
    assert books.balance(POINTS_LIABILITY) == 800
    books.verify_clean()


def test_reversal_posts_the_mirror_image_once(books: Books) -> None:
    c = books.container
    original = books.top_up(books.alice, 100_000, "t1")
    reversal = commands.reverse_entry(
        uow_factory=c.uow,
        clock=c.clock,
        entry_id=original.id,
        idempotency_key="r1",
        reason="card payment bounced",
    )
    assert legs(reversal) == {(CARD_CLEARING, -100_000), (books.alice, 100_000)}
    assert reversal.reverses_entry_id == original.id
    assert reversal.code == EntryCode.REVERSAL
    assert (books.balance(books.alice), books.balance(CARD_CLEARING)) == (0, 0)
    again = commands.reverse_entry(
        uow_factory=c.uow,
        clock=c.clock,
        entry_id=original.id,
        idempotency_key="r1",
        reason="card payment bounced",
    )
    assert again.id == reversal.id and again.replayed
    books.verify_clean()

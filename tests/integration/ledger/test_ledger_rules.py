"""Refusals, idempotency, holds, reversals and reads, on every database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from ledger_harness import Books
from sqlalchemy import func, select

from greenbank.errors import GreenbankError
from greenbank.ledger import commands
from greenbank.ledger.accounts import CARD_CLEARING, INTEREST_EXPENSE
from greenbank.ledger.domain import AccountType, EntryCode, EntrySpec, HoldState, PostingSpec
from greenbank.ledger.models import Entry, Hold
from greenbank.ledger.schemas import HoldOut
from greenbank.ledger.service import open_account


def entry_count(books: Books) -> int:
    with books.container.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(Entry)) or 0


def spend(books: Books, key: str, amount_fen: int, **extra: object) -> EntrySpec:
    return EntrySpec.transfer(
        code=EntryCode.WITHDRAWAL,
        idempotency_key=key,
        debit=books.alice,
        credit=CARD_CLEARING,
        amount_fen=amount_fen,
        **extra,  # type: ignore[arg-type]
    )


def place_hold(books: Books, amount_fen: int, key: str, minutes: int = 30) -> HoldOut:
    c = books.container
    return commands.hold(
        uow_factory=c.uow,
        clock=c.clock,
        account=books.alice,
        amount_fen=amount_fen,
        idempotency_key=key,
        expires_at=c.clock.now() + timedelta(minutes=minutes),
    )


def assert_refused(code: str, books: Books, spec: EntrySpec) -> None:
    before = entry_count(books)
    with pytest.raises(GreenbankError) as caught:
        books.post(spec)
    assert caught.value.code == code
    assert entry_count(books) == before  # a refused command leaves no trace


def test_insufficient_funds_is_refused_and_leaves_nothing(books: Books) -> None:
    books.top_up(books.alice, 10_000, "t1")
    assert_refused("insufficient_funds", books, spend(books, "w1", 10_001))
    books.post(spend(books, "w2", 10_000))  # exactly the balance is fine
    assert books.balance(books.alice) == 0
    books.verify_clean()


def test_unknown_account(books: Books) -> None:
    spec = EntrySpec.transfer(
        code="top_up", idempotency_key="k", debit=CARD_CLEARING, credit="nobody", amount_fen=1
    )
    assert_refused("account_not_found", books, spec)


def test_closed_account(books: Books) -> None:
    commands.close_account(uow_factory=books.container.uow, code=books.bob)
    assert_refused(
        "account_closed",
        books,
        EntrySpec.transfer(
            code="top_up", idempotency_key="k", debit=CARD_CLEARING, credit=books.bob, amount_fen=5
        ),
    )


def test_only_an_empty_account_can_be_closed(books: Books) -> None:
    books.top_up(books.alice, 1, "t1")
    with pytest.raises(GreenbankError, match="still has money") as caught:
        commands.close_account(uow_factory=books.container.uow, code=books.alice)
    assert caught.value.code == "account_not_empty"


def test_currency_mismatch(books: Books) -> None:
    spec = EntrySpec.transfer(
        code="top_up",
        idempotency_key="k",
        debit=CARD_CLEARING,
        credit=books.alice,
        amount_fen=5,
        currency="USD",
    )
    assert_refused("currency_mismatch", books, spec)


def test_unbalanced_and_malformed_entries(books: Books) -> None:
    legs = (PostingSpec(CARD_CLEARING, 100), PostingSpec(books.alice, -99))
    assert_refused("unbalanced_entry", books, EntrySpec("top_up", "k1", legs))
    one_leg = (PostingSpec(CARD_CLEARING, 100),)
    assert_refused("invalid_entry", books, EntrySpec("top_up", "k2", one_leg))
    zero = (PostingSpec(CARD_CLEARING, 0), PostingSpec(books.alice, 0))
    assert_refused("invalid_entry", books, EntrySpec("top_up", "k3", zero))


def test_same_key_same_content_returns_the_first_entry(books: Books) -> None:
    first = books.top_up(books.alice, 10_000, "t1")
    again = books.top_up(books.alice, 10_000, "t1")
    assert again.id == first.id and again.replayed and not first.replayed
    assert books.balance(books.alice) == 10_000


def test_same_key_different_content_is_a_conflict(books: Books) -> None:
    books.top_up(books.alice, 10_000, "t1")
    before = entry_count(books)
    with pytest.raises(GreenbankError) as caught:
        books.top_up(books.alice, 10_001, "t1")
    assert caught.value.code == "idempotency_key_reused"
    assert entry_count(books) == before


def test_a_replay_succeeds_even_when_the_money_has_gone(books: Books) -> None:
    books.top_up(books.alice, 10_000, "t1")
    books.post(spend(books, "w1", 10_000))
    assert books.post(spend(books, "w1", 10_000)).replayed


def test_opening_an_account_twice_is_idempotent_but_attributes_must_match(books: Books) -> None:
    c = books.container
    again = commands.open_customer_account(uow_factory=c.uow, clock=c.clock, customer_id="alice")
    assert again.code == books.alice
    with pytest.raises(GreenbankError) as caught, c.uow() as uow:
        open_account(uow.session, clock=c.clock, code=books.alice, name="x", type=AccountType.ASSET)
    assert caught.value.code == "account_exists"
    with pytest.raises(GreenbankError) as caught, c.uow() as uow:
        open_account(
            uow.session, clock=c.clock, code="x:y", name="x", type=AccountType.ASSET, currency="USD"
        )
    assert caught.value.code == "unsupported_currency"


def test_a_hold_reserves_and_a_void_releases(books: Books) -> None:
    c = books.container
    books.top_up(books.alice, 10_000, "t1")
    held = place_hold(books, 8_000, "h1")
    assert books.available(books.alice) == 2_000
    assert_refused("insufficient_funds", books, spend(books, "w1", 2_001))
    with pytest.raises(GreenbankError) as caught:
        place_hold(books, 2_001, "h2")
    assert caught.value.code == "insufficient_funds"
    assert place_hold(books, 8_000, "h1").replayed  # same key, same content
    voided = commands.void_hold(uow_factory=c.uow, clock=c.clock, hold_id=held.id)
    assert voided.state is HoldState.VOIDED
    assert commands.void_hold(uow_factory=c.uow, clock=c.clock, hold_id=held.id).replayed
    assert books.available(books.alice) == 10_000
    with pytest.raises(GreenbankError) as caught:
        commands.post_hold(
            uow_factory=c.uow, clock=c.clock, hold_id=held.id, spec=spend(books, "w2", 100)
        )
    assert caught.value.code == "hold_not_pending"
    books.verify_clean()


def test_posting_a_hold_partially_releases_the_rest(books: Books) -> None:
    c = books.container
    books.top_up(books.alice, 10_000, "t1")
    held = place_hold(books, 8_000, "h1")
    with pytest.raises(GreenbankError) as caught:
        commands.post_hold(
            uow_factory=c.uow, clock=c.clock, hold_id=held.id, spec=spend(books, "w0", 8_001)
        )
    assert caught.value.code == "hold_amount_exceeded"
    entry = commands.post_hold(
        uow_factory=c.uow, clock=c.clock, hold_id=held.id, spec=spend(books, "w1", 5_000)
    )
    again = commands.post_hold(
        uow_factory=c.uow, clock=c.clock, hold_id=held.id, spec=spend(books, "w1", 5_000)
    )
    assert again.id == entry.id and again.replayed
    assert (books.balance(books.alice), books.available(books.alice)) == (5_000, 5_000)
    with pytest.raises(GreenbankError) as caught:
        commands.void_hold(uow_factory=c.uow, clock=c.clock, hold_id=held.id)
    assert caught.value.code == "hold_not_pending"
    books.verify_clean()


def test_expired_holds_stop_counting(books: Books) -> None:
    c = books.container
    books.top_up(books.alice, 10_000, "t1")
    first = place_hold(books, 6_000, "h1", minutes=10)
    place_hold(books, 3_000, "h2", minutes=60)
    c.clock.advance(timedelta(minutes=11))  # type: ignore[attr-defined]
    assert books.available(books.alice) == 7_000  # the expired hold is ignored at once
    with pytest.raises(GreenbankError) as caught:
        commands.post_hold(
            uow_factory=c.uow, clock=c.clock, hold_id=first.id, spec=spend(books, "w1", 10)
        )
    assert caught.value.code == "hold_expired"
    books.post(spend(books, "w2", 7_000))  # the guard releases the expired hold lazily
    assert commands.expire_holds(uow_factory=c.uow, clock=c.clock) == 0
    c.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    assert commands.expire_holds(uow_factory=c.uow, clock=c.clock) == 1
    with c.uow() as uow:
        states = sorted(uow.session.scalars(select(Hold.state)))
    assert states == [HoldState.EXPIRED, HoldState.EXPIRED]
    assert books.available(books.alice) == 3_000
    books.verify_clean()


def test_reversal_rules(books: Books) -> None:
    c = books.container
    top_up = books.top_up(books.alice, 10_000, "t1")
    books.post(spend(books, "w1", 6_000))

    def reverse(entry_id: str, key: str) -> object:
        return commands.reverse_entry(
            uow_factory=c.uow, clock=c.clock, entry_id=entry_id, idempotency_key=key, reason="x"
        )

    with pytest.raises(GreenbankError) as caught:
        reverse(top_up.id, "r1")  # the money was already spent
    assert caught.value.code == "insufficient_funds"
    books.top_up(books.alice, 6_000, "t2")
    reversal = reverse(top_up.id, "r1")
    with pytest.raises(GreenbankError) as caught:
        reverse(top_up.id, "r2")
    assert caught.value.code == "already_reversed"
    with pytest.raises(GreenbankError) as caught:
        reverse(reversal.id, "r3")  # type: ignore[attr-defined]
    assert caught.value.code == "invalid_entry"
    with pytest.raises(GreenbankError) as caught:
        reverse("no-such-entry", "r4")
    assert caught.value.code == "entry_not_found"
    assert books.balance(books.alice) == 0
    books.verify_clean()


def test_statement_pages_with_running_balance(books: Books) -> None:
    c = books.container
    for n in range(1, 6):
        books.top_up(books.alice, n * 100, f"t{n}")
    books.post(spend(books, "w1", 250))
    page = commands.statement(uow_factory=c.uow, account=books.alice, limit=4)
    assert [line.amount_fen for line in page.lines] == [-250, 500, 400, 300]
    assert [line.balance_after_fen for line in page.lines] == [1250, 1500, 1000, 600]
    assert page.next_cursor is not None
    rest = commands.statement(
        uow_factory=c.uow, account=books.alice, limit=4, cursor=page.next_cursor
    )
    assert [line.balance_after_fen for line in rest.lines] == [300, 100]
    assert rest.next_cursor is None
    oldest = commands.statement(uow_factory=c.uow, account=books.alice, newest_first=False)
    assert [line.balance_after_fen for line in oldest.lines] == [100, 300, 600, 1000, 1500, 1250]
    assert oldest.lines[0].entry_code == "top_up"


def test_balance_as_of_a_value_date(books: Books) -> None:
    c = books.container
    books.top_up(books.alice, 100, "t1")  # value date = today in Shanghai (2026-03-02)
    books.post(
        EntrySpec.transfer(
            code="interest",
            idempotency_key="i1",
            debit=INTEREST_EXPENSE,
            credit=books.alice,
            amount_fen=7,
            value_date=date(2026, 3, 10),
        )
    )

    def as_of(day: date) -> int:
        return commands.balance_as_of(uow_factory=c.uow, account=books.alice, on=day)

    assert as_of(date(2026, 3, 1)) == 0
    assert as_of(date(2026, 3, 2)) == 100
    assert as_of(date(2026, 3, 10)) == 107
    assert books.balance(books.alice) == 107

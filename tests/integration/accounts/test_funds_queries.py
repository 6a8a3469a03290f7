"""Customer and staff reads: overview, filtered and paged history and transfers, search."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from funds_support import CARD, World

from greenbank.accounts import queries
from greenbank.accounts.errors import AccountNotFound
from greenbank.accounts.funds_errors import SearchCriteriaInvalid, TransferNotFound
from greenbank.bootstrap import Container
from greenbank.errors import ValidationFailed


@pytest.fixture
def world(container: Container) -> World:
    """Three days: 1 Mar top-up 100.00; 2 Mar top-up 50.00 and withdrawal 30.00 (settled);
    3 Mar a withdrawal of 10.00 still with the rail."""
    w = World.open(container)
    w.clock.advance(timedelta(days=-1))
    w.funded(10_000)
    w.clock.advance(timedelta(days=1))
    w.funded(5_000)
    w.withdraw(3_000)
    w.settle()
    w.clock.advance(timedelta(days=1))
    w.withdraw(1_000)
    return w


def test_the_overview_masks_numbers_and_shows_what_is_available(world: World) -> None:
    seen = queries.overview(world.container.uow, world.clock, customer_id=world.customer_id)
    assert seen.account_number_masked == "6230 91** **** ***0 012"
    assert (seen.bound_card_masked, seen.bound_card_bank) == (
        "6217 00** **** ***4 567",
        "中国工商银行",
    )
    assert (seen.balance_fen, seen.held_fen, seen.available_fen) == (12_000, 1_000, 11_000)
    assert CARD not in seen.model_dump_json()
    staff = queries.overview(world.container.uow, world.clock, account_id=world.account_id)
    assert staff == seen
    with pytest.raises(AccountNotFound):
        queries.overview(
            world.container.uow, world.clock, customer_id=world.customer_id, account_id="nope"
        )


def test_history_filters_by_type_and_value_date_and_pages(world: World) -> None:
    uow = world.container.uow
    everything = queries.history(uow, customer_id=world.customer_id)
    assert [(x.type, x.amount_fen, x.balance_after_fen) for x in everything.lines] == [
        ("withdrawal", -3_000, 12_000),
        ("top_up", 5_000, 15_000),
        ("top_up", 10_000, 10_000),
    ]
    assert everything.next_cursor is None
    top_ups = queries.history(uow, customer_id=world.customer_id, types=frozenset({"top_up"}))
    assert [x.amount_fen for x in top_ups.lines] == [5_000, 10_000]
    day = date(2026, 3, 2)
    on_day = queries.history(uow, customer_id=world.customer_id, date_from=day, date_to=day)
    assert [x.amount_fen for x in on_day.lines] == [-3_000, 5_000]
    assert on_day.next_cursor is None
    first = queries.history(uow, account_id=world.account_id, limit=2)
    assert len(first.lines) == 2 and first.next_cursor is not None
    rest = queries.history(uow, account_id=world.account_id, limit=2, cursor=first.next_cursor)
    assert [x.amount_fen for x in rest.lines] == [10_000]
    assert rest.next_cursor is None
    with pytest.raises(ValidationFailed):
        queries.history(uow, customer_id=world.customer_id, date_from=day, date_to=date(2026, 3, 1))


def test_transfers_list_the_pending_ones_too_and_filter(world: World) -> None:
    uow = world.container.uow
    page = queries.transfers(uow, customer_id=world.customer_id)
    assert [(t.kind, t.status, t.amount_fen) for t in page.items] == [
        ("withdrawal", "processing", 1_000),
        ("withdrawal", "settled", 3_000),
        ("top_up", "settled", 5_000),
        ("top_up", "settled", 10_000),
    ]
    pending = queries.transfers(uow, customer_id=world.customer_id, status="processing")
    assert [t.amount_fen for t in pending.items] == [1_000]
    march_2 = queries.transfers(
        uow,
        customer_id=world.customer_id,
        kind="top_up",
        date_from=date(2026, 3, 2),
        date_to=date(2026, 3, 2),
    )
    assert [t.amount_fen for t in march_2.items] == [5_000]
    first = queries.transfers(uow, customer_id=world.customer_id, limit=3)
    assert first.next_cursor == first.items[-1].id
    rest = queries.transfers(uow, customer_id=world.customer_id, limit=3, cursor=first.next_cursor)
    assert ([t.amount_fen for t in rest.items], rest.next_cursor) == ([10_000], None)
    one = queries.get_transfer(uow, transfer_id=page.items[0].id, customer_id=world.customer_id)
    assert one == page.items[0]
    with pytest.raises(TransferNotFound):
        queries.get_transfer(uow, transfer_id=page.items[0].id, customer_id="someone-else")


def test_staff_find_a_customer_by_id_number_mobile_or_card(
    world: World, container: Container
) -> None:
    keyring = container.keyring
    by_id = queries.search_customers(container.uow, keyring, id_number="11010519491231002x")
    by_phone = queries.search_customers(container.uow, keyring, phone="+86 138 1234 5678")
    by_card = queries.search_customers(container.uow, keyring, card_number=CARD)
    assert by_id == by_phone == by_card
    (match,) = by_id
    assert (match.customer_id, match.account_id) == (world.customer_id, world.account_id)
    assert (match.name_masked, match.phone_masked, match.id_number_masked) == (
        "张**",
        "138****5678",
        "110105********002X",
    )
    assert queries.search_customers(container.uow, keyring, phone="13900000000") == []
    with pytest.raises(SearchCriteriaInvalid):
        queries.search_customers(container.uow, keyring, phone="138", card_number=CARD)

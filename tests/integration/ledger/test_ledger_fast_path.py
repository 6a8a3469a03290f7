"""PostgreSQL's fast path (``greenbank_post_entry``) writes exactly what the Python path writes.

The same story is posted twice on one database, once with the fast path and once with it
switched off. Ids are made deterministic for the test, so every column of every ledger row,
every answer and every refusal must be the same.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from ledger_harness import Books
from sqlalchemy import exc, text
from sqlalchemy.engine import Connection
from tests.postgres_support import drop_pooled_connections, round_trips

from greenbank.bootstrap import Container
from greenbank.clock import FixedClock
from greenbank.errors import GreenbankError
from greenbank.ledger import accounts, commands, fast_path, holds, posting, service
from greenbank.ledger.accounts import CARD_CLEARING, INTEREST_EXPENSE
from greenbank.ledger.domain import EntryCode, EntrySpec, PostingSpec
from greenbank.ledger.schemas import EntryOut

pytestmark = pytest.mark.postgres_only

# 23:55 in Shanghai: the story crosses midnight, so default value dates change on the way.
START = datetime(2026, 3, 2, 15, 55, 0, 123456, tzinfo=UTC)
LEDGER_TABLES = "ledger_holds, ledger_postings, ledger_entries, ledger_balances, ledger_accounts"

# Every column of every ledger table; JSON also as stored text, so its serialisation is compared.
SNAPSHOT = {
    "accounts": "SELECT * FROM ledger_accounts ORDER BY id",
    "balances": "SELECT * FROM ledger_balances ORDER BY account_id",
    "entries": "SELECT *, metadata::text AS stored_metadata FROM ledger_entries ORDER BY id",
    "postings": "SELECT * FROM ledger_postings ORDER BY id",
    "holds": "SELECT * FROM ledger_holds ORDER BY id",
}


def transfer(key: str, debit: str, credit: str, amount_fen: int, **extra: Any) -> EntrySpec:
    return EntrySpec.transfer(
        code=EntryCode.ADJUSTMENT,
        idempotency_key=key,
        debit=debit,
        credit=credit,
        amount_fen=amount_fen,
        **extra,
    )


def story(books: Books, clock: FixedClock) -> list[Any]:
    """Plain entries, a replay, refusals, an expired hold released by a post, a reversal."""
    c = books.container
    answers: list[Any] = []

    def run(step: Callable[[], EntryOut]) -> None:
        try:
            out = step()
        except GreenbankError as err:
            answers.append((err.code, err.detail, err.extra))
        else:
            answers.append(out.model_dump())

    alice, bob = books.alice, books.bob
    meta = {"order": "A-1", "n": 3, "nested": {"b": [1, 2.5, None], "汉": "字"}}
    x1 = transfer("x1", alice, bob, 2_500, description="rent", metadata=meta)
    three_legs = EntrySpec(
        code=EntryCode.INTEREST,
        idempotency_key="i1",
        postings=(
            PostingSpec(INTEREST_EXPENSE, 300),
            PostingSpec(alice, -100),
            PostingSpec(bob, -200),
        ),
        value_date=date(2026, 2, 28),
    )
    run(lambda: books.top_up(alice, 10_000, "t1"))
    run(lambda: books.top_up(bob, 500, "t2"))
    run(lambda: books.post(x1))
    run(lambda: books.post(three_legs))
    run(lambda: books.post(x1))  # replayed
    run(lambda: books.post(transfer("x1", alice, bob, 2_501)))  # key reused
    run(lambda: books.post(transfer("x2", bob, alice, 10_000)))  # insufficient funds
    run(lambda: books.post(transfer("x3", alice, "customer:nobody:class2", 1)))
    carol = commands.open_customer_account(uow_factory=c.uow, clock=clock, customer_id="carol")
    commands.close_account(uow_factory=c.uow, code=carol.code)
    run(lambda: books.post(transfer("x4", bob, carol.code, 1)))  # closed
    commands.hold(
        uow_factory=c.uow,
        clock=clock,
        account=alice,
        amount_fen=7_000,
        idempotency_key="h1",
        expires_at=clock.now() + timedelta(minutes=10),
    )
    run(lambda: books.post(transfer("x5", alice, bob, 700)))  # short while the hold counts
    clock.advance(timedelta(minutes=11))  # past midnight in Shanghai, and past the hold
    run(lambda: books.post(transfer("x6", alice, bob, 7_600)))  # releases the expired hold
    run(lambda: books.post(transfer("x7", bob, CARD_CLEARING, 1)))  # asset side, new day
    entry_id = next(
        a["id"] for a in answers if isinstance(a, dict) and a["idempotency_key"] == "x1"
    )
    run(
        lambda: commands.reverse_entry(
            uow_factory=c.uow, clock=clock, entry_id=entry_id, idempotency_key="r1", reason="oops"
        )
    )
    books.verify_clean()
    return answers


def snapshot(c: Container) -> dict[str, list[dict[str, Any]]]:
    with c.uow() as uow:
        return {
            name: [dict(row._mapping) for row in uow.session.execute(text(sql))]
            for name, sql in SNAPSHOT.items()
        }


def fresh_books(c: Container, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> Books:
    """Empty ledger tables, the clock at START, ids counting from 1 again, two customers."""
    counter = itertools.count(1)
    for module in (accounts, holds, posting):
        monkeypatch.setattr(module, "new_id", lambda: f"id-{next(counter):06d}")
    with c.uow() as uow:
        uow.session.execute(text(f"TRUNCATE {LEDGER_TABLES} RESTART IDENTITY CASCADE"))
        uow.commit()
    clock.set(START)
    commands.ensure_chart_of_accounts(uow_factory=c.uow, clock=clock)
    alice, bob = (
        commands.open_customer_account(uow_factory=c.uow, clock=clock, customer_id=name).code
        for name in ("alice", "bob")
    )
    return Books(c, alice, bob)


def test_the_fast_path_and_the_python_path_write_identical_rows(
    container: Container, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_keys: list[str] = []
    real_call = fast_path._call

    def spy(conn: Connection, entry: EntryOut, fingerprint: str) -> bool:
        posted = real_call(conn, entry, fingerprint)
        if posted:
            fast_keys.append(entry.idempotency_key)
        return posted

    monkeypatch.setattr(fast_path, "_call", spy)
    fast_answers = story(fresh_books(container, clock, monkeypatch), clock)
    fast_rows = snapshot(container)
    assert fast_keys == ["t1", "t2", "x1", "i1", "x7", "r1"]  # the rest fell back

    monkeypatch.setattr(fast_path, "ENABLED", False)
    slow_answers = story(fresh_books(container, clock, monkeypatch), clock)
    slow_rows = snapshot(container)
    assert fast_keys == ["t1", "t2", "x1", "i1", "x7", "r1"]  # not called again

    assert slow_answers == fast_answers
    assert slow_rows == fast_rows
    codes = [a[0] for a in fast_answers if isinstance(a, tuple)]
    assert codes == [
        "idempotency_key_reused",
        "insufficient_funds",
        "account_not_found",
        "account_closed",
        "insufficient_funds",
    ]
    assert {row["value_date"] for row in fast_rows["entries"]} == {
        date(2026, 2, 28),
        date(2026, 3, 2),
        date(2026, 3, 3),
    }
    assert [row["state"] for row in fast_rows["holds"]] == ["expired"]
    assert len(fast_rows["postings"]) == 2 * 6 + 3


def test_a_driver_error_in_the_fast_path_surfaces_as_sqlalchemys(books: Books) -> None:
    """So ``run_with_retry`` sees deadlocks and serialization failures (by SQLSTATE) as usual."""
    c = books.container
    books.top_up(books.alice, 1_000, "t1")
    with c.uow() as holder, c.uow() as waiter:
        holder.session.execute(text("SELECT 1 FROM ledger_balances FOR UPDATE"))
        waiter.session.execute(text("SET LOCAL lock_timeout = '50ms'"))
        with pytest.raises(exc.OperationalError) as caught:
            service.post_entry(
                waiter.session, clock=c.clock, spec=transfer("x1", books.alice, books.bob, 1)
            )
        assert getattr(caught.value.orig, "sqlstate", None) == "55P03"  # lock_not_available
    assert books.balance(books.bob) == 0
    books.post(transfer("x1", books.alice, books.bob, 1))  # the key is still free
    assert books.balance(books.bob) == 1


def test_a_plain_entry_is_one_statement_of_its_own(books: Books) -> None:
    """``commands.post_entry``: no ping, no BEGIN, no COMMIT; the entry is committed."""
    c = books.container
    c.engine.dispose()  # one pooled connection from here on, prepared by the top-up
    books.top_up(books.alice, 1_000, "t1")
    trips = round_trips(c, lambda: books.post(transfer("x1", books.alice, books.bob, 300)))
    assert trips == 1
    assert (books.balance(books.alice), books.balance(books.bob)) == (700, 300)
    # A unit of work still pings, begins and commits around its statements.
    assert round_trips(c, lambda: books.balance(books.bob)) > 1
    books.verify_clean()


def test_an_entry_on_a_dropped_connection_is_posted_once_through_a_unit_of_work(
    books: Books,
) -> None:
    c = books.container
    books.top_up(books.alice, 1_000, "t1")
    drop_pooled_connections(c)
    entry = books.post(transfer("x1", books.alice, books.bob, 300))
    assert not entry.replayed
    assert books.balance(books.bob) == 300
    books.verify_clean()


def test_a_lost_answer_is_settled_by_the_key(books: Books, monkeypatch: pytest.MonkeyPatch) -> None:
    """The statement committed but its answer never came: the unit of work replays the entry."""
    c = books.container
    books.top_up(books.alice, 1_000, "t1")
    real_call = fast_path._call
    committed: list[EntryOut] = []

    def commit_then_fail(conn: Connection, entry: EntryOut, fingerprint: str) -> bool:
        if conn.connection.driver_connection.autocommit and not committed:  # type: ignore[union-attr]
            assert real_call(conn, entry, fingerprint)
            committed.append(entry)
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return real_call(conn, entry, fingerprint)

    monkeypatch.setattr(fast_path, "_call", commit_then_fail)
    entry = books.post(transfer("x1", books.alice, books.bob, 300))
    assert entry.replayed and entry.id == committed[0].id
    assert books.balance(books.bob) == 300
    with c.uow() as uow:
        count = "SELECT count(*) FROM ledger_entries WHERE idempotency_key = 'x1'"
        assert uow.session.scalar(text(count)) == 1
    books.verify_clean()


def test_the_function_scans_no_whole_table_with_plans_kept_for_the_connection(
    books: Books,
) -> None:
    """PL/pgSQL keeps a statement's generic plan only if it is no dearer than a custom one;
    a generic plan that scans a whole table made PostgreSQL plan every call afresh (27 % of its
    CPU under the bench, migration 0019). Forced generic, a post must touch indexes only."""
    c = books.container
    books.top_up(books.alice, 1_000, "t1")
    with c.uow() as uow:
        uow.session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        for n in range(3):
            spec = transfer(f"x{n}", books.alice, books.bob, 100)
            entry = service.post_entry(uow.session, clock=c.clock, spec=spec)
            assert not entry.replayed
        scans = uow.session.execute(
            text(
                "SELECT relname, seq_scan, idx_scan FROM pg_stat_xact_user_tables"
                " WHERE relname IN ('ledger_accounts', 'ledger_balances', 'ledger_entries')"
            )
        ).all()
        uow.commit()
    assert {name: (seq, idx > 0) for name, seq, idx in scans} == {
        "ledger_accounts": (0, True),
        "ledger_balances": (0, True),
        "ledger_entries": (0, True),
    }
    assert (books.balance(books.alice), books.balance(books.bob)) == (700, 300)
    books.verify_clean()

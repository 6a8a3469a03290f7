"""Issuing receipts: numbering per series and business day, gapless under rollbacks and
concurrency, idempotent per business event, masked fields, the seal-requested event."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from tests.integration.receipts.conftest import WHEN, IssueFn, purchase_request

from greenbank.audit.service import record
from greenbank.bootstrap import Container
from greenbank.bus.models import OutboxEvent
from greenbank.crypto import hmac_sm3
from greenbank.db import run_with_retry
from greenbank.receipts.codes import ALPHABET, verification_code
from greenbank.receipts.issue import issue_receipt
from greenbank.receipts.models import PENDING, Receipt
from greenbank.receipts.render import ReceiptType
from greenbank.receipts.runtime import ReceiptsRuntime


def test_a_receipt_gets_a_number_a_code_and_masked_fields(
    issue: IssueFn, container: Container, rt: ReceiptsRuntime
) -> None:
    receipt = issue()
    assert receipt.receipt_no == "RP20260302000001"
    assert (receipt.status, receipt.business_date, receipt.sequence) == (
        PENDING,
        date(2026, 3, 2),
        1,
    )
    assert receipt.payer_name == "张*" and receipt.payer_account == "6236 68** **** 8901"
    assert receipt.payee_name == "绿色示范银行"  # the bank's own name is printed in full
    assert receipt.rate == "0.0150"
    code = receipt.verification_code
    assert len(code) == 10 and set(code) <= set(ALPHABET)
    assert code == verification_code(
        rt.code_key,
        receipt_no="RP20260302000001",
        amount_fen=1_000_000,
        on=date(2026, 3, 2),
        payee_account=receipt.payee_account,
        mac=hmac_sm3,
    )
    with container.uow() as uow:
        events = [
            (e.event_type, e.aggregate_id, e.payload)
            for e in uow.session.scalars(select(OutboxEvent))
        ]
    assert events == [("receipts.seal_requested", receipt.id, {"receipt_id": receipt.id})]


def test_issuing_twice_for_one_event_returns_the_first_receipt(
    issue: IssueFn, container: Container
) -> None:
    first = issue(source_id="holding-7")
    again = issue(source_id="holding-7", amount_fen=5)  # a retry never makes a second receipt
    assert (again.id, again.receipt_no, again.amount_fen) == (first.id, first.receipt_no, 1_000_000)
    assert issue(source_id="holding-8").receipt_no == "RP20260302000002"
    with container.uow() as uow:
        assert len(uow.session.scalars(select(OutboxEvent)).all()) == 2


def test_a_new_source_skips_the_look_up_and_a_wrong_claim_fails_the_commit_whole(
    container: Container, rt: ReceiptsRuntime
) -> None:
    """``new_source=True`` (the holding or payout was created in this transaction) issues without
    looking for an earlier receipt; were the claim wrong, the UNIQUE constraint refuses it."""
    issue_one(container, rt, "holding-7")
    statements: list[str] = []
    with container.uow() as uow:
        connection = uow.session.connection()
        sa_event.listen(
            connection, "before_cursor_execute", lambda *args: statements.append(args[2])
        )
        again = issue_receipt(
            uow.session,
            purchase_request("holding-7"),
            clock=container.clock,
            code_key=rt.code_key,
            new_source=True,
        )
        assert again.receipt_no is None  # a second receipt, not the first one found
        assert not [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        with pytest.raises(IntegrityError):
            uow.commit()
    with container.uow() as uow:
        assert len(uow.session.scalars(select(Receipt)).all()) == 1
        assert len(uow.session.scalars(select(OutboxEvent)).all()) == 1


def test_numbers_run_per_series_and_business_day(issue: IssueFn) -> None:
    late = datetime(2026, 3, 2, 15, 59, tzinfo=UTC)  # 23:59 Beijing: still 2 March
    next_day = late + timedelta(minutes=1)  # 00:00 Beijing on 3 March
    numbers = [
        issue(source_id="a", time=late).receipt_no,
        issue(source_id="b", time=WHEN).receipt_no,
        issue(source_id="c", time=next_day).receipt_no,
        issue(source_id="d", kind=ReceiptType.TOP_UP).receipt_no,
        issue(source_id="e", kind=ReceiptType.INTEREST).receipt_no,
        issue(source_id="f", kind=ReceiptType.TOP_UP).receipt_no,
    ]
    assert numbers == [
        "RP20260302000001",
        "RP20260302000002",
        "RP20260303000001",
        "RT20260302000001",
        "RI20260302000001",
        "RT20260302000002",
    ]


def test_a_rolled_back_posting_gives_its_number_back(
    issue: IssueFn, container: Container, rt: ReceiptsRuntime
) -> None:
    issue(source_id="one")
    with container.uow() as uow:  # the business transaction fails after issuing: no commit
        taken = issue_receipt(
            uow.session, purchase_request("two"), clock=container.clock, code_key=rt.code_key
        )
        assert taken.receipt_no is None  # numbered at commit
    assert issue(source_id="three").receipt_no == "RP20260302000002"
    with container.uow() as uow:
        assert uow.session.scalars(select(Receipt.source_id)).all() == ["one", "three"]
        assert len(uow.session.scalars(select(OutboxEvent)).all()) == 2


def test_invalid_requests_are_refused_before_anything_is_written() -> None:
    with pytest.raises(ValueError, match="amount_fen"):
        purchase_request(amount_fen=0)
    with pytest.raises(ValueError, match="timezone"):
        purchase_request(time=datetime(2026, 3, 2, 9, 30))  # noqa: DTZ001


@pytest.mark.postgres_only
def test_concurrent_issuance_is_gapless(container: Container, rt: ReceiptsRuntime) -> None:
    """16 threads, each issuing in its own transaction (some rolling back): 1..N exactly."""
    threads, per_thread = 16, 6
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        barrier.wait()
        for i in range(per_thread):

            def attempt(i: int = i) -> None:
                with container.uow() as uow:
                    issue_receipt(
                        uow.session,
                        purchase_request(f"t{t}-{i}"),
                        clock=container.clock,
                        code_key=rt.code_key,
                    )
                    if i % 3 != 2:  # every third business transaction fails and rolls back
                        uow.commit()

            try:
                run_with_retry(attempt)
            except BaseException as err:  # pragma: no cover - reported below
                errors.append(err)

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert not errors
    with container.uow() as uow:
        sequences = uow.session.scalars(select(Receipt.sequence).order_by(Receipt.sequence)).all()
    expected = threads * (per_thread - per_thread // 3)
    assert list(sequences) == list(range(1, expected + 1))


@pytest.mark.postgres_only
def test_concurrent_issuance_of_one_event_makes_one_receipt(
    container: Container, rt: ReceiptsRuntime
) -> None:
    """The business command's own locks normally make this impossible; should it happen, the
    UNIQUE constraint fails every later commit whole (numbers given back), and a command that
    starts after the first commit finds the receipt that committed."""
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def worker() -> None:
        barrier.wait()
        try:
            with container.uow() as uow:
                receipt = issue_receipt(
                    uow.session,
                    purchase_request("same"),
                    clock=container.clock,
                    code_key=rt.code_key,
                )
                uow.commit()
            outcomes.append(receipt.receipt_no)
        except IntegrityError:
            outcomes.append("refused")

    pool = [threading.Thread(target=worker) for _ in range(8)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert "RP20260302000001" in outcomes
    assert set(outcomes) <= {"RP20260302000001", "refused"}, outcomes
    with container.uow() as uow:
        assert len(uow.session.scalars(select(Receipt)).all()) == 1
        assert len(uow.session.scalars(select(OutboxEvent)).all()) == 1
        retried = issue_receipt(
            uow.session, purchase_request("same"), clock=container.clock, code_key=rt.code_key
        )
        assert retried.receipt_no == "RP20260302000001"
    assert issue_one(container, rt, "next").receipt_no == "RP20260302000002"


def issue_one(container: Container, rt: ReceiptsRuntime, source_id: str) -> Receipt:
    with container.uow() as uow:
        receipt = issue_receipt(
            uow.session, purchase_request(source_id), clock=container.clock, code_key=rt.code_key
        )
        uow.commit()
        return receipt


def test_one_transaction_numbers_its_receipts_in_order_per_series(
    container: Container, rt: ReceiptsRuntime
) -> None:
    kinds = [ReceiptType.INTEREST, ReceiptType.MATURITY, ReceiptType.INTEREST]
    with container.uow() as uow:
        receipts = [
            issue_receipt(
                uow.session,
                purchase_request(f"h{n}", kind=kind),
                clock=container.clock,
                code_key=rt.code_key,
            )
            for n, kind in enumerate(kinds)
        ]
        again = issue_receipt(  # the same event again, before commit: the same receipt
            uow.session, purchase_request("h0", kind=ReceiptType.INTEREST),
            clock=container.clock, code_key=rt.code_key,
        )  # fmt: skip
        assert again is receipts[0]
        uow.commit()
    assert [r.receipt_no for r in receipts] == [
        "RI20260302000001",
        "RM20260302000001",
        "RI20260302000002",
    ]


def test_a_rolled_back_savepoint_numbers_nothing(container: Container, rt: ReceiptsRuntime) -> None:
    with container.uow() as uow:
        with pytest.raises(RuntimeError), uow.session.begin_nested():
            issue_receipt(
                uow.session, purchase_request("lost"), clock=container.clock, code_key=rt.code_key
            )
            raise RuntimeError("the nested step failed")
        kept = issue_receipt(
            uow.session, purchase_request("kept"), clock=container.clock, code_key=rt.code_key
        )
        uow.commit()
    assert kept.receipt_no == "RP20260302000001"
    with container.uow() as uow:
        assert uow.session.scalars(select(Receipt.source_id)).all() == ["kept"]


def test_the_counter_is_taken_after_the_business_rows(
    container: Container, rt: ReceiptsRuntime
) -> None:
    """The counter row's lock is held only for the receipts' INSERT and the COMMIT."""
    issue_one(container, rt, "p0")  # the day's counter row exists
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        words = statement.split()
        if words[0] in {"INSERT", "UPDATE"}:  # "INSERT INTO t" / "UPDATE t SET"
            statements.append(f"{words[0]} {words[2] if words[0] == 'INSERT' else words[1]}")

    sa_event.listen(container.engine, "before_cursor_execute", seen)
    try:
        with container.uow() as uow:
            issue_receipt(
                uow.session, purchase_request("p1"), clock=container.clock, code_key=rt.code_key
            )
            record(uow.session, container.clock, actor="test", action="probe", outcome="ok")
            uow.commit()
    finally:
        sa_event.remove(container.engine, "before_cursor_execute", seen)
    counter = statements.index("UPDATE receipt_counters")
    assert {"INSERT audit_log", "INSERT bus_outbox"} <= set(statements[:counter])
    assert statements[counter + 1 :] == ["INSERT receipts"]

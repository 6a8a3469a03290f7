"""Sealing on the bus: exactly one sealed, stored file per business event — with duplicate
deliveries, a worker dying before it stored the file, and one dying after storing it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from tests.integration.receipts.conftest import IssueFn

from greenbank.bootstrap import Container
from greenbank.bus.events import REGISTRY as EVENTS
from greenbank.bus.events import EventMeta
from greenbank.bus.models import Delivery, OutboxEvent
from greenbank.clock import FixedClock
from greenbank.config import Environment, Settings
from greenbank.crypto import sm3
from greenbank.errors import ConfigurationError
from greenbank.receipts.consumers import seal_requested
from greenbank.receipts.events import ReceiptSealRequested
from greenbank.receipts.models import SEALED, Receipt
from greenbank.receipts.runtime import ReceiptsRuntime
from greenbank.receipts.sealing import SealAction, seal_receipt
from greenbank.receipts.store import (
    FileReceiptStore,
    InvalidStoreKey,
    ReceiptFileConflict,
    ReceiptStore,
)
from greenbank.receipts.verify import Reason, verify_receipt_pdf

KEY = "2026/03/02/RP20260302000001.pdf"


def _row(container: Container, receipt_id: str) -> Receipt:
    with container.uow() as uow:
        receipt = uow.session.get_one(Receipt, receipt_id)
        uow.session.expunge(receipt)
        return receipt


def _files(rt: ReceiptsRuntime) -> list[Path]:
    assert isinstance(rt.store, FileReceiptStore)
    return sorted(p for p in rt.store.root.rglob("*") if p.is_file())


def test_the_dispatcher_seals_and_stores_the_receipt(
    issue: IssueFn, dispatch: Callable[[], int], container: Container, rt: ReceiptsRuntime
) -> None:
    receipt = issue()
    assert dispatch() >= 1
    sealed = _row(container, receipt.id)
    assert (sealed.status, sealed.pdf_key) == (SEALED, KEY)
    pdf = rt.store.get(KEY)
    assert pdf is not None and sealed.pdf_sm3 == sm3(pdf).hex() and sealed.pdf_size == len(pdf)
    assert sealed.sealed_at == container.clock.now()
    result = verify_receipt_pdf(pdf, rt.trust_roots)
    assert (result.valid, result.receipt_no, result.timestamped) == (
        True,
        "RP20260302000001",
        True,
    )
    assert _files(rt) == [rt.store.root / KEY]  # type: ignore[attr-defined]
    with container.uow() as uow:
        types = uow.session.scalars(select(OutboxEvent.event_type).order_by(OutboxEvent.sequence))
        assert list(types) == ["receipts.seal_requested", "receipts.sealed"]


def _event(container: Container, receipt_id: str) -> ReceiptSealRequested:
    with container.uow() as uow:
        row = uow.session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == "receipts.seal_requested")
        ).one()
        meta = EventMeta(
            id=row.id,
            aggregate_type=row.aggregate_type,
            aggregate_id=row.aggregate_id,
            sequence=row.sequence,
            created_at=row.created_at,
            headers=row.headers,
        )
        event = EVENTS.parse(row.event_type, row.version, row.payload, meta)
    assert isinstance(event, ReceiptSealRequested) and event.receipt_id == receipt_id
    return event


def test_a_second_delivery_changes_nothing(
    issue: IssueFn, dispatch: Callable[[], int], container: Container, rt: ReceiptsRuntime
) -> None:
    receipt = issue()
    dispatch()
    first = _row(container, receipt.id)
    stored = rt.store.get(KEY)
    event = _event(container, receipt.id)
    for _ in range(2):  # redelivered past the processed-events record, e.g. a replayed event
        with container.uow() as uow:
            seal_requested(event, uow)
            uow.commit()
    with container.uow() as uow:
        outcome = seal_receipt(uow.session, receipt.id, rt)
    assert outcome.action is SealAction.ALREADY_SEALED and outcome.pdf_sm3 == first.pdf_sm3
    again = _row(container, receipt.id)
    assert (again.pdf_sm3, again.sealed_at) == (first.pdf_sm3, first.sealed_at)
    assert rt.store.get(KEY) == stored and len(_files(rt)) == 1


class _BrokenTsa:
    def timestamper(self) -> object:
        raise RuntimeError("TSA unreachable")


class _DiesAfterStoring:
    """Stores the file, then the worker 'dies' before its transaction commits."""

    def __init__(self, inner: ReceiptStore) -> None:
        self.inner = inner

    def get(self, key: str) -> bytes | None:
        return self.inner.get(key)

    def put(self, key: str, data: bytes) -> None:
        self.inner.put(key, data)
        raise SystemError("worker killed after storing")

    def replace(self, key: str, data: bytes) -> None:  # pragma: no cover - not reached
        raise AssertionError("no replace expected")


def _retry_later(container: Container) -> None:
    assert isinstance(container.clock, FixedClock)
    container.clock.advance(timedelta(minutes=15))  # past the dispatcher's back-off


def _attempts(container: Container) -> list[tuple[int, str | None]]:
    with container.uow() as uow:
        return [(d.attempts, d.last_error) for d in uow.session.scalars(select(Delivery))]


def test_a_worker_dying_mid_signing_leaves_nothing_and_the_retry_seals(
    issue: IssueFn, dispatch: Callable[[], int], container: Container, rt: ReceiptsRuntime
) -> None:
    receipt = issue()
    real_tsa = rt.tsa
    rt.tsa = _BrokenTsa()  # type: ignore[misc]
    dispatch()
    assert _row(container, receipt.id).status == "pending"
    assert _files(rt) == []
    [(attempts, error)] = _attempts(container)
    assert attempts == 1 and error is not None and "TSA unreachable" in error
    rt.tsa = real_tsa  # type: ignore[misc]
    _retry_later(container)
    dispatch()
    assert _row(container, receipt.id).status == SEALED and len(_files(rt)) == 1


def test_a_worker_dying_after_storing_the_file_gets_its_file_adopted(
    issue: IssueFn, dispatch: Callable[[], int], container: Container, rt: ReceiptsRuntime
) -> None:
    receipt = issue()
    real_store = rt.store
    rt.store = _DiesAfterStoring(real_store)
    dispatch()
    assert _row(container, receipt.id).status == "pending"  # the transaction rolled back
    orphan = real_store.get(KEY)
    assert orphan is not None  # ... but the file was stored
    rt.store = real_store
    with container.uow() as uow:
        outcome = seal_receipt(uow.session, receipt.id, rt)  # what the retry will do (no commit)
    assert outcome.action is SealAction.ADOPTED
    _retry_later(container)
    dispatch()
    sealed = _row(container, receipt.id)
    assert sealed.status == SEALED and sealed.pdf_sm3 == sm3(orphan).hex()
    assert real_store.get(KEY) == orphan and len(_files(rt)) == 1


def test_an_invalid_left_over_file_is_replaced(
    issue: IssueFn, container: Container, rt: ReceiptsRuntime
) -> None:
    receipt = issue()
    rt.store.put(KEY, b"%PDF-1.7 half a file")
    with container.uow() as uow:
        outcome = seal_receipt(uow.session, receipt.id, rt)
        uow.commit()
    assert outcome.action is SealAction.REPLACED
    pdf = rt.store.get(KEY)
    assert pdf is not None and verify_receipt_pdf(pdf, rt.trust_roots).reason is Reason.OK
    assert _row(container, receipt.id).pdf_sm3 == sm3(pdf).hex()


def test_the_file_store_is_write_once(tmp_path: Path) -> None:
    store = FileReceiptStore(tmp_path)
    store.put(KEY, b"sealed")
    store.put(KEY, b"sealed")  # the same bytes again: fine (a retried write)
    with pytest.raises(ReceiptFileConflict):
        store.put(KEY, b"different")
    assert store.get(KEY) == b"sealed"
    assert store.get("2026/03/02/RP20260302000009.pdf") is None
    assert [p.name for p in (tmp_path / "2026/03/02").iterdir()] == ["RP20260302000001.pdf"]
    for bad in ("../../etc/passwd", "2026/03/02/../x.pdf", "x.pdf", "2026/03//a.pdf"):
        with pytest.raises(InvalidStoreKey):
            store.get(bad)


def test_missing_pki_is_created_in_development_and_refused_in_production(tmp_path: Path) -> None:
    def settings(env: Environment, var: Path) -> Settings:
        return Settings(
            environment=env,
            var_dir=var,
            secret_key=SecretStr("a-production-secret-of-some-length"),
            _env_file=None,  # type: ignore[call-arg]
        )

    production = ReceiptsRuntime.from_settings(settings(Environment.PRODUCTION, tmp_path / "p"))
    with pytest.raises(ConfigurationError, match="no receipt seal PKI in"):
        _ = production.identity
    assert not (tmp_path / "p" / "pki").exists()
    development = ReceiptsRuntime.from_settings(settings(Environment.DEVELOPMENT, tmp_path / "d"))
    assert development.trust_roots[0] == development.identity.chain[-1]
    assert (tmp_path / "d" / "pki" / "tsa.pem").exists()

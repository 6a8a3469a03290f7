"""Receipts service fixtures: one dev PKI per session copied into each test's var dir (key
generation is slow), a runtime bound to the test container, and helpers to issue and seal."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from greenbank.bootstrap import Container
from greenbank.bus.consumers import REGISTRY, ConsumerRegistry, load_bus_modules
from greenbank.bus.dispatcher import Dispatcher
from greenbank.receipts.issue import PartyIn, ReceiptRequest, issue_receipt
from greenbank.receipts.models import Receipt
from greenbank.receipts.pki import init_pki
from greenbank.receipts.render import ReceiptType
from greenbank.receipts.runtime import ReceiptsRuntime, runtime

BANK = "绿色示范银行"
WHEN = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Beijing: business day 2026-03-02


@pytest.fixture(scope="session")
def pki_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("receipts-pki") / "pki"
    init_pki(directory, BANK)
    return directory


@pytest.fixture
def rt(container: Container, pki_template: Path) -> ReceiptsRuntime:
    shutil.copytree(pki_template, container.settings.var_dir / "pki")
    return runtime(container)


def purchase_request(
    source_id: str = "holding-1",
    *,
    amount_fen: int = 1_000_000,
    customer_id: str | None = "cust-1",
    kind: ReceiptType = ReceiptType.DEPOSIT_PURCHASE,
    time: datetime = WHEN,
) -> ReceiptRequest:
    return ReceiptRequest(
        type=kind,
        source_type=kind.value,
        source_id=source_id,
        customer_id=customer_id,
        time=time,
        serial_no=f"TX-{source_id}",
        payer=PartyIn(name="张三丰", account="6236680012345678901", bank=BANK + "广州分行"),
        payee=PartyIn(name=BANK, account="4400000000000000001", bank=BANK, organisation=True),
        amount_fen=amount_fen,
        product="绿色定期存款 1年",
        term="1年",
        rate=Decimal("0.0150"),
        value_date=date(2026, 3, 2),
        maturity_date=date(2027, 3, 2),
    )


IssueFn = Callable[..., Receipt]


@pytest.fixture
def issue(container: Container, rt: ReceiptsRuntime) -> IssueFn:
    """Issue (and commit) a receipt the way a business service does, in its own transaction."""

    def run(request: ReceiptRequest | None = None, **kwargs: object) -> Receipt:
        with container.uow() as uow:
            receipt = issue_receipt(
                uow.session,
                request or purchase_request(**kwargs),  # type: ignore[arg-type]
                clock=container.clock,
                code_key=rt.code_key,
            )
            uow.commit()
            return receipt

    return run


@pytest.fixture
def dispatch(container: Container) -> Callable[[], int]:
    """Run the real dispatcher with only the receipts consumer until nothing is due."""
    load_bus_modules()
    seal = REGISTRY.get("receipts.seal")
    assert seal is not None
    dispatcher = Dispatcher(container, consumers=ConsumerRegistry([seal]))
    return dispatcher.drain

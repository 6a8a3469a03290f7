"""A customer with an open Class II account and a sandbox card rail, for the fund-loop tests.

The account is opened through the onboarding domain's own ``open_class2_account`` from an
application row filled in as if every KYC step had passed (the KYC steps have their own tests).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from greenbank.accounts.card_rail import SandboxCardRail, sandbox_secret
from greenbank.accounts.funds import top_up, withdraw
from greenbank.accounts.funds_policy import FundsPolicy, FundsRuntime
from greenbank.accounts.funds_schemas import TransferOut
from greenbank.accounts.models import Application, ApplicationState, ClassIIAccount
from greenbank.accounts.service import NumberPolicy, open_class2_account
from greenbank.accounts.settlement import settle_due
from greenbank.bootstrap import Container
from greenbank.clock import FixedClock
from greenbank.customers import registry
from greenbank.ids import new_id
from greenbank.ledger import service as ledger
from greenbank.ledger.schemas import BalanceOut
from greenbank.receipts.issue import code_key

CARD = "6217000010001234567"
OTHER_CARD = "6222020200112233445"
LATENCY = timedelta(seconds=5)
NUMBERS = NumberPolicy(prefix="62309144", branch_code="440100")


def open_account(
    container: Container,
    *,
    phone: str = "13812345678",
    id_number: str = "11010519491231002X",
    card: str = CARD,
    device_id: str | None = None,
    id_valid_to: date | None = date(2036, 1, 1),
) -> tuple[str, str]:
    """(customer id, account id) of a freshly opened, active account with ``card`` bound."""
    clock = container.clock
    with container.uow() as uow:
        session = uow.session
        customer = registry.get_or_create_by_phone(session, container.keyring, clock, phone)
        now = clock.now()
        application = Application(
            id=new_id(),
            customer_id=customer.id,
            state=ApplicationState.CARD_BOUND.value,
            name="张三丰",
            id_number=id_number,
            sex="male",
            nationality="CHN",
            occupation="engineer",
            address="广东省广州市天河区体育西路1号",
            id_valid_from=date(2016, 1, 1),
            id_valid_to=id_valid_to,
            region_code="440106",
            card_number=card,
            card_bin=card[:6],
            card_bank_code="ICBC",
            card_bank_name="中国工商银行",
            bank_mobile=phone,
            device_id=device_id,
            created_at=now,
            updated_at=now,
        )
        session.add(application)
        session.flush()
        account = open_class2_account(
            session, clock=clock, application=application, policy=NUMBERS, actor="test"
        )
        uow.commit()
        return customer.id, account.id


@dataclass
class World:
    """One customer's account plus the runtime that moves its money."""

    container: Container
    customer_id: str
    account_id: str
    rt: FundsRuntime

    @classmethod
    def open(
        cls, container: Container, *, policy: FundsPolicy | None = None, **kw: object
    ) -> World:
        customer_id, account_id = open_account(container, **kw)  # type: ignore[arg-type]
        return cls(container, customer_id, account_id, runtime(container, policy))

    @property
    def clock(self) -> FixedClock:
        assert isinstance(self.container.clock, FixedClock)
        return self.container.clock

    @property
    def rail(self) -> SandboxCardRail:
        assert isinstance(self.rt.rail, SandboxCardRail)
        return self.rt.rail

    def top_up(self, amount_fen: int, key: str | None = None, **kw: str) -> TransferOut:
        return top_up(
            self.container.uow,
            self.rt,
            customer_id=self.customer_id,
            amount_fen=amount_fen,
            idempotency_key=key or new_id(),
            **kw,
        )

    def withdraw(self, amount_fen: int, key: str | None = None, **kw: str) -> TransferOut:
        return withdraw(
            self.container.uow,
            self.rt,
            customer_id=self.customer_id,
            amount_fen=amount_fen,
            idempotency_key=key or new_id(),
            **kw,
        )

    def settle(self) -> list[TransferOut]:
        """Let the rail's latency pass and ask it about everything still processing."""
        self.clock.advance(LATENCY)
        return settle_due(self.container.uow, self.rt)

    def funded(self, amount_fen: int) -> TransferOut:
        self.top_up(amount_fen)
        (settled,) = self.settle()
        assert settled.status == "settled"
        return settled

    def balance(self) -> BalanceOut:
        with self.container.uow() as uow:
            return ledger.balance(
                uow.session,
                clock=self.clock,
                account=ledger.customer_account_code(self.customer_id),
            )

    def account(self) -> ClassIIAccount:
        """The account row as it is now, detached (readable after the session closed)."""
        with self.container.uow() as uow:
            account = uow.session.get_one(ClassIIAccount, self.account_id)
            uow.session.expunge(account)
            return account

    def with_policy(self, policy: FundsPolicy) -> World:
        return replace(self, rt=replace(self.rt, policy=policy))


def runtime(container: Container, policy: FundsPolicy | None = None) -> FundsRuntime:
    return FundsRuntime(
        clock=container.clock,
        rail=SandboxCardRail(secret=sandbox_secret("test"), latency=LATENCY),
        policy=policy or FundsPolicy(),
        receipt_code_key=code_key("test"),
    )


def assert_ledger_clean(container: Container) -> None:
    with container.uow() as uow:
        report = ledger.verify_ledger(uow.session)
    assert report.ok, [c for c in report.checks if not c.ok]

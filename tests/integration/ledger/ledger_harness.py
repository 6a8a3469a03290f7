"""A small test harness over the ledger commands of one container (shared by ledger tests)."""

from __future__ import annotations

from dataclasses import dataclass

from greenbank.bootstrap import Container
from greenbank.ledger import commands
from greenbank.ledger.accounts import CARD_CLEARING
from greenbank.ledger.domain import EntryCode, EntrySpec
from greenbank.ledger.schemas import EntryOut


@dataclass
class Books:
    """A small test harness over the ledger commands of one container."""

    container: Container
    alice: str
    bob: str

    def top_up(self, account: str, amount_fen: int, key: str) -> EntryOut:
        spec = EntrySpec.transfer(
            code=EntryCode.TOP_UP,
            idempotency_key=key,
            debit=CARD_CLEARING,
            credit=account,
            amount_fen=amount_fen,
        )
        return self.post(spec)

    def post(self, spec: EntrySpec) -> EntryOut:
        c = self.container
        return commands.post_entry(uow_factory=c.uow, clock=c.clock, spec=spec)

    def balance(self, account: str) -> int:
        c = self.container
        return commands.balance(uow_factory=c.uow, clock=c.clock, account=account).balance_fen

    def available(self, account: str) -> int:
        c = self.container
        return commands.balance(uow_factory=c.uow, clock=c.clock, account=account).available_fen

    def verify_clean(self) -> None:
        report = commands.verify_ledger(uow_factory=self.container.uow)
        assert report.ok, [c for c in report.checks if not c.ok]

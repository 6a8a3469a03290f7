"""Property test (SQLite): random entries, holds, posts, voids, reversals, expiries and replays
keep the trial balance at zero, guarded balances >= 0, and match a simple in-memory model.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from greenbank.bootstrap import build_container
from greenbank.clock import FixedClock
from greenbank.config import Environment, Settings
from greenbank.errors import GreenbankError
from greenbank.ids import new_id
from greenbank.ledger import commands
from greenbank.ledger.accounts import CARD_CLEARING
from greenbank.ledger.domain import EntryCode, EntrySpec
from greenbank.ledger.models import Posting

CUSTOMERS = 3
amounts = st.integers(min_value=1, max_value=5_000)
who = st.integers(min_value=0, max_value=CUSTOMERS - 1)


class LedgerMachine(RuleBasedStateMachine):
    template: ClassVar[Path]
    workdir: ClassVar[Path]

    def __init__(self) -> None:
        super().__init__()
        path = self.workdir / f"{new_id()}.db"
        shutil.copy(self.template, path)
        self.clock = FixedClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
        config = Settings(
            environment=Environment.TEST,
            database_url=f"sqlite:///{path}",
            var_dir=self.workdir,
            _env_file=None,  # type: ignore[call-arg]
        )
        self.c = build_container(config, clock=self.clock)
        commands.ensure_chart_of_accounts(uow_factory=self.c.uow, clock=self.clock)
        self.accounts = [
            commands.open_customer_account(
                uow_factory=self.c.uow, clock=self.clock, customer_id=f"c{n}"
            ).code
            for n in range(CUSTOMERS)
        ]
        self.balance = dict.fromkeys(self.accounts, 0)
        self.holds: dict[str, tuple[str, int, datetime]] = {}  # pending: account, amount, expiry
        self.reversible: dict[str, dict[str, int]] = {}  # entry id -> customer deltas
        self.replays: list[tuple[Callable[[], Any], str]] = []
        self.keys = 0

    def key(self) -> str:
        self.keys += 1
        return f"k{self.keys}"

    def available(self, account: str) -> int:
        now = self.clock.now()
        held = sum(a for acc, a, exp in self.holds.values() if acc == account and exp > now)
        return self.balance[account] - held

    def post(self, spec: EntrySpec, deltas: dict[str, int]) -> None:
        def call() -> Any:
            return commands.post_entry(uow_factory=self.c.uow, clock=self.clock, spec=spec)

        short = any(self.available(a) + d < 0 for a, d in deltas.items())
        try:
            entry = call()
        except GreenbankError as err:
            assert short and err.code == "insufficient_funds", err
            return
        assert not short
        for account, delta in deltas.items():
            self.balance[account] += delta
        self.reversible[entry.id] = deltas
        self.replays.append((call, entry.id))

    @rule(n=who, amount=amounts)
    def top_up(self, n: int, amount: int) -> None:
        target = self.accounts[n]
        spec = EntrySpec.transfer(
            code=EntryCode.TOP_UP,
            idempotency_key=self.key(),
            debit=CARD_CLEARING,
            credit=target,
            amount_fen=amount,
        )
        self.post(spec, {target: amount})

    @rule(src=who, dst=who, amount=amounts)
    def transfer(self, src: int, dst: int, amount: int) -> None:
        if src == dst:
            return
        a, b = self.accounts[src], self.accounts[dst]
        spec = EntrySpec.transfer(
            code=EntryCode.ADJUSTMENT,
            idempotency_key=self.key(),
            debit=a,
            credit=b,
            amount_fen=amount,
        )
        self.post(spec, {a: -amount, b: amount})

    @rule(n=who, amount=amounts, minutes=st.integers(min_value=1, max_value=120))
    def hold(self, n: int, amount: int, minutes: int) -> None:
        account = self.accounts[n]
        expires = self.clock.now() + timedelta(minutes=minutes)
        key = self.key()

        def call() -> Any:
            return commands.hold(
                uow_factory=self.c.uow,
                clock=self.clock,
                account=account,
                amount_fen=amount,
                idempotency_key=key,
                expires_at=expires,
            )

        short = self.available(account) < amount
        try:
            held = call()
        except GreenbankError as err:
            assert short and err.code == "insufficient_funds", err
            return
        assert not short
        self.holds[held.id] = (account, amount, expires)
        self.replays.append((call, held.id))

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def post_hold(self, data: st.DataObject) -> None:
        hold_id = data.draw(st.sampled_from(sorted(self.holds)))
        account, amount, expires = self.holds[hold_id]
        take = data.draw(st.integers(min_value=1, max_value=amount))
        spec = EntrySpec.transfer(
            code=EntryCode.WITHDRAWAL,
            idempotency_key=self.key(),
            debit=account,
            credit=CARD_CLEARING,
            amount_fen=take,
        )

        def call() -> Any:
            return commands.post_hold(
                uow_factory=self.c.uow, clock=self.clock, hold_id=hold_id, spec=spec
            )

        try:
            entry = call()
        except GreenbankError as err:
            assert expires <= self.clock.now() and err.code == "hold_expired", err
            return
        del self.holds[hold_id]
        self.balance[account] -= take
        self.reversible[entry.id] = {account: -take}
        self.replays.append((call, entry.id))

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def void_hold(self, data: st.DataObject) -> None:
        hold_id = data.draw(st.sampled_from(sorted(self.holds)))
        try:
            commands.void_hold(uow_factory=self.c.uow, clock=self.clock, hold_id=hold_id)
        except GreenbankError as err:
            assert self.holds[hold_id][2] <= self.clock.now() and err.code == "hold_expired", err
            return
        del self.holds[hold_id]

    @precondition(lambda self: self.reversible)
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        entry_id = data.draw(st.sampled_from(sorted(self.reversible)))
        deltas = {a: -d for a, d in self.reversible[entry_id].items()}
        key = self.key()

        def call() -> Any:
            return commands.reverse_entry(
                uow_factory=self.c.uow,
                clock=self.clock,
                entry_id=entry_id,
                idempotency_key=key,
                reason="test",
            )

        short = any(self.available(a) + d < 0 for a, d in deltas.items())
        try:
            reversal = call()
        except GreenbankError as err:
            assert short and err.code == "insufficient_funds", err
            return
        assert not short
        del self.reversible[entry_id]
        for account, delta in deltas.items():
            self.balance[account] += delta
        self.replays.append((call, reversal.id))

    @rule(minutes=st.integers(min_value=1, max_value=90), sweep=st.booleans())
    def time_passes(self, minutes: int, sweep: bool) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        now = self.clock.now()
        if sweep:
            expired = commands.expire_holds(uow_factory=self.c.uow, clock=self.clock)
            assert expired <= sum(1 for _, _, exp in self.holds.values() if exp <= now)
            self.holds = {h: v for h, v in self.holds.items() if v[2] > now}

    @precondition(lambda self: self.replays)
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        call, first_id = data.draw(st.sampled_from(self.replays))
        again = call()
        assert again.id == first_id and again.replayed  # and the invariants see no change

    @invariant()
    def books_match_the_model(self) -> None:
        for account in self.accounts:
            out = commands.balance(uow_factory=self.c.uow, clock=self.clock, account=account)
            assert out.balance_fen == self.balance[account] >= 0
            assert out.available_fen == self.available(account) >= 0
        with self.c.uow() as uow:
            total = uow.session.scalar(select(func.coalesce(func.sum(Posting.amount_fen), 0)))
        assert total == 0

    def teardown(self) -> None:
        report = commands.verify_ledger(uow_factory=self.c.uow)
        assert report.ok, [check for check in report.checks if not check.ok]
        self.c.close()


def test_random_ledger_histories_keep_the_books_balanced(
    sqlite_template: Path, tmp_path: Path
) -> None:
    LedgerMachine.template = sqlite_template
    LedgerMachine.workdir = tmp_path
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(max_examples=40, stateful_step_count=20, deadline=None),
    )

"""Fixtures for ledger tests: the chart of accounts and two customers' Class II accounts."""

from __future__ import annotations

import pytest
from ledger_harness import Books

from greenbank.bootstrap import Container
from greenbank.ledger import commands


@pytest.fixture
def books(container: Container) -> Books:
    commands.ensure_chart_of_accounts(uow_factory=container.uow, clock=container.clock)
    codes = [
        commands.open_customer_account(
            uow_factory=container.uow, clock=container.clock, customer_id=name
        ).code
        for name in ("alice", "bob")
    ]
    return Books(container, *codes)

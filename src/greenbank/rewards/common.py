"""What the rewards services share: idempotency keys, request fingerprints, audited commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from greenbank.audit.service import audited_command as command
from greenbank.db import UowFactory
from greenbank.errors import IdempotencyKeyReused as IdempotencyKeyReused
from greenbank.errors import NotFound
from greenbank.idempotency import check_key, fingerprint

T = TypeVar("T")


class RewardNotFound(NotFound):
    code = "reward_not_found"
    title = "No such rewards record"


def read(uow: UowFactory, work: Callable[[Session], T]) -> T:
    """A read in its own unit of work (nothing to commit)."""
    with uow() as unit:
        return work(unit.session)


__all__ = [
    "IdempotencyKeyReused",
    "RewardNotFound",
    "check_key",
    "command",
    "fingerprint",
    "read",
]

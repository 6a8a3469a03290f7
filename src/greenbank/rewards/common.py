"""What the rewards services share: idempotency keys, request fingerprints, audited commands."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from greenbank.audit.service import record
from greenbank.clock import Clock
from greenbank.db import UowFactory, run_with_retry
from greenbank.errors import GreenbankError, NotFound
from greenbank.errors import IdempotencyKeyReused as IdempotencyKeyReused
from greenbank.errors import InvalidIdempotencyKey as InvalidIdempotencyKey

T = TypeVar("T")


class RewardNotFound(NotFound):
    code = "reward_not_found"
    title = "No such rewards record"


def check_key(key: str) -> str:
    key = key.strip()
    if not 0 < len(key) <= 100:
        raise InvalidIdempotencyKey()
    return key


def fingerprint(**content: Any) -> str:
    """SHA-256 of a request, so a retried key can be told from a key reused for another one."""
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def command(
    uow: UowFactory,
    clock: Clock,
    work: Callable[[Session], T],
    *,
    actor: str,
    action: str,
    subject: str | None = None,
    **detail: Any,
) -> T:
    """Run ``work(session)`` in one unit of work (retried whole on deadlock) with an audit line;
    a refusal rolls everything back and leaves only its audit line."""

    def attempt() -> T:
        with uow() as unit:
            result = work(unit.session)
            record(unit.session, clock, actor=actor, action=action, subject=subject, **detail)
            unit.commit()
            return result

    try:
        return run_with_retry(attempt)
    except GreenbankError as err:
        with uow() as unit:
            record(
                unit.session,
                clock,
                actor=actor,
                action=action,
                outcome="refused",
                subject=subject,
                code=err.code,
                **detail,
            )
            unit.commit()
        raise


def read(uow: UowFactory, work: Callable[[Session], T]) -> T:
    """A read in its own unit of work (nothing to commit)."""
    with uow() as unit:
        return work(unit.session)

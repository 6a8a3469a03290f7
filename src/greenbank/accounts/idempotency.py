"""Replaying state-changing requests: the first answer to an ``Idempotency-Key`` is kept and
returned again for the same request, so a client that lost a response can safely resend.

The state machine already refuses a step done twice (``wrong_step``); the stored answer makes
the retry *succeed* with the original result instead. A key reused for a different request
(another route or other input) is ``idempotency_key_reused``. Failed requests are not stored:
they changed nothing, so resending them simply runs them again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from greenbank.accounts.errors import IdempotencyKeyReused
from greenbank.accounts.models import IdempotentResponse
from greenbank.clock import Clock
from greenbank.crypto import sm3
from greenbank.db import UowFactory


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def fingerprint(action: str, **inputs: Any) -> str:
    """SM3 over the action and its inputs (bytes are hashed first: uploads can be large)."""
    canonical = {k: sm3(v).hex() if isinstance(v, bytes) else v for k, v in inputs.items()}
    payload = json.dumps([action, canonical], sort_keys=True, ensure_ascii=False, default=str)
    return sm3(payload.encode()).hex()


def replay_or_run(
    uow: UowFactory,
    clock: Clock,
    *,
    customer_id: str,
    key: str | None,
    request_fingerprint: str,
    run: Callable[[], dict[str, Any]],
    status_code: int = 200,
    redact: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Answer:
    """Run the request once per key; ``redact`` masks what is kept for a replay (the stored
    answer is plain JSON, so it must not hold personal data in the clear)."""
    if key is None:
        return Answer(status_code, run())
    with uow() as work:
        found = work.session.get(IdempotentResponse, (customer_id, key))
        if found is not None:
            if found.fingerprint != request_fingerprint:
                raise IdempotencyKeyReused()
            return Answer(found.status_code, found.body, replayed=True)
    body = run()
    with uow() as work:
        try:
            work.session.add(
                IdempotentResponse(
                    customer_id=customer_id,
                    key=key,
                    fingerprint=request_fingerprint,
                    status_code=status_code,
                    body=redact(body) if redact else body,
                    created_at=clock.now(),
                )
            )
            work.commit()
        except IntegrityError:
            pass  # a concurrent retry stored the same answer first
    return Answer(status_code, body)

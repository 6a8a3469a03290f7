"""Pieces the customer opening routes share: headers, common problems, idempotent answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse

from greenbank.accounts.idempotency import fingerprint, replay_or_run
from greenbank.accounts.schemas import problems
from greenbank.api.deps import ContainerDep
from greenbank.identity.deps import CurrentCustomer

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=100,
        description="Repeat a request safely: the first answer is replayed",
    ),
]
DeviceId = Annotated[
    str | None, Header(alias="X-Device-Id", max_length=200, description="Device fingerprint")
]
COMMON: dict[int | str, dict[str, Any]] = {
    401: problems("No valid customer token.", "unauthorized", "token_expired"),
    404: problems("Not your application.", "application_not_found"),
    409: problems(
        "Wrong step or replay conflict.",
        "wrong_step",
        "application_changed",
        "idempotency_key_reused",
    ),
    503: problems("A vendor did not answer; retry the same step.", "provider_unavailable"),
}


def answer(
    container: ContainerDep,
    me: CurrentCustomer,
    key: str | None,
    action: str,
    run: Callable[[], dict[str, Any]],
    *,
    status_code: int = 200,
    redact: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    **inputs: Any,
) -> JSONResponse:
    answer = replay_or_run(
        container.uow,
        container.clock,
        customer_id=me.id,
        key=key,
        request_fingerprint=fingerprint(action, **inputs),
        run=run,
        status_code=status_code,
        redact=redact,
    )
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)

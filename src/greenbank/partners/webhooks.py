"""Webhooks: subscriptions, notifications and their delivery through the bus.

A change that a partner should hear about writes one ``partner_notifications`` row per matching
subscription and publishes ``partners.notification_queued`` in the same transaction. The bus
consumer (``consumers.py``) POSTs the callback; the dispatcher supplies retries with exponential
back-off and dead letters. Every attempt is logged: a success in the consumer's transaction, a
failure in a transaction of its own once the consumer's has rolled back (so the bus retries).

The callback body follows WeChat Pay APIv3: ``{id, create_time, event_type, resource_type,
summary, resource: {algorithm: AEAD_SM4_GCM, ciphertext, nonce, associated_data}}``, signed
with the platform key in the ``Greenbank-*`` headers like every answer.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.bootstrap import Container
from greenbank.bus import Event, publish
from greenbank.clock import Clock
from greenbank.errors import ServiceUnavailable, ValidationFailed
from greenbank.partners import domain
from greenbank.partners.errors import ApiSecretMissing, WebhookNotFound
from greenbank.partners.gateway import Caller, reader
from greenbank.partners.models import ACTIVE, DELETED, Notification, Webhook, WebhookAttempt
from greenbank.partners.registry import callback_key_of
from greenbank.partners.runtime import PartnersRuntime
from greenbank.partners.signing import encrypt_resource

log = logging.getLogger(__name__)
_FAILED = "greenbank.partners.failed_attempts"
SUMMARIES = {
    "event.credited": "A reported event was credited",
    "event.rejected": "A reported event was rejected",
    "authorisation.revoked": "A customer revoked the partner's authorisation",
}


class NotificationQueued(Event):
    type = "partners.notification_queued"
    version = 1
    notification_id: str
    partner_id: str


class WebhookDeliveryFailed(ServiceUnavailable):
    code = "webhook_delivery_failed"
    title = "The partner's webhook did not accept the callback"


@dataclass(frozen=True)
class WebhookView:
    id: str
    url: str
    event_types: list[str]
    status: str
    created_at: datetime


def _view(row: Webhook) -> WebhookView:
    return WebhookView(row.id, row.url, list(row.event_types), row.status, row.created_at)


def subscribe(
    session: Session, clock: Clock, caller: Caller, *, url: str, event_types: Sequence[str]
) -> WebhookView:
    unknown = sorted(set(event_types) - set(domain.NOTIFICATION_TYPES))
    if unknown or not event_types:
        raise ValidationFailed(f"event_types must be among {', '.join(domain.NOTIFICATION_TYPES)}")
    domain.check_webhook_url(url, sandbox=caller.sandbox)
    if callback_key_of(session, caller.partner_id) is None:
        raise ApiSecretMissing()
    row = Webhook(
        partner_id=caller.partner_id,
        url=url,
        event_types=sorted(set(event_types)),
        status=ACTIVE,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return _view(row)


def subscriptions(container: Container, caller: Caller) -> list[WebhookView]:
    with reader(container) as session:
        rows = session.scalars(
            select(Webhook)
            .where(Webhook.partner_id == caller.partner_id, Webhook.status == ACTIVE)
            .order_by(Webhook.created_at)
        )
        return [_view(row) for row in rows]


def unsubscribe(session: Session, clock: Clock, caller: Caller, webhook_id: str) -> WebhookView:
    row = session.get(Webhook, webhook_id)
    if row is None or row.partner_id != caller.partner_id:
        raise WebhookNotFound()
    if row.status == ACTIVE:
        row.status, row.deleted_at = DELETED, clock.now()
    return _view(row)


def notify(
    session: Session,
    clock: Clock,
    *,
    partner_id: str,
    event_type: str,
    payloads: Sequence[dict[str, Any]],
) -> int:
    """Queue ``payloads`` for every subscription of the partner to ``event_type`` (in the
    caller's transaction). Returns how many notifications were queued."""
    if not payloads:
        return 0
    hooks = [
        hook
        for hook in session.scalars(
            select(Webhook).where(Webhook.partner_id == partner_id, Webhook.status == ACTIVE)
        )
        if event_type in hook.event_types
    ]
    now = clock.now()
    for hook in hooks:
        for payload in payloads:
            row = Notification(
                partner_id=partner_id,
                webhook_id=hook.id,
                event_type=event_type,
                payload=payload,
                created_at=now,
            )
            session.add(row)
            session.flush()
            publish(
                session,
                NotificationQueued(notification_id=row.id, partner_id=partner_id),
                aggregate_type="partner_notification",
                aggregate_id=row.id,
                clock=clock,
            )
    return len(hooks) * len(payloads)


def callback_body(notification: Notification, key: bytes) -> bytes:
    plaintext = json.dumps(notification.payload, ensure_ascii=False).encode()
    notice = {
        "id": notification.id,
        "create_time": notification.created_at.isoformat(),
        "event_type": notification.event_type,
        "resource_type": "encrypt-resource",
        "summary": SUMMARIES.get(notification.event_type, notification.event_type),
        "resource": encrypt_resource(key, plaintext, notification.event_type),
    }
    return json.dumps(notice, ensure_ascii=False).encode()


def deliver(session: Session, rt: PartnersRuntime, notification_id: str) -> None:
    """POST one callback; raise on failure so the bus retries it with back-off."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.delivered_at is not None:
        return
    hook = session.get(Webhook, notification.webhook_id)
    if hook is None or hook.status != ACTIVE:
        return  # unsubscribed since: nothing to deliver
    key = callback_key_of(session, notification.partner_id)
    if key is None:
        raise ApiSecretMissing()
    body = callback_body(notification, key)
    at, started = rt.clock.now(), time.perf_counter()
    headers = {**rt.keys.sign_headers(body, at), "Content-Type": "application/json"}
    status: int | None = None
    try:
        response = rt.http.post(hook.url, content=body, headers=headers)
        status = response.status_code
        error = None if 200 <= status < 300 else f"HTTP {status}"
    except httpx.HTTPError as err:
        error = f"{type(err).__name__}: {err}"[:300]
    attempt = {
        "notification_id": notification.id,
        "partner_id": notification.partner_id,
        "at": at,
        "http_status": status,
        "error": error,
        "duration_ms": int((time.perf_counter() - started) * 1000),
    }
    if error is None:
        notification.delivered_at = at
        session.add(WebhookAttempt(**attempt))
        return
    session.info.setdefault(_FAILED, []).append(attempt)
    raise WebhookDeliveryFailed(f"{hook.url}: {error}")


@sa_event.listens_for(Session, "after_rollback")
def _log_failed_attempts(session: Session) -> None:
    pending = session.info.pop(_FAILED, None)
    if not pending:
        return
    try:
        with Session(bind=session.get_bind()) as other:
            other.add_all(WebhookAttempt(**values) for values in pending)
            other.commit()
    except Exception:  # the log must never hide the delivery failure itself
        log.exception("partners: could not log %d failed webhook attempt(s)", len(pending))


@dataclass(frozen=True)
class DeliveryView:
    notification_id: str
    event_type: str
    webhook_id: str
    created_at: datetime
    delivered_at: datetime | None
    attempts: list[dict[str, Any]]


def deliveries(container: Container, caller: Caller, *, limit: int = 50) -> list[DeliveryView]:
    """The delivery log: recent notifications, each with every attempt."""
    with reader(container) as session:
        rows = list(
            session.scalars(
                select(Notification)
                .where(Notification.partner_id == caller.partner_id)
                .order_by(Notification.created_at.desc(), Notification.id.desc())
                .limit(limit)
            )
        )
        attempts: dict[str, list[dict[str, Any]]] = {row.id: [] for row in rows}
        for item in session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.notification_id.in_(list(attempts)))
            .order_by(WebhookAttempt.at, WebhookAttempt.id)
        ):
            attempts[item.notification_id].append(
                {
                    "at": item.at.isoformat(),
                    "http_status": item.http_status,
                    "error": item.error,
                    "duration_ms": item.duration_ms,
                }
            )
        return [
            DeliveryView(
                r.id, r.event_type, r.webhook_id, r.created_at, r.delivered_at, attempts[r.id]
            )
            for r in rows
        ]

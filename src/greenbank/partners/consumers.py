"""The ``partners.webhook`` bus consumer (listed in ``greenbank.bus.consumers.BUS_MODULES``).

One delivery per notification: the dispatcher retries a failed POST with exponential back-off
and makes it a dead letter after ``GREENBANK_BUS_MAX_ATTEMPTS``; ``webhooks.deliver`` skips a
notification already delivered, so a redelivery never reaches the partner twice.
"""

from __future__ import annotations

from greenbank.bus import consumer
from greenbank.db import UnitOfWork
from greenbank.partners.runtime import runtime_of
from greenbank.partners.webhooks import NotificationQueued, deliver

WEBHOOK_CONSUMER = "partners.webhook"


@consumer(WEBHOOK_CONSUMER, event_types=[NotificationQueued])
def post_callback(event: NotificationQueued, uow: UnitOfWork) -> None:
    deliver(uow.session, runtime_of(uow.session), event.notification_id)

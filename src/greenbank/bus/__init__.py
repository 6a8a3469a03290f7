"""The enterprise service bus: a transactional outbox and its dispatcher (see README.md).

Publishers: ``publish(session, SomeEvent(...), aggregate_type=..., aggregate_id=...)`` inside
their own transaction. Subscribers: ``@consumer("domain.action", event_types=[SomeEvent])``.
The dispatcher (``greenbank.bus.dispatcher``) runs embedded in ``greenbank serve`` or as
``greenbank worker`` processes.
"""

from greenbank.bus import models as models
from greenbank.bus.consumers import consumer
from greenbank.bus.events import Event, EventMeta
from greenbank.bus.outbox import publish

__all__ = ["Event", "EventMeta", "consumer", "models", "publish"]

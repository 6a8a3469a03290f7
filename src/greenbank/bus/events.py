"""Versioned event schemas and the registry that parses stored payloads back into them.

An event is a frozen Pydantic model with a dotted ``type`` (``<domain>.<what_happened>``) and an
integer ``version``. A breaking change is a *new class* with the same ``type`` and the next
``version``; both stay registered while old rows may still be in the outbox, and consumers list
the versions they understand. Defining the class registers it — nothing else to do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from greenbank.errors import GreenbankError

TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class UnknownEventType(GreenbankError):
    code = "bus_unknown_event_type"
    status = 422
    title = "No event schema is registered for this type and version"


class InvalidEventPayload(GreenbankError):
    code = "bus_invalid_event_payload"
    status = 422
    title = "The stored event payload does not match its schema"


class EventMeta(BaseModel):
    """Where an event came from: set when it is read back from the outbox."""

    model_config = ConfigDict(frozen=True)

    id: str
    aggregate_type: str
    aggregate_id: str
    sequence: int
    created_at: datetime
    headers: dict[str, str]


class Event(BaseModel):
    """Base of every bus event. Subclasses set ``type`` and ``version`` as class attributes.

    ``event.meta.id`` (the outbox id) is the natural idempotency key for a consumer's effect.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ClassVar[str]
    version: ClassVar[int] = 1
    _meta: EventMeta | None = PrivateAttr(default=None)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "type" in cls.__dict__:
            REGISTRY.register(cls)

    @property
    def meta(self) -> EventMeta:
        if self._meta is None:
            raise RuntimeError("event metadata exists only on events read back from the outbox")
        return self._meta


class EventRegistry:
    """(type, version) -> Event class; one per process (``REGISTRY``)."""

    def __init__(self) -> None:
        self._classes: dict[tuple[str, int], type[Event]] = {}

    def register(self, cls: type[Event]) -> None:
        if not TYPE_PATTERN.match(cls.type):
            raise ValueError(f"event type {cls.type!r} must look like 'domain.what_happened'")
        if cls.version < 1:
            raise ValueError(f"event {cls.type!r}: version must be >= 1")
        key = (cls.type, cls.version)
        known = self._classes.get(key)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise ValueError(f"event {cls.type!r} v{cls.version} is already {known.__qualname__}")
        self._classes[key] = cls

    def lookup(self, event_type: str, version: int) -> type[Event]:
        cls = self._classes.get((event_type, version))
        if cls is None:
            raise UnknownEventType(
                f"no Event class for {event_type!r} version {version}: define it, and list its "
                "module in greenbank.bus.consumers.BUS_MODULES so workers import it"
            )
        return cls

    def parse(
        self, event_type: str, version: int, payload: Mapping[str, Any], meta: EventMeta | None
    ) -> Event:
        cls = self.lookup(event_type, version)
        try:
            event = cls.model_validate(payload)
        except ValidationError as err:
            raise InvalidEventPayload(
                f"{event_type} v{version}: {err.error_count()} invalid field(s): "
                + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
            ) from err
        event._meta = meta
        return event

    def known(self) -> list[tuple[str, int]]:
        return sorted(self._classes)


REGISTRY = EventRegistry()

__all__ = [
    "REGISTRY",
    "Event",
    "EventMeta",
    "EventRegistry",
    "InvalidEventPayload",
    "UnknownEventType",
]

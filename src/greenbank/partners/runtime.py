"""Per-process wiring for the open API: settings (platform keys), clock and the webhook HTTP client.

Bus consumers receive only a unit of work, so ``runtime_of(session)`` finds the runtime by the
session's engine. The API registers it on the first partner request (``runtime(container)``); a
``greenbank worker`` that never served one builds it from the environment's settings.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from functools import cached_property

import httpx
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from greenbank.bootstrap import Container
from greenbank.clock import Clock, SystemClock
from greenbank.config import Settings
from greenbank.partners.signing import PlatformKeys, platform_keys

WEBHOOK_TIMEOUT_S = 5.0


@dataclass
class PartnersRuntime:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    webhook_timeout_s: float = WEBHOOK_TIMEOUT_S

    @property
    def keys(self) -> PlatformKeys:
        return platform_keys(self.settings)

    @cached_property
    def http(self) -> httpx.Client:
        # Callbacks go to the URL the partner registered, never through an environment proxy.
        return httpx.Client(timeout=self.webhook_timeout_s, trust_env=False, follow_redirects=False)


_BY_ENGINE: weakref.WeakKeyDictionary[Engine, PartnersRuntime] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def runtime(container: Container) -> PartnersRuntime:
    found = _BY_ENGINE.get(container.engine)
    if found is None:
        with _GUARD:
            found = _BY_ENGINE.setdefault(
                container.engine, PartnersRuntime(container.settings, container.clock)
            )
    return found


def runtime_of(session: Session) -> PartnersRuntime:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _GUARD:
        found = _BY_ENGINE.get(engine)
        if found is None:
            found = _BY_ENGINE[engine] = PartnersRuntime(Settings())
        return found

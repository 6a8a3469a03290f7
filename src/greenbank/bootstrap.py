"""Composition root: Settings -> engine -> session factory -> providers.

Everything with a lifetime longer than a request is built here once and handed down; nothing
else in greenbank reads the environment or creates engines.
"""

from __future__ import annotations

import gc
import importlib
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from greenbank.clock import Clock, SystemClock
from greenbank.config import Environment, Settings
from greenbank.crypto import KeyRing
from greenbank.db import UnitOfWork, create_db_engine
from greenbank.errors import ConfigurationError
from greenbank.keys import open_keyring
from greenbank.pii import KEYRING_INFO, KeyRingSource

# Domain packages whose ``models`` module registers tables on ``Base.metadata``.
MODEL_MODULES = (
    "greenbank.audit",
    "greenbank.deposits.models",
    "greenbank.bus",
    "greenbank.ledger.models",
    "greenbank.customers.models",
    "greenbank.identity.models",
    "greenbank.receipts.models",
    "greenbank.accounts.models",
    "greenbank.accounts.funds_models",
    "greenbank.deposits.holdings_models",
    "greenbank.carbon.models",
    "greenbank.rewards.models",
    "greenbank.partners.models",
)


def import_all_models() -> None:
    """Import every domain's tables so metadata (and Alembic autogenerate) sees all of them."""
    for name in MODEL_MODULES:
        importlib.import_module(name)


@dataclass
class Container:
    """The long-lived objects of one greenbank process."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)
    keyring_source: KeyRingSource | None = None

    @property
    def keyring(self) -> KeyRing:
        """The PII key ring, opened on first use (sessions reach it via ``info["keyring"]``)."""
        if self.keyring_source is None:
            raise ConfigurationError("this container was built without a key ring")
        return self.keyring_source()

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def close(self) -> None:
        self.engine.dispose()


def build_container(settings: Settings, *, clock: Clock | None = None) -> Container:
    import_all_models()
    engine = create_db_engine(
        settings.database_url, pool_size=settings.db_pool_size, echo=settings.db_echo
    )
    keyring = KeyRingSource(lambda: open_keyring(settings))
    factory = sessionmaker(bind=engine, expire_on_commit=False, info={KEYRING_INFO: keyring})
    return Container(
        settings=settings,
        engine=engine,
        session_factory=factory,
        clock=clock or SystemClock(),
        keyring_source=keyring,
    )


__all__ = ["Container", "build_container", "import_all_models"]


def freeze_start_up_heap(settings: Settings) -> bool:
    """``gc.freeze()`` what a long-running process built at start-up, if ``gc_freeze`` allows.

    Modules, caches, the app and the pools live as long as the process; left to the collector,
    each full collection walks all of them again (measured: a quarter of carbon ingestion's
    wall time). Frozen, they are never collected — right for start-up objects, wrong for a test
    process that builds an app per test, hence off there by default.
    """
    enabled = settings.gc_freeze
    if enabled is None:
        enabled = settings.environment is not Environment.TEST
    if enabled:
        gc.collect()
        gc.freeze()
    return enabled

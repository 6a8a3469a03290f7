"""Composition root: Settings -> engine -> session factory -> providers.

Everything with a lifetime longer than a request is built here once and handed down; nothing
else in greenbank reads the environment or creates engines.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from greenbank.clock import Clock, SystemClock
from greenbank.config import Settings
from greenbank.db import UnitOfWork, create_db_engine

# Domain packages whose ``models`` module registers tables on ``Base.metadata``.
MODEL_MODULES = ("greenbank.audit", "greenbank.deposits.models", "greenbank.identity.models")


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

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def close(self) -> None:
        self.engine.dispose()


def build_container(settings: Settings, *, clock: Clock | None = None) -> Container:
    import_all_models()
    engine = create_db_engine(
        settings.database_url, pool_size=settings.db_pool_size, echo=settings.db_echo
    )
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    return Container(
        settings=settings,
        engine=engine,
        session_factory=factory,
        clock=clock or SystemClock(),
    )


__all__ = ["Container", "build_container", "import_all_models"]

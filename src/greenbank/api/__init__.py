"""HTTP API: ``create_app(settings)`` builds a FastAPI app around one Container."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from greenbank import __version__
from greenbank.api.metrics import DbPoolCollector
from greenbank.api.middleware import HttpMetrics, RequestContextMiddleware
from greenbank.api.problems import install_problem_handlers
from greenbank.bootstrap import Container, build_container, freeze_start_up_heap
from greenbank.bus.dispatcher import start_embedded
from greenbank.config import Settings
from greenbank.deposits.maturity import start_maturity_scheduler
from greenbank.logs import configure_logging

# Routers of the domains, mounted in this order. Each module exposes ``router``.
ROUTER_MODULES = (
    "greenbank.api.health",
    "greenbank.deposits.router",
    "greenbank.identity.router",
    "greenbank.receipts.router",
    "greenbank.deposits.holdings_router",
    "greenbank.deposits.staff_router",
    "greenbank.accounts.router",
    "greenbank.accounts.funds_router",
    "greenbank.carbon.router",
    "greenbank.carbon.pages",
    "greenbank.rewards.router",
    "greenbank.rewards.staff_router",
    "greenbank.partners.router",
    "greenbank.partners.customer_router",
    "greenbank.partners.staff_router",
)

DESCRIPTION = """
greenbank gives a bank a **personal carbon account** and an **online deposit platform**.

Every error is an [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) `application/problem+json`
body with a stable `code`, and every response carries an `X-Request-Id` header.
"""


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    """Build the app around a ready ``container`` (tests), or ``settings``, or the environment."""
    if container is None:
        container = build_container(settings or Settings())
    settings = container.settings
    configure_logging(settings.log_level, json_lines=settings.log_json)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        dispatcher = start_embedded(container)  # None when GREENBANK_BUS_EMBEDDED_DISPATCHER=0
        maturity = start_maturity_scheduler(container)  # GREENBANK_DEPOSITS_MATURITY_SCHEDULER
        freeze_start_up_heap(settings)  # GREENBANK_GC_FREEZE
        if settings.http_threads is not None:  # GREENBANK_HTTP_THREADS
            to_thread.current_default_thread_limiter().total_tokens = settings.http_threads
        yield
        if maturity is not None:
            maturity.stop()
        if dispatcher is not None:
            dispatcher.stop()
        container.close()

    app = FastAPI(
        title="greenbank",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.container = container
    registry = CollectorRegistry()
    registry.register(DbPoolCollector(container.engine))
    app.state.metrics_registry = registry
    app.add_middleware(RequestContextMiddleware, metrics=HttpMetrics(registry))
    install_problem_handlers(app)
    for module_name in ROUTER_MODULES:
        app.include_router(importlib.import_module(module_name).router)
    return app


__all__ = ["create_app"]

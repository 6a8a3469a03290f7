"""Liveness, readiness and metrics endpoints for load balancers and Prometheus."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from greenbank import __version__
from greenbank.api.deps import ContainerDep
from greenbank.migrations_runner import migration_status

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get(
    "/readyz",
    summary="Readiness: database reachable and migrations at head",
    responses={503: {"description": "Not ready; the body says which check failed"}},
)
def readyz(container: ContainerDep) -> JSONResponse:
    checks: dict[str, Any] = {}
    ready = True
    try:
        with container.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        status = migration_status(container.engine)
        checks["migrations"] = {
            "current": sorted(status.current),
            "head": sorted(status.heads),
            "pending": sorted(status.pending),
            "at_head": status.at_head,
        }
        ready = status.at_head
    except Exception as err:  # any failure means "not ready"; say which
        checks["database"] = f"unavailable: {type(err).__name__}"
        ready = False
    body = {"status": "ready" if ready else "not_ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST
    )

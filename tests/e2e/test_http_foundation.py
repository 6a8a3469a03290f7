"""The HTTP surface every later endpoint relies on: health, errors as problem+json, ids, metrics."""

from __future__ import annotations

import logging

import pytest
from anyio import to_thread
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from greenbank.api import create_app
from greenbank.bootstrap import Container, build_container
from greenbank.config import Settings
from greenbank.errors import NotFound


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_when_migrated(client: TestClient) -> None:
    body = client.get("/readyz").json()
    assert body["status"] == "ready"
    assert body["checks"]["migrations"]["at_head"] is True


def test_readyz_is_503_on_an_unmigrated_database(tmp_path: object) -> None:
    container = build_container(Settings(database_url="sqlite://", _env_file=None))  # type: ignore[call-arg]
    with TestClient(create_app(container=container)) as test_client:
        response = test_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"]["at_head"] is False


@pytest.mark.parametrize(("http_threads", "tokens"), [(None, 40), (4, 4)])
def test_http_threads_sets_the_request_thread_pool(http_threads: int | None, tokens: int) -> None:
    """GREENBANK_HTTP_THREADS caps the threads running synchronous endpoints (anyio's default
    limiter of the app's event loop); unset, anyio's 40 stay."""
    settings = Settings(database_url="sqlite://", http_threads=http_threads, _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(container=build_container(settings))) as test_client:
        assert test_client.portal is not None
        limiter = test_client.portal.call(to_thread.current_default_thread_limiter)
        assert limiter.total_tokens == tokens


def test_unknown_route_is_problem_json(client: TestClient) -> None:
    response = client.get("/no/such/route")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "not_found"


class _Body(BaseModel):
    amount_fen: int = Field(gt=0)


def _app_with_test_routes(container: Container) -> TestClient:
    app = create_app(container=container)
    router = APIRouter()

    @router.post("/_test/validate")
    def validate(body: _Body) -> dict[str, int]:
        return {"amount_fen": body.amount_fen}

    @router.get("/_test/domain-error")
    def domain_error() -> None:
        raise NotFound("no holding 42", holding_id="42")

    @router.get("/_test/crash")
    def crash() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False)


def test_validation_errors_are_problem_json(container: Container) -> None:
    response = _app_with_test_routes(container).post("/_test/validate", json={"amount_fen": -1})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert body["errors"][0]["loc"] == ["body", "amount_fen"]


def test_domain_errors_keep_their_code_and_extra(container: Container) -> None:
    response = _app_with_test_routes(container).get("/_test/domain-error")
    assert response.status_code == 404
    assert response.json() | {"request_id": None} == {
        "type": "https://greenbank.dev/problems/not_found",
        "title": "Not found",
        "status": 404,
        "code": "not_found",
        "detail": "no holding 42",
        "holding_id": "42",
        "request_id": None,
    }


def test_unexpected_errors_do_not_leak_and_are_logged_with_the_request_id(
    container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    test_client = _app_with_test_routes(container)
    with caplog.at_level(logging.ERROR, logger="greenbank.api"):
        logging.getLogger("greenbank").propagate = True
        response = test_client.get("/_test/crash", headers={"X-Request-Id": "req-123"})
    assert response.status_code == 500
    assert "hunter2" not in response.text
    assert response.json()["code"] == "internal_error"
    assert response.json()["request_id"] == "req-123"
    assert response.headers["x-request-id"] == "req-123"
    assert any(getattr(r, "request_id", None) == "req-123" for r in caplog.records)


def test_request_id_is_generated_when_absent_or_unsafe(client: TestClient) -> None:
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 36
    unsafe = client.get("/healthz", headers={"X-Request-Id": "bad id!"}).headers["x-request-id"]
    assert unsafe != "bad id!"


def test_metrics_count_requests_by_route(client: TestClient) -> None:
    client.get("/healthz")
    text = client.get("/metrics").text
    assert 'greenbank_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "greenbank_http_request_seconds_bucket" in text
    assert "greenbank_db_pool_connections" in text


def test_openapi_describes_the_api(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "greenbank"
    assert "/healthz" in schema["paths"]
    assert client.get("/docs").status_code == 200

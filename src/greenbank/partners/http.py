"""HTTP plumbing of the open API: the signed-request dependency and a route class that signs
every answer (problems included) with the platform key and logs every refusal.

Authentication runs before the body is parsed, so an unsigned caller learns nothing about the
schema; the body is then read as the exact bytes that were signed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from greenbank.api.deps import ContainerDep
from greenbank.api.problems import problem
from greenbank.bootstrap import Container
from greenbank.errors import GreenbankError, ValidationFailed
from greenbank.partners import domain, gateway
from greenbank.partners.errors import MalformedJson
from greenbank.partners.runtime import runtime
from greenbank_sdk.protocol import H_PLATFORM_SERIAL, IDEMPOTENCY_KEY

M = TypeVar("M", bound=BaseModel)
_CLAIMED = re.compile(r'partner_id="([a-z0-9_.-]{1,64})"')


def path_with_query(request: Request) -> str:
    """The request target exactly as the client sent it (what it signed)."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    return raw.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@dataclass(frozen=True)
class Signed:
    """An authenticated request: who, and the exact bytes they signed."""

    caller: gateway.Caller
    method: str
    path: str
    body: bytes
    idempotency_key: str | None
    platform_serial: str | None  # the platform key sensitive fields were encrypted to

    def parse(self, model: type[M]) -> M:
        return model.model_validate(self.json())

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as err:
            raise MalformedJson(str(err)[:200]) from None

    def once(
        self, container: Container, work: Callable[[Session], tuple[int, dict[str, Any]]]
    ) -> JSONResponse:
        """Run a write once per Idempotency-Key and answer with its (first) result."""
        status, answer = gateway.idempotent(
            container,
            self.caller,
            key=self.idempotency_key or "",
            fingerprint=gateway.request_hash(self.method, self.path, self.body),
            work=work,
        )
        return JSONResponse(answer, status_code=status)


SM2_SCHEME = APIKeyHeader(
    name="Authorization",
    scheme_name="GREENBANK-SM2-WITH-SM3",
    description=(
        "SM2-with-SM3 signature (ID 1234567812345678, DER, base64) over "
        "`METHOD\\nPATH_WITH_QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n`, sent as "
        '`GREENBANK-SM2-WITH-SM3 partner_id="...",nonce_str="...",timestamp="...",'
        'serial_no="...",signature="..."`. Answers carry Greenbank-Timestamp, -Nonce, -Serial '
        "and -Signature over `TIMESTAMP\\nNONCE\\nBODY\\n` (platform key). See docs/partners.md."
    ),
    auto_error=False,
)


async def signed_request(
    request: Request,
    container: ContainerDep,
    _scheme: Annotated[str | None, Security(SM2_SCHEME)],
) -> Signed:
    body = await request.body()
    path = path_with_query(request)
    caller = await run_in_threadpool(
        gateway.authenticate,
        container,
        header=request.headers.get("authorization"),
        method=request.method,
        path=path,
        body=body,
        client_ip=client_ip(request),
    )
    return Signed(
        caller,
        request.method,
        path,
        body,
        request.headers.get(IDEMPOTENCY_KEY),
        request.headers.get(H_PLATFORM_SERIAL),
    )


SignedRequest = Annotated[Signed, Depends(signed_request)]


def _as_problem(err: Exception) -> tuple[JSONResponse, str, str]:
    if isinstance(err, ValidationError | RequestValidationError):
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": str(e.get("type"))}
            for e in err.errors()
        ]
        failed = ValidationFailed("the body does not match the schema; see 'errors'")
        return (
            problem(failed.status, failed.code, failed.title, failed.detail, errors=errors),
            failed.code,
            failed.detail,
        )
    assert isinstance(err, GreenbankError)
    extra = {k: v for k, v in err.extra.items() if k not in {"type", "title", "status"}}
    response = problem(err.status, err.code, err.title, err.detail, **extra)
    response.headers.update(getattr(err, "headers", None) or {})
    return response, err.code, err.detail


class OpenApiRoute(APIRoute):
    """Signs every answer with the platform key; logs refusals for the partner's request log."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            container: Container = request.app.state.container
            try:
                response = await original(request)
            except (GreenbankError, ValidationError, RequestValidationError) as err:
                response, code, detail = _as_problem(err)
                claimed = _CLAIMED.search(request.headers.get("authorization", ""))
                await run_in_threadpool(
                    gateway.log_refusal,
                    container,
                    partner_id=claimed.group(1) if claimed else None,
                    method=request.method,
                    path=path_with_query(request),
                    status=response.status_code,
                    code=code,
                    detail=detail,
                    client_ip=client_ip(request),
                )
            keys = runtime(container).keys
            response.headers.update(keys.sign_headers(bytes(response.body), container.clock.now()))
            return response

        return handler


def check_batch(payload: Any) -> None:
    """Refuse an oversized batch before validating 500+ items."""
    if isinstance(payload, dict) and isinstance(payload.get("events"), list):
        domain.check_batch_size(len(payload["events"]))


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def json_body(model: type[BaseModel], *, batch: bool = False) -> dict[str, Any]:
    """OpenAPI ``requestBody`` for routes that read the signed bytes themselves."""
    raw = model.model_json_schema()
    schema: dict[str, Any] = _inline(raw, raw.get("$defs", {}))
    if batch:
        schema["properties"]["events"]["maxItems"] = domain.MAX_BATCH
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}

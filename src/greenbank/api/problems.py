"""RFC 9457 problem+json for every error, with greenbank's stable ``code``.

Known domain errors keep their code and status; framework errors (validation, unknown route)
get codes of their own; anything unexpected is logged with the request id and answered 500
without internals.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from greenbank.errors import GreenbankError
from greenbank.logs import current_request_id

PROBLEM_JSON = "application/problem+json"
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def problem(
    status: int, code: str, title: str, detail: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://greenbank.dev/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def unexpected_error_response() -> JSONResponse:
    """The 500 answer: no internals, just the request id to quote (the middleware logs it)."""
    return problem(
        500,
        "internal_error",
        "Internal error",
        "Something went wrong on our side; quote the request id when you contact us.",
    )


def _json_safe(errors: list[Any]) -> list[dict[str, Any]]:
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": str(e.get("type"))}
        for e in errors
    ]


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(GreenbankError)
    async def _domain(_request: Request, err: GreenbankError) -> JSONResponse:
        extra = {k: v for k, v in err.extra.items() if k not in {"type", "title", "status"}}
        response = problem(err.status, err.code, err.title, err.detail, **extra)
        # Errors may ask for headers: WWW-Authenticate on 401, Retry-After on 429 (identity).
        response.headers.update(getattr(err, "headers", None) or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, err: RequestValidationError) -> JSONResponse:
        return problem(
            422,
            "validation_failed",
            "Input is not valid",
            "The request does not match the schema; see 'errors'.",
            errors=_json_safe(list(err.errors())),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, err: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(err.status_code, f"http_{err.status_code}")
        detail = err.detail if isinstance(err.detail, str) else None
        response = problem(err.status_code, code, detail or code.replace("_", " "), None)
        if err.headers:
            response.headers.update(err.headers)
        return response

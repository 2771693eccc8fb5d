"""Map every error to an RFC 9457 problem response (or an HTML page for browsers)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from timbel.core.errors import (
    AppError,
    BadRequest,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
    problem_body,
)

PROBLEM_JSON = "application/problem+json"
HtmlRenderer = Callable[[Request, AppError], Response | None]


def problem_response(request_id: str, instance: str, error: AppError) -> JSONResponse:
    """Render an AppError as problem+json."""
    return JSONResponse(
        problem_body(
            status=error.status,
            code=error.code,
            title=error.title,
            detail=error.detail,
            instance=instance,
            request_id=request_id,
            errors=error.errors,
        ),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=error.headers,
    )


def _request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def _respond(request: Request, error: AppError) -> Response:
    renderer: HtmlRenderer | None = getattr(request.app.state, "html_error_renderer", None)
    if renderer is not None:
        page = renderer(request, error)
        if page is not None:
            return page
    return problem_response(_request_id(request), request.url.path, error)


def too_large_app(scope: Scope, request_id: str) -> JSONResponse:
    """Build the 413 response used by the body-limit middleware."""
    return problem_response(request_id, scope["path"], PayloadTooLarge("The request body is too large."))


def crashed_app(scope: Scope, request_id: str) -> Response:
    """Build the 500 response for an unexpected error (details stay in the server log)."""
    error = InternalError("An unexpected error occurred; the request id identifies it in the server log.")
    app = scope.get("app")
    renderer: HtmlRenderer | None = getattr(getattr(app, "state", None), "html_error_renderer", None)
    if renderer is not None:
        page = renderer(Request(scope), error)
        if page is not None:
            return page
    return problem_response(request_id, scope["path"], error)


def _field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in errors
    ]


def install_error_handlers(app: FastAPI) -> None:
    """Register the one mapping from exceptions to responses."""

    @app.exception_handler(AppError)
    async def on_app_error(request: Request, exc: AppError) -> Response:
        return _respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return _respond(request, BadRequest("The request body is not valid JSON."))
        return _respond(
            request, ValidationFailed("The request has invalid fields.", errors=_field_errors(errors))
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        if request.scope.get("state", {}).get("body_too_large"):
            return _respond(request, PayloadTooLarge("The request body is too large."))
        if exc.status_code == 404:
            error: AppError = NotFound("There is nothing at this address.")
        elif exc.status_code == 405:
            error = MethodNotAllowed("This address does not accept that method.")
            error.headers = dict(exc.headers or {})
        elif exc.status_code == 400:
            error = BadRequest("The request body could not be read.")
        else:
            error = BadRequest(str(exc.detail))
        return _respond(request, error)

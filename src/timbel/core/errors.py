"""One error hierarchy, mapped once to HTTP status and an RFC 9457 problem body."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class AppError(Exception):
    """Base of every error Timbel reports to a client."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    # When true, the request transaction still commits (e.g. a failed login records the attempt).
    keep_changes: ClassVar[bool] = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = list(errors or [])
        self.headers = dict(headers or {})


class BadRequest(AppError):
    """The request cannot be read (e.g. malformed JSON)."""

    status = 400
    code = "bad-request"
    title = "Bad request"


class AuthenticationRequired(AppError):
    """No valid credentials were presented."""

    status = 401
    code = "authentication-required"
    title = "Authentication required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class AuthenticationFailed(AuthenticationRequired):
    """Credentials were presented and rejected; side effects (audit, throttle) are kept."""

    code = "authentication-failed"
    title = "Authentication failed"
    keep_changes = True


class PermissionDenied(AppError):
    """The caller is known but lacks the permission."""

    status = 403
    code = "permission-denied"
    title = "Permission denied"


class NotFound(AppError):
    """The addressed resource does not exist (or is not visible to the caller)."""

    status = 404
    code = "not-found"
    title = "Not found"


class MethodNotAllowed(AppError):
    """The route exists but not for this method."""

    status = 405
    code = "method-not-allowed"
    title = "Method not allowed"


class Conflict(AppError):
    """The change conflicts with the current state (duplicate name, …)."""

    status = 409
    code = "conflict"
    title = "Conflict"


class InvalidTransition(Conflict):
    """A state machine refused a transition."""

    code = "invalid-transition"
    title = "Invalid state transition"


class PayloadTooLarge(AppError):
    """The request body exceeds the configured limit."""

    status = 413
    code = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(AppError):
    """An upload whose sniffed content type is not allowed."""

    status = 415
    code = "unsupported-media-type"
    title = "Unsupported media type"


class ValidationFailed(AppError):
    """The input is well-formed but invalid; ``errors`` name the fields."""

    status = 422
    code = "validation-failed"
    title = "Validation failed"


class TooManyRequests(AppError):
    """The caller is throttled; ``Retry-After`` says when to come back."""

    status = 429
    code = "too-many-requests"
    title = "Too many requests"
    keep_changes = True


class InternalError(AppError):
    """Something failed inside Timbel; details stay in the server log."""

    status = 500
    code = "internal-error"
    title = "Internal error"


class IntegrationError(AppError):
    """An external system failed; the message names the integration instance."""

    status = 502
    code = "integration-error"
    title = "Integration error"


class IntegrationUnavailable(IntegrationError):
    """The external system could not be reached."""

    status = 503
    code = "integration-unavailable"
    title = "Integration unavailable"


class IntegrationAuthError(IntegrationError):
    """The external system rejected Timbel's credentials."""

    code = "integration-auth-error"
    title = "Integration authentication failed"


def problem_body(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str,
    request_id: str,
    errors: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Build an RFC 9457 problem document."""
    body: dict[str, Any] = {
        "type": f"urn:timbel:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        "request_id": request_id,
    }
    if errors:
        body["errors"] = [dict(e) for e in errors]
    return body

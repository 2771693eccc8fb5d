"""Turn service and validation errors into translated field messages, and read submitted forms.

Services raise English ``ValidationFailed``/``Conflict`` errors meant for API
clients; pages show the same problems in the user's language next to the field
that caused them. Messages stay untranslated message ids here and are
translated when the form is rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request

from timbel.auth.passwords import MAX_PASSWORD_LENGTH
from timbel.core.errors import AppError
from timbel.web.i18n import N_

REQUIRED = N_("This field is required.")
INVALID = N_("This value is not valid.")
NOT_SAVED = N_("The change could not be saved.")

# Service error types (``errors[].type``) → message id.
TYPE_MESSAGES = {
    "password.too_short": N_("Use at least %(min_length)s characters."),
    "password.too_long": N_("Use at most %(max_length)s characters."),
    "password.contains_username": N_("The password must not contain the username."),
    "password.too_common": N_("This password is too common; choose a less guessable one."),
    "password.mismatch": N_("The current password is not correct."),
    "password.unchanged": N_("The new password must differ from the current one."),
    "token.ceiling_too_high": N_("The role ceiling exceeds your own permissions."),
    "token.too_long_lived": N_("API tokens expire after at most %(max_days)s days."),
    "unknown_domain": N_("Unknown domain."),
    "username.taken": N_("That username is already taken."),
    "email.taken": N_("That e-mail address is already used by another account."),
    "user.taken": N_("That username or e-mail is already taken."),
    "token.name_taken": N_("You already have an API token with that name."),
    "user.last_admin": N_("This is the last active administrator; keep at least one."),
    "user.self_deactivate": N_("You cannot deactivate your own account."),
    "name.taken": N_("That name is already used here."),
    "domain.code_taken": N_("A domain with that code already exists."),
    "project.due_before_start": N_("The due date is before the start date."),
    "project.urgent_incomplete": N_("Urgent handling needs a reason and a deadline."),
    "missing": REQUIRED,
    "string_too_short": REQUIRED,
    "string_too_long": N_("This value is too long."),
    "enum": N_("Choose one of the offered values."),
    "literal_error": N_("Choose one of the offered values."),
    "int_parsing": N_("Enter a whole number."),
    "greater_than_equal": N_("Enter a larger number."),
}

# Validation problems that depend on the field (pydantic reports them as generic value errors).
FIELD_MESSAGES = {
    ("username", "value_error"): N_(
        "Use 2 to 63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit."
    ),
    ("email", "value_error"): N_("Enter a valid e-mail address."),
    ("roles", "too_short"): N_("Choose at least one role."),
}


@dataclass(frozen=True, slots=True)
class Message:
    """A message id with its format parameters, translated at render time."""

    text: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class FormErrors:
    """Messages per field, plus messages about the form as a whole."""

    fields: dict[str, list[Message]] = field(default_factory=dict)
    general: list[Message] = field(default_factory=list)
    detail: str | None = None

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def add(self, name: str | None, text: str, **params: Any) -> None:
        """Add a message to a field (or to the whole form when ``name`` is None)."""
        message = Message(text, params)
        if name is None:
            self.general.append(message)
        elif message not in self.fields.setdefault(name, []):
            self.fields[name].append(message)

    def get(self, name: str) -> list[Message]:
        """Return a field's messages (for templates)."""
        return self.fields.get(name, [])


def _field_of(loc: Any) -> str | None:
    parts = [p for p in (loc or ()) if isinstance(p, str) and p != "body"]
    return parts[0] if parts else None


def _message_for(name: str | None, kind: str) -> str:
    if name is not None and (name, kind) in FIELD_MESSAGES:
        return FIELD_MESSAGES[(name, kind)]
    return TYPE_MESSAGES.get(kind, INVALID)


def from_app_error(error: AppError, *, min_password_length: int = 0, max_token_days: int = 0) -> FormErrors:
    """Translate a service's ValidationFailed/Conflict into form messages."""
    errors = FormErrors()
    params = {
        "min_length": min_password_length,
        "max_length": MAX_PASSWORD_LENGTH,
        "max_days": max_token_days,
    }
    for item in error.errors:
        name = _field_of(item.get("loc"))
        errors.add(name, _message_for(name, str(item.get("type", ""))), **params)
    if not errors:
        errors.add(None, NOT_SAVED)
        errors.detail = error.detail
    return errors


def from_validation_error(error: ValidationError) -> FormErrors:
    """Translate a pydantic ValidationError (from building a service schema) into form messages."""
    errors = FormErrors()
    for item in error.errors():
        name = _field_of(item.get("loc"))
        errors.add(name, _message_for(name, str(item.get("type", ""))))
    return errors


def discard_changes(session: Session, error: AppError) -> None:
    """Undo a failed service call's flushed changes unless the error says to keep them."""
    if not error.keep_changes:
        session.rollback()


async def read_form(request: Request) -> FormData:
    """Return the submitted form (an empty one for other content types)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return await request.form()
    return FormData()


def text(form: FormData, name: str, *, limit: int = 1024) -> str:
    """Return a submitted text field, stripped (empty when absent)."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def secret(form: FormData, name: str) -> str:
    """Return a submitted password as typed (never stripped), empty when absent."""
    value = form.get(name)
    return value[:1024] if isinstance(value, str) else ""


def values(form: FormData, name: str) -> list[str]:
    """Return every value of a multi-valued field (checkboxes)."""
    return [v for v in form.getlist(name) if isinstance(v, str)]

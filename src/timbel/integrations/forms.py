"""Admin form fields generated from an adapter's pydantic config JSON schema, and the submitted form back.

Why prefixed input names (``opt.retries``, ``secret.password``, ``clear.password``): an adapter's option may
be called ``name`` or ``domain_id`` too, and the prefix keeps each error next to its input. Secret inputs are
never filled in: an empty one keeps the stored value, the "clear" box removes it (the API's absent/null).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from babel.messages.extract import extract_python
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from timbel.core.errors import AppError
from timbel.integrations import service
from timbel.integrations.models import Integration
from timbel.web.forms import INVALID, REQUIRED, FormErrors, text
from timbel.web.i18n import N_, gettext

TOP_FIELDS = ("name", "base_url")
TEXT_LIMIT = 20_000
TEXTAREA_SUFFIXES = ("_cert", "kubeconfig")
LABELS = {
    "name": N_("Name"),
    "base_url": N_("Base URL"),
    "username": N_("User name"),
    "password": N_("Password"),
    "bearer_token": N_("Bearer token"),
    "token": N_("Token"),
    "api_token": N_("API token"),
    "timeout_seconds": N_("Timeout (seconds)"),
    "connect_timeout_seconds": N_("Connect timeout (seconds)"),
    "read_timeout_seconds": N_("Read timeout (seconds)"),
    "retries": N_("Retries"),
    "backoff_seconds": N_("Retry delay (seconds)"),
    "verify_tls": N_("Verify TLS certificates"),
    "page_size": N_("Page size"),
    "repository": N_("Repository"),
    "project": N_("Project"),
    "app_namespace": N_("Application namespace"),
    "webhook_secret": N_("Webhook secret"),
    "webhook_token": N_("Webhook token"),
    "web_host": N_("Web host"),
    "max_wait_seconds": N_("Longest rate-limit wait (seconds)"),
    "url": N_("Channel URL"),
    "language": N_("Language"),
    "events": N_("Events"),
    "min_severity": N_("Minimum severity"),
    "retention_keep_last": N_("Tags to keep"),
    "retention_schedule_enabled": N_("Run the daily retention job"),
    "retention_apply": N_("Delete in the daily retention job"),
}
SCHEMA_TEXT_KEYWORDS = ("title", "description")
NUMBER_RANGE = N_("Enter a number from %(min)s to %(max)s.")
NUMBER_ABOVE = N_("Enter a number greater than %(min)s and at most %(max)s.")
NUMBER_OUT = N_("Enter a number in the allowed range.")
MESSAGES = {
    "missing": REQUIRED,
    "int_parsing": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "float_parsing": N_("Enter a number."),
    "string_too_long": N_("This value is too long."),
    "string_too_short": REQUIRED,
    "literal_error": N_("Choose one of the offered values."),
    "enum": N_("Choose one of the offered values."),
    "extra_forbidden": N_("This kind does not take this field."),
    service.NAME_TAKEN: N_("An integration with this name already exists."),
    service.UNKNOWN_DOMAIN: N_("Unknown domain."),
    service.UNKNOWN_FIELD: N_("This kind does not take this secret."),
}
NAME_RULE = N_(
    "Use lower-case letters, digits, '.', '_' or '-', starting with a letter or digit (at most 100)."
)
URL_RULE = N_("Enter an http:// or https:// URL without credentials, query or fragment.")
RANGE_TYPES = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def translate_text(message: str) -> str:
    """Translate a developer-written text (a label or help) into the current locale, as plain text.

    Why not the templates' ``_``: it marks the result as safe HTML and always %-formats it, so a
    description with ``<`` or ``%`` would be unescaped or break the page.
    """
    return gettext(message) if message else ""


def extract_config_texts(
    fileobj: Any, keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, Any, Any, Any]]:  # (line, function, message, comments)
    """Babel extractor for adapter `config.py` files: gettext calls and `Field(title=, description=)`."""
    source = fileobj.read()
    fileobj.seek(0)
    yield from extract_python(fileobj, keywords, comment_tags, options)
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or "Field" not in (getattr(node.func, "id", None), _attr(node)):
            continue
        for keyword in node.keywords:
            value = keyword.value
            if keyword.arg in SCHEMA_TEXT_KEYWORDS and isinstance(value, ast.Constant) and value.value:
                yield value.lineno, None, str(value.value), []


def _attr(node: ast.Call) -> str | None:
    return node.func.attr if isinstance(node.func, ast.Attribute) else None


@dataclass(frozen=True)
class FieldSpec:
    """One generated input: its widget, limits and default, read from the JSON schema."""

    name: str
    label: str
    help: str = ""
    widget: str = "text"  # text | textarea | number | checkbox | select | lines | password | secret_textarea
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    choice_values: tuple[Any, ...] = ()  # the enum's own values (an int Literal stays an int)
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    step: str = "any"
    max_length: int | None = None

    @property
    def secret(self) -> bool:
        """Whether the field is write-only."""
        return self.widget in ("password", "secret_textarea")

    @property
    def shown_label(self) -> str:
        """The label in the language being rendered."""
        return translate_text(self.label)

    @property
    def shown_help(self) -> str:
        """The help text (the field's ``description``) in the language being rendered."""
        return translate_text(self.help)

    @property
    def input(self) -> str:
        """The form input's name (and the key of its errors)."""
        if self.name in TOP_FIELDS:
            return self.name
        return f"secret.{self.name}" if self.secret else f"opt.{self.name}"

    @property
    def placeholder(self) -> str:
        """The default shown in an empty input."""
        if self.default is None or self.widget in ("checkbox", "select") or self.secret:
            return ""
        return "\n".join(self.default) if isinstance(self.default, list) else str(self.default)


def _resolve(schema: Mapping[str, Any], node: Mapping[str, Any]) -> dict[str, Any]:
    """Follow a ``$ref``, unwrap ``X | None`` and single ``allOf``; keep the property's own keys on top."""
    own = {k: v for k, v in node.items() if k not in ("$ref", "anyOf", "allOf")}
    inner: Mapping[str, Any] = node
    if "$ref" in node:
        inner = schema.get("$defs", {}).get(str(node["$ref"]).rsplit("/", 1)[-1], {})
    elif "anyOf" in node or "allOf" in node:
        variants = [v for v in node.get("anyOf", node.get("allOf", [])) if v.get("type") != "null"]
        inner = _resolve(schema, variants[0]) if len(variants) == 1 else {}
    return {**{k: v for k, v in inner.items() if k not in ("$ref", "anyOf", "allOf")}, **own}


def _widget(name: str, node: Mapping[str, Any], *, secret: bool) -> str:
    long_text = node.get("format") == "textarea" or name.endswith(TEXTAREA_SUFFIXES)
    if secret:
        return "secret_textarea" if long_text else "password"
    kind = node.get("type")
    if "enum" in node or "const" in node:
        return "select"
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return "number"
    if kind == "array":
        return "lines"
    return "textarea" if long_text else "text"


def _spec(schema: Mapping[str, Any], name: str, prop: Mapping[str, Any], *, secret: bool) -> FieldSpec:
    node = _resolve(schema, prop)
    items = _resolve(schema, node.get("items", {})) if node.get("type") == "array" else {}
    choices = node.get("enum", [node["const"]] if "const" in node else items.get("enum", []))
    low = node.get("minimum", node.get("exclusiveMinimum"))
    return FieldSpec(
        name=name, label=LABELS.get(name, str(node.get("title") or name)),
        help=str(node.get("description", "")),
        widget=_widget(name, node, secret=secret), required=name in schema.get("required", ()),
        default=node.get("default"), choices=tuple(str(c) for c in choices), choice_values=tuple(choices),
        minimum=low, maximum=node.get("maximum", node.get("exclusiveMaximum")),
        exclusive_minimum="minimum" not in node and "exclusiveMinimum" in node,
        step="1" if node.get("type") == "integer" else "any", max_length=node.get("maxLength"),
    )  # fmt: skip


def fields_of(config: type[BaseModel] | None, *, secret_fields: Iterable[str] = ()) -> list[FieldSpec]:
    """The inputs of a config model: ``name`` and ``base_url`` first, then one per option and secret."""
    if config is None:
        return [FieldSpec("name", LABELS["name"], required=True), FieldSpec("base_url", LABELS["base_url"])]
    schema = config.model_json_schema()
    secrets = set(secret_fields)
    props: dict[str, Any] = schema.get("properties", {})
    ordered = [n for n in TOP_FIELDS if n in props] + [n for n in props if n not in TOP_FIELDS]
    return [_spec(schema, n, props[n], secret=n in secrets) for n in ordered]


def options_of(fields: Iterable[FieldSpec]) -> list[FieldSpec]:
    """The fields stored as options (not name, base_url or secrets)."""
    return [f for f in fields if f.name not in TOP_FIELDS and not f.secret]


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)


def form_of(fields: Iterable[FieldSpec], row: Integration | None = None) -> dict[str, str]:
    """The inputs' text for a new instance (defaults) or a stored one (its values; never a secret)."""
    options = dict(row.options or {}) if row is not None else {}
    values = {
        "name": row.name if row else "",
        "base_url": row.base_url if row else "",
        "domain_id": (row.domain_id or "") if row else "",
        "is_default": "on" if row and row.is_default else "",
    }
    for spec in options_of(fields):
        if spec.name in options:
            values[spec.input] = _shown(options[spec.name])
        elif spec.widget in ("checkbox", "select"):
            values[spec.input] = _shown(spec.default)
        else:
            values[spec.input] = ""
    return values


def submitted(form: FormData, fields: Iterable[FieldSpec]) -> dict[str, str]:
    """The typed text of every non-secret input, for re-display and parsing."""
    values = {name: text(form, name, limit=1000) for name in ("name", "base_url", "domain_id", "is_default")}
    for spec in options_of(fields):
        raw = form.get(spec.input)
        keep = raw.replace("\r\n", "\n").strip()[:TEXT_LIMIT] if isinstance(raw, str) else ""
        values[spec.input] = keep
    return values


def _parse(spec: FieldSpec, raw: str, errors: FormErrors) -> tuple[bool, Any]:
    """(present, value) of one option's text; an empty text means "use the default"."""
    if spec.widget == "checkbox":
        return True, raw == "on"
    if spec.widget == "lines":
        items = [line.strip() for line in raw.splitlines() if line.strip()]
        return bool(items) or bool(spec.default), items
    if not raw:
        return False, None
    if spec.widget == "number":
        try:
            return True, int(raw) if spec.step == "1" else float(raw)
        except ValueError:
            errors.add(spec.input, MESSAGES["int_parsing" if spec.step == "1" else "float_parsing"])
            return False, None
    if spec.widget == "select":
        if raw not in spec.choices:
            errors.add(spec.input, MESSAGES["literal_error"])
            return False, None
        return True, spec.choice_values[spec.choices.index(raw)]
    return True, raw


def options_from(
    values: Mapping[str, str], fields: Iterable[FieldSpec], *, current: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], FormErrors]:
    """The options dict from the typed text (an unchanged default box is left out), and parse errors."""
    errors = FormErrors()
    options: dict[str, Any] = {}
    for spec in options_of(fields):
        present, value = _parse(spec, values.get(spec.input, ""), errors)
        unchanged_default = spec.widget == "checkbox" and value == spec.default
        if present and not (unchanged_default and spec.name not in (current or {})):
            options[spec.name] = value
    return options, errors


def typed_secrets(form: FormData, fields: Iterable[FieldSpec]) -> dict[str, str]:
    """The secret values typed now (as typed, never stripped; empty ones left out)."""
    found = {}
    for spec in fields:
        raw = form.get(spec.input) if spec.secret else None
        if isinstance(raw, str) and raw.strip():
            found[spec.name] = raw[:TEXT_LIMIT]
    return found


def cleared_secrets(form: FormData, fields: Iterable[FieldSpec]) -> list[str]:
    """The secret fields whose "clear" box is ticked."""
    return [s.name for s in fields if s.secret and text(form, f"clear.{s.name}") == "on"]


def _range_message(spec: FieldSpec | None, errors: FormErrors, key: str) -> None:
    if spec is None or spec.minimum is None or spec.maximum is None:
        errors.add(key, NUMBER_OUT)
        return
    message = NUMBER_ABOVE if spec.exclusive_minimum else NUMBER_RANGE
    errors.add(key, message, min=_number(spec.minimum), max=_number(spec.maximum))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _add(errors: FormErrors, loc: list[str], kind: str, by_name: Mapping[str, FieldSpec]) -> None:
    parts = [p for p in loc if p != "body"]
    head = parts[0] if parts else ""
    name = parts[1] if head in ("options", "secrets") and len(parts) > 1 else head
    spec = by_name.get(name)
    key = spec.input if spec else ("domain_id" if name == "domain_id" else None)
    if kind in RANGE_TYPES:
        _range_message(spec, errors, key or "")
    elif name == "name" and kind not in MESSAGES:
        errors.add("name", NAME_RULE)
    elif name == "base_url" and kind not in ("missing",):
        errors.add("base_url", URL_RULE)
    else:
        errors.add(key, MESSAGES.get(kind, INVALID))


def errors_of(exc: AppError | ValidationError, fields: Iterable[FieldSpec]) -> FormErrors:
    """Put a service error (422/409, ``loc`` → field) or a schema ValidationError next to its input."""
    by_name = {f.name: f for f in fields}
    errors = FormErrors()
    items = exc.errors() if isinstance(exc, ValidationError) else exc.errors
    for item in items:
        _add(errors, [str(p) for p in item.get("loc", ())], str(item.get("type", "")), by_name)
    if not errors and isinstance(exc, AppError):
        errors.add(None, N_("The change could not be saved."))
        errors.detail = exc.detail
    return errors


@dataclass
class Page:
    """What the add/edit template needs: the generated fields, the typed text, stored secret names."""

    fields: list[FieldSpec]
    values: dict[str, str]
    stored: list[str] = field(default_factory=list)
    errors: FormErrors = field(default_factory=FormErrors)

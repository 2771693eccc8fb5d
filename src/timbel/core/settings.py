"""Typed settings tree, read once at app or CLI start (never at import time).

Environment variables use the ``TIMBEL_`` prefix and ``__`` for nesting, e.g.
``TIMBEL_AUTH__ACCESS_TOKEN_SECONDS=600``. A ``.env`` file in the working
directory is read too.
"""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "please-change", "xxx"})
SECRET_KEY_FILE = "secret.key"  # noqa: S105 - a file name


class Environment(StrEnum):
    """Where Timbel runs: embedded development machine, test suite or production."""

    development = "development"
    test = "test"
    production = "production"


class HttpSettings(BaseModel):
    """HTTP server and request handling."""

    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # GitHub caps webhook payloads at 25 MB; the receivers accept that much, nothing else does.
    webhook_max_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    secure_cookies: bool = False
    # The URL users and git hosts reach Timbel at (e.g. https://timbel.example.com); None: the request's.
    public_url: str | None = None


class AuthSettings(BaseModel):
    """Tokens, sessions, throttling and password policy."""

    jwt_issuer: str = "timbel"
    jwt_audience: str = "timbel-api"
    access_token_seconds: int = Field(default=15 * 60, ge=30, le=3600)
    refresh_token_seconds: int = Field(default=14 * 24 * 3600, ge=300)
    web_session_idle_seconds: int = Field(default=12 * 3600, ge=300)
    web_session_absolute_seconds: int = Field(default=7 * 24 * 3600, ge=600)
    api_token_default_days: int = Field(default=90, ge=1)
    api_token_max_days: int = Field(default=366, ge=1)
    principal_cache_seconds: float = Field(default=5.0, ge=0.0, le=60.0)
    password_min_length: int = Field(default=12, ge=8, le=128)
    throttle_account_threshold: int = Field(default=5, ge=1)
    throttle_ip_threshold: int = Field(default=20, ge=1)
    throttle_base_seconds: float = Field(default=30.0, ge=0.0)
    throttle_max_seconds: float = Field(default=900.0, ge=0.0)
    throttle_window_seconds: float = Field(default=3600.0, ge=1.0)


class AuditSettings(BaseModel):
    """Audit trail retention."""

    retention_days: int = Field(default=365, ge=1)


class JobSettings(BaseModel):
    """Background job consumers."""

    workers: int = Field(default=2, ge=1, le=64)
    embedded_consumer: bool = True
    immediate: bool = False


class CatalogSettings(BaseModel):
    """Knowledge catalog uploads."""

    max_upload_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # Sniffed content types accepted for documents and design assets; anything else answers 415.
    upload_types: tuple[str, ...] = (
        "application/pdf",
        "text/plain",
        "text/markdown",
        "text/csv",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/svg+xml",
        "application/zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/x-hwp",
    )


class AnalysisSettings(BaseModel):
    """Repository analysis: clone bounds, the admin allow-list for internal git hosts, recovery."""

    clone_timeout_seconds: float = Field(default=120.0, ge=1.0, le=3600.0)
    max_clone_bytes: int = Field(default=512 * 1024 * 1024, ge=1024 * 1024)
    max_files: int = Field(default=100_000, ge=10)
    # Hosts (exact names) or networks (CIDR) an admin allows although they are internal
    # (loopback, private, link-local); everything else internal is refused.
    allowed_hosts: tuple[str, ...] = ()
    work_dir: Path | None = None
    # A running analysis with no progress for this long is requeued (or failed after max_attempts).
    stale_seconds: float = Field(default=600.0, ge=5.0)
    requeue_seconds: float = Field(default=300.0, ge=5.0)
    max_attempts: int = Field(default=3, ge=1, le=10)
    max_text_bytes: int = Field(default=256 * 1024, ge=1024)  # per extracted document kept for the catalog


class GitOpsSettings(BaseModel):
    """The GitOps repository: the embedded default, Timbel's working clones, push retries, image registry."""

    embedded_path: Path | None = None  # default: <data_dir>/gitops.git
    cache_dir: Path | None = None  # default: <data_dir>/gitops-cache
    push_attempts: int = Field(default=5, ge=1, le=20)
    registry: str = "registry.local/timbel"  # image repository prefix written into new delivery plans


class PipelinesSettings(BaseModel):
    """Pipeline runs: how many run at once, when a silent run counts as lost, where workspaces live."""

    max_concurrent_runs: int = Field(default=4, ge=1, le=200)  # across every system
    max_concurrent_per_system: int = Field(default=1, ge=1, le=50)
    heartbeat_stale_seconds: float = Field(default=180.0, ge=5.0)  # a running run silent this long is lost
    requeue_seconds: float = Field(default=120.0, ge=5.0)  # queued, not started this long: dispatch again
    run_timeout_seconds: int = Field(default=3600, ge=60, le=86400)
    workspace_dir: Path | None = None  # default: <data_dir>/workspaces
    # The local runner's image builder command (e.g. "docker", "buildah"); None: image stages are skipped.
    image_builder: str | None = None
    stage_memory_limit_mb: int | None = Field(default=4096, ge=64)  # None: no address-space limit
    keep_workspaces: bool = False  # keep a successful run's workspace (failed ones are always kept)


class DeploymentSettings(BaseModel):
    """Deployments: how often targets are polled and when a silent deployment counts as lost."""

    poll_seconds: float = Field(default=3.0, gt=0, le=60)  # target health/sync polling while waiting
    stale_seconds: float = Field(default=120.0, ge=5.0)  # an active deployment silent this long is resumed
    dashboard_poll_seconds: float = Field(default=2.0, gt=0, le=60)  # the home page's change check
    gitops_read_seconds: float = Field(default=5.0, ge=0, le=300)  # drift pages reuse a fetch this recent


class LogSettings(BaseModel):
    """Structured logging."""

    level: str = "INFO"
    # None: JSON lines when stderr is not a terminal (servers, CI), readable text on a terminal.
    json_output: bool | None = Field(default=None, alias="json")
    access: bool = True

    model_config = {"populate_by_name": True}


class I18nSettings(BaseModel):
    """User interface languages."""

    default_locale: str = "ko"
    locales: tuple[str, ...] = ("ko", "en")
    timezone: str = "Asia/Seoul"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Seoul") from exc
        return value


class Settings(BaseSettings):
    """All of Timbel's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="TIMBEL_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    env: Environment = Environment.development
    data_dir: Path = Path("var")
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: SecretStr | None = None
    http: HttpSettings = HttpSettings()
    auth: AuthSettings = AuthSettings()
    audit: AuditSettings = AuditSettings()
    jobs: JobSettings = JobSettings()
    log: LogSettings = LogSettings()
    catalog: CatalogSettings = CatalogSettings()
    analysis: AnalysisSettings = AnalysisSettings()
    gitops: GitOpsSettings = GitOpsSettings()
    pipelines: PipelinesSettings = PipelinesSettings()
    deployments: DeploymentSettings = DeploymentSettings()
    i18n: I18nSettings = I18nSettings()

    @property
    def embedded(self) -> bool:
        """True when running on the embedded default (SQLite, in-process jobs)."""
        return self.env is not Environment.production

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'timbel.db').resolve()}"

    def secret(self) -> str:
        """The secret key as plain text; only for signing and encryption."""
        if self.secret_key is None:
            raise RuntimeError("secret key not prepared; call prepare_settings() first")
        return self.secret_key.get_secret_value()


class SettingsError(RuntimeError):
    """Configuration that Timbel refuses to start with."""


def prepare_settings(settings: Settings) -> Settings:
    """Validate the settings for their mode and fill in embedded-mode state (data dir, secret key)."""
    if settings.env is Environment.production:
        key = settings.secret_key.get_secret_value() if settings.secret_key else ""
        if key.strip().lower() in PLACEHOLDER_SECRETS or len(key) < 32:
            raise SettingsError(
                "production mode needs TIMBEL_SECRET_KEY: at least 32 characters and not a placeholder"
            )
        if not settings.database_url:
            raise SettingsError("production mode needs an explicit TIMBEL_DATABASE_URL")
        return settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.secret_key is None or not settings.secret_key.get_secret_value():
        settings.secret_key = SecretStr(_load_or_create_secret(settings.data_dir / SECRET_KEY_FILE))
    return settings


def _load_or_create_secret(path: Path) -> str:
    """Read the embedded secret key, creating it with owner-only permissions on first start."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value


def load_settings() -> Settings:
    """Read settings from the environment and prepare them."""
    return prepare_settings(Settings())

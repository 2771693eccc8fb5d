"""Settings of one Kubernetes cluster: a kubeconfig, or a server URL with a token and CA certificate."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import kubernetes_validate  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from .kubeconfig import KubeconfigError, KubeCredentials, parse_kubeconfig

DEFAULT_SCHEMA_VERSION = "1.30.0"
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


class KubernetesConfig(BaseModel):
    """Where the API server is and how Timbel authenticates to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200, description="Instance name used in every message")
    base_url: str = Field(
        description="API server URL Timbel connects to, e.g. https://k8s.internal:6443 "
        "(with a kubeconfig it replaces the context's server, like kubectl --server)"
    )
    kubeconfig: SecretStr | None = Field(
        default=None,
        title="Kubeconfig",
        description="kubeconfig YAML with embedded data (kubectl config view --raw --flatten --minify)",
    )
    context: str | None = Field(
        default=None, title="Kubeconfig context", description="kubeconfig context (default: current-context)"
    )
    token: SecretStr | None = Field(default=None, description="Bearer token (e.g. a service account token)")
    ca_cert: str | None = Field(
        default=None, title="CA certificate (PEM)", description="PEM CA certificate of the API server"
    )
    verify_tls: bool = Field(default=True, description="Verify the API server's TLS certificate")
    namespace: str | None = Field(
        default=None,
        title="Default namespace",
        description="Default namespace (default: the context's namespace, else 'default')",
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=300, description="Per-request timeout in seconds")
    schema_version: str = Field(
        default=DEFAULT_SCHEMA_VERSION,
        title="Schema version for manifest validation",
        description="Kubernetes version whose schemas validate manifests",
    )

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        """Accept http(s) URLs without credentials, query or fragment; drop a trailing slash."""
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http:// or https:// URL with a host")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("base_url must not contain credentials, a query or a fragment")
        return value.strip().rstrip("/")

    @field_validator("namespace")
    @classmethod
    def _check_namespace(cls, value: str | None) -> str | None:
        """A namespace name is a DNS label."""
        if value is not None and not _DNS_LABEL.fullmatch(value):
            raise ValueError("namespace must be a DNS label (lowercase letters, digits, '-')")
        return value

    @field_validator("schema_version")
    @classmethod
    def _check_schema_version(cls, value: str) -> str:
        """Only versions whose schemas kubernetes-validate bundles."""
        known = sorted(
            set(kubernetes_validate.utils.all_versions()), key=lambda v: tuple(map(int, v.split(".")))
        )
        if value not in known:
            raise ValueError(f"schema_version must be one of {known[0]} … {known[-1]} (x.y.0)")
        return value

    @field_validator("ca_cert")
    @classmethod
    def _check_ca(cls, value: str | None) -> str | None:
        """The CA certificate is PEM text."""
        if value is not None and "-----BEGIN CERTIFICATE-----" not in value:
            raise ValueError("ca_cert must be PEM text (-----BEGIN CERTIFICATE-----)")
        return value or None

    @model_validator(mode="after")
    def _check_mode(self) -> KubernetesConfig:
        """Either a kubeconfig, or token/ca_cert — and the kubeconfig must be usable."""
        if self.kubeconfig is not None:
            if self.token is not None or self.ca_cert is not None:
                raise ValueError("give either a kubeconfig or token/ca_cert, not both")
            try:
                self.credentials()
            except KubeconfigError as exc:
                raise ValueError(f"kubeconfig: {exc}") from None
        elif self.context is not None:
            raise ValueError("context only applies to a kubeconfig")
        return self

    def credentials(self) -> KubeCredentials:
        """The effective server, TLS material and credentials (``base_url`` is always the server)."""
        if self.kubeconfig is None:
            token = self.token.get_secret_value() if self.token is not None else None
            return KubeCredentials(
                context="", server=self.base_url, ca_pem=self.ca_cert, token=token,
                insecure_skip_tls_verify=not self.verify_tls, namespace=self.namespace,
            )  # fmt: skip
        parsed = parse_kubeconfig(self.kubeconfig.get_secret_value(), context=self.context)
        return KubeCredentials(
            context=parsed.context,
            server=self.base_url,
            namespace=self.namespace or parsed.namespace,
            ca_pem=parsed.ca_pem,
            insecure_skip_tls_verify=parsed.insecure_skip_tls_verify or not self.verify_tls,
            tls_server_name=parsed.tls_server_name,
            token=parsed.token,
            username=parsed.username,
            password=parsed.password,
            client_cert_pem=parsed.client_cert_pem,
            client_key_pem=parsed.client_key_pem,
        )

    def default_namespace(self) -> str:
        """The namespace used when a call or a manifest names none."""
        return self.credentials().namespace or "default"

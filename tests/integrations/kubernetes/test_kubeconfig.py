"""kubeconfig parsing and config validation: contexts, base64 data, refusals, no value in any message."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from timbel.integrations.kubernetes.config import KubernetesConfig
from timbel.integrations.kubernetes.kubeconfig import KubeconfigError, parse_kubeconfig

from .certs import b64

CA = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n"
CERT = "-----BEGIN CERTIFICATE-----\nMIIBclient\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIGHkeymaterial\n-----END PRIVATE KEY-----\n"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.secret-token"


def kubeconfig(**changes: Any) -> dict[str, Any]:
    """Two contexts: ``prod`` (token, CA) is current; ``dev`` (client certificate, insecure)."""
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "prod",
        "clusters": [
            {
                "name": "prod-cluster",
                "cluster": {"server": "https://prod.example:6443/", "certificate-authority-data": b64(CA)},
            },
            {
                "name": "dev-cluster",
                "cluster": {
                    "server": "https://dev.example:6443",
                    "insecure-skip-tls-verify": True,
                    "tls-server-name": "api.dev",
                },
            },
        ],
        "users": [
            {"name": "deployer", "user": {"token": TOKEN}},
            {
                "name": "dev-admin",
                "user": {"client-certificate-data": b64(CERT), "client-key-data": b64(KEY)},
            },
        ],
        "contexts": [
            {"name": "prod", "context": {"cluster": "prod-cluster", "user": "deployer", "namespace": "shop"}},
            {"name": "dev", "context": {"cluster": "dev-cluster", "user": "dev-admin"}},
        ],
    }
    doc.update(changes)
    return doc


def text(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc)


def test_current_context_gives_server_ca_token_and_namespace() -> None:
    creds = parse_kubeconfig(text(kubeconfig()))
    assert creds.context == "prod"
    assert creds.server == "https://prod.example:6443"
    assert creds.ca_pem == CA
    assert creds.token == TOKEN
    assert creds.namespace == "shop"
    assert not creds.insecure_skip_tls_verify
    assert TOKEN not in repr(creds)


def test_named_context_gives_client_certificate_and_insecure_flag() -> None:
    creds = parse_kubeconfig(text(kubeconfig()), context="dev")
    assert (creds.client_cert_pem, creds.client_key_pem) == (CERT, KEY)
    assert creds.insecure_skip_tls_verify and creds.tls_server_name == "api.dev"
    assert creds.token is None and creds.namespace is None
    assert KEY not in repr(creds)


def test_base64_with_line_breaks_is_accepted() -> None:
    doc = kubeconfig()
    wrapped = b64(CA)
    doc["clusters"][0]["cluster"]["certificate-authority-data"] = "\n".join(
        wrapped[i : i + 20] for i in range(0, len(wrapped), 20)
    )
    assert parse_kubeconfig(text(doc)).ca_pem == CA


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"current-context": "nope"}, "no context named 'nope'"),
        ({"current-context": None}, "no current-context"),
        (
            {"contexts": [{"name": "prod", "context": {"cluster": "gone", "user": "deployer"}}]},
            "no cluster named 'gone'",
        ),
    ],
)
def test_missing_entries_are_named(change: dict[str, Any], expected: str) -> None:
    with pytest.raises(KubeconfigError, match=expected):
        parse_kubeconfig(text(kubeconfig(**change)))


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ({"tokenFile": "/var/run/token"}, r"local file \(tokenFile\).*kubectl config view --raw --flatten"),
        ({"client-certificate": "/home/me/c.crt", "client-key": "/home/me/c.key"}, "local file"),
        ({"exec": {"command": "aws", "args": ["eks", "get-token"]}}, r"credential plugin \(exec\)"),
        ({"auth-provider": {"name": "gcp"}}, r"credential plugin \(auth-provider\)"),
        ({"client-certificate-data": b64(CERT)}, "needs both"),
        (
            {"client-certificate-data": b64(CERT), "client-key-data": "!!not base64!!"},
            "client-key-data is not valid",
        ),
    ],
)
def test_unusable_users_are_refused_without_values(user: dict[str, Any], expected: str) -> None:
    doc = kubeconfig()
    doc["users"][0]["user"] = user
    with pytest.raises(KubeconfigError, match=expected) as caught:
        parse_kubeconfig(text(doc))
    assert "!!not base64!!" not in str(caught.value)


def test_invalid_yaml_names_the_line_not_the_content() -> None:
    broken = f"users:\n- name: x\n  user: {{token: {TOKEN}\n"
    with pytest.raises(KubeconfigError, match=r"not valid YAML \(line") as caught:
        parse_kubeconfig(broken)
    assert TOKEN not in str(caught.value)


def test_config_with_kubeconfig_uses_base_url_as_server_and_context_namespace() -> None:
    config = KubernetesConfig(
        name="prod", base_url="https://tunnel.local:16443/", kubeconfig=text(kubeconfig())
    )
    creds = config.credentials()
    assert creds.server == "https://tunnel.local:16443" and creds.token == TOKEN
    assert config.default_namespace() == "shop"
    assert TOKEN not in repr(config) and TOKEN not in str(config.model_dump())


def test_config_namespace_option_wins_and_verify_tls_false_skips_verification() -> None:
    config = KubernetesConfig(
        name="prod", base_url="https://k", kubeconfig=text(kubeconfig()), namespace="other", verify_tls=False
    )
    assert config.default_namespace() == "other"
    assert config.credentials().insecure_skip_tls_verify


def test_config_token_mode() -> None:
    config = KubernetesConfig(name="k", base_url="https://k:6443", token=TOKEN, ca_cert=CA)
    creds = config.credentials()
    assert (creds.server, creds.token, creds.ca_pem) == ("https://k:6443", TOKEN, CA)
    assert config.default_namespace() == "default"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"kubeconfig": text(kubeconfig()), "token": "t"}, "either a kubeconfig or token/ca_cert"),
        (
            {"kubeconfig": "current-context: [", "context": None},
            "kubeconfig: the kubeconfig is not valid YAML",
        ),
        ({"context": "dev"}, "context only applies to a kubeconfig"),
        ({"ca_cert": "not pem"}, "ca_cert must be PEM"),
        ({"namespace": "Bad_NS"}, "namespace must be a DNS label"),
        ({"base_url": "https://user:pw@k"}, "must not contain credentials"),
        ({"surprise": 1}, "Extra inputs are not permitted"),
        ({"schema_version": "1.99.0"}, "schema_version must be one of"),
    ],
)
def test_invalid_configs_are_refused(data: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError, match=expected) as caught:
        KubernetesConfig.model_validate({"name": "k", "base_url": "https://k", **data})
    assert TOKEN not in str(caught.value)


def test_every_config_field_is_described() -> None:
    schema = KubernetesConfig.model_json_schema()
    assert all("description" in spec for spec in schema["properties"].values())

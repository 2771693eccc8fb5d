"""TLS from kubeconfig data against the emulator served over HTTPS that requires a client certificate."""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.servers.kube import KubeEmulator, start_kube_emulator
from timbel.core.errors import IntegrationUnavailable
from timbel.integrations.kubernetes.adapter import KubernetesAdapter
from timbel.integrations.kubernetes.config import KubernetesConfig

from .certs import Pair, b64, issue, make_ca


class PKI:
    """A CA, a server certificate for 127.0.0.1, a client certificate, and an unrelated CA."""

    def __init__(self) -> None:
        self.ca, ca_key, ca_cert = make_ca()
        self.server = issue(ca_key, ca_cert, name="kube-apiserver", server=True)
        self.client = issue(ca_key, ca_cert, name="timbel-deployer", server=False)
        self.other_ca = make_ca("somebody-else")[0]
        self.named_server = issue(
            ca_key, ca_cert, name="kube-apiserver", server=True, dns="api.cluster.internal"
        )


@pytest.fixture(scope="module")
def pki() -> PKI:
    return PKI()


def serve_tls(pki: PKI, tmp_path: Path, certificate: Pair) -> KubeEmulator:
    """The emulator over HTTPS with ``certificate``; a client certificate signed by the CA is required."""
    (tmp_path / "server.crt").write_text(certificate.cert_pem)
    (tmp_path / "server.key").write_text(certificate.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.crt", tmp_path / "server.key")
    context.load_verify_locations(cadata=pki.ca.cert_pem)
    context.verify_mode = ssl.CERT_REQUIRED
    return start_kube_emulator(tls=context)


@pytest.fixture
def tls_kube(pki: PKI, tmp_path: Path) -> Iterator[KubeEmulator]:
    """The emulator over HTTPS with a certificate for 127.0.0.1."""
    server = serve_tls(pki, tmp_path, pki.server)
    try:
        yield server
    finally:
        server.stop()


def kubeconfig(
    server: str, *, ca: Pair, client: Pair | None, insecure: bool = False, tls_name: str | None = None
) -> str:
    cluster: dict[str, Any] = {"server": server, "certificate-authority-data": b64(ca.cert_pem)}
    if tls_name:
        cluster["tls-server-name"] = tls_name
    if insecure:
        cluster = {"server": server, "insecure-skip-tls-verify": True}
    user: dict[str, Any] = {"token": "t"}
    if client is not None:
        user = {"client-certificate-data": b64(client.cert_pem), "client-key-data": b64(client.key_pem)}
    return yaml.safe_dump(
        {
            "current-context": "c",
            "clusters": [{"name": "k", "cluster": cluster}],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
        }
    )


def adapter_for(kube: KubeEmulator, text: str) -> KubernetesAdapter:
    config = KubernetesConfig(name="tls", base_url=kube.url, kubeconfig=text, timeout_seconds=5)
    return KubernetesAdapter(config, sleep=lambda _: None)


def test_client_certificate_from_kubeconfig_data(
    tls_kube: KubeEmulator, pki: PKI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    assert tls_kube.url.startswith("https://127.0.0.1:")
    with adapter_for(tls_kube, kubeconfig(tls_kube.url, ca=pki.ca, client=pki.client)) as adapter:
        assert list(scratch.iterdir()) == []  # the key was written 0600, loaded, and deleted at once
        assert adapter.version() == "v1.26.4+k3s1"


def test_key_files_are_private_while_they_exist(pki: PKI, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, int]] = []
    original = ssl.SSLContext.load_cert_chain

    def spy(self: ssl.SSLContext, certfile: str, keyfile: str | None = None, password: Any = None) -> None:
        for path in (certfile, keyfile):
            assert path is not None
            seen.append((Path(path).name, Path(path).stat().st_mode & 0o777))
        seen.append(("dir", Path(certfile).parent.stat().st_mode & 0o777))
        original(self, certfile, keyfile)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)
    text = kubeconfig("https://127.0.0.1:1", ca=pki.ca, client=pki.client)
    KubernetesAdapter(KubernetesConfig(name="tls", base_url="https://127.0.0.1:1", kubeconfig=text)).close()
    assert seen == [("client.crt", 0o600), ("client.key", 0o600), ("dir", 0o700)]


def test_without_client_certificate_the_handshake_fails(tls_kube: KubeEmulator, pki: PKI) -> None:
    adapter = adapter_for(tls_kube, kubeconfig(tls_kube.url, ca=pki.ca, client=None))
    with adapter, pytest.raises(IntegrationUnavailable, match="Kubernetes 'tls' is unreachable"):
        adapter.version()


def test_an_untrusted_server_certificate_is_refused(tls_kube: KubeEmulator, pki: PKI) -> None:
    adapter = adapter_for(tls_kube, kubeconfig(tls_kube.url, ca=pki.other_ca, client=pki.client))
    with adapter, pytest.raises(IntegrationUnavailable, match="TLS certificate verification failed"):
        adapter.version()


def test_insecure_skip_tls_verify_still_presents_the_client_certificate(
    tls_kube: KubeEmulator, pki: PKI
) -> None:
    with adapter_for(
        tls_kube, kubeconfig(tls_kube.url, ca=pki.other_ca, client=pki.client, insecure=True)
    ) as a:
        assert a.version() == "v1.26.4+k3s1"


def test_tls_server_name_verifies_a_certificate_for_another_host_name(pki: PKI, tmp_path: Path) -> None:
    kube = serve_tls(pki, tmp_path, pki.named_server)
    try:
        plain = kubeconfig(kube.url, ca=pki.ca, client=pki.client)
        with adapter_for(kube, plain) as adapter, pytest.raises(IntegrationUnavailable, match="verification"):
            adapter.version()
        named = kubeconfig(kube.url, ca=pki.ca, client=pki.client, tls_name="api.cluster.internal")
        with adapter_for(kube, named) as adapter:
            assert adapter.version() == "v1.26.4+k3s1"
    finally:
        kube.stop()

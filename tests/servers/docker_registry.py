"""A throwaway Docker registry (Debian's ``docker-registry``, distribution 2.8) for tests, on loopback.

Each server gets its own config (never Debian's default, which listens on all interfaces), storage in a
temp dir and deletion enabled. Auth variants: anonymous; Basic with an htpasswd file (bcrypt lines from the
``bcrypt`` package when installed, else ``htpasswd -Bbn`` from apache2-utils); or Docker's token auth
trusting a ``TokenIssuer`` — an in-process loopback token service signing RS256 JWTs whose ``x5c`` header
carries a self-signed certificate the registry has in its ``rootcertbundle``.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from . import LOOPBACK, ServerUnavailableError, free_port, kill_pid, port_open

BINARY = "docker-registry"
REGISTRY_SETUP_HINT = (
    "run `make test` (it installs Debian packages: apt-get install -y docker-registry apache2-utils)"
)
READY_TIMEOUT = 15.0
SERVICE = "timbel-test-registry"
ISSUER = "timbel-test-issuer"

# (user, resource type, resource name, requested actions) -> granted actions
Grant = Callable[[str, str, str, list[str]], list[str]]


def grant_all(user: str, kind: str, name: str, actions: list[str]) -> list[str]:
    """Grant every requested action."""
    return actions


@dataclass
class TokenIssuer:
    """A loopback token service for the registry's ``auth.token`` (Docker token spec), run in a thread."""

    users: Mapping[str, str]
    grant: Grant = grant_all
    expires_in: int = 300
    requests: list[dict[str, Any]] = field(default_factory=list)
    cert_pem: bytes = b""
    port: int = 0
    _key: rsa.RSAPrivateKey | None = field(default=None, repr=False)
    _chain: list[str] = field(default_factory=list, repr=False)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    @property
    def realm(self) -> str:
        """The token endpoint URL the registry sends clients to."""
        return f"http://{LOOPBACK}:{self.port}/token"

    def start(self) -> TokenIssuer:
        """Create the signing key and certificate and start serving on a free loopback port."""
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "timbel test token issuer")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        self._chain = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
        issuer = self

        class Handler(_TokenHandler):
            owner = issuer

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving; idempotent."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def mint(self, *, subject: str, access: list[dict[str, Any]], expires_in: int | None = None) -> str:
        """A signed registry token for ``subject`` with ``access`` entries (type, name, actions)."""
        assert self._key is not None, "start() the issuer first"
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "iat": now,
            "nbf": now - 5,
            "exp": now + (expires_in or self.expires_in),
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"x5c": self._chain})


class _TokenHandler(BaseHTTPRequestHandler):
    """``GET /token?service=…&scope=type:name:actions`` with Basic credentials → ``{"token": …}``."""

    owner: TokenIssuer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        user = self._user()
        self.owner.requests.append(
            {
                "path": url.path,
                "query": query,
                "user": user,
                "authorization": self.headers.get("Authorization"),
            }
        )
        if url.path != "/token" or query.get("service") != [SERVICE]:
            self._json(400, {"errors": [{"code": "BAD_REQUEST", "message": "unknown service"}]})
            return
        if user is None:
            self._json(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
            return
        access = []
        for scope in query.get("scope", []):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            granted = self.owner.grant(user, kind, name, [a for a in actions.split(",") if a])
            access.append({"type": kind, "name": name, "actions": granted})
        token = self.owner.mint(subject=user, access=access)
        issued = datetime.now(UTC).isoformat()
        self._json(
            200,
            {"token": token, "access_token": token, "expires_in": self.owner.expires_in, "issued_at": issued},
        )

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _user(self) -> str | None:
        """The Basic-authenticated user, or None."""
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user if self.owner.users.get(user) == password else None

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@dataclass
class DockerRegistryServer:
    """A running registry; ``url`` is its root (``http://127.0.0.1:PORT``)."""

    url: str
    pid: int
    port: int
    root: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    stopped: bool = field(default=False, init=False)

    def log(self) -> str:
        """The registry's own log (for failure messages)."""
        path = self.root / "registry.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop the registry by PID and reap it; idempotent."""
        if self.stopped:
            return
        self.stopped = True
        kill_pid(self.pid)
        self.process.wait(timeout=5)


def start_docker_registry(
    base_dir: Path,
    *,
    users: Mapping[str, str] | None = None,
    token: TokenIssuer | None = None,
    delete_enabled: bool = True,
) -> DockerRegistryServer:
    """Start ``docker-registry serve`` on a free loopback port (Basic auth with ``users``, or ``token``)."""
    binary = shutil.which(BINARY)
    if binary is None:
        raise ServerUnavailableError(f"`{BINARY}` not found: {REGISTRY_SETUP_HINT}")
    base_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="registry-", dir=base_dir))
    port = free_port()
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(root / "data")},
            "delete": {"enabled": delete_enabled},
        },
        "http": {"addr": f"{LOOPBACK}:{port}", "secret": uuid.uuid4().hex},
    }
    if users is not None:
        (root / "htpasswd").write_text("".join(_htpasswd_line(u, p) for u, p in users.items()))
        config["auth"] = {"htpasswd": {"realm": "timbel-test", "path": str(root / "htpasswd")}}
    elif token is not None:
        (root / "token-ca.pem").write_bytes(token.cert_pem)
        config["auth"] = {
            "token": {
                "realm": token.realm,
                "service": SERVICE,
                "issuer": ISSUER,
                "rootcertbundle": str(root / "token-ca.pem"),
            }
        }
    # JSON is YAML: no YAML writer needed.
    (root / "config.yml").write_text(json.dumps(config, indent=2))
    log = (root / "registry.log").open("wb")
    process = subprocess.Popen(
        [binary, "serve", str(root / "config.yml")],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "HOME": str(root)},
    )
    log.close()
    server = DockerRegistryServer(f"http://{LOOPBACK}:{port}", process.pid, port, root, process)
    deadline = time.monotonic() + READY_TIMEOUT
    while not port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise ServerUnavailableError(
                f"docker-registry did not start on port {port}: {server.log()[-2000:]}"
            )
        time.sleep(0.05)
    return server


def _htpasswd_line(user: str, password: str) -> str:
    """One bcrypt htpasswd line (the only hash distribution accepts)."""
    try:
        import bcrypt  # type: ignore[import-not-found, unused-ignore]

        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
        return f"{user}:{hashed}\n"
    except ImportError:
        pass
    if shutil.which("htpasswd") is None:
        raise ServerUnavailableError(
            f"neither the `bcrypt` package nor `htpasswd` is available: {REGISTRY_SETUP_HINT}"
        )
    argv = ["htpasswd", "-Bbn", "-C", "5", user, password]
    result = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30)
    return result.stdout.strip() + "\n"

"""A Kubernetes API emulator for tests: ``kmock.KubernetesEmulator`` served on loopback from a thread.

kmock is asyncio; the adapter under test is synchronous, so the emulator runs its own event loop in a
daemon thread and every look at its state (objects, the request log) is done inside that loop. What kmock
does and does not do (checked against kmock 0.8):

- serves ``/version`` (``v1.26.4+k3s1``), discovery (``/api``, ``/apis``, ``/api/v1``, ``/apis/{g}/{v}``)
  for the registered resources, and list/get/create/patch/delete of namespaced objects;
- answers 404 for ``/readyz`` and ``/healthz``;
- treats any PATCH (server-side apply included) as a JSON merge into an *existing* object, and answers
  404 for an object that does not exist yet (a real API server creates it);
- ignores ``fieldSelector``/``labelSelector``/``limit``;
- cannot serve the cluster-scoped ``/api/v1/namespaces`` (its path parser takes ``namespaces`` for the
  namespace segment and fails with HTTP 500), so namespace calls are tested with ``httpx.MockTransport``;
- answers a POST of an undeclared kind such as ``SelfSubjectAccessReview`` with ``{}`` (no ``status``).
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from . import LOOPBACK, ServerUnavailableError, free_port

KMOCK_SETUP_HINT = (
    "run `make test` (it installs the Python dependencies of requirements.lock, kmock among them)"
)
READY_TIMEOUT = 10.0
T = TypeVar("T")

# (group/version/plural, kind, namespaced) registered by default: what the adapter reads and applies.
DEFAULT_RESOURCES: tuple[tuple[str, str, bool], ...] = (
    ("v1/configmaps", "ConfigMap", True),
    ("v1/secrets", "Secret", True),
    ("v1/services", "Service", True),
    ("v1/serviceaccounts", "ServiceAccount", True),
    ("v1/resourcequotas", "ResourceQuota", True),
    ("v1/limitranges", "LimitRange", True),
    ("v1/pods", "Pod", True),
    ("v1/events", "Event", True),
    ("apps/v1/deployments", "Deployment", True),
    ("autoscaling/v2/horizontalpodautoscalers", "HorizontalPodAutoscaler", True),
    ("networking.k8s.io/v1/networkpolicies", "NetworkPolicy", True),
    ("networking.k8s.io/v1/ingresses", "Ingress", True),
    ("policy/v1/poddisruptionbudgets", "PodDisruptionBudget", True),
)
VERBS = {"get", "list", "watch", "create", "patch", "delete"}


@dataclass(frozen=True)
class SeenRequest:
    """One request as the emulator received it."""

    method: str
    path: str
    query: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class KubeEmulator:
    """A running emulator; ``url`` is the API server URL to configure."""

    url: str
    port: int
    emulator: Any = field(repr=False)
    loop: asyncio.AbstractEventLoop = field(repr=False)
    thread: threading.Thread = field(repr=False)
    _stop: asyncio.Event = field(repr=False)
    stopped: bool = field(default=False, init=False)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` inside the emulator's event loop (its state is only touched there)."""

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=READY_TIMEOUT)

    def put(self, resource: str, namespace: str | None, name: str, obj: Mapping[str, Any]) -> None:
        """Store an object (e.g. ``put("apps/v1/deployments", "demo", "web", {...})``)."""
        self.call(lambda: self.emulator.objects.__setitem__((resource, namespace, name), dict(obj)))

    def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The stored state of an object, or None."""

        def read() -> dict[str, Any] | None:
            try:
                obj = self.emulator.objects[resource, namespace, name]
            except KeyError:
                return None
            return None if obj.deleted else dict(obj.raw)

        return self.call(read)

    def requests(self) -> list[SeenRequest]:
        """Every request served so far, oldest first."""

        def read() -> list[SeenRequest]:
            return [
                SeenRequest(
                    method=str(getattr(r.method, "value", r.method)).upper(),
                    path=r.url.path,
                    query=r.url.raw_query_string,
                    params=dict(r.params),
                    headers={k.lower(): v for k, v in r.headers.items()},
                    body=bytes(r.body),
                )
                for r in self.emulator
            ]

        return self.call(read)

    def stop(self) -> None:
        """Stop serving and join the thread; idempotent."""
        if self.stopped:
            return
        self.stopped = True
        self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(timeout=READY_TIMEOUT)


def start_kube_emulator(
    *,
    resources: tuple[tuple[str, str, bool], ...] = DEFAULT_RESOURCES,
    tls: ssl.SSLContext | None = None,
) -> KubeEmulator:
    """Serve a fresh emulator on a free 127.0.0.1 port (HTTPS when ``tls`` is a server context)."""
    try:
        import kmock
        from aiohttp.test_utils import RawTestServer
    except ImportError as exc:
        raise ServerUnavailableError(f"kmock is not installed: {KMOCK_SETUP_HINT}") from exc

    class TLSServer(RawTestServer):
        async def start_server(self, loop: asyncio.AbstractEventLoop | None = None, **kwargs: Any) -> None:
            await super().start_server(loop, ssl=tls, **kwargs)

    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        emulator = kmock.KubernetesEmulator()
        for key, kind, namespaced in resources:
            emulator.resources[key] = kmock.ResourceInfo(kind=kind, namespaced=namespaced, verbs=VERBS)
        stop = asyncio.Event()
        server = kmock.Server(emulator, host=LOOPBACK, port=free_port(), server_cls=TLSServer)
        async with emulator, server:
            box.update(emulator=emulator, port=server.port, loop=asyncio.get_running_loop(), stop=stop)
            ready.set()
            await stop.wait()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the starting thread
            box["error"] = exc
            ready.set()

    thread = threading.Thread(target=run, name="kube-emulator", daemon=True)
    thread.start()
    if not ready.wait(READY_TIMEOUT) or "error" in box:
        raise ServerUnavailableError(f"the Kubernetes emulator did not start: {box.get('error')!r}")
    scheme = "https" if tls is not None else "http"
    return KubeEmulator(
        url=f"{scheme}://{LOOPBACK}:{box['port']}",
        port=box["port"],
        emulator=box["emulator"],
        loop=box["loop"],
        thread=thread,
        _stop=box["stop"],
    )

"""A throwaway git smart-HTTP server for tests: ``git http-backend`` behind a tiny CGI bridge on loopback.

Routes: ``/git/<repo>.git/...`` serves bare repos under the root; ``/redirect/...`` answers 302 to
the same path under ``/git/``; ``/stall/...`` never answers (for timeouts). Every request is
appended to ``requests.jsonl`` (method, path, Authorization header) so tests can see what reached
the server. The server runs as its own process (this module's ``main``) and is stopped by PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

from . import LOOPBACK, ServerUnavailableError, kill_pid

HTTP_BACKEND = Path("/usr/lib/git-core/git-http-backend")
GIT_SETUP_HINT = "run `make test` (it installs Debian packages: apt-get install -y git)"
READY_TIMEOUT = 10.0
STALL_SECONDS = 60.0
LOG_NAME = "requests.jsonl"


@dataclass
class GitHttpServer:
    """A running smart-HTTP git server; ``url_for(name)`` is the clone URL of ``<root>/<name>.git``."""

    base_url: str
    pid: int
    port: int
    root: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    stopped: bool = field(default=False, init=False)

    def url_for(self, name: str, route: str = "git") -> str:
        """Clone URL of a served repository through ``route`` (git, redirect or stall)."""
        return f"{self.base_url}/{route}/{name}.git"

    def add_repo(self, name: str, source: Path) -> Path:
        """Publish the git repository at ``source`` as the bare repo ``<name>.git``."""
        bare = self.root / f"{name}.git"
        argv = ["git", "clone", "--quiet", "--bare", "--no-local", "--", str(source), str(bare)]
        subprocess.run(argv, check=True, capture_output=True, timeout=30)
        return bare

    def requests(self) -> list[dict[str, Any]]:
        """Every request served so far, oldest first."""
        log = self.root / LOG_NAME
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines() if line]

    def stop(self) -> None:
        """Stop the server by PID and reap it; idempotent."""
        if self.stopped:
            return
        self.stopped = True
        kill_pid(self.pid)
        self.process.wait(timeout=5)


def start_git_http(base_dir: Path, *, host: str = LOOPBACK) -> GitHttpServer:
    """Start the server on a free loopback port (the child binds port 0) serving repos under ``base_dir``."""
    if not host.startswith("127."):
        raise ValueError(f"the test git server listens on loopback only, not {host}")
    if not HTTP_BACKEND.exists():
        raise ServerUnavailableError(f"`{HTTP_BACKEND}` not found: {GIT_SETUP_HINT}")
    base_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="git-http-", dir=base_dir))
    repo_root = Path(__file__).resolve().parents[2]
    argv = [sys.executable, "-m", "tests.servers.git_http", str(root), host]
    process = subprocess.Popen(argv, cwd=repo_root, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert process.stdout is not None
    line = _read_line(process.stdout, READY_TIMEOUT)
    if not line.startswith(b"port "):
        if process.poll() is None:
            kill_pid(process.pid)
        process.wait(timeout=5)
        raise ServerUnavailableError(f"git http server did not start: {line!r}")
    port = int(line.split()[1])
    return GitHttpServer(f"http://{host}:{port}", process.pid, port, root, process)


def _read_line(stream: IO[bytes], timeout: float) -> bytes:
    """Read the child's first stdout line, giving up after ``timeout`` seconds."""
    result: list[bytes] = [b""]
    reader = threading.Thread(target=lambda: result.__setitem__(0, stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0]


class _Handler(BaseHTTPRequestHandler):
    """Bridge one HTTP request to ``git http-backend`` (CGI) or a test route."""

    root: Path
    log_lock = threading.Lock()

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet; requests go to the JSON log instead."""

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        with self.log_lock, (self.root / LOG_NAME).open("a") as log:
            entry = {"method": self.command, "path": path, "authorization": self.headers.get("Authorization")}
            log.write(json.dumps(entry) + "\n")
        route, _, rest = path.lstrip("/").partition("/")
        if route == "redirect":
            self.send_response(302)
            self.send_header("Location", f"/git/{rest}" + (f"?{query}" if query else ""))
            self.end_headers()
        elif route == "stall":
            time.sleep(STALL_SECONDS)
        elif route == "git":
            self._cgi(f"/{rest}", query)
        else:
            self.send_error(404)

    def _cgi(self, path_info: str, query: str) -> None:
        """Run the backend with the CGI environment, stream the body in and its response out."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "PATH_INFO": path_info,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "REMOTE_ADDR": self.client_address[0],
        }
        length = self.headers.get("Content-Length")
        if length is not None:
            env["CONTENT_LENGTH"] = length
        for header, variable in (
            ("Git-Protocol", "GIT_PROTOCOL"),
            ("Content-Encoding", "HTTP_CONTENT_ENCODING"),
        ):
            if self.headers.get(header):
                env[variable] = self.headers[header]
        backend = subprocess.Popen(
            [str(HTTP_BACKEND)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert backend.stdin is not None and backend.stdout is not None
        feeder = threading.Thread(target=self._feed, args=(backend.stdin, length), daemon=True)
        feeder.start()
        status, headers = 200, []
        while (line := backend.stdout.readline().rstrip(b"\r\n")) != b"":
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            else:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        while chunk := backend.stdout.read(65536):
            self.wfile.write(chunk)
        feeder.join()
        backend.wait()

    def _feed(self, stdin: IO[bytes], length: str | None) -> None:
        """Copy the request body (sized or chunked) to the backend's stdin, then close it."""
        try:
            if length is not None:
                remaining = int(length)
                while remaining > 0 and (chunk := self.rfile.read(min(remaining, 65536))):
                    stdin.write(chunk)
                    remaining -= len(chunk)
            elif self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                while (size := int(self.rfile.readline().split(b";")[0], 16)) > 0:
                    stdin.write(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
        except BrokenPipeError:
            pass  # the backend stopped reading; its answer says why
        finally:
            with contextlib.suppress(BrokenPipeError):
                stdin.close()


def main(root: str, host: str) -> None:
    """Serve ``root`` on a kernel-chosen loopback port and print ``port N`` once listening."""
    _Handler.root = Path(root)
    server = ThreadingHTTPServer((host, 0), _Handler)
    server.daemon_threads = True
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

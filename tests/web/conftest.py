"""Web UI fixtures: sign-in through the real form, page CSRF tokens, and a live server for the browser.

The migrated app, the database and user factories come from ``tests/conftest.py``
(``app``, ``client``, ``make_user``, ``make_domain``); this file adds what only
page tests need.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import Account

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """Return the CSRF token embedded in a rendered page's forms."""
    match = CSRF_INPUT.search(html)
    assert match is not None, "the page has no CSRF field"
    return match.group(1)


def page_token(client: TestClient, path: str = "/login") -> str:
    """Load a page and return its CSRF token (the client keeps the nonce cookie)."""
    response = client.get(path)
    assert response.status_code == 200, response.text
    return csrf_of(response.text)


def sign_in(client: TestClient, account: Account, *, next_url: str = "/") -> str:
    """Sign in through the login form; return where it redirected to."""
    token = page_token(client, "/login")
    response = client.post(
        "/login",
        data={
            "username": account.username,
            "password": account.password,
            "csrf_token": token,
            "next": next_url,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response.headers["location"]


def post_form(
    client: TestClient, path: str, data: dict[str, object], *, token_from: str = "/"
) -> httpx.Response:
    """Submit a form with a valid CSRF token taken from a page, without following the redirect."""
    token = page_token(client, token_from)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


@dataclass
class LiveServer:
    """A uvicorn server running the app in a background thread."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    """Serve the app on a free loopback port for the test's duration."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # open live streams (SSE) of a page still shown are cancelled after 2 s, as `timbel serve` does after 5 s
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", access_log=False, timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", server=server, thread=thread)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        assert not thread.is_alive(), "the live server did not stop"


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium driven by Playwright; missing Chromium fails (never skips)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `make test` (it installs Debian chromium and fonts-noto-cjk)"
        )
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def artifacts() -> Path:
    """The folder for browser screenshots (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS

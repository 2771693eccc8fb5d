"""The principal cache: concurrent misses share one load; changes clear it at once."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import MakeUser, login
from timbel.auth import tokens as token_service


def test_concurrent_requests_with_a_new_token_load_the_caller_once(
    app: FastAPI, client: TestClient, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = login(client, make_user())
    calls = 0
    lock = threading.Lock()
    original = token_service.principal_for_access_token

    def slow_counting_loader(*args: object, **kwargs: object) -> object:
        nonlocal calls
        with lock:
            calls += 1
        time.sleep(0.05)  # long enough for every request to arrive while the first load runs
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(token_service, "principal_for_access_token", slow_counting_loader)
    app.state.principal_cache.clear()

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            responses = await asyncio.gather(
                *(http.get("/api/v1/users/me", headers=headers) for _ in range(20))
            )
        return [r.status_code for r in responses]

    statuses = asyncio.run(burst())
    assert statuses == [200] * 20
    assert calls == 1


def test_a_failed_load_fails_every_waiter_and_is_not_cached(
    app: FastAPI, client: TestClient, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = login(client, make_user())

    def broken_loader(*args: object, **kwargs: object) -> object:
        time.sleep(0.05)
        raise RuntimeError("database went away")

    monkeypatch.setattr(token_service, "principal_for_access_token", broken_loader)
    app.state.principal_cache.clear()

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            responses = await asyncio.gather(
                *(http.get("/api/v1/users/me", headers=headers) for _ in range(5))
            )
        return [r.status_code for r in responses]

    assert asyncio.run(burst()) == [500] * 5
    monkeypatch.undo()
    assert client.get("/api/v1/users/me", headers=headers).status_code == 200

"""Admin API: list, read (payload included), redeliver a failed delivery; admins only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.fakes.github import signed_delivery
from tests.webhooks.conftest import Recorder, post_github, push_payload
from timbel.webhooks import handlers
from timbel.webhooks.handlers import PushEvent


def test_admins_list_and_read_deliveries(
    client: TestClient, app: FastAPI, github_instance: str, auth_headers: Callable[..., dict[str, str]]
) -> None:
    admin = auth_headers("admin")
    push_id = post_github(client, push_payload(), delivery_id="p-1").json()["id"]
    post_github(client, {"zen": "z"}, event="ping", delivery_id="p-2")

    listed = client.get("/api/v1/webhooks/deliveries", headers=admin)
    pushes = client.get("/api/v1/webhooks/deliveries?event=push&source=github&state=processed", headers=admin)
    detail = client.get(f"/api/v1/webhooks/deliveries/{push_id}", headers=admin)

    assert listed.status_code == 200
    assert listed.json()["total"] == 2
    assert "payload" not in listed.json()["items"][0]
    assert [i["delivery_id"] for i in pushes.json()["items"]] == ["p-1"]
    body = detail.json()
    assert body["payload"] == signed_delivery(push_payload(), secret="x")[0].decode()
    assert body["payload_bytes"] == len(body["payload"])
    assert body["headers"]["x-github-event"] == "push"
    assert [(h["from_state"], h["to_state"]) for h in body["history"]] == [
        ("received", "processing"),
        ("processing", "processed"),
    ]
    assert client.get("/api/v1/webhooks/deliveries/nope", headers=admin).status_code == 404


def test_a_failed_delivery_can_be_processed_again(
    client: TestClient,
    app: FastAPI,
    github_instance: str,
    pushes: Recorder,
    auth_headers: Callable[..., dict[str, str]],
) -> None:
    admin = auth_headers("admin")

    def broken(*, session: Any, event: PushEvent, enqueue: Callable[..., str]) -> None:
        raise RuntimeError("not yet")

    handlers.on_push(broken, name="tests.broken")
    try:
        row_id = post_github(client, push_payload()).json()["id"]
    finally:
        handlers.remove("tests.broken")
    assert client.get(f"/api/v1/webhooks/deliveries/{row_id}", headers=admin).json()["state"] == "failed"

    again = client.post(f"/api/v1/webhooks/deliveries/{row_id}/redeliver", headers=admin)
    twice = client.post(f"/api/v1/webhooks/deliveries/{row_id}/redeliver", headers=admin)

    assert again.status_code == 202
    assert client.get(f"/api/v1/webhooks/deliveries/{row_id}", headers=admin).json()["state"] == "processed"
    assert twice.status_code == 409
    assert len(pushes.events) == 2  # the broken attempt and the redelivery (the recorder runs first)


def test_only_integration_admins_read_deliveries(
    client: TestClient, app: FastAPI, auth_headers: Callable[..., dict[str, str]]
) -> None:
    for role in ("operations", "viewer"):
        headers = auth_headers(role)
        assert client.get("/api/v1/webhooks/deliveries", headers=headers).status_code == 403
    assert client.get("/api/v1/webhooks/deliveries").status_code == 401

"""POST /hooks/github: signature check, store once, ping, size limit, byte-exact payload."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.fakes.github import signature_256
from tests.webhooks.conftest import (
    GITHUB_SECRET,
    Recorder,
    count_deliveries,
    delivery,
    post_github,
    push_payload,
)
from timbel.webhooks import routes


def test_a_signed_push_is_stored_and_processed_once(
    client: TestClient, app: FastAPI, github_instance: str, pushes: Recorder
) -> None:
    response = post_github(client, push_payload(), delivery_id="d-1")

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["duplicate"] is False
    row = delivery(app, body["id"])
    assert (row.source, row.delivery_id, row.event, row.integration_id) == (
        "github",
        "d-1",
        "push",
        github_instance,
    )
    assert row.state == "processed"
    assert (row.attempts, row.enqueues) == (1, 1)
    assert (row.repository, row.branch, row.sha) == ("acme/shop", "main", "a" * 40)
    assert row.headers["x-github-delivery"] == "d-1"
    assert "x-hub-signature-256" not in row.headers
    assert [e.delivery_id for e in pushes.events] == [row.id]


def test_ping_answers_ok_and_is_stored_as_processed(
    client: TestClient, app: FastAPI, github_instance: str, pushes: Recorder
) -> None:
    response = post_github(client, {"zen": "Keep it logically awesome.", "hook_id": 1}, event="ping")

    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["zen"] == "Keep it logically awesome."
    row = delivery(app, response.json()["id"])
    assert (row.event, row.state, row.attempts) == ("ping", "processed", 0)
    assert pushes.events == []


@pytest.mark.parametrize("case", ["unsigned", "wrong-secret", "wrong-prefix", "tampered"])
def test_bad_signatures_are_refused_and_nothing_is_stored(
    client: TestClient, app: FastAPI, github_instance: str, case: str
) -> None:
    body = json.dumps(push_payload()).encode()
    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-x", "Content-Type": "application/json"}
    if case == "wrong-secret":
        headers["X-Hub-Signature-256"] = signature_256(body, secret="not-the-secret")
    elif case == "wrong-prefix":
        headers["X-Hub-Signature-256"] = signature_256(body, secret=GITHUB_SECRET).replace("sha256=", "sha1=")
    elif case == "tampered":
        headers["X-Hub-Signature-256"] = signature_256(body, secret=GITHUB_SECRET)
        body = body.replace(b"main", b"evil")

    response = client.post("/hooks/github", content=body, headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert count_deliveries(app) == 0


def test_without_any_configured_secret_every_delivery_is_refused(client: TestClient, app: FastAPI) -> None:
    response = post_github(client, push_payload())

    assert response.status_code == 401
    assert count_deliveries(app) == 0


def test_a_redelivery_is_stored_once_and_processed_once(
    client: TestClient, app: FastAPI, github_instance: str, pushes: Recorder
) -> None:
    first = post_github(client, push_payload(), delivery_id="same-id")
    again = post_github(client, push_payload(), delivery_id="same-id")

    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == {"id": first.json()["id"], "state": "processed", "duplicate": True}
    assert count_deliveries(app) == 1
    assert len(pushes.events) == 1


def test_concurrent_copies_of_one_delivery_insert_once(
    client: TestClient, app: FastAPI, github_instance: str, pushes: Recorder
) -> None:
    start = threading.Barrier(8)

    def send(_: int) -> int:
        start.wait()
        return int(post_github(client, push_payload(), delivery_id="raced").status_code)

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(send, range(8)))

    assert statuses == [200] * 7 + [202]
    assert count_deliveries(app) == 1
    assert len(pushes.events) == 1


def test_the_payload_is_kept_byte_exact(client: TestClient, app: FastAPI, github_instance: str) -> None:
    body = b'{ "zen" :"\xed\x95\x9c\xea\xb8\x80 \\u00e9",\n\t"ref":"refs/heads/main" ,"x":1.50}  \n'
    headers = {
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": "exact",
        "X-Hub-Signature-256": signature_256(body, secret=GITHUB_SECRET),
        "Content-Type": "application/json",
    }

    response = client.post("/hooks/github", content=body, headers=headers)

    assert response.status_code == 200
    assert delivery(app, response.json()["id"]).payload == body


def test_a_body_over_the_limit_is_refused_with_413(
    client: TestClient, app: FastAPI, github_instance: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "MAX_BODY_BYTES", 2048)
    payload = push_payload()
    payload["padding"] = "x" * 4096

    response = post_github(client, payload)

    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert count_deliveries(app) == 0


def test_missing_delivery_id_is_a_bad_request(client: TestClient, app: FastAPI, github_instance: str) -> None:
    body = b"{}"
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature_256(body, secret=GITHUB_SECRET)}

    response = client.post("/hooks/github", content=body, headers=headers)

    assert response.status_code == 400
    assert count_deliveries(app) == 0


def test_a_changed_secret_is_used_at_once(client: TestClient, app: FastAPI, github_instance: str) -> None:
    from timbel.audit.service import AuditContext
    from timbel.core.db import session_scope
    from timbel.integrations import service as integrations
    from timbel.integrations.schemas import IntegrationUpdate

    assert post_github(client, {"zen": "a"}, event="ping").status_code == 200
    with session_scope(app.state.session_factory) as session:
        row = integrations.get_or_raise(session, integration_id=github_instance)
        integrations.update(
            session,
            settings=app.state.settings,
            row=row,
            data=IntegrationUpdate(secrets={"webhook_secret": "rotated-secret-987"}),
            ctx=AuditContext(actor_name="test"),
        )

    assert post_github(client, {"zen": "b"}, event="ping").status_code == 401
    assert post_github(client, {"zen": "c"}, event="ping", secret="rotated-secret-987").status_code == 200

"""POST /hooks/gitlab: token check in constant time, delivery id from the event UUID / Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.fakes.gitlab import gitlab_delivery, push_payload
from tests.webhooks.conftest import GITLAB_TOKEN, Recorder, count_deliveries, delivery


def test_a_push_with_the_right_token_is_stored_and_processed(
    client: TestClient,
    app: FastAPI,
    gitlab_instance: str,
    pushes: Recorder,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
) -> None:
    domain = make_domain("d1")
    system = make_system(domain, "shop", repo_url="https://GitLab.example.com/acme/shop")
    body, headers = gitlab_delivery(push_payload(), token=GITLAB_TOKEN, event_uuid="ev-1")

    response = client.post("/hooks/gitlab", content=body, headers=headers)

    assert response.status_code == 202, response.text
    row = delivery(app, response.json()["id"])
    assert (row.source, row.delivery_id, row.event, row.integration_id) == (
        "gitlab",
        "ev-1",
        "Push Hook",
        gitlab_instance,
    )
    assert (row.state, row.repository, row.branch, row.sha) == ("processed", "acme/shop", "main", "1" * 40)
    assert row.system_ids == [system]
    assert row.payload == body
    assert "x-gitlab-token" not in row.headers
    assert [(e.source, e.system_ids) for e in pushes.events] == [("gitlab", (system,))]


def test_a_wrong_or_missing_token_is_refused_and_nothing_is_stored(
    client: TestClient, app: FastAPI, gitlab_instance: str
) -> None:
    for token in ("not-the-token", GITLAB_TOKEN + "x", "", None):
        body, headers = gitlab_delivery(push_payload(), token=token)
        response = client.post("/hooks/gitlab", content=body, headers=headers)
        assert response.status_code == 401, token
        assert response.headers["content-type"].startswith("application/problem+json")
    assert count_deliveries(app) == 0


def test_a_github_secret_does_not_open_the_gitlab_receiver(
    client: TestClient, app: FastAPI, github_instance: str
) -> None:
    from tests.webhooks.conftest import GITHUB_SECRET

    body, headers = gitlab_delivery(push_payload(), token=GITHUB_SECRET)

    assert client.post("/hooks/gitlab", content=body, headers=headers).status_code == 401
    assert count_deliveries(app) == 0


def test_the_same_event_twice_is_stored_once(
    client: TestClient, app: FastAPI, gitlab_instance: str, pushes: Recorder
) -> None:
    body, headers = gitlab_delivery(push_payload(), token=GITLAB_TOKEN, event_uuid="ev-2")

    first = client.post("/hooks/gitlab", content=body, headers=headers)
    again = client.post("/hooks/gitlab", content=body, headers=headers)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["duplicate"] is True
    assert count_deliveries(app) == 1
    assert len(pushes.events) == 1


def test_the_idempotency_key_wins_over_the_event_uuid(
    client: TestClient, app: FastAPI, gitlab_instance: str
) -> None:
    body, headers = gitlab_delivery(push_payload(), token=GITLAB_TOKEN, event_uuid="ev-3")
    first = client.post("/hooks/gitlab", content=body, headers={**headers, "Idempotency-Key": "key-1"})
    retry = client.post(
        "/hooks/gitlab",
        content=body,
        headers={**headers, "X-Gitlab-Event-UUID": "ev-4", "Idempotency-Key": "key-1"},
    )

    assert delivery(app, first.json()["id"]).delivery_id == "key-1"
    assert retry.json()["duplicate"] is True

"""webhooks.process: system matching, push handlers, idempotence, failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.webhooks.conftest import Recorder, delivery, post_github, push_payload
from timbel.core.db import session_scope
from timbel.webhooks import handlers, processing
from timbel.webhooks.handlers import PushEvent


def test_a_push_matches_systems_whatever_the_url_spelling(
    client: TestClient,
    app: FastAPI,
    github_instance: str,
    pushes: Recorder,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
) -> None:
    domain = make_domain("d1")
    ssh = make_system(domain, "shop-ssh", repo_url="git@github.com:Acme/Shop.git")
    https = make_system(domain, "shop-https", repo_url="https://GITHUB.com/acme/shop/")
    make_system(domain, "shop-api", repo_url="https://github.com/acme/shop-api")
    make_system(domain, "other-host", repo_url="https://gitlab.com/acme/shop")
    make_system(domain, "none", repo_url="")

    response = post_github(client, push_payload(full_name="acme/shop", ref="refs/heads/release/1.2"))

    row = delivery(app, response.json()["id"])
    assert sorted(row.system_ids) == sorted([ssh, https])
    assert row.branch == "release/1.2"
    event = pushes.events[0]
    assert (event.branch, event.tag, event.deleted, event.repository) == (
        "release/1.2",
        "",
        False,
        "acme/shop",
    )
    assert sorted(event.system_ids) == sorted([ssh, https])
    assert event.commit_count == 1 and event.pusher == "kim"


def test_a_tag_push_and_a_branch_deletion_are_told_apart(
    client: TestClient, app: FastAPI, github_instance: str, pushes: Recorder
) -> None:
    post_github(client, push_payload(ref="refs/tags/v1.0"))
    post_github(client, push_payload(ref="refs/heads/old", after="0" * 40))

    tag, deletion = pushes.events
    assert (tag.tag, tag.branch) == ("v1.0", "")
    assert deletion.deleted is True


def test_other_events_are_recorded_without_calling_push_handlers(
    client: TestClient, app: FastAPI, github_instance: str, pushes: Recorder
) -> None:
    response = post_github(client, {"action": "opened", "number": 1}, event="pull_request")

    assert response.status_code == 202
    assert delivery(app, response.json()["id"]).state == "processed"
    assert pushes.events == []


def test_a_second_message_for_the_same_delivery_is_skipped(
    client: TestClient, app: FastAPI, github_instance: str, pushes: Recorder
) -> None:
    row_id = post_github(client, push_payload()).json()["id"]

    again = processing.process(
        session_factory=app.state.session_factory, delivery_id=row_id, enqueue=app.state.jobs.enqueue
    )

    assert "skipped" in again
    assert len(pushes.events) == 1
    assert delivery(app, row_id).attempts == 1


def test_a_failing_handler_fails_the_delivery_and_keeps_nothing_it_wrote(
    client: TestClient, app: FastAPI, github_instance: str, make_domain: Callable[[str], str]
) -> None:
    from timbel.catalog.models import Domain

    def explode(*, session: Any, event: PushEvent, enqueue: Callable[..., str]) -> None:
        session.add(Domain(code="written-by-handler", name="x"))
        session.flush()
        raise RuntimeError("pipeline store is down")

    handlers.on_push(explode, name="tests.explode")
    try:
        response = post_github(client, push_payload())
    finally:
        handlers.remove("tests.explode")

    row = delivery(app, response.json()["id"])
    assert row.state == "failed"
    assert "RuntimeError: pipeline store is down" in row.last_error
    with session_scope(app.state.session_factory) as session:
        assert session.query(Domain).filter_by(code="written-by-handler").count() == 0


def test_an_unreadable_push_payload_fails_with_a_reason(
    client: TestClient, app: FastAPI, github_instance: str
) -> None:
    from tests.fakes.github import signature_256

    body = b"not json"
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "garbage",
        "X-Hub-Signature-256": signature_256(body, secret="hook-secret-0123456789"),
    }

    response = client.post("/hooks/github", content=body, headers=headers)

    assert response.status_code == 202
    row = delivery(app, response.json()["id"])
    assert row.state == "failed"
    assert row.last_error.startswith("The push payload cannot be read")


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://github.com/Acme/Shop.git", "github.com/acme/shop"),
        ("https://github.com/acme/shop/", "github.com/acme/shop"),
        ("http://user:pw@GitHub.com:80/acme/shop", "github.com/acme/shop"),
        ("ssh://git@github.com:22/acme/shop.git", "github.com/acme/shop"),
        ("git@github.com:acme/shop.git", "github.com/acme/shop"),
        ("https://git.example.com:8443/group/sub/repo.git", "git.example.com:8443/group/sub/repo"),
        ("", ""),
        ("not a url", ""),
        ("/srv/git/repo", ""),
    ],
)
def test_repository_keys(url: str, key: str) -> None:
    from timbel.webhooks.urls import repo_key

    assert repo_key(url) == key


def _stored(app: FastAPI, *bodies: bytes) -> list[str]:
    from timbel.webhooks import service

    items: list[dict[str, Any]] = [
        {"source": "github", "delivery_id": f"b{i}", "event": "push", "integration_id": None, "headers": {},
         "payload": body}
        for i, body in enumerate(bodies)
    ]  # fmt: skip
    return [r.id for r in service.receive_many(engine=app.state.engine, items=items)]


def test_a_batch_is_processed_together_and_a_second_message_skips_it(app: FastAPI, pushes: Recorder) -> None:
    import json

    ids = _stored(app, *(json.dumps(push_payload(after=c * 40)).encode() for c in "abc"))

    first = processing.process_many(session_factory=app.state.session_factory, delivery_ids=ids, enqueue=str)
    again = processing.process_many(session_factory=app.state.session_factory, delivery_ids=ids, enqueue=str)

    assert first == {"skipped": 0, "processed": 3, "failed": 0}
    assert again == {"skipped": 3, "processed": 0, "failed": 0}
    assert [delivery(app, i).sha for i in ids] == ["a" * 40, "b" * 40, "c" * 40]
    assert all(delivery(app, i).state == "processed" for i in ids)
    assert len(pushes.events) == 3


def test_one_bad_delivery_in_a_batch_fails_alone(app: FastAPI, pushes: Recorder) -> None:
    import json

    good = json.dumps(push_payload()).encode()
    ids = _stored(app, good, b"[broken", good.replace(b"acme/shop", b"acme/cart"))

    counts = processing.process_many(session_factory=app.state.session_factory, delivery_ids=ids, enqueue=str)

    assert counts == {"skipped": 0, "processed": 2, "failed": 1}
    assert [delivery(app, i).state for i in ids] == ["processed", "failed", "processed"]
    assert delivery(app, ids[2]).repository == "acme/cart"
    assert sorted(e.repository for e in pushes.events) == [
        "acme/cart",
        "acme/shop",
        "acme/shop",
    ]  # rolled back once

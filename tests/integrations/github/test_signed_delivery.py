"""``signed_delivery`` signs webhook bodies exactly like GitHub (checked against its documented vector)."""

from __future__ import annotations

import hashlib
import hmac
import json

from tests.fakes.github import signature_256, signed_delivery


def test_the_signature_matches_githubs_documented_example() -> None:
    # docs.github.com "Validating webhook deliveries": secret and payload below give this digest.
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_256(b"Hello, World!", secret="It's a Secret to Everybody") == expected


def test_a_delivery_is_the_raw_body_and_githubs_headers() -> None:
    payload = {"ref": "refs/heads/main", "after": "a" * 40, "repository": {"full_name": "acme/shop"}}
    body, headers = signed_delivery(payload, secret="whs", event="push", delivery_id="d-1")
    assert json.loads(body) == payload
    assert headers["X-GitHub-Event"] == "push" and headers["X-GitHub-Delivery"] == "d-1"
    assert headers["Content-Type"] == "application/json"
    digest = hmac.new(b"whs", body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == f"sha256={digest}"
    _, other = signed_delivery(payload, secret="whs", event="ping")
    assert other["X-GitHub-Event"] == "ping" and other["X-GitHub-Delivery"] != "d-1"

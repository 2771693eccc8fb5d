"""Secrets at rest: round trip, bound to their row, refused with another key, never echoed."""

from __future__ import annotations

import pytest

from timbel.core.crypto import SecretBox, SecretDecryptError

TOKEN = "ghp_planted-secret-0123456789"


def test_round_trip_and_no_plaintext_in_storage() -> None:
    box = SecretBox("k" * 43)
    stored = box.encrypt(TOKEN, context="repo-1")
    assert stored.startswith("v1:") and TOKEN not in stored
    assert box.decrypt(stored, context="repo-1") == TOKEN
    assert box.encrypt(TOKEN, context="repo-1") != stored  # a fresh nonce every time


def test_other_row_other_key_or_tampering_is_refused_without_leaking() -> None:
    box = SecretBox("k" * 43)
    stored = box.encrypt(TOKEN, context="repo-1")
    tampered = stored[:-4] + ("AAAA" if not stored.endswith("AAAA") else "BBBB")
    for attempt in (
        lambda: box.decrypt(stored, context="repo-2"),
        lambda: SecretBox("x" * 43).decrypt(stored, context="repo-1"),
        lambda: box.decrypt(tampered, context="repo-1"),
        lambda: box.decrypt("v0:abc", context="repo-1"),
    ):
        with pytest.raises(SecretDecryptError) as caught:
            attempt()
        assert TOKEN not in str(caught.value)

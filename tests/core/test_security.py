"""Security primitives: argon2id hashing and the access-token verifier's memory."""

from __future__ import annotations

import time

import pytest

from timbel.core.security import (
    AccessTokenVerifier,
    InvalidToken,
    hash_password,
    issue_access_token,
    verify_password,
)

KEY = "verifier-test-key-0123456789-0123456789"


def _token(ttl: int) -> str:
    token, _ = issue_access_token(
        key=KEY, issuer="timbel", audience="timbel-api", user_id="u1", session_id="s1", ttl_seconds=ttl
    )
    return token


def test_passwords_are_argon2id_and_verify() -> None:
    digest = hash_password("Granite-Orbit-58")
    assert digest.startswith("$argon2id$")
    assert verify_password(digest, "Granite-Orbit-58")
    assert not verify_password(digest, "granite-orbit-58")
    assert not verify_password(None, "anything")
    assert not verify_password("not-a-hash", "anything")


def test_a_remembered_token_still_expires() -> None:
    verifier = AccessTokenVerifier(key=KEY, issuer="timbel", audience="timbel-api")
    token = _token(ttl=1)
    assert verifier.verify(token).user_id == "u1"
    assert verifier.verify(token).session_id == "s1"  # served from memory
    time.sleep(1.1)
    with pytest.raises(InvalidToken):
        verifier.verify(token)
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_tampered_tokens_are_never_remembered_as_valid() -> None:
    verifier = AccessTokenVerifier(key=KEY, issuer="timbel", audience="timbel-api")
    token = _token(ttl=60)
    verifier.verify(token)
    head, payload, signature = token.split(".")
    forged = ".".join([head, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")])
    with pytest.raises(InvalidToken):
        verifier.verify(forged)
    other = AccessTokenVerifier(key=KEY + "x", issuer="timbel", audience="timbel-api")
    with pytest.raises(InvalidToken):
        other.verify(token)

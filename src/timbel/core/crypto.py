"""Secrets at rest: AES-256-GCM with a key derived from the settings' secret key.

Why this shape: credentials (git tokens, SSH keys, later integration passwords) are stored encrypted
and are write-only for users. The stored text names its format version (``v1:``) so a later key
rotation can re-encrypt rows; the row id is bound as associated data, so a ciphertext copied onto
another row does not decrypt.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"
_NONCE = 12


class SecretDecryptError(RuntimeError):
    """A stored secret cannot be decrypted (wrong key, wrong row, or tampered)."""


class SecretBox:
    """Encrypt and decrypt short secrets bound to a context (e.g. the row id)."""

    def __init__(self, master_key: str) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"timbel-secrets-v1")
        self._aead = AESGCM(derived.derive(master_key.encode()))

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """Return ``v1:<base64 nonce+ciphertext>`` for a secret bound to ``context``."""
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return f"{VERSION}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, *, context: str) -> str:
        """Return the secret, or raise SecretDecryptError (the message never contains the secret)."""
        version, _, payload = stored.partition(":")
        if version != VERSION:
            raise SecretDecryptError(f"unknown secret format {version!r}")
        try:
            raw = base64.b64decode(payload, validate=True)
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], context.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise SecretDecryptError("the secret cannot be decrypted with this key and context") from exc


def reencrypt(stored: str, *, old: SecretBox, new: SecretBox, context: str) -> tuple[str, bool]:
    """Re-encrypt one stored secret under ``new``; return it and whether it changed.

    A value that ``new`` already opens is returned as is, so a rotation interrupted or run twice is safe.
    Raises SecretDecryptError when neither key opens it.
    """
    try:
        new.decrypt(stored, context=context)
    except SecretDecryptError:
        return new.encrypt(old.decrypt(stored, context=context), context=context), True
    return stored, False

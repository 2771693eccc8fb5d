"""Re-encrypt every stored secret with the current key (after the secret key changed).

Why one transaction: a half-rotated database would need two keys forever; either every row opens with the
new key afterwards or nothing changed. Rows the new key already opens are left alone, so a rerun is safe.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.core.crypto import SecretBox, SecretDecryptError, reencrypt
from timbel.gitops.models import DeliveryDraft, GitOpsRepository
from timbel.integrations.models import Integration
from timbel.pipelines.run_models import Pipeline

# (model, column holding the ciphertext); each ciphertext is bound to its row id.
_ENCRYPTED = (
    (Integration, "secrets"),
    (GitOpsRepository, "secret"),
    (DeliveryDraft, "secrets"),
    (Pipeline, "secrets"),
)


class RotationFailed(RuntimeError):
    """A stored secret opens with neither key; nothing was changed."""


@dataclass
class RotationReport:
    """How many secrets were re-encrypted per table, and how many already used the new key."""

    rotated: dict[str, int]
    already_current: int

    @property
    def total(self) -> int:
        """Secrets re-encrypted in all tables."""
        return sum(self.rotated.values())


def _encrypted_rows(session: Session) -> Iterator[tuple[str, object, str, str]]:
    for model, column in _ENCRYPTED:
        attribute = getattr(model, column)
        for row in session.scalars(select(model).where(attribute.is_not(None)).order_by(model.id)):
            yield model.__tablename__, row, column, getattr(row, column)


def rotate_key(session: Session, *, old_key: str, new_key: str) -> RotationReport:
    """Re-encrypt every secret from ``old_key`` to ``new_key`` in the caller's transaction (flushes only)."""
    old, new = SecretBox(old_key), SecretBox(new_key)
    report = RotationReport(rotated={model.__tablename__: 0 for model, _ in _ENCRYPTED}, already_current=0)
    for table, row, column, stored in _encrypted_rows(session):
        row_id = str(getattr(row, "id"))  # noqa: B009 - rows of several models
        try:
            value, changed = reencrypt(stored, old=old, new=new, context=row_id)
        except SecretDecryptError as exc:
            raise RotationFailed(f"{table} row {row_id}: the secret opens with neither key") from exc
        if changed:
            setattr(row, column, value)
            report.rotated[table] += 1
        else:
            report.already_current += 1
    session.flush()
    return report

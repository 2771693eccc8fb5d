"""Which image tags the GitOps repositories deploy: every ``services.<name>.image.tag`` of every environment.

Why: registry retention must keep "anything deployed". The environments' values files are the truth of what
Argo CD deploys, so they are read from each repository's working clone (fetched first). A repository that
cannot be read makes the caller fail instead of guessing: deleting an image that runs somewhere is worse
than keeping one more tag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.core.errors import IntegrationError
from timbel.core.settings import Settings
from timbel.gitops.errors import GitOpsError
from timbel.gitops.models import GitOpsRepository
from timbel.gitops.service import open_row

VALUES_GLOB = "*/*/envs/*/values.yaml"  # <domain>/<system>/envs/<env>/values.yaml


def tags_in_values(text: str) -> set[str]:
    """The image tags (and digests) a values file sets for its services."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError:
        return set()
    services = data.get("services") if isinstance(data, dict) else None
    found: set[str] = set()
    for service in (services or {}).values() if isinstance(services, dict) else ():
        image = service.get("image") if isinstance(service, dict) else None
        if isinstance(image, dict):
            for key in ("tag", "digest"):
                value = image.get(key)
                if isinstance(value, str | int | float) and str(value).strip():
                    found.add(str(value).strip())
    return found


def tags_in_tree(root: Path) -> set[str]:
    """Every deployed tag in a working clone's environments (symlinks are not followed)."""
    found: set[str] = set()
    for path in sorted(root.glob(VALUES_GLOB)):
        if path.is_file() and not path.is_symlink():
            found |= tags_in_values(path.read_text(encoding="utf-8", errors="replace"))
    return found


def deployed_image_tags(session: Session, *, settings: Settings) -> set[str]:
    """The tags deployed by every configured GitOps repository; raise when one cannot be read."""
    found: set[str] = set()
    for row in session.scalars(select(GitOpsRepository).order_by(GitOpsRepository.name)):
        try:
            repo = open_row(row, settings=settings)
        except GitOpsError as exc:
            raise IntegrationError(
                f"cannot read the deployed images of GitOps repository '{row.name}': {exc}"
            ) from exc
        found |= tags_in_tree(repo.path)
    return found

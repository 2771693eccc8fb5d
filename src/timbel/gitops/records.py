"""Read commits of the working clone into ``CommitInfo`` records, with Timbel's trailers parsed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from timbel.gitops.repo import GitOpsRepo

OPERATION_TRAILER = "Timbel-Operation"
WHO_TRAILER = "Requested-by"
_TRAILER = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*): (.+)$")
_FORMAT = "%x1e%H%x1f%an <%ae>%x1f%aI%x1f%B%x1f"


@dataclass(frozen=True)
class CommitInfo:
    """One commit: who wrote it, when, what it said, Timbel's trailers, and the files it changed."""

    sha: str
    author: str
    date: datetime
    subject: str
    body: str
    who: str | None
    operation_id: str | None
    files: tuple[str, ...]

    @property
    def by_timbel(self) -> bool:
        """True when Timbel made the commit (it carries the ``Timbel-Operation`` trailer)."""
        return self.operation_id is not None


def parse_message(message: str) -> tuple[str, str, dict[str, str]]:
    """Split a commit message into subject, body and trailers (the last paragraph, if all ``Key: value``)."""
    paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", message.strip("\n")) if p.strip()]
    if not paragraphs:
        return "", "", {}
    subject = paragraphs[0].splitlines()[0]
    rest = paragraphs[1:]
    trailers: dict[str, str] = {}
    if rest:
        matches = [_TRAILER.match(line) for line in rest[-1].splitlines()]
        if matches and all(matches):
            trailers = {m.group(1): m.group(2).strip() for m in matches if m}
            rest = rest[:-1]
    first_extra = paragraphs[0].splitlines()[1:]
    body = "\n\n".join([*(["\n".join(first_extra)] if first_extra else []), *rest])
    return subject, body, trailers


def read_commits(
    repo: GitOpsRepo, *, revisions: list[str], paths: list[str] | None = None, limit: int | None = None
) -> list[CommitInfo]:
    """Return the commits reachable from ``revisions`` (newest first), limited to ``paths`` when given."""
    args = ["-c", "core.quotePath=false", "log", "--no-color", "--no-renames", f"--format={_FORMAT}"]
    args += ["--name-only"]
    if limit is not None:
        args.append(f"--max-count={limit}")
    args += [*revisions, "--", *(paths or [])]
    output = repo.git(args).stdout
    commits: list[CommitInfo] = []
    for record in output.split("\x1e"):
        fields = record.split("\x1f")
        if len(fields) < 5:
            continue
        sha, author, date, message, names = fields[:5]
        subject, body, trailers = parse_message(message)
        files = tuple(name for name in (n.strip() for n in names.splitlines()) if name)
        commits.append(
            CommitInfo(
                sha=sha,
                author=author,
                date=datetime.fromisoformat(date),
                subject=subject,
                body=body,
                who=trailers.get(WHO_TRAILER),
                operation_id=trailers.get(OPERATION_TRAILER),
                files=files,
            )
        )
    return commits

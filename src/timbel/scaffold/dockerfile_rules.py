"""Rules for Dockerfiles, generated or found in the repository: pinned bases, non-root, no baked-in secrets.

Why text rules and not a build: a Dockerfile is checked before anything runs (no daemon, no network), and the
same rules must hold for Timbel's own output and for the Dockerfile a team already has. Instructions are read
with their continuation lines joined; each finding points at the line where its instruction starts.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

Severity = Literal["error", "warning"]
_ROOT_USERS = frozenset({"root", "0"})
_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|KEY|CREDENTIALS?)(_|$)", re.IGNORECASE)
_FROM_FLAGS = re.compile(r"^--\S+$")


class Finding(BaseModel):
    """One rule a Dockerfile breaks, where, and how serious it is."""

    rule: str
    line: int
    message: str
    severity: Severity


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: keyword (upper case), its arguments, and the line it starts on."""

    keyword: str
    args: str
    line: int


def parse_instructions(text: str) -> list[Instruction]:
    """Split a Dockerfile into instructions, joining ``\\`` continuations and dropping comments."""
    result: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continuation are skipped by Docker too
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        joined = " ".join(part.strip() for part in pending if part.strip())
        pending = []
        keyword, _, args = joined.partition(" ")
        result.append(Instruction(keyword=keyword.upper(), args=args.strip(), line=start))
    if pending:
        joined = " ".join(part.strip() for part in pending if part.strip())
        keyword, _, args = joined.partition(" ")
        result.append(Instruction(keyword=keyword.upper(), args=args.strip(), line=start))
    return result


def _image_problem(image: str) -> str | None:
    """Say why a base image is not pinned, or None when it is (a tag other than latest, or a digest)."""
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"base image {image} has no tag; pin a version such as {image}:<version> or a digest"
    if last.rsplit(":", 1)[1].lower() in ("latest", ""):
        return f"base image {image} uses the moving tag latest; pin a version or a digest"
    return None


def _check_bases(stages: list[tuple[Instruction, str, str | None]]) -> list[Finding]:
    findings: list[Finding] = []
    names: set[str] = set()
    for instruction, image, alias in stages:
        if image.lower() == "scratch" or image.lower() in names:
            pass
        elif "$" in image:
            message = f"base image {image} comes from a build argument; make sure its default is pinned"
            findings.append(
                Finding(rule="pinned-base", line=instruction.line, message=message, severity="warning")
            )
        elif (problem := _image_problem(image)) is not None:
            findings.append(
                Finding(rule="pinned-base", line=instruction.line, message=problem, severity="error")
            )
        if alias:
            names.add(alias.lower())
    return findings


def _stages(instructions: list[Instruction]) -> list[tuple[Instruction, str, str | None]]:
    stages: list[tuple[Instruction, str, str | None]] = []
    for instruction in instructions:
        if instruction.keyword != "FROM":
            continue
        words = [w for w in instruction.args.split() if not _FROM_FLAGS.match(w)]
        if not words:
            continue
        alias = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
        stages.append((instruction, words[0], alias))
    return stages


def _final_stage(instructions: list[Instruction]) -> list[Instruction]:
    starts = [i for i, instruction in enumerate(instructions) if instruction.keyword == "FROM"]
    return instructions[starts[-1] :] if starts else instructions


def _check_user(final: list[Instruction]) -> list[Finding]:
    where = final[0].line if final else 1
    users = [i for i in final if i.keyword == "USER"]
    if not users:
        message = "the final stage runs as root; add a non-root USER with a numeric uid (e.g. USER 10001)"
        return [Finding(rule="non-root-user", line=where, message=message, severity="error")]
    last = users[-1]
    user = last.args.split(":", 1)[0].strip()
    if user.lower() in _ROOT_USERS:
        message = f"the final USER is {last.args}; switch to a non-root user with a numeric uid"
        return [Finding(rule="non-root-user", line=last.line, message=message, severity="error")]
    if not user.isdigit():
        message = f"USER {last.args} is a name; a numeric uid lets Kubernetes verify runAsNonRoot"
        return [Finding(rule="non-root-user", line=last.line, message=message, severity="warning")]
    return []


def _assignments(instruction: Instruction) -> list[tuple[str, str | None]]:
    """Return (name, literal value or None) pairs of an ARG or ENV instruction."""
    try:
        words = shlex.split(instruction.args, posix=True)
    except ValueError:
        words = instruction.args.split()
    if instruction.keyword == "ENV" and words and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]) or None)]  # legacy form: ENV NAME value
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        name, eq, value = word.partition("=")
        pairs.append((name, value if eq else None))
    return pairs


def _check_secrets(instructions: list[Instruction]) -> list[Finding]:
    findings: list[Finding] = []
    for instruction in instructions:
        if instruction.keyword not in ("ARG", "ENV"):
            continue
        for name, value in _assignments(instruction):
            if not value or value.startswith("$") or not _SECRET_NAME.search(name):
                continue
            message = (
                f"{instruction.keyword} {name} bakes a secret-looking value into the image; "
                "pass it at run time (a Kubernetes Secret) or as a build secret (RUN --mount=type=secret)"
            )
            findings.append(
                Finding(rule="no-secrets", line=instruction.line, message=message, severity="error")
            )
    return findings


def _check_expose(final: list[Instruction], port: int | None) -> list[Finding]:
    exposes = [i for i in final if i.keyword == "EXPOSE"]
    where = final[0].line if final else 1
    if port is None:
        return []
    if not exposes:
        message = f"no EXPOSE in the final stage; add EXPOSE {port} so the image documents its port"
        return [Finding(rule="expose-port", line=where, message=message, severity="warning")]
    ports: set[str] = set()
    for instruction in exposes:
        ports.update(word.split("/", 1)[0] for word in instruction.args.split())
    if str(port) in ports:
        return []
    if any("$" in p for p in ports):
        message = f"EXPOSE uses a variable; make sure it resolves to the service port {port}"
        return [Finding(rule="expose-port", line=exposes[0].line, message=message, severity="warning")]
    listed = ", ".join(sorted(ports))
    message = f"EXPOSE lists {listed} but the service listens on {port}"
    return [Finding(rule="expose-port", line=exposes[0].line, message=message, severity="error")]


def _check_healthcheck(final: list[Instruction]) -> list[Finding]:
    checks = [i for i in final if i.keyword == "HEALTHCHECK"]
    if checks and checks[-1].args.strip().upper() != "NONE":
        return []
    where = checks[-1].line if checks else (final[0].line if final else 1)
    message = "no HEALTHCHECK; Docker cannot tell a hung container (Kubernetes probes still apply)"
    return [Finding(rule="healthcheck", line=where, message=message, severity="warning")]


def check_dockerfile(text: str, *, port: int | None) -> list[Finding]:
    """Check a Dockerfile against Timbel's rules; errors block a commit, warnings are shown."""
    instructions = parse_instructions(text)
    stages = _stages(instructions)
    if not stages:
        return [Finding(rule="syntax", line=1, message="no FROM instruction", severity="error")]
    final = _final_stage(instructions)
    findings = [
        *_check_bases(stages),
        *_check_user(final),
        *_check_secrets(instructions),
        *_check_expose(final, port),
        *_check_healthcheck(final),
    ]
    return sorted(findings, key=lambda f: (f.line, f.rule))

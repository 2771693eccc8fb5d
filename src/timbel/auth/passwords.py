"""Password policy: long enough, not the username, not a commonly used password."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

from timbel.core.errors import ValidationFailed

MAX_PASSWORD_LENGTH = 256


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    text = files("timbel.auth").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def password_problems(password: str, *, username: str, min_length: int) -> list[str]:
    """List the policy rules a candidate password breaks (empty when acceptable)."""
    problems: list[str] = []
    if len(password) < min_length:
        problems.append("too_short")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append("too_long")
    lowered = password.lower()
    if username and username.lower() in lowered:
        problems.append("contains_username")
    if lowered in _common_passwords() or len(set(password)) <= 2:
        problems.append("too_common")
    return problems


POLICY_MESSAGES = {
    "too_short": "Password must be at least {min_length} characters long.",
    "too_long": f"Password must be at most {MAX_PASSWORD_LENGTH} characters long.",
    "contains_username": "Password must not contain the username.",
    "too_common": "Password is too common; choose a less guessable one.",
}


def check_password_policy(password: str, *, username: str, min_length: int, field: str = "password") -> None:
    """Raise ValidationFailed naming every rule a password breaks."""
    problems = password_problems(password, username=username, min_length=min_length)
    if problems:
        raise ValidationFailed(
            "The password does not meet the password policy.",
            errors=[
                {
                    "loc": ["body", field],
                    "type": f"password.{p}",
                    "msg": POLICY_MESSAGES[p].format(min_length=min_length),
                }
                for p in problems
            ],
        )

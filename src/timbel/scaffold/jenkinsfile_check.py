"""Structural check of a declarative Jenkinsfile, without Jenkins.

Why our own check: no Jenkins runs here, and the mistakes that break a generated or hand-edited pipeline are
structural (an unbalanced brace, a stage without steps, no ``agent``) or dangerous (a password written into
the file). Groovy strings and comments are skipped while counting brackets, so a ``}`` inside a shell
command does not count; secrets are looked for in the raw text, strings included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PAIRS = {")": "(", "]": "[", "}": "{"}
_STAGE_BODIES = frozenset({"steps", "parallel", "stages", "matrix"})
_SECRETS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"""(?i)\b(password|passwd|pwd|secret|token|api[_-]?key)\s*[:=]\s*['"]?(?![$'"\s])\S{3,}"""
        ),
        "a literal {0} value",
    ),
    (re.compile(r"(?i)--password(?!-stdin)[\s=]+(?![\"']?\$)\S+"), "a password on the command line"),
    (re.compile(r"(?i)\bdocker\s+login\b[^\n]*\s-p\s+(?![\"']?\$)\S+"), "a password on the command line"),
    (re.compile(r"\b(ghp|gho|ghs|ghu)_[A-Za-z0-9]{30,}|\bgithub_pat_[A-Za-z0-9_]{20,}"), "a GitHub token"),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), "a GitLab token"),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "an AWS access key"),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?![\"']?\$)[^/\s@'\"]+@"), "credentials in a URL"),
)


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    line: int
    depth: int  # brackets open before this token


def _skip_string(text: str, start: int) -> int | None:
    """Return the index after the Groovy string starting at ``start`` (None when it never ends)."""
    quote = text[start : start + 3] if text[start : start + 3] in ("'''", '"""') else text[start]
    i = start + len(quote)
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if len(quote) == 1 and text[i] == "\n":
            return None
        if text.startswith(quote, i):
            return i + len(quote)
        i += 1
    return None


def _tokens(text: str, problems: list[str]) -> list[_Token]:
    """Split into words and brackets outside strings and comments; report unbalanced brackets."""
    tokens: list[_Token] = []
    stack: list[tuple[str, int]] = []
    i, line = 0, 1
    while i < len(text):
        char = text[i]
        if char == "\n":
            line += 1
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                problems.append(f"line {line}: a /* comment is never closed")
                return tokens
            line += text.count("\n", i, end)
            i = end + 2
        elif char in "'\"":
            closed = _skip_string(text, i)
            if closed is None:
                problems.append(f"line {line}: a string is never closed")
                return tokens
            tokens.append(_Token(text[i:closed], line, len(stack)))
            line += text.count("\n", i, closed)
            i = closed
        elif char in "([{":
            tokens.append(_Token(char, line, len(stack)))
            stack.append((char, line))
            i += 1
        elif char in ")]}":
            if not stack or stack[-1][0] != _PAIRS[char]:
                problems.append(f"line {line}: unexpected '{char}'")
                return tokens
            stack.pop()
            tokens.append(_Token(char, line, len(stack)))
            i += 1
        elif match := _WORD.match(text, i):
            tokens.append(_Token(match.group(), line, len(stack)))
            i = match.end()
        else:
            i += 1
    for opener, opened in stack:
        problems.append(f"line {opened}: '{opener}' is never closed")
    return tokens


def _block_end(tokens: list[_Token], start: int) -> int:
    """Return the index of the bracket closing the one at ``start``."""
    depth = tokens[start].depth
    for index in range(start + 1, len(tokens)):
        if tokens[index].depth == depth and tokens[index].text in ")]}":
            return index
    return len(tokens) - 1


def _children(tokens: list[_Token], start: int) -> set[str]:
    """Return the words directly inside the block opened at ``start``."""
    end, inner = _block_end(tokens, start), tokens[start].depth + 1
    return {t.text for t in tokens[start + 1 : end] if t.depth == inner and _WORD.fullmatch(t.text)}


def _check_structure(tokens: list[_Token], problems: list[str]) -> None:
    if len(tokens) < 2 or tokens[0].text != "pipeline" or tokens[1].text != "{":
        problems.append("the file must start with a 'pipeline {' block")
        return
    children = _children(tokens, 1)
    for section in ("agent", "stages"):
        if section not in children:
            problems.append(f"the pipeline has no '{section}' section")
    for index, token in enumerate(tokens):
        if token.text != "stage" or index + 1 >= len(tokens) or tokens[index + 1].text != "(":
            continue
        close = _block_end(tokens, index + 1)
        name = tokens[index + 2].text.strip("'\"") if close > index + 2 else "?"
        if close + 1 >= len(tokens) or tokens[close + 1].text != "{":
            problems.append(f"line {token.line}: stage '{name}' has no body")
        elif not _children(tokens, close + 1) & _STAGE_BODIES:
            problems.append(f"line {token.line}: stage '{name}' has no steps (or parallel/stages)")


def find_secrets(text: str) -> list[str]:
    """Return a message per line that writes a secret literally (password, token, key, URL credentials)."""
    found: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern, what in _SECRETS:
            match = pattern.search(line)
            if match:
                label = match.group(1).lower() if match.groups() and match.group(1) else ""
                found.append(
                    f"line {number}: {what.format(label)} is written into the file; use a credential"
                )
    return found


def check_jenkinsfile(text: str) -> list[str]:
    """Return the structural problems and literal secrets of a Jenkinsfile (empty when it looks sound)."""
    problems: list[str] = []
    tokens = _tokens(text, problems)
    if not problems:
        _check_structure(tokens, problems)
    problems.extend(find_secrets(text))
    return problems

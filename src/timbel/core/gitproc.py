"""Helpers shared by every place that runs the git CLI (analysis clones, GitOps working clones)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


def verb(argv: tuple[str, ...]) -> str:
    """Name the git subcommand of an argv (the first word that is not an option or option value)."""
    words = iter(argv[1:])
    for word in words:
        if word in ("-c", "-C"):
            next(words, None)
        elif not word.startswith("-"):
            return word
    return "command"


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill git and its children (remote helpers, ssh) by the group id of the process we started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)

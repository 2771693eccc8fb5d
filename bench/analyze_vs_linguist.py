"""Compare the full `timbel analyze` with Debian's github-linguist on local git checkouts.

Why: the analysis report promises linguist-compatible languages, and the whole report (services,
delivery, knowledge, readiness, git) in at most half of linguist's time. This runs
`timbel analyze REPO --format json` and `github-linguist REPO --json`, several times each, as separate
processes (interpreter start-up included on both sides), and prints the wall-time ratio and the
largest difference between the report's language shares and linguist's.
Targets: ours <= 0.5 x linguist's time; share difference <= 2 percentage points.

Usage: python bench/analyze_vs_linguist.py [--runs N] [--snapshot DIR ...] [REPO ...]
(--snapshot copies a plain directory, e.g. linguist's own samples, into a temporary git repository)
(needs `apt-get install ruby-github-linguist`; repositories are only read).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_REPOS = [Path("/work/main")]
SEARCH_ROOTS = [Path("/work/.library"), Path("/usr/share"), Path("/root"), Path("/opt")]
SEARCH_DEPTH = 4


def discover(limit: int = 6) -> list[Path]:
    """Find a few other local git checkouts (work trees with a .git directory), read only."""
    found: list[Path] = []
    for base in SEARCH_ROOTS:
        stack = [(base, 0)]
        while stack and len(found) < limit:
            directory, depth = stack.pop()
            try:
                children = sorted(p for p in directory.iterdir() if p.is_dir() and not p.is_symlink())
            except OSError:
                continue
            if (directory / ".git").is_dir():
                found.append(directory)
                continue
            if depth < SEARCH_DEPTH:
                stack.extend((child, depth + 1) for child in children if child.name != ".git")
    return found


def snapshot(source: Path, into: Path) -> Path:
    """Copy a plain directory (read only) into a fresh one-commit git repository under `into`."""
    target = into / source.name
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    env = {
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.invalid",
        "PATH": "/usr/bin:/bin",
    }
    for argv in (
        ["init", "-q"],
        ["add", "-A", "-f"],
        ["-c", "commit.gpgsign=false", "commit", "-qm", "snapshot"],
    ):
        subprocess.run(["git", "-C", str(target), *argv], env=env, check=True, capture_output=True)
    return target


TIMBEL = Path(sys.executable).with_name("timbel")  # the console script of this virtualenv


def timed(argv: list[str]) -> tuple[float, str]:
    """Run a fixed argv and return (seconds, stdout)."""
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=600)
    return time.perf_counter() - start, done.stdout


def shares(sizes: dict[str, int]) -> dict[str, float]:
    """Turn byte counts into percentages."""
    total = sum(sizes.values())
    return {name: 100.0 * size / total for name, size in sizes.items()} if total else {}


def compare(repo: Path, runs: int, linguist: str) -> tuple[float, float, float, str]:
    """Return (our median s, linguist median s, max share diff in points, worst language)."""
    our_times, their_times = [], []
    our_sizes: dict[str, int] = {}
    their_sizes: dict[str, int] = {}
    for _ in range(runs):
        seconds, out = timed([str(TIMBEL), "analyze", str(repo), "--format", "json"])
        our_times.append(seconds)
        our_sizes = {lang["name"]: int(lang["bytes"]) for lang in json.loads(out)["languages"]}
        seconds, out = timed([linguist, str(repo), "--json"])
        their_times.append(seconds)
        their_sizes = {name: int(v["size"]) for name, v in json.loads(out).items()}
    a, b = shares(our_sizes), shares(their_sizes)
    diffs = {name: abs(a.get(name, 0.0) - b.get(name, 0.0)) for name in set(a) | set(b)}
    worst = max(diffs, key=lambda name: diffs[name], default="-")
    return statistics.median(our_times), statistics.median(their_times), diffs.get(worst, 0.0), worst


def main() -> None:
    """Run the comparison and print one line per repository."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("repos", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--snapshot", type=Path, action="append", default=[], help="plain dir to commit and compare"
    )
    args = parser.parse_args()
    linguist = shutil.which("github-linguist")
    if linguist is None:
        sys.exit("github-linguist not found: apt-get install ruby-github-linguist")
    scratch = Path(tempfile.mkdtemp(prefix="timbel-bench-"))
    snapshots = [snapshot(source, scratch) for source in args.snapshot]
    repos = [*(args.repos or [*DEFAULT_REPOS, *discover()]), *snapshots]
    print(f"{'repository':50} {'files':>6} {'ours s':>8} {'linguist s':>10} {'ratio':>6} {'max diff pp':>12}")
    for repo in repos:
        listing = subprocess.run(["git", "-C", str(repo), "ls-files", "-z"], capture_output=True, check=False)
        count = listing.stdout.count(b"\0")
        mine, theirs, diff, worst = compare(repo, args.runs, linguist)
        print(
            f"{repo!s:50} {count:>6} {mine:>8.3f} {theirs:>10.3f} {mine / theirs:>6.2f}"
            f" {diff:>8.2f} ({worst})"
        )
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

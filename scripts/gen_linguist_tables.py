"""Generate src/timbel/analysis/linguist_tables.json from github-linguist's MIT-licensed YAML data.

Why: the analyzer must classify files the way github-linguist does without depending on the
Ruby gem at runtime, so the few tables it needs are extracted once and committed.
Usage: python scripts/gen_linguist_tables.py [LINGUIST_LIB_DIR]
"""

from __future__ import annotations

import glob
import json
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import yaml

DEFAULT_GLOB = "/usr/lib/*/rubygems-integration/*/gems/github-linguist-*/lib/linguist"
OUT = Path(__file__).resolve().parents[1] / "src" / "timbel" / "analysis" / "linguist_tables.json"
TYPE_CODES = {"programming": "p", "markup": "m", "data": "d", "prose": "t"}


def find_lib_dir(argv: list[str]) -> Path:
    """Return the linguist data directory from the argument or the Debian install."""
    if len(argv) > 1:
        return Path(argv[1])
    found = sorted(glob.glob(DEFAULT_GLOB))
    if not found:
        sys.exit("github-linguist data not found; apt-get install ruby-github-linguist")
    return Path(found[-1])


def python_regexes(patterns: list[str]) -> list[str]:
    """Keep the Ruby regexes that Python's re accepts, translating the few Ruby-only escapes."""
    kept: list[str] = []
    for pattern in patterns:
        converted = pattern.replace("\\A", "^").replace("\\Z", "$").replace("\\z", "$")
        try:
            re.compile(converted)
        except re.error as exc:
            print(f"skipping regex {pattern!r}: {exc}", file=sys.stderr)
            continue
        kept.append(converted)
    return kept


def _scoped(regex: str) -> str:
    """Wrap a regex for a union, turning a leading global flag group into a scoped one."""
    match = re.match(r"\(\?([a-z]+)\)", regex)
    if match:
        return f"(?{match.group(1)}:{regex[match.end() :]})"
    return f"(?:{regex})"


def _compiles(regex: str) -> bool:
    """Say whether Python's re accepts the regex (as linguist applies it, line-anchored)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            re.compile(regex, re.MULTILINE)
    except re.error as exc:
        print(f"skipping heuristic regex {regex!r}: {exc}", file=sys.stderr)
        return False
    return True


def ruby_to_python(pattern: str | list[str]) -> str | None:
    """Translate one Ruby heuristic regex (or a union) to Python syntax, or None if unsupported."""
    if isinstance(pattern, list):
        parts = [ruby_to_python(p) for p in pattern]
        if any(p is None for p in parts):
            return None
        union = "|".join(_scoped(p) for p in parts if p is not None)
        return union if _compiles(union) else None
    converted = pattern.replace("\\A", "\\A").replace("\\z", "\\Z").replace("\\h", "[0-9a-fA-F]")
    converted = converted.replace("(?m", "(?s").replace("\\R", "(?:\\r\\n|\\n|\\r)")
    return converted if _compiles(converted) else None


Matcher = tuple[tuple[str, str], ...]


def parse_rule(rule: dict[str, Any], named: dict[str, str | None]) -> Matcher | None:
    """Flatten a heuristic rule into (sign, regex) conjuncts; None when a regex is unsupported."""
    if "and" in rule:
        parts: list[tuple[str, str]] = []
        for block in rule["and"]:
            sub = parse_rule(block, named)
            if sub is None:
                return None
            parts.extend(sub)
        return tuple(parts)
    for key, sign in (("pattern", "+"), ("negative_pattern", "-")):
        if key in rule:
            regex = ruby_to_python(rule[key])
            return None if regex is None else ((sign, regex),)
    if "named_pattern" in rule:
        regex = named[rule["named_pattern"]]
        return None if regex is None else (("+", regex),)
    return ()


def heuristics(lib: Path) -> list[tuple[tuple[str, ...], tuple[tuple[tuple[str, ...], Matcher], ...]]]:
    """Return (extensions, rules) pairs from heuristics.yml, skipping rules Python cannot run."""
    data = yaml.safe_load((lib / "heuristics.yml").read_text())
    named = {k: ruby_to_python(v) for k, v in data["named_patterns"].items()}
    out = []
    for item in data["disambiguations"]:
        rules = []
        for rule in item["rules"]:
            matcher = parse_rule(rule, named)
            if matcher is None:
                continue
            langs = rule["language"] if isinstance(rule["language"], list) else [rule["language"]]
            rules.append((tuple(langs), matcher))
        out.append((tuple(item["extensions"]), tuple(rules)))
    return out


def build(lib: Path) -> dict[str, Any]:
    """Collect the tables as JSON-able data (read by ``timbel.analysis.linguist_tables``)."""
    languages: dict[str, Any] = yaml.safe_load((lib / "languages.yml").read_text())
    vendor = python_regexes(yaml.safe_load((lib / "vendor.yml").read_text()))
    docs = python_regexes(yaml.safe_load((lib / "documentation.yml").read_text()))
    generic = yaml.safe_load((lib / "generic.yml").read_text())["extensions"]
    popular = yaml.safe_load((lib / "popular.yml").read_text())
    version = lib.parent.parent.name.rsplit("-", 1)[-1]

    types: dict[str, str] = {}
    groups: dict[str, str] = {}
    aliases: dict[str, str] = {}
    extensions: dict[str, list[str]] = {}
    filenames: dict[str, list[str]] = {}
    interpreters: dict[str, list[str]] = {}
    for name, info in sorted(languages.items()):
        types[name] = TYPE_CODES[info["type"]]
        if info.get("group"):
            groups[name] = info["group"]
        for alias in [name, *info.get("aliases", [])]:
            aliases[alias.lower()] = name
            aliases[alias.lower().replace(" ", "-")] = name
        for ext in info.get("extensions", []):
            extensions.setdefault(ext.lower(), []).append(name)
        for filename in info.get("filenames", []):
            filenames.setdefault(filename, []).append(name)
        for interpreter in info.get("interpreters", []):
            interpreters.setdefault(interpreter, []).append(name)

    return {
        "linguist_version": version,
        "types": dict(sorted(types.items())),
        "groups": dict(sorted(groups.items())),
        "aliases": dict(sorted(aliases.items())),
        "extensions": dict(sorted(extensions.items())),
        "filenames": dict(sorted(filenames.items())),
        "interpreters": dict(sorted(interpreters.items())),
        "generic_extensions": generic,
        "popular": popular,
        "heuristics": heuristics(lib),
        "vendor_patterns": vendor,
        "documentation_patterns": docs,
    }


def main() -> None:
    """Write the generated module."""
    OUT.write_text(json.dumps(build(find_lib_dir(sys.argv)), ensure_ascii=False, indent=0) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

"""Find the language an Emacs (`-*- mode: x -*-`) or Vim (`vim: ft=x`) modeline names.

Why: github-linguist's first detection strategy; headers such as libstdc++'s extensionless
`// <vector> -*- C++ -*-` are only recognised this way. The expressions are ported from
linguist's strategy/modeline.rb.
"""

from __future__ import annotations

import re

_EMACS_MODELINE = re.compile(
    r"""-\*-
    (?:[ \t]*(?=[^:;\s]+[ \t]*-\*-)|(?:.*?[ \t;]|(?<=-\*-))[ \t]*mode[ \t]*:[ \t]*)
    ([^:;\s]+)
    (?=[ \t;]|(?<![-*])-\*-)
    .*?-\*-""",
    re.VERBOSE | re.IGNORECASE | re.MULTILINE,
)
_VIM_MODELINE = re.compile(
    r"""(?:(?:^|[ \t])(?:vi|Vi(?=m))(?:m[<=>]?[0-9]+|m)?|[ \t]ex)
    (?=:(?=[ \t]*set?[ \t][^\r\n:]+:)|:(?![ \t]*set?[ \t]))
    (?:(?:[ \t]*:[ \t]*|[ \t])\w*(?:[ \t]*=(?:[^\\\s]|\\.)*)?)*
    [ \t:](?:filetype|ft|syntax)[ \t]*=
    (\w+)
    (?=$|\s|:)""",
    re.VERBOSE | re.MULTILINE,
)


def modeline_alias(text: str, tail: str = "") -> str | None:
    """Return the mode a modeline in the first or last 5 lines names (`tail` ends a long file)."""
    lines = text.split("\n")
    header = "\n".join(lines[:5])
    if "UseVimball" in header:
        return None
    footer = "\n".join((tail or text).split("\n")[-5:])
    for regex in (_EMACS_MODELINE, _VIM_MODELINE):
        match = regex.search(header + "\n" + footer)
        if match:
            return match.group(1)
    return None

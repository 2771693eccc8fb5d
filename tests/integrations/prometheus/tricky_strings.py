"""Label values that try to break out of a quoted string, plus seeded random ones across all of Unicode.

A stdlib stand-in for a hypothesis strategy (hypothesis is not a dependency): the seed is fixed and
printed in failure messages, so a failing value can be reproduced.
"""

from __future__ import annotations

import random

SEED = 20261126
CURATED = [
    '"',
    "\\",
    '\\"',
    '"}',
    '"} or vector(1) #',
    '"} or up{job=~".*',
    "\\n",
    "line\nbreak",
    "carriage\rreturn",
    "tab\there",
    "\\u0041",
    "\\x41",
    "$1",
    "${1}",
    "'",
    "`",
    "{,}=~!",
    ".*",
    "서비스-운영",
    '주문 API "v2"',
    "\\\\\\",
    "trailing\\",
    "\ufffd",
    "\u2028\u2029",
    "\x00nul",
    "\x7fdel\x1b[31m",
    "😀 emoji \U0001f680",
    "e\u0301 combining",
    "\ue000 private use",
    "\U0010fffd",
    " spaces ",
    "#comment",
]
POOLS = [
    "".join(chr(c) for c in range(0x20, 0x7F)),
    "\"\\\n\r\t'`$#{}=~!,",
    "".join(chr(c) for c in range(0x00, 0x20)) + "\x7f\x85\xa0",
    "가나다라마바사아자차카타파하운영서비스배포",
    "\ufffd\u2028\u2029\u200b\ufeff\u0301",
]


def random_value(rng: random.Random, *, max_length: int = 16) -> str:
    """One non-empty string mixing the pools above with arbitrary non-surrogate code points."""
    chars: list[str] = []
    for _ in range(rng.randint(1, max_length)):
        if rng.random() < 0.2:
            code = rng.randint(1, 0x10FFFF)
            while 0xD800 <= code <= 0xDFFF:
                code = rng.randint(1, 0x10FFFF)
            chars.append(chr(code))
        else:
            chars.append(rng.choice(rng.choice(POOLS)))
    return "".join(chars)


def values(count: int, *, seed: int = SEED) -> list[str]:
    """The curated values followed by ``count`` distinct seeded random ones."""
    rng = random.Random(seed)
    found = list(CURATED)
    seen = set(found)
    while len(found) < len(CURATED) + count:
        value = random_value(rng)
        if value not in seen:
            seen.add(value)
            found.append(value)
    return found

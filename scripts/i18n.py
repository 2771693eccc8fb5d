"""Refresh the UI message catalogs: extract, update, fill English, merge Korean translations.

Usage: ``.venv/bin/python scripts/i18n.py [translations.json ...]`` where each JSON file maps a
msgid to its Korean text (a list of two strings for plural forms). English is the msgid itself.
Prints the msgids still missing a Korean translation.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
I18N = ROOT / "src" / "timbel" / "web" / "i18n"
BABEL = str(Path(sys.executable).parent / "pybabel")


def main(paths: list[str]) -> int:
    """Run the refresh and report what is left untranslated."""
    pot = I18N / "messages.pot"
    subprocess.run(  # noqa: S603 - fixed argv, no user input
        [BABEL, "--quiet", "extract", "-F", "babel.cfg", "-o", str(pot), "--sort-by-file", "."],
        cwd=ROOT,
        check=True,
    )
    subprocess.run(  # noqa: S603 - fixed argv, no user input
        [
            BABEL,
            "--quiet",
            "update",
            "-i",
            str(pot),
            "-d",
            str(I18N),
            "--no-fuzzy-matching",
            "--ignore-obsolete",
        ],
        cwd=ROOT,
        check=True,
    )
    korean: dict[str, str | list[str]] = {}
    for path in paths:
        korean.update(json.loads(Path(path).read_text(encoding="utf-8")))
    missing: list[str] = []
    for locale in ("en", "ko"):
        po_path = I18N / locale / "LC_MESSAGES" / "messages.po"
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        for message in catalog:
            if not message.id:
                continue
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            if locale == "en":
                message.string = tuple(message.id) if isinstance(message.id, tuple) else message.id
            elif key in korean:
                text = korean[key]
                message.string = tuple(text) if isinstance(message.id, tuple) else str(text)
            elif not (message.string[0] if isinstance(message.string, tuple) else message.string):
                missing.append(key)
        with po_path.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_by_file=True)
    for key in missing:
        print(f"missing ko: {key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

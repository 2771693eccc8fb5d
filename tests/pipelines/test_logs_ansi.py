"""ANSI rendering of run logs: SGR colours and bold as spans, every other sequence dropped, no HTML passes."""

from __future__ import annotations

from html.parser import HTMLParser

from markupsafe import Markup

from timbel.pipelines.ansi import CSS_CLASSES, strip, to_html

ESC = "\x1b"


def test_plain_text_is_escaped_and_returned_as_markup() -> None:
    html = to_html("a < b && c > d\n")
    assert isinstance(html, Markup)
    assert str(html) == "a &lt; b &amp;&amp; c &gt; d\n"


def test_colours_bold_and_resets_become_spans() -> None:
    html = str(to_html(f"{ESC}[31mred{ESC}[0m plain {ESC}[1;92mbold bright{ESC}[22m not bold{ESC}[39m done"))
    assert html == (
        '<span class="ansi-red">red</span> plain '
        '<span class="ansi-bold ansi-bright-green">bold bright</span>'
        '<span class="ansi-bright-green"> not bold</span> done'
    )
    assert str(to_html(f"{ESC}[1mB{ESC}[mX")) == '<span class="ansi-bold">B</span>X'
    every = "".join(f"{ESC}[{code}mx" for code in [*range(30, 38), *range(90, 98)])
    classes = {part.split('"')[0] for part in str(to_html(every)).split('class="')[1:]}
    assert classes <= CSS_CLASSES and len(classes) == 16


def test_extended_colours_and_backgrounds_are_ignored_but_their_arguments_skipped() -> None:
    assert str(to_html(f"{ESC}[38;5;196;1mX")) == '<span class="ansi-bold">X</span>'
    assert str(to_html(f"{ESC}[38;2;1;2;3;34mX")) == '<span class="ansi-blue">X</span>'
    assert str(to_html(f"{ESC}[41mX{ESC}[0m")) == "X"


def test_other_escape_sequences_are_stripped() -> None:
    text = (
        f"{ESC}[2K{ESC}[1Aprogress{ESC}[?25l {ESC}]0;window title{ESC}\\"
        f"{ESC}]8;;https://evil.example/{ESC}\\link{ESC}]8;;{ESC}\\ {ESC}(Bend{ESC}7\x07\x00"
    )
    assert str(to_html(text)) == "progress link end"
    assert strip(f"{ESC}[31m빨강{ESC}[0m\t탭\r\n") == "빨강\t탭\r\n"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, attrs))


def test_no_html_gets_through() -> None:
    attacks = [
        "<script>alert(1)</script>",
        f'{ESC}[31m<img src=x onerror="alert(1)">{ESC}[0m',
        '"><span class="x" onclick="alert(1)">',
        f"{ESC}]8;;javascript:alert(1){ESC}\\<a href='javascript:alert(1)'>x</a>{ESC}]8;;{ESC}\\",
        f"{ESC}[31m</span><b>bold</b>{ESC}[0m",
    ]
    for attack in attacks:
        parser = _Tags()
        parser.feed(str(to_html(attack)))
        for tag, attrs in parser.seen:
            assert tag == "span" and len(attrs) == 1 and attrs[0][0] == "class", attack
            assert set((attrs[0][1] or "").split()) <= CSS_CLASSES, attack
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in str(to_html(attacks[0]))
    assert str(to_html("&lt;")) == "&amp;lt;"


def test_korean_text_is_kept() -> None:
    html = str(to_html(f"{ESC}[32m성공{ESC}[0m: 배포 완료"))
    assert html == '<span class="ansi-green">성공</span>: 배포 완료'

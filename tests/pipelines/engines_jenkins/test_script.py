"""The generated Jenkinsfile: structure, and Groovy escaping checked by lexing it back."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from timbel.pipelines.engine_base import StageKind, StageSpec
from timbel.pipelines.engines import jenkins_script
from timbel.pipelines.engines.jenkins_script import groovy_multiline, groovy_string, plan

from .conftest import run_spec, stages

_ESCAPES = {
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "s": " ",
    "t": "\t",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "$": "$",
}
TRICKY_NAMES = [
    'it\'s "quoted"',
    "back\\slash\\",
    "$HOME ${X} \\${Y}",
    "'''",
    "줄\n바꿈",
    "}\n}\nstage('evil') {",
]
TRICKY_COMMANDS = [
    "echo '''\necho \"${HOME}\" $PATH \\\necho it's\n",
    "printf '%s\\n' \"$TIMBEL_REF\"\necho done\\",
    "echo \u0007bell\r\necho '\"'\"'",
    "cat <<'EOF'\n''' \"\"\" ${x}\nEOF",
    "echo $'\\''",
    "echo '''",
]


def lex(script: str) -> tuple[str, list[str]]:
    """Read a Groovy script as Groovy would: the code with each literal replaced by ``S``, and the literals.

    Refuses what the generator must never write: double-quoted (interpolating) strings, an unescaped ``$``,
    a raw newline in a single-quoted string, a line continuation, an unknown escape, an unterminated string.
    """
    code: list[str] = []
    values: list[str] = []
    i = 0
    while i < len(script):
        if script.startswith("//", i):
            end = script.find("\n", i)
            i = len(script) if end < 0 else end
            continue
        char = script[i]
        if char == '"':
            raise AssertionError(f"double-quoted string at {i}")
        if char != "'":
            code.append(char)
            i += 1
            continue
        quote = "'''" if script.startswith("'''", i) else "'"
        i += len(quote)
        value: list[str] = []
        while True:
            assert i < len(script), "unterminated string"
            char = script[i]
            if script.startswith(quote, i):
                i += len(quote)
                break
            if char == "\\":
                escape = script[i + 1]
                if escape == "u":
                    value.append(chr(int(script[i + 2 : i + 6], 16)))
                    i += 6
                    continue
                assert escape in _ESCAPES, f"escape \\{escape!r} (line continuation or unknown)"
                value.append(_ESCAPES[escape])
                i += 2
                continue
            assert char != "$", "unescaped $ in a string"
            assert not (quote == "'" and char == "\n"), "raw newline in a single-quoted string"
            value.append(char)
            i += 1
        values.append("".join(value))
        code.append("S")
    return "".join(code), values


class TestEscaping:
    @pytest.mark.parametrize("text", TRICKY_NAMES + TRICKY_COMMANDS)
    def test_literals_round_trip(self, text: str) -> None:
        for literal in (groovy_string(text), groovy_multiline(text)):
            assert lex(literal) == ("S", [text])
            assert "${" not in literal.replace("\\$", "")

    def test_tricky_names_and_scripts_do_not_change_the_structure(self) -> None:
        def specs(names: list[str], commands: list[str]) -> tuple[StageSpec, ...]:
            return tuple(
                StageSpec(index=i, name=n, kind=StageKind.custom, command=c, workdir=f"d{i}", env={"K": c})
                for i, (n, c) in enumerate(zip(names, commands, strict=True))
            )

        plain = plan(run_spec(*specs([f"N{i}" for i in range(6)], [f"echo {i}" for i in range(6)])))
        tricky_spec = run_spec(*specs(TRICKY_NAMES, TRICKY_COMMANDS), repo_url="https://h/x'y$z.git")
        tricky = plan(tricky_spec)

        plain_code, _ = lex(plain.script)
        tricky_code, values = lex(tricky.script)
        assert tricky_code == plain_code
        for name, command in zip(TRICKY_NAMES, TRICKY_COMMANDS, strict=True):
            assert name in values and command in values and f"K={command}" in values
        assert "https://h/x'y$z.git" not in values  # no checkout stage here: the URL is not written
        assert list(tricky.stage_names.values()) == TRICKY_NAMES

    def test_the_job_config_carries_the_script_unchanged(self) -> None:
        built = plan(run_spec(*stages(("it's", StageKind.test, "echo '''\x07'''"))))
        root = ET.fromstring(jenkins_script.config_xml(built, description="shop"))  # noqa: S314 - ours
        assert root.findtext("definition/script") == built.script
        names = [e.text for e in root.iter("name")]
        assert names == ["TIMBEL_RUN_ID", "TIMBEL_RUN_NUMBER", "TIMBEL_REF", "TIMBEL_COMMIT"]


class TestStructure:
    def test_stage_options_checkout_and_parameters(self) -> None:
        spec = run_spec(
            StageSpec(0, "Checkout", StageKind.checkout),
            StageSpec(1, "Test", StageKind.test, "pytest -q", timeout_seconds=600, retries=2,
                      continue_on_failure=True, env={"PYTHONUNBUFFERED": "1"}, workdir="api"),
            StageSpec(2, "Push", StageKind.push),
            StageSpec(3, "Test", StageKind.custom, "echo again"),
            parameters={"TARGET": "dev"}, run_timeout_seconds=900,
        )  # fmt: skip
        built = plan(spec, git_credentials_id="git-token")

        assert built.stage_names == {0: "Checkout", 1: "Test", 3: "Test (2)"} and built.skipped == [2]
        assert built.parameters[-1] == "TIMBEL_PARAM_TARGET"
        assert "timeout(time: 960, unit: 'SECONDS')" in built.script  # run timeout + backstop margin
        assert (
            "checkout scmGit(branches: [[name: params.TIMBEL_COMMIT ?: params.TIMBEL_REF]], "
            "userRemoteConfigs: [[url: 'https://git.example/shop.git', credentialsId: 'git-token']])"
        ) in built.script
        expected = """
    stage('Test') {
      steps {
        catchError(buildResult: 'SUCCESS', stageResult: 'FAILURE', catchInterruptions: false) {
          retry(3) {
            timeout(time: 600, unit: 'SECONDS') {
              withEnv(['PYTHONUNBUFFERED=1']) {
                dir('api') {
                  sh(label: 'Test', script: '''pytest -q''')
                }
              }
            }
          }
        }
      }
    }"""
        assert expected in built.script
        assert "string(name: 'TIMBEL_PARAM_TARGET', defaultValue: ''" in built.script
        assert "dev" not in lex(built.script)[1]  # parameter values are never in the script

    def test_no_runnable_stage_still_makes_a_valid_pipeline(self) -> None:
        built = plan(run_spec(*stages(("Image", StageKind.image, None), ("Sync", StageKind.sync, "  "))))
        assert built.stage_names == {} and built.skipped == [0, 1]
        assert "stage('Timbel')" in built.script

    @pytest.mark.parametrize("bad", ["A B", "1X", "", "X-Y", "X=Y"])
    def test_bad_names_are_refused(self, bad: str) -> None:
        with pytest.raises(ValueError, match="not a valid"):
            plan(run_spec(parameters={bad: "v"}))
        with pytest.raises(ValueError, match="not a valid"):
            plan(run_spec(*stages(("T", StageKind.test, "true"), env={bad: "v"})))

    def test_comment_cannot_break_out(self) -> None:
        script = plan(run_spec(system_slug="shop\npipeline { }")).script
        assert script.splitlines()[0].startswith("// Generated by Timbel for shop pipeline { }")
        assert (
            lex(script)[0].count("pipeline {") == 1 and len(re.findall(r"^pipeline \{$", script, re.M)) == 1
        )

"""The Jenkinsfile structural check: brackets outside strings and comments, required sections, stages with
steps, and literal secrets."""

from __future__ import annotations

from tests.scaffold.test_jenkinsfile import fastapi_plan, seed_spec
from timbel.scaffold.jenkinsfile import generate_jenkinsfile
from timbel.scaffold.jenkinsfile_check import check_jenkinsfile, find_secrets

MINIMAL = """pipeline {
  agent any
  stages {
    stage('Build') {
      steps {
        sh 'echo "}}} ))" # not code'
        sh '''
          echo "{ [ ("
        '''
      }
    }
  }
}
"""


def generated() -> str:
    return generate_jenkinsfile(fastapi_plan(), templates={"api": seed_spec("python-fastapi")}).content


class TestStructure:
    def test_brackets_inside_strings_and_comments_do_not_count(self) -> None:
        text = "// header with { and (\n/* a } block\n comment ] */\n" + MINIMAL
        assert check_jenkinsfile(text) == []

    def test_unbalanced_brace_in_generated_file(self) -> None:
        text = generated()
        broken = text.replace(
            "              reuseNode true\n            }\n", "              reuseNode true\n", 1
        )
        assert broken != text
        problems = check_jenkinsfile(broken)
        assert problems and all("never closed" in p for p in problems)

    def test_unexpected_closing_bracket(self) -> None:
        assert check_jenkinsfile(MINIMAL.replace("agent any", "agent any )")) == ["line 2: unexpected ')'"]

    def test_stage_without_steps(self) -> None:
        text = generated().replace(
            "      steps {\n        sh 'docker build", "      post {\n        sh 'docker build"
        )
        assert check_jenkinsfile(text) == ["line 52: stage 'Build image' has no steps (or parallel/stages)"]

    def test_parallel_and_nested_stages_count_as_steps(self) -> None:
        text = MINIMAL.replace(
            "      steps {", "      parallel {\n        stage('a') { steps { echo 'a' } }\n", 1
        )
        text = text.replace("        sh 'echo", "        x 'echo", 1)
        assert check_jenkinsfile(text) == []

    def test_root_agent_and_stages_are_required(self) -> None:
        assert check_jenkinsfile("node {\n  sh 'make'\n}\n") == [
            "the file must start with a 'pipeline {' block"
        ]
        assert check_jenkinsfile(MINIMAL.replace("agent any", "options { timestamps() }")) == [
            "the pipeline has no 'agent' section"
        ]

    def test_unclosed_string(self) -> None:
        assert check_jenkinsfile("pipeline {\n  agent any\n  echo 'oops\n}\n") == [
            "line 3: a string is never closed"
        ]


class TestSecrets:
    def test_generated_file_has_none(self) -> None:
        assert find_secrets(generated()) == []

    def test_literal_secrets_are_found(self) -> None:
        text = "\n".join(
            [
                "env.DB_PASSWORD = 'x'",
                "def password = 'hunter22'",
                "sh 'docker login -u me -p hunter22 registry'",
                "sh 'curl --password s3cret https://x'",
                "sh 'git clone https://bot:hunter22@git.example.com/x.git'",
                "def t = 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB'",
                "api_key: 'abcd1234'",
            ]
        )
        found = find_secrets(text)
        assert [f.split(":")[0] for f in found] == [f"line {n}" for n in (2, 3, 4, 5, 6, 7)]
        assert "a literal password value" in found[0]

    def test_variables_and_stdin_are_fine(self) -> None:
        text = 'sh \'echo "$P" | docker login -u "$U" --password-stdin r\'\necho "password=${GIT_TOKEN}"\n'
        assert find_secrets(text) == []

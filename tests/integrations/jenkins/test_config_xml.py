"""Generated config.xml documents parse, escape every value and keep Jenkins' element structure."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from timbel.integrations.jenkins import folder_config_xml, inline_pipeline_config_xml, pipeline_config_xml

NASTY = '</script><x a="1">&amp; \' ]]> 한글 \t\n'


def _parse(xml: str) -> ET.Element:
    assert xml.startswith("<?xml version='1.0' encoding='UTF-8'?>\n")
    return ET.fromstring(xml.encode("utf-8"))  # noqa: S314 - our own output


class TestPipelineFromScm:
    def test_structure_and_values(self) -> None:
        root = _parse(pipeline_config_xml(
            description="쇼핑몰 API 빌드", scm_url="https://git.example.com/shop/api.git", branch="main",
            script_path="ci/Jenkinsfile", credentials_id="git-token",
        ))  # fmt: skip
        assert root.tag == "flow-definition"
        assert root.findtext("description") == "쇼핑몰 API 빌드"
        definition = root.find("definition")
        assert definition is not None
        assert definition.get("class") == "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"
        scm = definition.find("scm")
        assert scm is not None and scm.get("class") == "hudson.plugins.git.GitSCM"
        remote = "userRemoteConfigs/hudson.plugins.git.UserRemoteConfig"
        assert scm.findtext(f"{remote}/url") == "https://git.example.com/shop/api.git"
        assert scm.findtext(f"{remote}/credentialsId") == "git-token"
        assert scm.findtext("branches/hudson.plugins.git.BranchSpec/name") == "*/main"
        assert definition.findtext("scriptPath") == "ci/Jenkinsfile"
        assert definition.findtext("lightweight") == "true"

    def test_without_credentials_has_no_credentials_element(self) -> None:
        root = _parse(pipeline_config_xml(description="", scm_url="https://g/r.git", branch="refs/heads/rel",
                                          script_path="Jenkinsfile"))  # fmt: skip
        assert root.find(".//credentialsId") is None
        assert root.findtext(".//hudson.plugins.git.BranchSpec/name") == "refs/heads/rel"

    def test_values_are_escaped_not_interpreted(self) -> None:
        xml = pipeline_config_xml(description=NASTY, scm_url=NASTY, branch="*/x", script_path=NASTY)
        root = _parse(xml)
        assert root.findtext("description") == NASTY
        assert root.findtext(".//scriptPath") == NASTY
        assert len(root.findall(".//x")) == 0

    def test_required_values(self) -> None:
        with pytest.raises(ValueError, match="required"):
            pipeline_config_xml(description="", scm_url="", branch="main", script_path="Jenkinsfile")


class TestInlinePipeline:
    def test_script_round_trips_with_sandbox(self) -> None:
        script = "pipeline { agent any\n stages { stage('빌드') { steps { sh 'echo \"<a&b>\"' } } } }\n"
        root = _parse(inline_pipeline_config_xml(description=NASTY, script=script))
        definition = root.find("definition")
        assert definition is not None
        assert definition.get("class") == "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition"
        assert definition.findtext("script") == script
        assert definition.findtext("sandbox") == "true"
        assert root.findtext("description") == NASTY

    def test_control_characters_are_refused(self) -> None:
        with pytest.raises(ValueError, match="script contains a control character"):
            inline_pipeline_config_xml(description="", script="echo \x07")

    def test_empty_script_is_refused(self) -> None:
        with pytest.raises(ValueError, match="empty"):
            inline_pipeline_config_xml(description="", script="  \n")


def test_folder_document() -> None:
    root = _parse(folder_config_xml(description="팀 & 폴더"))
    assert root.tag == "com.cloudbees.hudson.plugins.folder.Folder"
    assert root.findtext("description") == "팀 & 폴더"

"""Generate Jenkins ``config.xml`` documents: pipeline jobs (SCM Jenkinsfile or inline script) and folders.

Why xml.etree: every value (descriptions, URLs, scripts) is user or repository text; building elements and
letting the serializer escape them means a ``</script>`` or ``&`` in a Jenkinsfile can never change the
document's structure. Characters XML 1.0 cannot carry at all (most C0 controls) are refused, not dropped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n"
FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def pipeline_config_xml(
    *, description: str, scm_url: str, branch: str, script_path: str, credentials_id: str | None = None
) -> str:
    """A pipeline job reading ``script_path`` (a Jenkinsfile) from ``branch`` of a git repository."""
    if not scm_url or not branch or not script_path:
        raise ValueError("scm_url, branch and script_path are required")
    root = _flow_definition(description)
    scm_definition = {
        "class": "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition",
        "plugin": "workflow-cps",
    }
    definition = _sub(root, "definition", None, **scm_definition)
    scm = _sub(definition, "scm", None, **{"class": "hudson.plugins.git.GitSCM", "plugin": "git"})
    _sub(scm, "configVersion", "2")
    remote = _sub(_sub(scm, "userRemoteConfigs"), "hudson.plugins.git.UserRemoteConfig")
    _sub(remote, "url", _text("scm_url", scm_url))
    if credentials_id:
        _sub(remote, "credentialsId", _text("credentials_id", credentials_id))
    spec = _sub(_sub(scm, "branches"), "hudson.plugins.git.BranchSpec")
    _sub(spec, "name", _text("branch", _branch_spec(branch)))
    _sub(scm, "doGenerateSubmoduleConfigurations", "false")
    _sub(scm, "submoduleCfg", None, **{"class": "empty-list"})
    _sub(scm, "extensions")
    _sub(definition, "scriptPath", _text("script_path", script_path))
    _sub(definition, "lightweight", "true")
    return _finish(root)


def inline_pipeline_config_xml(*, description: str, script: str) -> str:
    """A pipeline job whose script is stored in the job itself (Groovy sandbox on)."""
    if not script.strip():
        raise ValueError("script must not be empty")
    root = _flow_definition(description)
    cps_definition = {
        "class": "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition",
        "plugin": "workflow-cps",
    }
    definition = _sub(root, "definition", None, **cps_definition)
    _sub(definition, "script", _text("script", script))
    _sub(definition, "sandbox", "true")
    return _finish(root)


def folder_config_xml(*, description: str = "") -> str:
    """A folder (CloudBees Folders plugin) with a description and default views."""
    root = ET.Element(FOLDER_CLASS, {"plugin": "cloudbees-folder"})
    _sub(root, "description", _text("description", description))
    _sub(root, "properties")
    return _finish(root)


def _flow_definition(description: str) -> ET.Element:
    root = ET.Element("flow-definition", {"plugin": "workflow-job"})
    _sub(root, "description", _text("description", description))
    _sub(root, "keepDependencies", "false")
    _sub(root, "properties")
    _sub(root, "triggers")
    _sub(root, "disabled", "false")
    return root


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = text
    return element


def _text(field: str, value: str) -> str:
    """Refuse characters XML 1.0 cannot represent (escaping cannot help them)."""
    if _NOT_XML.search(value):
        raise ValueError(f"{field} contains a control character XML cannot carry")
    return value


def _branch_spec(branch: str) -> str:
    """``main`` → ``*/main``; explicit specs (``*/x``, ``refs/heads/x``, ``origin/x``) stay as given."""
    return branch if "/" in branch or branch.startswith("*") else f"*/{branch}"


def _finish(root: ET.Element) -> str:
    ET.indent(root, space="  ")
    return DECLARATION + ET.tostring(root, encoding="unicode") + "\n"

"""Jenkins: pipeline jobs from generated config.xml, queue, builds, stages and progressive logs."""

from .adapter import JenkinsAdapter, from_instance
from .config import JenkinsConfig
from .config_xml import folder_config_xml, inline_pipeline_config_xml, pipeline_config_xml
from .errors import JenkinsNotFound, JenkinsWaitTimeout

__all__ = [
    "JenkinsAdapter",
    "JenkinsConfig",
    "JenkinsNotFound",
    "JenkinsWaitTimeout",
    "folder_config_xml",
    "from_instance",
    "inline_pipeline_config_xml",
    "pipeline_config_xml",
]

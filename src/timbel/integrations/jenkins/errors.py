"""Jenkins-specific errors; like every ``IntegrationError`` they name the instance and carry no secret."""

from __future__ import annotations

from timbel.core.errors import IntegrationError


class JenkinsNotFound(IntegrationError):
    """The job, build or queue item does not exist (or the user may not see it)."""

    status = 404
    code = "integration-not-found"
    title = "Not found in the integration"


class JenkinsWaitTimeout(IntegrationError):
    """A queued build did not start within the time the caller allowed."""

    status = 504
    code = "integration-wait-timeout"
    title = "Waited too long for the integration"

"""The catalog's system page and list: the stage in Korean, and the deployment section's links."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import MakeUser
from tests.deployments._view_support import sign_in


def test_stage_and_deployment_links(
    client: TestClient,
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
) -> None:
    domain = make_domain("shop")
    system = make_system(domain, "web", stage="production")
    sign_in(client, make_user(roles=("viewer",), domain_ids=(domain,)))
    page = client.get(f"/catalog/systems/{system}")
    assert page.status_code == 200, page.text
    section = page.text.split('id="system-deploy"', 1)[1].split("</div>\n    </div>", 1)[0]
    for href in (
        f"/systems/{system}/deployments",
        f"/systems/{system}/releases",
        f"/systems/{system}/deploy",
        f"/systems/{system}/promote",
        f"/deployments?domain={domain}",
    ):
        assert f'href="{href}"' in section
    assert "운영" in page.text.split('id="system-facts"', 1)[1].split("</dl>", 1)[0]  # stage, in Korean
    listing = client.get("/catalog/systems")
    assert "bg-green-lt" in listing.text and "운영" in listing.text

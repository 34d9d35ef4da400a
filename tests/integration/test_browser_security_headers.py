"""The Content-Security-Policy and Permissions-Policy headers, and the pages that must still work
under them, in headless Chromium: no page may trip a CSP violation (no inline script or style,
nothing fetched from elsewhere than the site and the object storage endpoint)."""

import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from accounts.models import User
from consent.services import consent_grant
from donations.models import Donation, DonationStatus
from donations.services import donation_create_from_upload
from processing.motion.synthetic import synthetic_bvh
from tests.conftest import browser_sign_in, process_here, wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

# Runs before any page script: every violation the browser reports lands in window.__csp.
COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__csp.push(`${event.violatedDirective} ${event.blockedURI} ${where}`);
});
"""


class Violations:
    """CSP violations seen by a page: its securitypolicyviolation events and console errors."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.page = page
        self.console: list[str] = []
        page.add_init_script(COLLECT_VIOLATIONS)
        page.on("console", self._on_console)

    def _on_console(self, message) -> None:  # type: ignore[no-untyped-def]
        if "Content Security Policy" in message.text:
            self.console.append(message.text)

    def of_current_page(self) -> list[str]:
        return [*self.page.evaluate("window.__csp"), *self.console]


def _visit(page, url: str):  # type: ignore[no-untyped-def]
    response = page.goto(url)
    assert response is not None
    assert response.status == 200, url
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "camera=()" in response.headers["permissions-policy"]
    return response


def test_public_pages_the_api_docs_and_the_admin_login_run_without_csp_violations(
    page, live_server
):
    violations = Violations(page)

    _visit(page, f"{live_server.url}/")
    _visit(page, f"{live_server.url}/api/docs/")
    # Swagger UI ran its init script (a separate file) and rendered the operations.
    expect(page.locator(".opblock").first).to_be_visible()
    _visit(page, f"{live_server.url}/admin/login/")
    expect(page.get_by_label("Email address")).to_be_visible()
    page.wait_for_load_state("networkidle")

    assert violations.of_current_page() == []


def test_the_upload_client_and_the_replay_run_without_csp_violations(
    page, live_server, donor, consent_document, s3_server
):
    consent_grant(
        donor=donor,
        document=consent_document,
        scopes=["motion:open_release", "motion:model_training"],
    )
    browser_sign_in(page, live_server, donor)
    violations = Violations(page)

    # The upload client sends its parts straight to the object storage endpoint.
    _visit(page, f"{live_server.url}/donations/upload/")
    page.get_by_label("Recording file").set_input_files(
        files=[
            {
                "name": "take.bvh",
                "mimeType": "text/plain",
                "buffer": synthetic_bvh(seconds=2, fps=60, seed=3).encode(),
            }
        ]
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url(re.compile(r".*/donations/[0-9a-f-]{36}/$"), timeout=60_000)
    uploaded = wait_for(
        lambda: Donation.objects.exclude(status=DonationStatus.CREATED).first(),
        what="the upload to complete",
    )
    assert uploaded.donor == donor
    assert violations.of_current_page() == []

    # The replay of a processed donation (three.js and the poses fetched from the site).
    donation = donation_create_from_upload(
        donor=donor,
        motion_file=SimpleUploadedFile(
            "replay.bvh", synthetic_bvh(seconds=3, fps=60, seed=5).encode()
        ),
    )
    assert process_here(donation.pk).status == DonationStatus.PROCESSED
    _visit(page, f"{live_server.url}/donations/{donation.pk}/")
    page.wait_for_selector("#replay[data-state=paused]")

    assert violations.of_current_page() == []


def test_the_admin_pages_run_without_csp_violations(page, live_server):
    admin = User.objects.create_superuser(email="admin@example.org", password="admin-it-2026")
    browser_sign_in(page, live_server, admin)
    violations = Violations(page)

    _visit(page, f"{live_server.url}/admin/")
    _visit(page, f"{live_server.url}/admin/rewards/payoutrequest/")
    page.wait_for_load_state("networkidle")

    assert violations.of_current_page() == []
    assert settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["frame-ancestors"] == ["'none'"]

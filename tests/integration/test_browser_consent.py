"""Withdrawing takes no more clicks than granting (DESIGN.md, Consent), clicked through in
headless Chromium against a live server."""

import pytest

from consent.models import ConsentEvent
from consent.services import consent_grant
from donations.models import Donation, DonationStatus
from tests.conftest import bucket_keys
from tests.consent.support import stored_donation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "donate-it-2026"


class Clicks:
    """Counts the donor's clicks and ticks, so the test can compare two journeys."""

    def __init__(self) -> None:
        self.count = 0

    def click(self, locator) -> None:  # type: ignore[no-untyped-def]
        self.count += 1
        locator.click()

    def check(self, locator) -> None:  # type: ignore[no-untyped-def]
        self.count += 1
        locator.check()


def _sign_in(page, live_server, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/donations/")


def test_withdrawing_a_donation_takes_no_more_clicks_than_granting_consent(
    page, live_server, donor, consent_document, s3_server
):
    _sign_in(page, live_server, donor.email)

    page.goto(f"{live_server.url}/consent/")
    granting = Clicks()
    granting.check(page.get_by_label("Motion (head, hands, body): Open release to anyone"))
    granting.check(page.get_by_label("I have read the consent form", exact=False))
    granting.click(page.get_by_role("button", name="Give consent"))
    page.wait_for_url("**/donations/")
    assert "Your consent is recorded" in page.content()
    assert granting.count == 3

    donation = stored_donation(donor)
    page.goto(f"{live_server.url}/donations/{donation.pk}/")
    withdrawing = Clicks()
    withdrawing.click(page.get_by_role("link", name="Withdraw consent for this donation"))
    assert "Copies already downloaded from published releases cannot be recalled." in (
        page.inner_text("main")
    )
    withdrawing.click(page.get_by_role("button", name="Yes, withdraw it"))
    page.wait_for_url(f"**/donations/{donation.pk}/")

    assert withdrawing.count == 2
    assert withdrawing.count <= granting.count
    assert Donation.objects.get(pk=donation.pk).status == DonationStatus.WITHDRAWN
    assert ConsentEvent.objects.filter(donation=donation, action="withdraw").count() == 1
    # The objects went after the commit, before the server answered the confirming click.
    assert bucket_keys() == []


def test_ticking_one_more_use_keeps_the_others_after_showing_the_change(
    page, live_server, donor, consent_document
):
    four = [
        "audio:open_release",
        "motion:commercial",
        "motion:model_training",
        "motion:open_release",
    ]
    consent_grant(donor=donor, document=consent_document, scopes=four)
    _sign_in(page, live_server, donor.email)

    page.goto(f"{live_server.url}/consent/")
    page.get_by_label("In-app events: Open release to anyone").check()
    page.get_by_label("I have read the consent form", exact=False).check()
    page.get_by_role("button", name="Review the change").click()

    assert page.locator("#scopes-added li").all_inner_texts() == [
        "In-app events: Open release to anyone"
    ]
    assert page.locator("#scopes-withdrawn").count() == 0
    page.get_by_role("button", name="Confirm the change").click()
    page.wait_for_url("**/donations/")

    latest = ConsentEvent.objects.order_by("-created_at").first()
    assert latest.scopes == sorted([*four, "events:open_release"])
    assert (latest.scopes_added, latest.scopes_withdrawn) == (["events:open_release"], [])

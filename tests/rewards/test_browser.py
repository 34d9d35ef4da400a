"""A donor's rewards in headless Chromium against a live server: the rule before consenting,
the credit after acceptance, a payout request with its hold, the statement download."""

from pathlib import Path

import pytest

from donations.services import donation_review
from metagen.celery import app
from rewards.models import PayoutRequest
from rewards.services import ledger_adjust, reward_award_for_donation
from tests.rewards.support import processed_donation, reward_rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "donate-it-2026"


@pytest.fixture(autouse=True)
def _no_lingering_tasks():  # type: ignore[no-untyped-def]
    """Acceptances here enqueue real award messages and no worker runs: purge them so that no
    later test finds them in the broker."""
    yield
    app.control.purge()


def test_a_donor_sees_the_rule_earns_credits_requests_a_payout_and_downloads_a_statement(
    page, live_server, donor, curator, consent_document, settings
):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    reward_rule(credits_per_minute=10, audio_bonus=5, events_bonus=0)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(donor.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/donations/")

    page.goto(f"{live_server.url}/consent/")
    rule = page.locator("#reward-rule").inner_text()
    assert "10 credits for each minute of motion in a recording a curator accepts." in rule
    assert "5 extra credits when the recording includes audio." in rule

    donation = processed_donation(donor, duration_s=600.0, audio=True)
    donation_review(donation=donation, curator=curator, accept=True)
    reward_award_for_donation(donation_id=donation.pk)
    ledger_adjust(user=donor, credits=10, reason="Welcome", actor=curator, idempotency_key="w")

    page.get_by_role("link", name="Rewards").click()
    assert page.locator("#balance").inner_text() == "115 credits"
    page.get_by_label("Credits to pay out").fill("100")
    page.get_by_role("button", name="Request payout").click()
    page.wait_for_url("**/rewards/")

    assert page.locator("#balance").inner_text() == "15 credits"
    assert "(and 100 held for payouts we have not paid yet)" in page.locator("#held").inner_text()
    assert PayoutRequest.objects.get().credits == 100
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my statement (CSV)").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[2:5] for line in lines[1:]] == [
        ["award", "105", "105"],
        ["adjustment", "10", "115"],
        ["payout", "-100", "15"],
    ]

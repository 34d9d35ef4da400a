"""The award sweeper: an acceptance whose award message was lost (Redis down at the commit) is
credited once the sweeper runs. Real Redis, PostgreSQL and worker; the outage is a real refused
connection."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from donations.models import Donation, DonationStatus
from rewards.models import LedgerEntry
from rewards.services import awards_requeue_missing, reward_award_for_donation
from tests.conftest import broker_unreachable, wait_for
from tests.rewards.support import accepted_donation, processed_donation, reward_rule

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_accepting_while_the_broker_is_down_succeeds_and_the_sweeper_credits_the_donor(
    client, donor, curator, celery_worker, settings
):
    reward_rule(credits_per_minute=10)
    donation = processed_donation(donor, duration_s=60.0)
    client.force_login(curator)

    with broker_unreachable():
        response = client.post(
            reverse("donations:review", args=[donation.pk]), {"decision": "accept", "reason": ""}
        )

    assert response.status_code == 302
    assert Donation.objects.get(pk=donation.pk).status == DonationStatus.ACCEPTED
    assert not LedgerEntry.objects.filter(donation=donation).exists()

    settings.STUCK_GRACE_S = 0
    assert awards_requeue_missing() == {"awards_requeued": 1}
    entry = wait_for(
        lambda: LedgerEntry.objects.filter(donation=donation).first(), timeout=60, what="award"
    )
    assert (entry.kind, entry.credits) == (LedgerEntry.Kind.AWARD, 10)


def test_the_award_sweeper_finds_only_unawarded_acceptances_inside_its_window(
    donor, curator, settings
):
    reward_rule(credits_per_minute=10)
    with broker_unreachable():  # no award message leaves: each acceptance's award is "lost"
        awarded = accepted_donation(donor, curator)
        missing = accepted_donation(donor, curator)
        too_old = accepted_donation(donor, curator)
        too_recent = accepted_donation(donor, curator)
    reward_award_for_donation(donation_id=awarded.pk)
    now = timezone.now()
    Donation.objects.filter(pk__in=[awarded.pk, missing.pk]).update(
        updated_at=now - timedelta(hours=1)
    )
    Donation.objects.filter(pk=too_old.pk).update(updated_at=now - timedelta(days=30))
    settings.STUCK_GRACE_S = 600
    settings.SWEEP_LOOKBACK_S = 7 * 24 * 3600

    with broker_unreachable():  # what is found is counted; sending it only logs here
        counts = awards_requeue_missing(batch=1)

    assert counts == {"awards_requeued": 1}
    assert Donation.objects.get(pk=too_recent.pk).status == DonationStatus.ACCEPTED


def test_the_award_sweeper_sends_nothing_while_no_rule_is_in_force(donor, curator, settings):
    with broker_unreachable():
        accepted_donation(donor, curator)
    settings.STUCK_GRACE_S = 0

    assert awards_requeue_missing() == {"awards_requeued": 0}

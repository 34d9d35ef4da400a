"""The rewards API: the public rule, and a donor's own balance, ledger and payouts only."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import user_token_rotate
from donations.services import donation_review
from rewards.models import PayoutRequest
from rewards.services import payout_request_create, reward_award_for_donation
from tests.rewards.support import fund, other_donor, processed_donation, reward_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(donor):  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(donor)
    return client


def test_anyone_can_read_the_rule_in_force(client):
    reward_rule(version=2, credits_per_minute=11, audio_bonus=4, events_bonus=2, daily_cap=None)

    body = client.get(reverse("api:reward-rule")).json()

    assert {k: v for k, v in body.items() if k != "effective_at"} == {
        "version": 2,
        "credits_per_minute": 11,
        "audio_bonus": 4,
        "events_bonus": 2,
        "daily_cap": None,
    }


@pytest.mark.parametrize("count", [1, 6])
def test_the_ledger_lists_only_the_donors_own_entries_in_a_fixed_number_of_queries(
    donor, curator, django_assert_num_queries, count
):
    reward_rule(credits_per_minute=10)
    for user in (donor, other_donor()):
        for _ in range(count):
            donation = processed_donation(user, duration_s=60.0)
            donation_review(donation=donation, curator=curator, accept=True)
            reward_award_for_donation(donation_id=donation.pk)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user_token_rotate(user=donor)}")

    # token and user, count, entries with their rules
    with django_assert_num_queries(3):
        body = client.get(reverse("api:reward-ledger-list")).json()

    assert body["count"] == count
    assert {row["rule_version"] for row in body["results"]} == {1}
    assert {row["credits"] for row in body["results"]} == {10}
    own = {str(d) for d in donor.donations.values_list("pk", flat=True)}
    assert {row["donation"] for row in body["results"]} == own


def test_the_balance_counts_held_credits_apart(api, donor, curator, settings):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    fund(donor, 400, curator)
    payout_request_create(user=donor, credits=150)

    body = api.get(reverse("api:reward-balance")).json()

    assert body == {"balance": 250, "held": 150, "payout_minimum": 100}


def test_a_donor_requests_a_payout_and_reads_it_back(api, donor, curator, settings):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    fund(donor, 400, curator)

    created = api.post(reverse("api:reward-payout-list"), {"credits": 300}, format="json")

    assert created.status_code == 201, created.content
    assert created.json()["status"] == "requested"
    detail = api.get(reverse("api:reward-payout-detail", args=[created.json()["id"]]))
    assert detail.json()["credits"] == 300
    assert api.get(reverse("api:reward-balance")).json()["balance"] == 100


def test_a_payout_beyond_the_balance_is_refused_with_the_reason(api, donor, curator, settings):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    fund(donor, 120, curator)

    response = api.post(reverse("api:reward-payout-list"), {"credits": 200}, format="json")

    assert response.status_code == 400
    assert response.json() == {"credits": ["You asked for 200 credits but your balance is 120."]}
    assert not PayoutRequest.objects.exists()


def test_someone_elses_payout_is_not_found_and_not_listed(api, curator, settings):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    someone = other_donor()
    fund(someone, 200, curator)
    theirs = payout_request_create(user=someone, credits=100)

    assert api.get(reverse("api:reward-payout-detail", args=[theirs.pk])).status_code == 404
    assert api.get(reverse("api:reward-payout-list")).json()["count"] == 0
    assert api.get(reverse("api:reward-ledger-list")).json()["count"] == 0
    assert api.get(reverse("api:reward-balance")).json()["balance"] == 0


def test_the_donor_endpoints_need_authentication(client):
    for name in ("api:reward-balance", "api:reward-ledger-list", "api:reward-payout-list"):
        assert client.get(reverse(name)).status_code == 401

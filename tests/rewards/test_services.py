"""Rewards services against PostgreSQL: pricing, exactly-once awards, withdrawal policy,
payouts and their holds, adjustments, rule versions."""

import pytest
from django.utils import timezone

from donations.services import donation_review, donation_withdraw
from rewards.exceptions import PayoutTransitionError, RewardError
from rewards.models import LedgerEntry, PayoutRequest
from rewards.selectors import reward_balance_for_user
from rewards.services import (
    ledger_adjust,
    payout_approve,
    payout_mark_paid,
    payout_reject,
    payout_request_create,
    reward_award_for_donation,
    reward_rule_create,
)
from tests.rewards.support import accepted_donation, fund, processed_donation, reward_rule

pytestmark = pytest.mark.django_db


def _balance(user) -> int:  # type: ignore[no-untyped-def]
    return reward_balance_for_user(user=user)["balance"]


# -- awards ----------------------------------------------------------------------------------------


def test_an_award_pays_per_minute_of_motion_plus_a_bonus_per_extra_modality(donor, curator):
    rule = reward_rule(credits_per_minute=10, audio_bonus=5, events_bonus=3)
    donation = accepted_donation(donor, curator, duration_s=150.0, audio=True, events=True)

    entry = reward_award_for_donation(donation_id=donation.pk)

    assert entry is not None
    assert (entry.kind, entry.credits, entry.donation_id, entry.rule) == (
        LedgerEntry.Kind.AWARD,
        25 + 5 + 3,
        donation.pk,
        rule,
    )
    assert entry.idempotency_key == f"award:{donation.pk}"
    assert entry.actor == curator  # who caused it: the curator who accepted
    assert entry.pricing == {
        "duration_s": 150.0,
        "motion_credits": 25,
        "audio": True,
        "events": True,
        "uncapped_credits": 33,
    }
    assert _balance(donor) == 33


def test_partial_minutes_round_down_to_whole_credits_and_absent_modalities_earn_no_bonus(
    donor, curator
):
    reward_rule(credits_per_minute=7, audio_bonus=5, events_bonus=3)
    donation = accepted_donation(donor, curator, duration_s=59.99)

    entry = reward_award_for_donation(donation_id=donation.pk)

    assert entry.credits == 6  # 7 * 59.99 / 60 = 6.998...


def test_a_donation_is_priced_by_the_rule_in_force_when_it_was_given(donor, curator):
    given_under = reward_rule(version=1, credits_per_minute=10)
    donation = accepted_donation(donor, curator, duration_s=60.0)
    reward_rule(version=2, credits_per_minute=1, effective_at=timezone.now())

    entry = reward_award_for_donation(donation_id=donation.pk)

    assert (entry.rule, entry.credits) == (given_under, 10)


def test_awarding_twice_returns_the_first_entry_and_adds_nothing(donor, curator):
    reward_rule()
    donation = accepted_donation(donor, curator)

    first = reward_award_for_donation(donation_id=donation.pk)
    second = reward_award_for_donation(donation_id=donation.pk)

    assert first == second
    assert LedgerEntry.objects.filter(donation=donation).count() == 1
    assert _balance(donor) == 20


def test_the_daily_cap_limits_what_one_donor_earns_in_a_day(donor, curator):
    reward_rule(credits_per_minute=10, audio_bonus=0, events_bonus=0, daily_cap=25)
    donations = [accepted_donation(donor, curator, duration_s=120.0) for _ in range(3)]

    credits = [reward_award_for_donation(donation_id=d.pk).credits for d in donations]

    assert credits == [20, 5, 0]
    assert _balance(donor) == 25
    capped = LedgerEntry.objects.get(donation=donations[1])
    assert capped.pricing["daily_cap"] == 25
    assert capped.pricing["awarded_earlier_today"] == 20
    assert capped.pricing["uncapped_credits"] == 20


def test_a_rule_published_with_no_cap_named_carries_the_default_daily_cap(donor, curator):
    rule = reward_rule_create(credits_per_minute=60)
    assert rule.daily_cap == 600  # settings.REWARDS_DAILY_CAP's default
    donations = [accepted_donation(donor, curator, duration_s=300.0) for _ in range(3)]

    credits = [reward_award_for_donation(donation_id=d.pk).credits for d in donations]

    assert credits == [300, 300, 0]
    assert _balance(donor) == 600


def test_the_default_daily_cap_is_a_setting_and_a_rule_may_still_name_its_own_or_none(settings):
    settings.REWARDS_DAILY_CAP = 1000
    later = timezone.now() + timezone.timedelta(days=1)

    assert reward_rule_create(credits_per_minute=10).daily_cap == 1000
    assert reward_rule_create(
        credits_per_minute=10, daily_cap=50, effective_at=later
    ).daily_cap == (50)
    assert reward_rule_create(
        credits_per_minute=10, daily_cap=None, effective_at=later
    ).daily_cap is (None)
    settings.REWARDS_DAILY_CAP = 0  # 0 turns the default off
    assert reward_rule_create(credits_per_minute=10, effective_at=later).daily_cap is None


def test_a_donation_withdrawn_before_acceptance_earns_nothing(donor, consent_document):
    reward_rule()
    donation = processed_donation(donor)
    donation_withdraw(donor=donor, donation=donation, method="web")

    assert reward_award_for_donation(donation_id=donation.pk) is None
    assert not LedgerEntry.objects.exists()


def test_a_declined_donation_earns_nothing(donor, curator):
    reward_rule()
    donation = processed_donation(donor)
    donation_review(donation=donation, curator=curator, accept=False, reason="Too short")

    assert reward_award_for_donation(donation_id=donation.pk) is None
    assert _balance(donor) == 0


def test_credits_earned_stay_when_the_donation_is_withdrawn_later(donor, curator, consent_document):
    reward_rule()
    donation = accepted_donation(donor, curator)
    reward_award_for_donation(donation_id=donation.pk)

    donation_withdraw(donor=donor, donation=donation, method="web")

    assert _balance(donor) == 20


def test_a_donation_withdrawn_after_acceptance_but_before_the_award_ran_is_still_credited(
    donor, curator, consent_document
):
    reward_rule()
    donation = accepted_donation(donor, curator)
    donation_withdraw(donor=donor, donation=donation, method="web")

    entry = reward_award_for_donation(donation_id=donation.pk)

    assert entry is not None
    assert entry.credits == 20


def test_a_donation_accepted_by_its_own_donor_earns_nothing(curator):
    """Defence in depth: the review service refuses self-review, but should any path move a
    donation to accepted with its donor as the actor, the award still credits nothing."""
    from donations.models import DonationStatus
    from donations.services import donation_transition

    reward_rule()
    own = processed_donation(curator)
    donation_transition(donation=own, to_status=DonationStatus.ACCEPTED, actor=curator)

    assert reward_award_for_donation(donation_id=own.pk) is None
    assert not LedgerEntry.objects.exists()
    assert _balance(curator) == 0


def test_no_award_without_a_rule_in_force(donor, curator):
    reward_rule(effective_at=timezone.now() + timezone.timedelta(days=1))
    donation = accepted_donation(donor, curator)

    assert reward_award_for_donation(donation_id=donation.pk) is None


def test_accepting_a_donation_enqueues_its_award_on_commit_and_declining_does_not(
    donor, curator, django_capture_on_commit_callbacks
):
    accepted, declined = processed_donation(donor), processed_donation(donor)

    with django_capture_on_commit_callbacks() as on_accept:
        donation_review(donation=accepted, curator=curator, accept=True)
    with django_capture_on_commit_callbacks() as on_decline:
        donation_review(donation=declined, curator=curator, accept=False, reason="Too short")

    assert len(on_accept) == 1
    assert on_decline == []


# -- payouts ---------------------------------------------------------------------------------------


def test_a_payout_request_holds_its_credits(donor, curator, settings):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    fund(donor, 300, curator)

    payout = payout_request_create(user=donor, credits=120)

    assert payout.status == PayoutRequest.Status.REQUESTED
    hold = LedgerEntry.objects.get(payout=payout)
    assert (hold.kind, hold.credits, hold.actor) == (LedgerEntry.Kind.PAYOUT, -120, donor)
    assert reward_balance_for_user(user=donor) == {"balance": 180, "held": 120}


def test_a_payout_below_the_minimum_is_refused_with_the_minimum_named(donor, curator, settings):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    fund(donor, 300, curator)

    with pytest.raises(RewardError, match=r"^The smallest payout is 100 credits\.$"):
        payout_request_create(user=donor, credits=99)


def test_a_payout_above_the_balance_is_refused_with_the_balance_named(donor, curator, settings):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    fund(donor, 150, curator)

    with pytest.raises(RewardError, match=r"^You asked for 200 credits but your balance is 150\.$"):
        payout_request_create(user=donor, credits=200)
    assert not PayoutRequest.objects.exists()


def test_rejecting_a_payout_releases_the_hold_with_a_reversal_naming_it(donor, curator, settings):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    fund(donor, 300, curator)
    payout = payout_request_create(user=donor, credits=200)

    payout_reject(payout=payout, admin=curator, note="Payment details missing")

    assert payout.status == PayoutRequest.Status.REJECTED
    hold = LedgerEntry.objects.get(payout=payout, kind=LedgerEntry.Kind.PAYOUT)
    release = LedgerEntry.objects.get(payout=payout, kind=LedgerEntry.Kind.REVERSAL)
    assert (release.credits, release.reverses, release.reason) == (
        200,
        hold,
        "Payment details missing",
    )
    assert reward_balance_for_user(user=donor) == {"balance": 300, "held": 0}
    with pytest.raises(PayoutTransitionError):
        payout_reject(payout=payout, admin=curator, note="again")
    assert _balance(donor) == 300


def test_an_approved_payout_is_marked_paid_with_its_reference_and_stays_deducted(
    donor, curator, settings
):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    fund(donor, 300, curator)
    payout = payout_request_create(user=donor, credits=100)

    not_approved = r"^Only an approved payout can be marked paid\.$"
    with pytest.raises(PayoutTransitionError, match=not_approved):
        payout_mark_paid(payout=payout, admin=curator, external_reference="BANK-1")
    payout_approve(payout=payout, admin=curator)
    payout_mark_paid(payout=payout, admin=curator, external_reference="BANK-1")

    assert (payout.status, payout.external_reference) == (PayoutRequest.Status.PAID, "BANK-1")
    assert reward_balance_for_user(user=donor) == {"balance": 200, "held": 0}
    with pytest.raises(PayoutTransitionError):
        payout_reject(payout=payout, admin=curator, note="too late")


# -- adjustments and rules -------------------------------------------------------------------------


def test_an_adjustment_cannot_take_the_balance_below_zero(donor, curator):
    fund(donor, 50, curator)

    with pytest.raises(RewardError, match=r"^This adjustment would make the balance negative\.$"):
        ledger_adjust(
            user=donor, credits=-51, reason="Clawback", actor=curator, idempotency_key="claw"
        )
    assert _balance(donor) == 50


def test_an_adjustment_retried_with_its_key_is_recorded_once(donor, curator):
    for _ in range(2):
        ledger_adjust(
            user=donor, credits=10, reason="Goodwill", actor=curator, idempotency_key="gw-1"
        )

    assert LedgerEntry.objects.filter(idempotency_key="gw-1").count() == 1
    assert _balance(donor) == 10


def test_rule_versions_count_up_and_cannot_take_effect_in_the_past(curator):
    first = reward_rule_create(credits_per_minute=10, created_by=curator)
    second = reward_rule_create(
        credits_per_minute=12, effective_at=timezone.now() + timezone.timedelta(days=7)
    )

    assert (first.version, second.version) == (1, 2)
    with pytest.raises(RewardError, match=r"^A rule cannot take effect in the past\.$"):
        reward_rule_create(
            credits_per_minute=1, effective_at=timezone.now() - timezone.timedelta(days=1)
        )
    with pytest.raises(
        RewardError, match=r"^A rule cannot take effect before the latest one \(version 2\)\.$"
    ):
        reward_rule_create(credits_per_minute=1)

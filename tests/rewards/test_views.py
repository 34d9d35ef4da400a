"""The donor's rewards pages, the statement, the leaderboard, the rule shown before donating,
and the admin's payout decisions. Someone else's payout answers 404."""

import pytest
from django.urls import reverse

from accounts.models import User
from consent.services import consent_grant
from rewards.models import LedgerEntry, PayoutRequest
from rewards.selectors import reward_balance_for_user
from rewards.services import (
    payout_approve,
    payout_request_create,
    reward_account_set_leaderboard,
    reward_award_for_donation,
    reward_rule_create,
)
from tests.rewards.support import (
    accepted_donation,
    fund,
    other_donor,
    reward_rule,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():  # type: ignore[no-untyped-def]
    return User.objects.create_superuser(email="admin@example.org", password="admin-it-2026")


def _award(donor, curator, **summary) -> LedgerEntry:  # type: ignore[no-untyped-def]
    donation = accepted_donation(donor, curator, **summary)
    return reward_award_for_donation(donation_id=donation.pk)  # type: ignore[return-value]


@pytest.mark.parametrize("count", [1, 7])
def test_the_rewards_page_lists_every_entry_in_a_fixed_number_of_queries(
    client, donor, curator, django_assert_num_queries, count
):
    reward_rule(version=1, credits_per_minute=10)
    for _ in range(count):
        _award(donor, curator, duration_s=60.0)
    fund(donor, 100, curator)
    payout_request_create(user=donor, credits=100)
    client.force_login(donor)
    client.get(reverse("rewards:overview"))  # warm the session and the banner cache

    # session, user, account (leaderboard choice), balance and held, the rule in force (the
    # rules panel), entries with their donations, rules and payouts, payouts: the same for one
    # entry or seven.
    with django_assert_num_queries(7):
        response = client.get(reverse("rewards:overview"))

    assert response.status_code == 200
    assert response.content.count(b"<tr data-entry=") == LedgerEntry.objects.count()


def test_the_rewards_page_shows_the_balance_and_the_donation_and_rule_behind_each_entry(
    client, donor, curator
):
    reward_rule(version=3, credits_per_minute=10)
    entry = _award(donor, curator, duration_s=90.0)
    client.force_login(donor)

    page = client.get(reverse("rewards:overview")).content.decode()

    assert 'data-balance="15"' in page
    assert reverse("donations:detail", args=[entry.donation_id]) in page
    assert "v3 (10/min)" in page
    assert "Accepted recording" in page


def test_the_statement_lists_only_the_donors_own_entries_with_a_running_balance(
    client, donor, curator
):
    reward_rule(version=1, credits_per_minute=10)
    mine = _award(donor, curator, duration_s=60.0)
    fund(donor, 5, curator)
    theirs = _award(other_donor(), curator, duration_s=600.0)
    client.force_login(donor)

    response = client.get(reverse("rewards:statement"))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    lines = response.content.decode().splitlines()
    assert lines[0] == "date,entry,kind,credits,balance_after,donation,rule_version,payout,reason"
    assert [line.split(",")[2:5] for line in lines[1:]] == [
        ["award", "10", "10"],
        ["adjustment", "5", "15"],
    ]
    assert str(mine.donation_id) in lines[1]
    assert str(theirs.donation_id) not in response.content.decode()


def test_someone_elses_payout_is_not_found(client, donor, curator, settings):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    someone = other_donor()
    fund(someone, 200, curator)
    theirs = payout_request_create(user=someone, credits=150)
    client.force_login(donor)

    assert client.get(reverse("rewards:payout_detail", args=[theirs.pk])).status_code == 404
    page = client.get(reverse("rewards:overview")).content.decode()
    assert str(theirs.pk) not in page


def test_a_donor_requests_a_payout_and_sees_the_credits_held(client, donor, curator, settings):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    fund(donor, 250, curator)
    client.force_login(donor)

    response = client.post(reverse("rewards:payout_request"), {"credits": "200"}, follow=True)

    payout = PayoutRequest.objects.get()
    assert (payout.credits, payout.status) == (200, PayoutRequest.Status.REQUESTED)
    page = response.content.decode()
    assert "Payout of 200 credits requested. The credits are held until we decide." in page
    assert 'data-balance="50"' in page
    assert "(and 200 held for payouts we have not paid yet)" in page
    detail = client.get(reverse("rewards:payout_detail", args=[payout.pk])).content.decode()
    assert "These credits are held from your balance until we decide." in detail


@pytest.mark.parametrize(
    ("credits", "message"),
    [
        ("99", "The smallest payout is 100 credits."),
        ("300", "You asked for 300 credits but your balance is 250."),
        ("", "Say how many credits you want paid out."),
    ],
)
def test_a_payout_request_that_cannot_be_met_says_why(
    client, donor, curator, settings, credits, message
):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    fund(donor, 250, curator)
    client.force_login(donor)

    response = client.post(reverse("rewards:payout_request"), {"credits": credits})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PayoutRequest.objects.exists()


def test_the_rewards_pages_need_a_signed_in_donor(client):
    for name in ("rewards:overview", "rewards:statement"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_the_rule_in_force_is_shown_on_the_consent_and_upload_pages(
    client, donor, consent_document
):
    reward_rule(credits_per_minute=12, audio_bonus=6, events_bonus=0, daily_cap=500)
    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    client.force_login(donor)

    for name in ("consent:form", "donations:upload"):
        page = client.get(reverse(name)).content.decode()
        assert "12 credits for each minute of motion in a recording a curator accepts." in page
        assert "6 extra credits when the recording includes audio." in page
        assert "in-app events" not in page
        assert "At most 500 credits from recordings accepted on one day." in page
        assert "A recording withdrawn before it is accepted earns nothing." in page
        _assert_the_rules_are_stated(page)


def _assert_the_rules_are_stated(page: str) -> None:
    """The rules a donor reads before giving anything: what earns, no self-review, no second
    award for a duplicate, the daily cap."""
    assert "Only accepted recordings earn." in page
    assert "Nobody can review or accept their own recording" in page
    assert "A recording accepted by its own donor earns nothing." in page
    assert "A recording never earns twice." in page
    assert "Recordings accepted after you reach it that day earn nothing more." in page


def test_the_rewards_page_states_the_rules_before_anything_is_given(client, donor):
    reward_rule_create(credits_per_minute=10)  # the daily cap is on by default
    client.force_login(donor)

    page = client.get(reverse("rewards:overview")).content.decode()

    assert "Nothing yet." in page  # nothing given, nothing earned: the rules are shown already
    assert "At most 600 credits from recordings accepted on one day." in page
    _assert_the_rules_are_stated(page)


def test_without_a_rule_in_force_the_pages_say_no_rewards_are_offered(
    client, donor, consent_document
):
    client.force_login(donor)

    assert (
        "No rewards are offered at the moment."
        in client.get(reverse("consent:form")).content.decode()
    )


def test_the_leaderboard_is_off_by_default(client, settings):
    assert settings.REWARDS_LEADERBOARD_ENABLED is False
    assert client.get(reverse("rewards:leaderboard")).status_code == 404


def test_the_leaderboard_shows_only_donors_who_opted_in_by_pseudonym(
    client, donor, curator, settings
):
    settings.REWARDS_LEADERBOARD_ENABLED = True
    reward_rule(credits_per_minute=10)
    someone = other_donor()
    for user, name in ((donor, "Quick Fox"), (someone, "Slow Owl")):
        user.pseudonym = name
        user.save(update_fields=["pseudonym"])
        _award(user, curator, duration_s=60.0)
    client.force_login(donor)
    client.post(reverse("rewards:leaderboard_opt_in"), {"opt_in": "on"})

    page = client.get(reverse("rewards:leaderboard")).content.decode()

    assert "Quick Fox" in page
    assert "Slow Owl" not in page
    assert donor.email not in page
    reward_account_set_leaderboard(user=donor, opt_in=False)
    assert "Quick Fox" not in client.get(reverse("rewards:leaderboard")).content.decode()


def test_the_approved_payouts_export_is_for_admins_and_lists_approved_payouts_only(
    client, donor, curator, admin_user, settings
):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    fund(donor, 500, curator)
    approved = payout_request_create(user=donor, credits=200)
    payout_approve(payout=approved, admin=admin_user)
    pending = payout_request_create(user=donor, credits=100)
    url = reverse("rewards:approved_payouts_export")

    client.force_login(donor)
    assert client.get(url).status_code == 403
    client.force_login(admin_user)
    lines = client.get(url).content.decode().splitlines()

    assert lines[0] == "payout,requested_at,approved_at,credits,donor,email"
    assert len(lines) == 2
    assert lines[1].startswith(f"{approved.pk},")
    assert f",200,{donor.public_id},{donor.email}" in lines[1]
    assert str(pending.pk) not in "\n".join(lines)


def test_a_curator_cannot_download_the_donors_email_addresses_of_approved_payouts(
    client, donor, curator, admin_user, settings
):
    # Curators are staff, but they review recordings; only admins pay people (accounts.permissions).
    settings.REWARDS_PAYOUT_MINIMUM = 100
    fund(donor, 500, curator)
    payout_approve(payout=payout_request_create(user=donor, credits=200), admin=admin_user)
    url = reverse("rewards:approved_payouts_export")

    client.force_login(curator)
    response = client.get(url)

    assert response.status_code == 403
    assert donor.email not in response.content.decode()


def test_the_approved_payouts_export_sends_anonymous_visitors_to_the_login_page(client):
    url = reverse("rewards:approved_payouts_export")

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={url}"


def test_an_admin_rejects_a_payout_with_a_note_and_the_held_credits_come_back(
    client, donor, curator, admin_user, settings
):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    fund(donor, 300, curator)
    payout = payout_request_create(user=donor, credits=300)
    client.force_login(admin_user)
    changelist = reverse("admin:rewards_payoutrequest_changelist")

    asked = client.post(changelist, {"action": "reject", "_selected_action": [payout.pk]})
    assert asked.status_code == 200
    assert "Why are they rejected?" in asked.content.decode()
    client.post(
        changelist,
        {
            "action": "reject",
            "_selected_action": [payout.pk],
            "confirm": "1",
            "note": "Bank details missing",
        },
    )

    payout.refresh_from_db()
    assert (payout.status, payout.decision_note) == ("rejected", "Bank details missing")
    client.force_login(donor)
    page = client.get(reverse("rewards:overview")).content.decode()
    assert 'data-balance="300"' in page


def test_an_admin_marks_an_approved_payout_paid_with_its_reference(
    client, donor, curator, admin_user, settings
):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    fund(donor, 300, curator)
    payout = payout_request_create(user=donor, credits=100)
    payout_approve(payout=payout, admin=admin_user)
    client.force_login(admin_user)

    client.post(
        reverse("admin:rewards_payoutrequest_changelist"),
        {
            "action": "mark_paid",
            "_selected_action": [payout.pk],
            "confirm": "1",
            f"reference-{payout.pk}": "SEPA-2026-0042",
        },
    )

    payout.refresh_from_db()
    assert (payout.status, payout.external_reference) == ("paid", "SEPA-2026-0042")


def test_the_admin_form_for_a_new_rule_starts_with_the_default_daily_cap(client, admin_user):
    client.force_login(admin_user)

    page = client.get(reverse("admin:rewards_rewardrule_add")).content.decode()

    assert 'name="daily_cap" value="600"' in page


def test_an_admin_publishes_a_rule_version_and_cannot_edit_it(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:rewards_rewardrule_add"),
        {
            "credits_per_minute": "10",
            "audio_bonus": "2",
            "events_bonus": "1",
            "daily_cap": "",
            "effective_at_0": "2099-01-01",
            "effective_at_1": "00:00:00",
        },
    )

    assert response.status_code == 302, response.content
    from rewards.models import RewardRule

    rule = RewardRule.objects.get()
    assert (rule.version, rule.credits_per_minute, rule.created_by) == (1, 10, admin_user)
    client.post(
        reverse("admin:rewards_rewardrule_change", args=[rule.pk]), {"credits_per_minute": "99"}
    )
    rule.refresh_from_db()
    assert rule.credits_per_minute == 10


def test_an_admin_adjustment_submitted_twice_is_recorded_once(client, donor, admin_user):
    client.force_login(admin_user)
    form = {"user": donor.pk, "credits": "25", "reason": "Goodwill", "key": "adjustment:abc"}

    for _ in range(2):
        client.post(reverse("admin:rewards_ledgerentry_add"), form)

    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.credits, entry.actor, entry.reason) == (
        "adjustment",
        25,
        admin_user,
        "Goodwill",
    )


def test_an_admin_adjustment_that_would_overdraw_is_refused_with_the_reason(
    client, donor, admin_user
):
    client.force_login(admin_user)
    form = {"user": donor.pk, "credits": "-5", "reason": "Clawback", "key": "adjustment:x"}

    response = client.post(reverse("admin:rewards_ledgerentry_add"), form, follow=True)

    assert "This adjustment would make the balance negative." in response.content.decode()
    assert not LedgerEntry.objects.exists()


def test_a_payout_form_submitted_twice_makes_one_request(client, donor, curator, settings):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    fund(donor, 500, curator)
    client.force_login(donor)
    page = client.get(reverse("rewards:overview")).content.decode()
    key = page.split('name="request_key" value="')[1].split('"')[0]

    for _ in range(2):
        client.post(reverse("rewards:payout_request"), {"credits": "200", "request_key": key})

    assert PayoutRequest.objects.count() == 1
    assert reward_balance_for_user(user=donor) == {"balance": 300, "held": 200}

"""The curator's queue: filters, per-item facts and consent, bulk decisions, the replay feed."""

import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from accounts.services import user_create_verified
from consent.services import consent_grant
from donations.models import CurationDecision, Donation, DonationStatus
from tests.conftest import browser_sign_in, process_here

pytestmark = pytest.mark.django_db

QUEUE = "donations:curation_queue"


def _processed(donor, *, fmt="bvh", rate=30.0, duration=2.0, **summary):  # type: ignore[no-untyped-def]
    return Donation.objects.create(
        donor=donor,
        status=DonationStatus.PROCESSED,
        artifact_prefix=f"processed/{uuid.uuid4().hex}/v1/",
        summary={
            "source_format": fmt,
            "frame_rate": rate,
            "duration_s": duration,
            "frame_count": int(rate * duration),
            "tracks": [{"name": "Head", "role": "head"}],
            **summary,
        },
    )


@pytest.fixture
def queue(donor, consent_document):  # type: ignore[no-untyped-def]
    """Three processed donations: a BVH at 30 fps and 2 s, a BSOR at 90 fps and 60 s from a
    donor whose consent covers audio too, and a CSV at 72 fps and 10 s."""
    other = user_create_verified(email="audio@example.org", password="audio-donor-2026")
    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    consent_grant(
        donor=other, document=consent_document, scopes=["motion:open_release", "audio:open_release"]
    )
    return {
        "bvh": _processed(donor, fmt="bvh", rate=30.0, duration=2.0),
        "bsor": _processed(other, fmt="bsor", rate=90.0, duration=60.0),
        "csv": _processed(donor, fmt="csv", rate=72.0, duration=10.0),
    }


def _listed(response) -> set[str]:  # type: ignore[no-untyped-def]
    return {str(d.pk) for d in response.context["donations"]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"bvh", "bsor", "csv"}),
        ({"format": "bsor"}, {"bsor"}),
        ({"rate_min": "60"}, {"bsor", "csv"}),
        ({"rate_min": "60", "rate_max": "80"}, {"csv"}),
        ({"duration_max": "10"}, {"bvh", "csv"}),
        ({"duration_min": "5", "duration_max": "100"}, {"bsor", "csv"}),
        ({"scopes": ["audio:open_release"]}, {"bsor"}),
        ({"scopes": ["motion:open_release"]}, {"bvh", "bsor", "csv"}),
        ({"format": "bvh", "scopes": ["audio:open_release"]}, set()),
    ],
)
def test_the_queue_filters_by_format_rate_duration_and_consent_scopes(
    client, curator, queue, params, expected
):
    client.force_login(curator)
    response = client.get(reverse(QUEUE), params)
    assert response.status_code == 200
    assert _listed(response) == {str(queue[name].pk) for name in expected}


def test_a_bad_filter_value_is_shown_and_the_queue_stays_unfiltered(client, curator, queue):
    client.force_login(curator)
    response = client.get(reverse(QUEUE), {"rate_min": "fast"})
    assert len(_listed(response)) == 3
    assert "Frame rate from (fps): Enter a number." in response.content.decode()


def test_a_donation_whose_own_consent_was_withdrawn_matches_no_scope_filter(
    client, curator, queue, donor
):
    from consent.services import consent_withdraw

    consent_withdraw(donor=donor, donation_id=queue["csv"].pk)
    client.force_login(curator)
    response = client.get(reverse(QUEUE), {"scopes": ["motion:open_release"]})
    assert _listed(response) == {str(queue["bvh"].pk), str(queue["bsor"].pk)}
    unfiltered = client.get(reverse(QUEUE)).content.decode()
    assert "No consent in force" in unfiltered


def test_the_queue_shows_facts_validation_report_and_effective_scopes(
    client, curator, donor, consent_document
):
    consent_grant(
        donor=donor,
        document=consent_document,
        scopes=["motion:open_release", "motion:model_training"],
    )
    _processed(
        donor,
        fmt="bsor",
        rate=90.0,
        duration=60.0,
        conversion={"dropped_leading_frames": 3, "tracking_relocations": {"left_hand": 2}},
        anonymization={"recentred": True, "stripped_fields": ["player_name", "platform_id"]},
    )
    client.force_login(curator)
    page = client.get(reverse(QUEUE)).content.decode()
    assert "<dt>Dropped leading frames</dt><dd>3</dd>" in page
    assert "<dt>Tracking relocations</dt><dd>left_hand: 2</dd>" in page
    assert "<dt>Stripped fields</dt><dd>player_name, platform_id</dd>" in page
    assert '<li class="mono">motion:model_training</li>' in page
    assert '<li class="mono">motion:open_release</li>' in page
    assert "<dt>Frame rate</dt><dd>90 fps</dd>" in page


def test_the_queue_shows_each_quality_score_and_what_would_improve_it(client, curator, donor):
    quality = {"version": 1, "score": 48, "codes": ["quality.tracking_loss"], "components": {}}
    _processed(donor, fmt="bsor", rate=90.0, duration=60.0, quality=quality)
    client.force_login(curator)

    page = client.get(reverse(QUEUE)).content.decode()

    assert 'data-quality-score="48"' in page
    assert "Quality score: 48 out of 100" in page
    assert "Keep the controllers in the headset" in page


def test_the_queue_page_costs_the_same_queries_for_three_or_thirty_donations(
    client, curator, queue, donor, django_assert_num_queries
):
    client.force_login(curator)
    client.get(reverse(QUEUE))  # warm the session and the curator check's caches
    # session, user, curator check (view and menu), donations (with consent), formats,
    # decisions, datasets, releases
    with django_assert_num_queries(9):
        response = client.get(reverse(QUEUE))
    assert len(_listed(response)) == 3
    for _ in range(27):
        _processed(donor)
    with django_assert_num_queries(9):
        response = client.get(reverse(QUEUE))
    assert len(_listed(response)) == 30


def test_bulk_accept_decides_each_selected_donation_and_records_who(client, curator, queue):
    client.force_login(curator)
    chosen = [queue["bvh"].pk, queue["csv"].pk]
    response = client.post(
        reverse("donations:bulk_review"), {"donations": chosen, "decision": "accept"}, follow=True
    )
    assert "2 donations accepted." in response.content.decode()
    for pk in chosen:
        assert Donation.objects.get(pk=pk).status == DonationStatus.ACCEPTED
        decision = CurationDecision.objects.get(donation_id=pk)
        assert decision.curator == curator
        assert decision.decision == CurationDecision.Decision.ACCEPT
    assert Donation.objects.get(pk=queue["bsor"].pk).status == DonationStatus.PROCESSED
    page = response.content.decode()
    assert page.count("curator@example.org") == 2  # the "Latest decisions" table


def test_bulk_decline_needs_a_reason_and_decides_nothing_without_one(client, curator, queue):
    client.force_login(curator)
    response = client.post(
        reverse("donations:bulk_review"),
        {"donations": [queue["bvh"].pk], "decision": "decline", "reason": "  "},
        follow=True,
    )
    assert "Say why the donations are declined; the donors will see it." in (
        response.content.decode()
    )
    assert not CurationDecision.objects.exists()


def test_bulk_decline_gives_every_donor_the_reason(client, curator, queue):
    client.force_login(curator)
    client.post(
        reverse("donations:bulk_review"),
        {
            "donations": [queue["bvh"].pk, queue["bsor"].pk],
            "decision": "decline",
            "reason": "The hands are not tracked.",
        },
    )
    for name in ("bvh", "bsor"):
        donation = Donation.objects.get(pk=queue[name].pk)
        assert donation.status == DonationStatus.DECLINED
        assert donation.decisions.get().reason == "The hands are not tracked."
        assert donation.history.last().actor == curator


def test_one_donation_that_cannot_be_decided_does_not_stop_the_others(client, curator, queue):
    from donations.services import donation_review

    donation_review(donation=queue["bvh"], curator=curator, accept=True)
    client.force_login(curator)
    response = client.post(
        reverse("donations:bulk_review"),
        {
            "donations": [queue["bvh"].pk, uuid.uuid4(), queue["csv"].pk],
            "decision": "accept",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "1 donation accepted." in page
    assert "2 donations were not awaiting review and were left as they are." in page
    assert Donation.objects.get(pk=queue["csv"].pk).status == DonationStatus.ACCEPTED
    assert CurationDecision.objects.filter(donation_id=queue["bvh"].pk).count() == 1


def test_bulk_review_without_a_selection_says_so(client, curator, queue):
    client.force_login(curator)
    response = client.post(reverse("donations:bulk_review"), {"decision": "accept"}, follow=True)
    assert "Select at least one donation." in response.content.decode()


def test_bulk_review_and_curator_preview_are_for_curators_only(client, donor, queue):
    client.force_login(donor)
    assert (
        client.post(
            reverse("donations:bulk_review"), {"donations": [queue["bvh"].pk], "decision": "accept"}
        ).status_code
        == 403
    )
    assert (
        client.get(reverse("donations:curation_preview_motion", args=[queue["bvh"].pk])).status_code
        == 403
    )
    assert Donation.objects.get(pk=queue["bvh"].pk).status == DonationStatus.PROCESSED


def test_a_curator_gets_the_replay_data_of_any_processed_donation(client, curator, queue):
    donation = queue["bsor"]
    default_storage.save(f"{donation.artifact_prefix}preview.json", ContentFile(b'{"fps":30}'))
    client.force_login(curator)
    response = client.get(reverse("donations:curation_preview_motion", args=[donation.pk]))
    assert response.status_code == 200
    assert response.content == b'{"fps":30}'
    assert response["Content-Type"] == "application/json"
    missing = client.get(reverse("donations:curation_preview_motion", args=[queue["csv"].pk]))
    assert missing.status_code == 404


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_curator_opens_the_3d_replay_of_a_queued_donation_in_the_browser(
    page, live_server, curator, donor, consent_document
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from donations.services import donation_create_from_upload
    from metagen.celery import app
    from processing.motion.synthetic import synthetic_bvh

    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    upload = SimpleUploadedFile("take.bvh", synthetic_bvh(seconds=2, fps=30, seed=5).encode())
    donation = donation_create_from_upload(donor=donor, motion_file=upload)
    # Processed here, in this process: the task queued on commit must not linger in the broker
    # for a later test to find.
    app.control.purge()
    assert process_here(donation.pk).status == DonationStatus.PROCESSED

    browser_sign_in(page, live_server, curator)
    page.goto(f"{live_server.url}/curate/")
    row = f"#donation-{donation.pk}"
    player = f"{row} [data-replay]"
    assert page.get_attribute(player, "data-state") is None  # nothing fetched until opened
    page.click(f"{row} details summary")
    page.wait_for_selector(f"{player}[data-state=paused]")
    assert page.locator(f"{player} canvas").count() == 1
    assert page.inner_text(f"{player} [data-time]") == "0.00 s / 2.00 s"


# -- nobody reviews their own donation ------------------------------------------------------------


@pytest.mark.parametrize("accept", [True, False])
def test_the_review_service_refuses_a_curators_own_donation(curator, accept):
    from donations.exceptions import SelfReviewError
    from donations.services import donation_review

    own = _processed(curator)
    with pytest.raises(SelfReviewError, match="You cannot review your own donation"):
        donation_review(donation=own, curator=curator, accept=accept, reason="Not good enough.")
    own.refresh_from_db()
    assert own.status == DonationStatus.PROCESSED
    assert not CurationDecision.objects.exists()
    assert list(own.history.values_list("to_status", flat=True)) == []


@pytest.mark.parametrize(
    ("decision", "reason"), [("accept", ""), ("decline", "The hands are not tracked.")]
)
def test_accepting_or_declining_ones_own_donation_on_the_page_is_refused_with_a_message(
    client, curator, decision, reason
):
    own = _processed(curator)
    client.force_login(curator)
    response = client.post(
        reverse("donations:review", args=[own.pk]),
        {"decision": decision, "reason": reason},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "You cannot review your own donation; another curator will." in page
    assert "Decision recorded." not in page
    assert Donation.objects.get(pk=own.pk).status == DonationStatus.PROCESSED
    assert not CurationDecision.objects.exists()


def test_bulk_accept_skips_the_curators_own_donations_and_counts_them(client, curator, queue):
    own = [_processed(curator), _processed(curator)]
    client.force_login(curator)
    response = client.post(
        reverse("donations:bulk_review"),
        {"donations": [queue["bvh"].pk, own[0].pk, own[1].pk], "decision": "accept"},
        follow=True,
    )
    page = response.content.decode()
    assert "1 donation accepted." in page
    assert "2 donations are your own and were left for another curator." in page
    assert "not awaiting review" not in page
    assert Donation.objects.get(pk=queue["bvh"].pk).status == DonationStatus.ACCEPTED
    for donation in own:
        assert Donation.objects.get(pk=donation.pk).status == DonationStatus.PROCESSED
    assert not CurationDecision.objects.filter(curator=curator, donation__donor=curator).exists()


def test_the_admin_accept_action_skips_the_admins_own_donation_with_a_warning(client, queue):
    from accounts.models import User

    admin = User.objects.create_superuser(email="admin@example.org", password="admin-it-2026")
    own = _processed(admin)
    client.force_login(admin)
    response = client.post(
        reverse("admin:donations_donation_changelist"),
        {"action": "accept_selected", "_selected_action": [own.pk, queue["csv"].pk]},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "You cannot review your own donation; another curator will." in page
    assert Donation.objects.get(pk=own.pk).status == DonationStatus.PROCESSED
    assert Donation.objects.get(pk=queue["csv"].pk).status == DonationStatus.ACCEPTED

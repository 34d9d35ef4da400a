"""The donor's dashboard and donation page: live status, timeline, advice, consent, 3D preview."""

import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from accounts.services import user_create_verified
from consent.services import consent_grant
from donations.advice import advice_for, quality_in_words
from donations.models import Donation, DonationStatus, DonationStatusChange
from processing.motion.errors import CODES
from processing.motion.preview import render_motion_preview
from processing.motion.synthetic import synthetic_bvh

pytestmark = pytest.mark.django_db

SUMMARY = {
    "source_format": "bvh",
    "duration_s": 3.0,
    "frame_rate": 60.0,
    "frame_count": 180,
    "tracks": [{"name": "Head", "role": "head"}, {"name": "LeftHand", "role": "left_hand"}],
    "skeleton": None,
}


@pytest.fixture(scope="module")
def preview_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from processing.motion import read_recording
    from processing.motion.anonymize import anonymize

    src = tmp_path_factory.mktemp("bvh") / "take.bvh"
    src.write_text(synthetic_bvh(seconds=2, fps=60, seed=7))
    recording, _report = anonymize(read_recording(src), body_size="keep")
    return render_motion_preview(recording).encode()


def _donation(donor, status: str, *, history: int = 0, **fields) -> Donation:  # type: ignore[no-untyped-def]
    donation = Donation.objects.create(donor=donor, status=status, **fields)
    steps = [DonationStatus.UPLOADED, DonationStatus.PROCESSING, status] * history
    DonationStatusChange.objects.bulk_create(
        DonationStatusChange(donation=donation, from_status="created", to_status=to)
        for to in steps[:history]
    )
    return donation


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><title>Trajectories</title></svg>\n'


def _processed(donor, preview: bytes | None, status: str = DonationStatus.PROCESSED) -> Donation:  # type: ignore[no-untyped-def]
    prefix = f"processed/{uuid.uuid4().hex}/v1/"
    if preview is not None:
        default_storage.save(f"{prefix}preview.json", ContentFile(preview, name="preview.json"))
        default_storage.save(f"{prefix}preview.svg", ContentFile(SVG, name="preview.svg"))
    return _donation(donor, status, history=3, artifact_prefix=prefix, summary=SUMMARY)


@pytest.fixture
def other_donor():  # type: ignore[no-untyped-def]
    return user_create_verified(email="donor-b@example.org", password="pw-of-donor-b-2026")


# -- dashboard ------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 7])
def test_dashboard_lists_every_donation_in_a_fixed_number_of_queries(
    client, donor, consent_document, django_assert_num_queries, count
):
    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    statuses = [DonationStatus.PROCESSING, DonationStatus.PROCESSED, DonationStatus.REJECTED]
    for i in range(count):
        _donation(donor, statuses[i % 3], history=2, summary=SUMMARY if i % 3 == 1 else {})
    client.force_login(donor)

    # session, user, account consent, donations; the consent-renewal banner (base template):
    # latest account event, current document. The same for one donation or seven.
    with django_assert_num_queries(6):
        response = client.get(reverse("donations:dashboard"))

    assert response.status_code == 200
    assert response.content.count(b"<tr data-donation=") == count
    assert b'data-poll-url="/api/donations/"' in response.content


def test_dashboard_row_shows_status_recording_facts_and_the_next_step(client, donor):
    _donation(donor, DonationStatus.PROCESSED, summary=SUMMARY)
    _donation(
        donor,
        DonationStatus.REJECTED,
        problem_code="bvh.frame_count_mismatch",
        problem_message="The file says 120 frames but holds 119.",
    )
    _donation(donor, DonationStatus.PROCESSING)
    client.force_login(donor)

    text = client.get(reverse("donations:dashboard")).content.decode()

    assert "BVH · 3.0 s · 60 fps" in text
    assert "Look at the preview; a curator will review it." in text
    assert "The file says 120 frames but holds 119." in text
    assert "See why, and what to do." in text
    assert 'data-status="processing"' in text
    assert "Nothing: we are checking and anonymizing it." in text


def test_dashboard_lists_only_the_donors_own_donations(client, donor, other_donor):
    mine = _donation(donor, DonationStatus.PROCESSED)
    theirs = _donation(other_donor, DonationStatus.PROCESSED)
    client.force_login(donor)

    text = client.get(reverse("donations:dashboard")).content.decode()

    assert str(mine.pk) in text
    assert str(theirs.pk) not in text


def test_donation_list_api_gives_status_next_step_and_preview_url_in_fixed_queries(
    client, donor, django_assert_num_queries
):
    processed = _donation(donor, DonationStatus.PROCESSED, history=3, artifact_prefix="p/x/v1/")
    for _ in range(4):
        _donation(donor, DonationStatus.PROCESSING, history=2)
    client.force_login(donor)

    with django_assert_num_queries(5):  # session, user, count, donations, their histories
        listing = client.get(reverse("api:donation-list")).json()

    rows = {row["id"]: row for row in listing["results"]}
    assert rows[str(processed.pk)]["preview_url"] == f"/api/donations/{processed.pk}/preview/"
    assert rows[str(processed.pk)]["next_step"] == "Look at the preview; a curator will review it."
    assert rows[str(processed.pk)]["history"][0]["to_status_display"] == "Uploaded"
    busy = [row for row in listing["results"] if row["status"] == "processing"]
    assert len(busy) == 4
    assert all(row["preview_url"] is None for row in busy)


# -- donation page --------------------------------------------------------------------------------


@pytest.mark.parametrize("history", [1, 6])
def test_donation_page_renders_in_a_fixed_number_of_queries(
    client, donor, consent_document, django_assert_num_queries, history
):
    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    donation = _donation(donor, DonationStatus.PROCESSED, history=history, artifact_prefix="p/")
    client.force_login(donor)

    # session, user, donation, its history, files, decisions, consent event with its document;
    # then the consent-renewal banner (base template): latest account event, current document.
    with django_assert_num_queries(9):
        response = client.get(reverse("donations:detail", args=[donation.pk]))

    assert response.status_code == 200
    assert response.content.decode().count("<time datetime=") == history + 1


def test_rejected_donation_page_gives_the_reason_and_what_to_do_next(client, donor):
    donation = _donation(
        donor,
        DonationStatus.REJECTED,
        history=3,
        problem_code="bvh.frame_count_mismatch",
        problem_message="The Frames: line says 120 but the file holds 119 motion lines.",
    )
    client.force_login(donor)

    text = client.get(reverse("donations:detail", args=[donation.pk])).content.decode()

    assert "Why we could not use this recording" in text
    assert "The Frames: line says 120 but the file holds 119 motion lines." in text
    assert (
        "Your exporter wrote a BVH file we cannot read. Export it again (check its settings "
        "against our formats page), or fix the line the message names, and upload it again."
    ) in text
    assert 'href="/formats/"' in text
    assert "Donate a corrected file" in text
    assert "<code>bvh.frame_count_mismatch</code>" in text
    assert "data-replay data-src" not in text


def test_failed_donation_page_says_the_problem_is_ours_and_nothing_needs_doing(client, donor):
    donation = _donation(
        donor,
        DonationStatus.FAILED,
        history=2,
        problem_code="processing.timeout",
        problem_message="Processing took too long and was stopped.",
    )
    client.force_login(donor)

    text = client.get(reverse("donations:detail", args=[donation.pk])).content.decode()

    assert "Why processing stopped" in text
    assert (
        "This was a problem on our side, not with your file. An administrator will retry it; "
        "you do not need to do anything."
    ) in text
    assert "Donate a corrected file" not in text


def test_every_rejection_code_has_its_own_advice_and_unknown_codes_get_the_general_one():
    general = advice_for("no.such_code")
    assert str(general.text) == (
        "Read the reason above, fix the file and upload it again. If you think the file is "
        "fine, contact us and quote the reason code."
    )
    for code in [*CODES, "upload.checksum_mismatch", "processing.internal_error"]:
        assert advice_for(code) != general, code


def test_donation_page_shows_the_consent_it_carries_with_receipts_and_withdrawal(
    client, donor, consent_document
):
    event = consent_grant(
        donor=donor,
        document=consent_document,
        scopes=["motion:open_release", "motion:model_training"],
    )
    donation = _donation(donor, DonationStatus.PROCESSING, history=2)
    client.force_login(donor)

    text = client.get(reverse("donations:detail", args=[donation.pk])).content.decode()

    assert "to version 1 of the consent form" in text
    assert "<li>Motion (head, hands, body): Training generative models</li>" in text
    assert "<li>Motion (head, hands, body): Open release to anyone</li>" in text
    assert reverse("consent:receipt", args=[event.pk]) in text
    assert reverse("consent:receipt_json", args=[event.pk]) in text
    assert reverse("donations:withdraw", args=[donation.pk]) in text
    assert 'data-status="processing"' in text
    assert "Nothing: we are checking and anonymizing it." in text


def test_processed_donation_page_has_the_replay_player_and_the_facts(client, donor, preview_bytes):
    donation = _processed(donor, preview_bytes)
    client.force_login(donor)

    text = client.get(reverse("donations:detail", args=[donation.pk])).content.decode()

    assert f'data-src="/donations/{donation.pk}/preview.json"' in text
    assert "3D replay of the anonymized motion" in text
    assert "<dt>Duration</dt><dd>3.00 s</dd>" in text
    assert "<dt>Frame rate</dt><dd>60.00 fps</dd>" in text
    assert "<dt>Frames</dt><dd>180</dd>" in text
    assert 'src="/static/js/donation-status.js"' in text
    assert "<script>" not in text  # no inline script: everything is in static modules


# -- the preview's poses, page and API alike -------------------------------------------------------


def test_donor_gets_the_preview_of_their_processed_donation_privately(client, donor, preview_bytes):
    donation = _processed(donor, preview_bytes)
    client.force_login(donor)

    page = client.get(reverse("donations:preview_motion", args=[donation.pk]))
    api = client.get(reverse("api:donation-preview", args=[donation.pk]))

    for response in (page, api):
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert response["Cache-Control"] == "private, max-age=300"
        assert response.content == preview_bytes
    assert page.json()["facts"]["frame_count"] == 120


def test_donor_gets_404_for_someone_elses_preview_page_json_and_api(
    client, donor, other_donor, preview_bytes
):
    theirs = _processed(other_donor, preview_bytes)
    client.force_login(donor)

    for url in (
        reverse("donations:detail", args=[theirs.pk]),
        reverse("donations:preview_motion", args=[theirs.pk]),
        reverse("donations:preview", args=[theirs.pk]),
        reverse("api:donation-detail", args=[theirs.pk]),
        reverse("api:donation-preview", args=[theirs.pk]),
    ):
        assert client.get(url).status_code == 404, url


@pytest.mark.parametrize(
    "status", [DonationStatus.PROCESSING, DonationStatus.REJECTED, DonationStatus.WITHDRAWN]
)
def test_no_preview_before_processing_or_after_withdrawal(client, donor, preview_bytes, status):
    donation = _processed(donor, preview_bytes, status=status)
    client.force_login(donor)

    assert client.get(reverse("donations:preview_motion", args=[donation.pk])).status_code == 404
    assert client.get(reverse("donations:preview", args=[donation.pk])).status_code == 404
    assert client.get(reverse("api:donation-preview", args=[donation.pk])).status_code == 404
    page = client.get(reverse("donations:detail", args=[donation.pk])).content.decode()
    assert "data-replay data-src" not in page


def test_donation_processed_before_previews_existed_answers_404_for_the_preview(client, donor):
    donation = _processed(donor, None)  # and no trajectory image either
    client.force_login(donor)

    assert client.get(reverse("donations:preview_motion", args=[donation.pk])).status_code == 404
    assert client.get(reverse("donations:preview", args=[donation.pk])).status_code == 404
    assert client.get(reverse("api:donation-preview", args=[donation.pk])).status_code == 404


def test_donor_gets_the_trajectory_image_without_scripts_or_shared_caching(
    client, donor, preview_bytes
):
    donation = _processed(donor, preview_bytes)
    client.force_login(donor)

    image = client.get(reverse("donations:preview", args=[donation.pk]))

    assert image.status_code == 200
    assert image.content == SVG
    assert image["Content-Type"] == "image/svg+xml"
    assert image["Cache-Control"] == "private, max-age=300"
    assert image["Content-Security-Policy"].startswith("default-src 'none'")


def test_preview_needs_a_login(donor, preview_bytes):
    donation = _processed(donor, preview_bytes)
    anonymous = Client()

    page = anonymous.get(reverse("donations:preview_motion", args=[donation.pk]))
    assert page.status_code == 302
    assert page.url.startswith(reverse("account_login"))
    assert anonymous.get(reverse("api:donation-preview", args=[donation.pk])).status_code == 401


def test_preview_api_with_a_malformed_id_answers_404(client, donor):
    client.force_login(donor)
    assert client.get("/api/donations/not-a-uuid/preview/").status_code == 404


def test_dashboard_upload_and_history_pages_name_the_consented_uses_in_plain_words(
    client, donor, consent_document
):
    consent_grant(
        donor=donor,
        document=consent_document,
        scopes=["motion:model_training", "motion:open_release"],
    )
    client.force_login(donor)
    for name in ("donations:dashboard", "donations:upload", "consent:history"):
        page = client.get(reverse(name)).content.decode()
        assert "Motion (head, hands, body): Training generative models" in page
        assert "Motion (head, hands, body): Open release to anyone" in page
        assert "motion:open_release" not in page


def _with_quality(score: int, codes: list[str]) -> dict:  # type: ignore[type-arg]
    return {**SUMMARY, "quality": {"version": 1, "score": score, "codes": codes, "components": {}}}


def test_donation_page_shows_the_quality_score_in_plain_words_with_what_would_improve_it(
    client, donor
):
    donation = _donation(
        donor,
        DonationStatus.PROCESSED,
        history=3,
        summary=_with_quality(62, ["quality.jitter", "quality.mostly_idle"]),
    )
    client.force_login(donor)

    text = client.get(reverse("donations:detail", args=[donation.pk])).content.decode()

    assert "Quality score: 62 out of 100" in text
    assert "formula version 1" in text
    assert "Fair: researchers may leave it out" in text
    assert "What would improve it:" in text
    assert "Trim the still parts at the start and end" in text
    assert "tracking noise" in text


def test_a_donation_processed_before_quality_reports_shows_no_score(client, donor):
    donation = _donation(donor, DonationStatus.PROCESSED, history=3, summary=SUMMARY)
    client.force_login(donor)

    text = client.get(reverse("donations:detail", args=[donation.pk])).content.decode()

    assert "Quality score" not in text


def test_every_quality_code_has_plain_words_advice():
    from processing.motion.quality import QUALITY_CODES

    for code in QUALITY_CODES:
        words = quality_in_words({"quality": {"version": 1, "score": 50, "codes": [code]}})
        assert words is not None
        assert len(words.improvements) == 1, code

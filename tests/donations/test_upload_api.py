"""The upload API over real services: moto's S3 over HTTP, PostgreSQL, Redis (throttles), and a
real Celery worker for the end of the journey; plus the local-disk mode's Django part endpoint."""

import functools

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts.services import user_create_verified
from consent.services import consent_grant
from donations.models import Donation, DonationStatus, UploadSession
from donations.uploads import sha256_base64
from processing.motion.synthetic import synthetic_bvh
from tests.conftest import bucket_keys, wait_for
from tests.donations.uploading import (
    MIB,
    complete,
    open_upload,
    part_bytes,
    put_part,
    send_part,
    sha256_hex,
    sign,
    use_local_storage,
)

MOTION_SCOPES = ["motion:open_release", "motion:model_training"]
SETTLED = {DonationStatus.PROCESSED, DonationStatus.REJECTED, DonationStatus.FAILED}


@pytest.fixture
def consenting(donor, consent_document):
    consent_grant(donor=donor, document=consent_document, scopes=MOTION_SCOPES)
    return donor


@pytest.fixture
def donor_client(consenting):
    client = Client()
    client.force_login(consenting)
    return client


@pytest.fixture
def local_storage(settings, tmp_path):
    """The embedded default: local-disk object storage, and small parts for quick tests."""
    return use_local_storage(settings, tmp_path)


def _bvh_of_at_least(size: int) -> bytes:
    seconds = 10
    while True:
        content = synthetic_bvh(seconds=seconds, fps=90, seed=5).encode()
        if len(content) > size:
            return content
        seconds *= 2


def _run_cleanup_only(callbacks) -> None:  # type: ignore[no-untyped-def]
    """Run the after-commit storage cleanups but not the processing enqueue (no worker here)."""
    for callback in callbacks:
        if isinstance(callback, functools.partial) and callback.func.__name__ == "delay":
            continue
        callback()


def _wait_until_settled(donation_id: str) -> Donation:
    wait_for(
        lambda: Donation.objects.get(pk=donation_id).status in SETTLED,
        timeout=120,
        what="the worker to process the donation",
    )
    return Donation.objects.get(pk=donation_id)


# --- S3 (moto over HTTP), through to the worker -------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_multipart_upload_resumes_completes_idempotently_and_the_worker_verifies_it(
    donor_client, celery_worker, settings
):
    settings.UPLOAD_PART_SIZE = 5 * MIB
    content = _bvh_of_at_least(5 * MIB + 1)
    opened = open_upload(donor_client, ("motion", content, "bvh"))
    [session] = opened["sessions"]
    assert (session["part_size"], session["part_count"]) == (5 * MIB, 2)

    # Part 1 goes, then the connection "drops": the listing tells what is already stored.
    send_part(donor_client, session, content, 1)
    listed = donor_client.get(reverse("api:upload-parts", args=[session["id"]])).json()
    assert [(p["part_number"], p["size"]) for p in listed] == [(1, 5 * MIB)]
    send_part(donor_client, session, content, 2)

    first = complete(donor_client, session["id"])
    assert first.status_code == 200, first.content
    assert first.json()["donation_status"] == DonationStatus.UPLOADED
    second = complete(donor_client, session["id"])
    assert second.status_code == 200
    assert second.json() == first.json()

    donation = _wait_until_settled(opened["donation"])
    assert donation.status == DonationStatus.PROCESSED, donation.problem_message
    [stored] = donation.files.all()
    assert stored.storage_key == f"raw/{donation.pk}/{stored.pk}"
    assert stored.size == len(content)
    assert stored.sha256 == sha256_hex(content)  # recorded by the worker
    assert stored.storage_key in bucket_keys()
    moves = [(h.from_status, h.to_status) for h in donation.history.all()]
    assert moves[0] == ("created", "uploaded")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_part_whose_bytes_differ_from_its_signed_checksum_ends_rejected(
    donor_client, celery_worker, settings
):
    settings.UPLOAD_PART_SIZE = 5 * MIB
    content = _bvh_of_at_least(5 * MIB + 1)
    opened = open_upload(donor_client, ("motion", content, "bvh"))
    [session] = opened["sessions"]
    send_part(donor_client, session, content, 1)
    genuine = part_bytes(content, session, 2)
    corrupted = bytes(b ^ 1 for b in genuine[:16]) + genuine[16:]
    send_part(donor_client, session, content, 2, body=corrupted)  # moto does not verify it
    assert complete(donor_client, session["id"]).status_code == 200

    donation = _wait_until_settled(opened["donation"])
    assert donation.status == DonationStatus.REJECTED
    assert donation.problem_code == "upload.checksum_mismatch"
    assert donation.problem_message == (
        "A stored file does not match what was uploaded. Please upload it again."
    )
    assert donation.files.get().sha256 == ""


# --- Checks and bad input -------------------------------------------------------------------


@pytest.mark.django_db
def test_opening_an_upload_checks_type_size_and_consent_with_reasons(
    client, donor, consent_document, settings
):
    client.force_login(donor)
    url = reverse("api:upload-list")

    def attempt(**spec):  # type: ignore[no-untyped-def]
        body = {"files": [{"kind": "motion", "size": 100, "extension": "bvh", **spec}]}
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 400
        return response.json()["detail"]

    assert attempt() == "Please give your consent before donating a recording."
    consent_grant(donor=donor, document=consent_document, scopes=MOTION_SCOPES)
    assert attempt(extension="mp4") == (
        "A motion file must end in one of .bvh, .bsor, .xror, .json, .csv."
    )
    assert attempt(content_type="video/mp4") == (
        "The motion file looks like video/mp4, not a motion recording."
    )
    assert attempt(size=0) == "The motion file is empty."
    settings.MAX_UPLOAD_BYTES = 4 * 1024 * MIB
    assert attempt(size=4 * 1024 * MIB + 1) == "The motion file is larger than the 4096 MB limit."
    audio = client.post(
        url,
        {
            "files": [
                {"kind": "motion", "size": 100, "extension": "bvh"},
                {"kind": "audio", "size": 100, "extension": "wav"},
            ]
        },
        content_type="application/json",
    )
    assert audio.json()["detail"] == (
        "Your consent does not cover voice audio. Upload the motion alone, or change your "
        "consent first."
    )
    assert not Donation.objects.exists()


@pytest.mark.django_db
def test_signing_needs_a_base64_sha256_and_a_part_number_in_range(donor_client):
    opened = open_upload(donor_client, ("motion", b"HIERARCHY\n" * 10, "bvh"))
    session_id = opened["sessions"][0]["id"]
    url = reverse("api:upload-part-sign", args=[session_id, 1])
    bad = donor_client.post(url, {"checksum_sha256": "abc"}, content_type="application/json")
    assert bad.status_code == 400
    assert bad.json()["detail"] == "The checksum must be the part's SHA-256, base64-encoded."
    beyond = sign(donor_client, session_id, 2, b"x")
    assert beyond.status_code == 400
    assert beyond.json()["detail"] == "Part numbers of this upload go from 1 to 1."


# --- Local-disk storage: the Django part endpoint ------------------------------------------------


@pytest.mark.django_db
def test_local_part_endpoint_refuses_a_body_larger_than_a_part_before_reading_it(
    donor_client, local_storage
):
    content = b"x" * (150 * 1024)
    [session] = open_upload(donor_client, ("motion", content, "bvh"))["sessions"]
    signed = sign(donor_client, session["id"], 1, part_bytes(content, session, 1)).json()
    # Declares 10 GB but carries 10 bytes: reading it would fail the test client's payload.
    response = Client().put(
        signed["url"],
        b"0123456789",
        content_type="application/octet-stream",
        headers=signed["headers"],
        CONTENT_LENGTH=str(10 * 1024**3),
    )
    assert response.status_code == 413
    assert response.json()["detail"] == "A part may hold at most 65536 bytes."


@pytest.mark.django_db
def test_local_part_with_a_wrong_checksum_is_refused_and_not_stored(donor_client, local_storage):
    content = b"y" * (150 * 1024)
    [session] = open_upload(donor_client, ("motion", content, "bvh"))["sessions"]
    genuine = part_bytes(content, session, 1)
    signed = sign(donor_client, session["id"], 1, genuine).json()
    response = put_part(Client(), signed, b"z" * len(genuine))
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "The part's content does not match its SHA-256 checksum; it was not stored. "
        "Send the part again."
    )
    assert donor_client.get(reverse("api:upload-parts", args=[session["id"]])).json() == []


@pytest.mark.django_db
def test_local_upload_resumes_from_stored_parts_and_completion_concatenates_them(
    donor_client, local_storage, django_capture_on_commit_callbacks
):
    content = bytes(range(256)) * 600  # 153,600 bytes: parts of 65,536, 65,536 and 22,528
    [session] = open_upload(donor_client, ("motion", content, "bvh"))["sessions"]
    assert session["part_count"] == 3
    stored = send_part(donor_client, session, content, 1)
    assert stored["ETag"]
    send_part(donor_client, session, content, 3)
    parts = donor_client.get(reverse("api:upload-parts", args=[session["id"]])).json()
    assert [(p["part_number"], p["size"]) for p in parts] == [(1, 65536), (3, 22528)]

    early = complete(donor_client, session["id"])
    assert early.status_code == 400
    assert early.json()["detail"] == "Some parts are missing (2). Upload them, then complete again."

    send_part(donor_client, session, content, 2)
    with django_capture_on_commit_callbacks() as callbacks:
        done = complete(donor_client, session["id"])
    assert done.status_code == 200
    assert done.json()["donation_status"] == DonationStatus.UPLOADED
    _run_cleanup_only(callbacks)

    upload = UploadSession.objects.get(pk=session["id"])
    assert (local_storage / upload.storage_key).read_bytes() == content
    assert not (local_storage / "uploads").exists()  # no empty folder is left behind
    assert complete(donor_client, session["id"]).json() == done.json()


# --- Authorization, CSRF, token auth, throttling ----------------------------------------------


@pytest.mark.django_db
def test_another_donor_gets_404_for_every_upload_endpoint_of_someone_elses_session(
    donor_client, consent_document, local_storage
):
    content = b"a" * 1000
    [session] = open_upload(donor_client, ("motion", content, "bvh"))["sessions"]
    intruder = user_create_verified(email="intruder@example.org", password="pw-intruder-2026-x")
    consent_grant(donor=intruder, document=consent_document, scopes=MOTION_SCOPES)
    other = Client()
    other.force_login(intruder)
    sid = session["id"]

    assert other.get(reverse("api:upload-detail", args=[sid])).status_code == 404
    assert other.get(reverse("api:upload-parts", args=[sid])).status_code == 404
    assert sign(other, sid, 1, content).status_code == 404
    assert complete(other, sid).status_code == 404
    assert other.post(reverse("api:upload-abort", args=[sid])).status_code == 404

    # A part URL signed for the intruder's own session does not open the donor's.
    [own] = open_upload(other, ("motion", content, "bvh"))["sessions"]
    signed = sign(other, own["id"], 1, content).json()
    forged = signed["url"].replace(own["id"], sid)
    response = other.put(
        forged, content, content_type="application/octet-stream", headers=signed["headers"]
    )
    assert response.status_code == 404
    unsigned = other.put(
        reverse("donations:upload_part", args=[sid, 1]),
        content,
        content_type="application/octet-stream",
    )
    assert unsigned.status_code == 404
    assert UploadSession.objects.get(pk=sid).status == UploadSession.Status.OPEN


@pytest.mark.django_db
def test_session_authenticated_posts_need_a_csrf_token_and_token_auth_does_not(consenting):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(consenting)
    body = {"files": [{"kind": "motion", "size": 10, "extension": "bvh"}]}
    refused = browser.post(reverse("api:upload-list"), body, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "CSRF Failed: CSRF cookie not set."

    token = Token.objects.create(user=consenting)
    script = Client(enforce_csrf_checks=True)
    accepted = script.post(
        reverse("api:upload-list"),
        body,
        content_type="application/json",
        headers={"Authorization": f"Token {token.key}"},
    )
    assert accepted.status_code == 201


@pytest.mark.django_db
def test_opening_uploads_is_rate_limited_per_user_on_the_shared_cache(donor_client, settings):
    settings.UPLOAD_THROTTLE_RATES = {"upload_open": "2/hour", "upload_part": "100/minute"}
    for _ in range(2):
        open_upload(donor_client, ("motion", b"HIERARCHY\n", "bvh"))
    response = donor_client.post(
        reverse("api:upload-list"),
        {"files": [{"kind": "motion", "size": 10, "extension": "bvh"}]},
        content_type="application/json",
    )
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Request was throttled.")
    assert Donation.objects.count() == 2


@pytest.mark.django_db
def test_listing_parts_takes_a_fixed_number_of_queries(
    donor_client, local_storage, django_assert_num_queries
):
    content = b"q" * (200 * 1024)
    [session] = open_upload(donor_client, ("motion", content, "bvh"))["sessions"]
    for number in (1, 2, 3):
        send_part(donor_client, session, content, number)
    # Session and user of the login, then the upload session itself.
    with django_assert_num_queries(3):
        parts = donor_client.get(reverse("api:upload-parts", args=[session["id"]])).json()
    assert [p["part_number"] for p in parts] == [1, 2, 3]


@pytest.mark.django_db
def test_the_upload_api_is_described_in_the_schema(client):
    schema = client.get(reverse("schema")).content.decode()
    for path in (
        "/api/uploads/:",
        "/api/uploads/{session_id}/parts/:",
        "/api/uploads/{session_id}/parts/{part_number}/sign/:",
        "/api/uploads/{session_id}/complete/:",
        "/api/uploads/{session_id}/abort/:",
    ):
        assert path in schema


def test_checksums_are_base64_sha256_as_s3_spells_them():
    assert sha256_base64(b"") == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

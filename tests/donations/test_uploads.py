"""Upload services on moto's S3 over HTTP: cancel, abandoned sessions, and the beat schedule."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from consent.services import consent_grant
from donations.models import DonationStatus, UploadSession
from donations.services import donation_transition
from donations.uploads import upload_sessions_abort_abandoned
from metagen.celery import app
from tests.conftest import s3_client
from tests.donations.uploading import complete, open_upload, send_part

pytestmark = pytest.mark.django_db


@pytest.fixture
def donor_client(donor, consent_document):
    consent_grant(
        donor=donor,
        document=consent_document,
        scopes=["motion:open_release", "audio:open_release"],
    )
    client = Client()
    client.force_login(donor)
    return client


def _open_multipart_uploads() -> list[str]:
    bucket = settings.STORAGES["default"]["OPTIONS"]["bucket_name"]
    uploads = s3_client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return sorted(u["Key"] for u in uploads)


def test_sessions_left_open_past_expiry_are_aborted_and_their_donation_abandoned(
    donor_client, django_capture_on_commit_callbacks
):
    content = b"HIERARCHY\n" * 100
    opened = open_upload(donor_client, ("motion", content, "bvh"))
    [session] = opened["sessions"]
    send_part(donor_client, session, content, 1)
    upload = UploadSession.objects.get(pk=session["id"])
    assert upload.storage_key in _open_multipart_uploads()

    fresh = open_upload(donor_client, ("motion", content, "bvh"))  # not expired: left alone
    UploadSession.objects.filter(pk=upload.pk).update(
        expires_at=timezone.now() - timezone.timedelta(minutes=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert upload_sessions_abort_abandoned() == 1

    upload.refresh_from_db()
    assert upload.status == UploadSession.Status.ABORTED
    assert upload.donation.status == DonationStatus.ABANDONED
    assert [(h.from_status, h.to_status, h.note) for h in upload.donation.history.all()] == [
        ("created", "abandoned", "upload abandoned")
    ]
    assert upload.storage_key not in _open_multipart_uploads()
    assert UploadSession.objects.get(pk=fresh["sessions"][0]["id"]).status == "open"
    # Idempotent: nothing more to do on the next run.
    with django_capture_on_commit_callbacks(execute=True):
        assert upload_sessions_abort_abandoned() == 0


def test_open_sessions_of_a_withdrawn_donation_are_aborted_and_it_stays_withdrawn(
    donor_client, django_capture_on_commit_callbacks
):
    opened = open_upload(donor_client, ("motion", b"x" * 100, "bvh"))
    upload = UploadSession.objects.get(pk=opened["sessions"][0]["id"])
    donation_transition(donation=upload.donation, to_status=DonationStatus.WITHDRAWN)
    with django_capture_on_commit_callbacks(execute=True):
        assert upload_sessions_abort_abandoned() == 1
    upload.refresh_from_db()
    assert upload.status == UploadSession.Status.ABORTED
    assert upload.donation.status == DonationStatus.WITHDRAWN
    assert upload.storage_key not in _open_multipart_uploads()


def test_cancelling_aborts_every_file_of_the_donation_once_and_completing_then_fails(
    donor_client, django_capture_on_commit_callbacks
):
    motion, audio = b"m" * 100, b"RIFF" + b"a" * 96
    opened = open_upload(donor_client, ("motion", motion, "bvh"), ("audio", audio, "wav"))
    first, second = (s["id"] for s in opened["sessions"])
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = donor_client.post(reverse("api:upload-abort", args=[first]))
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "aborted"
    assert cancelled.json()["donation_status"] == DonationStatus.ABANDONED
    assert UploadSession.objects.get(pk=second).status == UploadSession.Status.ABORTED
    keys = set(UploadSession.objects.values_list("storage_key", flat=True))
    assert not keys & set(_open_multipart_uploads())
    again = donor_client.post(reverse("api:upload-abort", args=[second]))
    assert again.status_code == 200
    late = complete(donor_client, first)
    assert late.status_code == 400
    assert late.json()["detail"] == "This upload was cancelled. Please start again."


def test_the_abandoned_upload_task_is_scheduled_hourly_by_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["abort-abandoned-uploads"]
    assert entry["schedule"] == 60 * 60
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks

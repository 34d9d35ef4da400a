"""One recording's whole journey on the real stack (issue 2): PostgreSQL, Redis, moto's S3
server over HTTP and a real Celery worker process. Nothing is mocked or run eagerly."""

import hashlib
import json
import re

import pyarrow.parquet as pq
import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from consent.models import ConsentDocument, ConsentEvent
from consent.selectors import consent_document_get_current
from donations.models import Donation, DonationStatus
from processing.motion.synthetic import synthetic_bvh
from releases.models import Release
from tests.conftest import bucket_keys, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-donor-passphrase-2026"
SETTLED = {DonationStatus.PROCESSED, DonationStatus.REJECTED, DonationStatus.FAILED}


def _sign_up_and_verify(client: Client, mailoutbox: list, email: str) -> None:
    response = client.post(
        reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")

    # Mandatory verification: no way in before the link is followed.
    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert response.url == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session

    [message] = mailoutbox
    link = re.search(r"https?://[^/]+(/accounts/confirm-email/[^/\s]+/)", message.body).group(1)
    assert client.get(link).status_code == 200
    response = client.post(link)
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def _grant_consent(client: Client) -> None:
    page = client.get(reverse("consent:form"))
    assert page.status_code == 200
    assert b"Motion can identify you" in page.content
    response = client.post(
        reverse("consent:form"),
        {
            "motion:open_release": "on",
            "motion:model_training": "on",
            "credit": "anonymous",
            "understood": "on",
        },
    )
    assert response.status_code == 302


def _upload(client: Client, name: str, content: bytes) -> Donation:
    """The upload protocol as a script speaks it: open, sign and PUT each part, complete."""
    from tests.donations.uploading import complete, open_upload, send_part

    opened = open_upload(client, ("motion", content, name.rsplit(".", 1)[1]))
    [session] = opened["sessions"]
    for number in range(1, session["part_count"] + 1):
        send_part(client, session, content, number)
    assert complete(client, session["id"]).status_code == 200
    return Donation.objects.get()


def _wait_until_settled(donation: Donation) -> Donation:
    wait_for(
        lambda: Donation.objects.get(pk=donation.pk).status in SETTLED,
        timeout=90,
        what="the worker to process the donation",
    )
    return Donation.objects.get(pk=donation.pk)


def test_a_recording_travels_from_donor_to_researcher(
    client, mailoutbox, celery_worker, consent_document, dataset, curator
):
    # 1. Sign up, verify the email, log in.
    _sign_up_and_verify(client, mailoutbox, "volunteer@example.org")

    # 2. Read the consent document and grant scopes: an append-only event.
    _grant_consent(client)
    [event] = ConsentEvent.objects.all()
    assert event.action == ConsentEvent.Action.GRANT
    assert event.scopes == ["motion:model_training", "motion:open_release"]
    # Under the form in force (the migrations' newest version, or the fixture's when the
    # database was flushed), with the hash of exactly the text the donor read.
    current = consent_document_get_current()
    assert event.document == current
    assert event.document_sha256 == ConsentDocument.hash_text(current.text)

    # 3. Upload a BVH file in parts: stored under a server-generated key with its size.
    content = synthetic_bvh(seconds=5, fps=90, seed=7).encode()
    donation = _upload(client, "my-session-with-alice.bvh", content)
    [stored] = donation.files.all()
    assert stored.storage_key == f"raw/{donation.pk}/{stored.pk}"
    assert "alice" not in stored.storage_key
    assert stored.size == len(content)
    assert stored.storage_key in bucket_keys()

    # 4. A worker verifies and processes it: uploaded -> processing -> processed.
    donation = _wait_until_settled(donation)
    assert donation.status == DonationStatus.PROCESSED, donation.problem_message
    assert donation.files.get().sha256 == hashlib.sha256(content).hexdigest()
    moves = [(h.from_status, h.to_status) for h in donation.history.all()]
    assert moves == [
        ("created", "uploaded"),
        ("uploaded", "processing"),
        ("processing", "processed"),
    ]
    with default_storage.open(f"{donation.artifact_prefix}motion.parquet") as fh:
        table = pq.read_table(fh)
    assert table.column_names[:3] == ["track", "frame", "t"]
    with default_storage.open(f"{donation.artifact_prefix}metadata.json") as fh:
        metadata = json.load(fh)
    assert metadata["frame_count"] == 450
    assert metadata["frame_rate"] == pytest.approx(90, rel=1e-3)
    page = client.get(reverse("donations:detail", args=[donation.pk]))
    assert b"Processed" in page.content

    # 5. A curator accepts it and publishes a release containing it.
    curator_client = Client()
    curator_client.force_login(curator)
    response = curator_client.post(
        reverse("donations:review", args=[donation.pk]), {"decision": "accept"}
    )
    assert response.status_code == 302
    donation.refresh_from_db()
    assert donation.status == DonationStatus.ACCEPTED

    curator_client.post(reverse("releases:create"), {"dataset": dataset.slug, "version": "1.0.0"})
    release = wait_for(
        lambda: Release.objects.filter(status=Release.Status.BUILT).first(),
        timeout=90,
        what="the worker to build the release",
    )
    curator_client.post(reverse("releases:publish", args=[release.pk]))
    release.refresh_from_db()
    assert release.status == Release.Status.PUBLISHED
    [item] = release.items.all()
    assert item.donation_id == donation.pk
    assert item.consent_event_id == event.pk
    prefix = f"releases/{dataset.slug}/1.0.0/"
    assert f"{prefix}manifest.json" in bucket_keys()

    # 6. A researcher downloads every file; the bytes match the manifest.
    researcher = Client()
    page = researcher.get(reverse("releases:release", args=[dataset.slug, "1.0.0"]))
    assert page.status_code == 200
    manifest_bytes = b"".join(
        researcher.get(
            reverse("releases:file", args=[dataset.slug, "1.0.0", "manifest.json"])
        ).streaming_content
    )
    assert hashlib.sha256(manifest_bytes).hexdigest() == release.manifest_sha256
    manifest = json.loads(manifest_bytes)
    assert {f["path"] for f in manifest["files"]} >= {
        "data/motion-00000.parquet",
        "recordings.parquet",
    }
    for entry in manifest["files"]:
        response = researcher.get(
            reverse("releases:file", args=[dataset.slug, "1.0.0", entry["path"]])
        )
        assert response.status_code == 200
        body = b"".join(response.streaming_content)
        assert len(body) == entry["size"]
        assert hashlib.sha256(body).hexdigest() == entry["sha256"]


def test_a_malformed_bvh_is_rejected_with_a_reason_the_donor_sees(
    client, donor, celery_worker, consent_document
):
    client.force_login(donor)
    _grant_consent(client)
    # Declares 120 frames but the motion block stops after 60: a cut-short export.
    text = synthetic_bvh(seconds=2, fps=60, seed=1)
    head, motion = text.split("Frame Time:", 1)
    lines = motion.splitlines()
    truncated = head + "Frame Time:" + "\n".join(lines[:61]) + "\n"
    donation = _upload(client, "broken.bvh", truncated.encode())

    donation = _wait_until_settled(donation)
    assert donation.status == DonationStatus.REJECTED
    assert donation.problem_code == "bvh.frame_count_mismatch"
    page = client.get(reverse("donations:detail", args=[donation.pk]))
    assert page.status_code == 200
    assert escape(donation.problem_message).encode() in page.content
    assert "120" in donation.problem_message

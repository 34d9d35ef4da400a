"""How long raw uploads of rejected donations live (REJECTED_RAW_RETENTION_DAYS), and the beat
task that enforces it, on moto's S3 and on the local disk."""

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from donations.models import Donation, DonationFile, DonationStatus
from donations.selectors import donation_list_rejected_raw_due
from donations.services import donation_raw_purge_rejected
from metagen.celery import app
from tests.conftest import bucket_keys
from tests.donations.uploading import use_local_storage

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _donation(donor, status: str, *, days_ago: float, audio: bool = False) -> Donation:  # type: ignore[no-untyped-def]
    """A donation in `status`, last changed `days_ago`, with its raw files in storage."""
    donation = Donation.objects.create(donor=donor, status=status, problem_code="x")
    kinds = [DonationFile.Kind.MOTION] + ([DonationFile.Kind.AUDIO] if audio else [])
    for kind in kinds:
        file_id = uuid.uuid4()
        key = f"raw/{donation.pk}/{file_id}"
        assert default_storage.save(key, ContentFile(b"recording")) == key
        DonationFile.objects.create(
            id=file_id, donation=donation, kind=kind, storage_key=key, size=9, sha256="0" * 64
        )
    Donation.objects.filter(pk=donation.pk).update(
        updated_at=timezone.now() - timedelta(days=days_ago)
    )
    return donation


def _raw_keys(donation: Donation) -> list[str]:
    return sorted(donation.files.values_list("storage_key", flat=True))


def test_raw_files_of_donations_rejected_past_the_retention_are_deleted_and_recorded(donor):
    days = settings.REJECTED_RAW_RETENTION_DAYS
    due = [
        _donation(donor, DonationStatus.REJECTED, days_ago=days + 1, audio=True),
        _donation(donor, DonationStatus.REJECTED, days_ago=days + 30),
        _donation(donor, DonationStatus.REJECTED, days_ago=days + 2),
    ]
    recent = _donation(donor, DonationStatus.REJECTED, days_ago=days - 1)
    processed = _donation(donor, DonationStatus.PROCESSED, days_ago=days + 30)

    assert donation_raw_purge_rejected(batch_size=2) == 3

    kept = set(bucket_keys())
    for donation in due:
        donation.refresh_from_db()
        assert donation.raw_deleted_at is not None
        assert not set(_raw_keys(donation)) & kept
        assert donation.files.count() in {1, 2}  # the rows stay as the record
        assert donation.status == DonationStatus.REJECTED
    assert kept == set(_raw_keys(recent) + _raw_keys(processed))
    recent.refresh_from_db()
    assert recent.raw_deleted_at is None
    # Idempotent: nothing more to do, and the marks do not move.
    marks = {d.pk: Donation.objects.get(pk=d.pk).raw_deleted_at for d in due}
    assert donation_raw_purge_rejected(batch_size=2) == 0
    assert marks == {d.pk: Donation.objects.get(pk=d.pk).raw_deleted_at for d in due}


def test_the_purge_works_in_bounded_batches_with_a_fixed_number_of_queries(
    donor, django_assert_num_queries
):
    days = settings.REJECTED_RAW_RETENTION_DAYS
    for i in range(5):
        _donation(donor, DonationStatus.REJECTED, days_ago=days + 1 + i)

    # Per batch: the ids (one index range), their keys, the mark (in a savepoint under the
    # test's transaction); files are deleted with one S3 request per batch.
    with django_assert_num_queries(2 * (3 + 2)):
        assert donation_raw_purge_rejected(batch_size=2, max_batches=2) == 4
    # The oldest rejections went first; the next run goes on where this one stopped.
    [left] = donation_list_rejected_raw_due(rejected_before=timezone.now())
    assert left.updated_at == max(
        Donation.objects.filter(status=DonationStatus.REJECTED).values_list("updated_at", flat=True)
    )
    assert donation_raw_purge_rejected(batch_size=2, max_batches=2) == 1


def test_the_purge_reads_rejected_donations_through_its_partial_index(donor):
    _donation(donor, DonationStatus.REJECTED, days_ago=40)
    due = donation_list_rejected_raw_due(rejected_before=timezone.now()).values_list("pk")[:500]
    with transaction.atomic():
        with connection.cursor() as cursor:
            # A tiny table is cheapest to scan whole; forbid that to see which index serves.
            cursor.execute("SET LOCAL enable_seqscan = off")
        plan = due.explain()
    assert "donation_rejected_raw_kept" in plan, plan


def test_on_local_disk_the_purge_leaves_no_empty_raw_folder(donor, settings, tmp_path):
    root = use_local_storage(settings, tmp_path)
    old = _donation(donor, DonationStatus.REJECTED, days_ago=40, audio=True)
    other = _donation(donor, DonationStatus.REJECTED, days_ago=1)

    assert donation_raw_purge_rejected() == 1

    assert not (root / "raw" / str(old.pk)).exists()
    assert [p.name for p in (root / "raw").iterdir()] == [str(other.pk)]


def test_the_donor_is_told_how_long_a_rejected_file_is_kept_and_when_it_was_deleted(donor):
    days = settings.REJECTED_RAW_RETENTION_DAYS
    donation = _donation(donor, DonationStatus.REJECTED, days_ago=days + 1)
    client = Client()
    client.force_login(donor)
    page = reverse("donations:detail", args=[donation.pk])

    before = client.get(page).content.decode()
    assert f"We keep the file you uploaded for {days} days after the refusal" in before
    assert f"We keep the file of a refused recording for {days} days" in (
        client.get(reverse("processing:formats")).content.decode()
    )
    donation_raw_purge_rejected()
    after = client.get(page).content.decode()
    assert "The file you uploaded was deleted on" in after
    assert "We keep the file you uploaded" not in after


def test_the_purge_task_is_scheduled_hourly_by_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["purge-rejected-raw"]
    assert entry == {"task": "donations.purge_rejected_raw", "schedule": 60 * 60}
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks


def test_the_embedded_default_runs_beat_with_its_schedule_under_var():
    run = (ROOT / "scripts" / "run").read_text()
    [worker] = [line for line in run.splitlines() if "celery -A metagen worker" in line]
    assert " -B " in worker
    assert "--schedule var/" in worker

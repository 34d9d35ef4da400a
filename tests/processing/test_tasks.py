"""The processing task against real worker processes: crash recovery, transient storage errors,
time limits. Each test commits its rows so the workers see them."""

import os
import signal
from pathlib import Path

import pytest

from donations.models import Donation, DonationStatus
from donations.services import donation_retry
from processing.motion.synthetic import synthetic_bvh
from processing.tasks import process_donation
from tests.conftest import bucket_keys, wait_for
from tests.factories import donation_with_stored_file

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _uploaded_donation(donor, content: bytes) -> Donation:
    """A donation in `uploaded` with its raw object stored, and nothing enqueued yet."""
    return donation_with_stored_file(donor=donor, status=DonationStatus.UPLOADED, content=content)


def _status(donation: Donation) -> str:
    return Donation.objects.values_list("status", flat=True).get(pk=donation.pk)


def _moves(donation: Donation) -> list[tuple[str, str]]:
    return [(h.from_status, h.to_status) for h in donation.history.order_by("created_at", "id")]


def _pool_children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def test_a_worker_killed_mid_processing_is_replaced_and_the_donation_still_ends_processed(
    donor, celery_worker
):
    # Large enough that processing lasts long enough to be interrupted.
    donation = _uploaded_donation(donor, synthetic_bvh(seconds=600, fps=120, seed=5).encode())
    process_donation.delay(str(donation.pk))

    wait_for(lambda: _status(donation) == DonationStatus.PROCESSING, timeout=60, what="processing")
    for child in _pool_children(celery_worker.pid):
        os.kill(child, signal.SIGKILL)

    # Late acknowledgement + reject_on_worker_lost: the message is redelivered, not lost.
    wait_for(
        lambda: _status(donation) in {DonationStatus.PROCESSED, DonationStatus.FAILED},
        timeout=180,
        what="the redelivered task to finish",
    )
    donation.refresh_from_db()
    assert donation.status == DonationStatus.PROCESSED, donation.problem_message
    assert _moves(donation) == [("uploaded", "processing"), ("processing", "processed")]
    prefix = donation.artifact_prefix
    assert {f"{prefix}motion.parquet", f"{prefix}metadata.json", f"{prefix}preview.svg"} <= set(
        bucket_keys()
    )


def test_transient_storage_errors_are_retried_then_fail_and_an_admin_retry_finishes_it(
    donor, curator, celery_worker, worker_factory
):
    worker_factory(
        name="unreachable-storage",
        queue="metagen-test-unreachable",
        env={
            "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9",
            "PROCESSING_MAX_RETRIES": "2",
            "PROCESSING_RETRY_BACKOFF_S": "0.1",
        },
    )
    donation = _uploaded_donation(donor, synthetic_bvh(seconds=2, fps=60).encode())
    process_donation.apply_async(args=[str(donation.pk)], queue="metagen-test-unreachable")

    wait_for(lambda: _status(donation) == DonationStatus.FAILED, timeout=120, what="failed")
    donation.refresh_from_db()
    assert donation.problem_code == "processing.storage_unavailable"
    assert "you do not need to act" in donation.problem_message

    donation_retry(donation=donation, actor=curator)  # storage is back: the normal worker
    wait_for(lambda: _status(donation) == DonationStatus.PROCESSED, timeout=60, what="processed")
    assert _moves(donation) == [
        ("uploaded", "processing"),
        ("processing", "failed"),
        ("failed", "uploaded"),
        ("uploaded", "processing"),
        ("processing", "processed"),
    ]


def test_processing_past_the_soft_time_limit_ends_failed_with_a_reason(donor, celery_worker):
    # About 60 MB of BVH: well over a second to download and convert, so a 0.2 s soft limit
    # (limits travel in the message) strikes mid-way, wherever that is.
    donation = _uploaded_donation(donor, synthetic_bvh(seconds=1800, fps=120, seed=6).encode())
    process_donation.apply_async(args=[str(donation.pk)], soft_time_limit=0.2, time_limit=60)

    wait_for(
        lambda: _status(donation) not in {DonationStatus.UPLOADED, DonationStatus.PROCESSING},
        timeout=120,
        what="processing to stop",
    )
    donation.refresh_from_db()
    assert donation.status == DonationStatus.FAILED
    assert donation.problem_code == "processing.timeout"
    assert not [k for k in bucket_keys() if k.startswith("processed/")]

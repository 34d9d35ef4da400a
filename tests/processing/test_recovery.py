"""Nothing stays stuck: the sweeper re-queues donations whose message was lost, takes over runs
that died, and a late run cannot finish a donation taken from it. Passing faults (database,
full disk) are retried and end with their own code. Real PostgreSQL, Redis, S3 and workers."""

import errno
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from django.db import OperationalError, connections
from django.utils import timezone

from donations.models import Donation, DonationStatus
from metagen.faults import Fault, fault_of
from processing import problems
from processing.motion.synthetic import synthetic_bvh
from processing.recovery import donation_fault, donations_requeue_stuck
from processing.services import donation_fail, donation_process, donation_processing_claim
from tests.conftest import broker_unreachable, closed_port, wait_for
from tests.factories import donation_with_stored_file

pytestmark = [pytest.mark.django_db(transaction=True)]


def _donation(donor, status: str, **fields) -> Donation:  # type: ignore[no-untyped-def]
    """A donation in `status` with a small stored recording, and no message queued for it."""
    content = synthetic_bvh(seconds=2, fps=60).encode()
    return donation_with_stored_file(donor=donor, status=status, content=content, **fields)


def _age(donation: Donation, seconds: float) -> None:
    Donation.objects.filter(pk=donation.pk).update(
        updated_at=timezone.now() - timedelta(seconds=seconds)
    )


def _status(donation: Donation) -> str:
    return Donation.objects.values_list("status", flat=True).get(pk=donation.pk)


@pytest.mark.integration
def test_a_donation_left_uploaded_without_its_message_is_requeued_and_processed(
    donor, celery_worker, settings
):
    settings.STUCK_GRACE_S = 60
    stuck = _donation(donor, DonationStatus.UPLOADED)
    _age(stuck, 120)
    waiting = _donation(donor, DonationStatus.UPLOADED)  # within the grace: left alone
    _age(waiting, 10)

    counts = donations_requeue_stuck()

    assert counts == {"uploaded_requeued": 1, "processing_taken_over": 0}
    wait_for(lambda: _status(stuck) == DonationStatus.PROCESSED, timeout=90, what="processed")
    assert _status(waiting) == DonationStatus.UPLOADED


def test_a_requeued_donation_is_not_sent_again_by_the_next_sweep(donor, settings):
    settings.STUCK_GRACE_S = 60
    stuck = _donation(donor, DonationStatus.UPLOADED)
    _age(stuck, 120)

    with broker_unreachable():  # the message is lost again: found, counted, logged
        first = donations_requeue_stuck()
        second = donations_requeue_stuck()

    assert first["uploaded_requeued"] == 1
    assert second["uploaded_requeued"] == 0  # touched: it gets another grace period


def test_the_sweeper_takes_over_a_run_past_its_hard_limit_and_the_late_run_cannot_finish_it(
    donor, settings
):
    settings.STUCK_GRACE_S = 60
    lost_claim = timezone.now() - timedelta(hours=1)
    donation = _donation(donor, DonationStatus.PROCESSING, claimed_at=lost_claim)
    _age(donation, settings.PROCESSING_TIME_LIMIT + 61)
    recent = _donation(donor, DonationStatus.PROCESSING, claimed_at=timezone.now())
    _age(recent, settings.PROCESSING_TIME_LIMIT)  # past the limit, within the grace

    with broker_unreachable():
        counts = donations_requeue_stuck()

    assert counts == {"uploaded_requeued": 0, "processing_taken_over": 1}
    donation.refresh_from_db()
    assert donation.claimed_at > lost_claim
    assert donation.lost_runs == 1
    # The run that held the old claim comes back late: it neither finishes nor fails it.
    assert donation_processing_claim(donation_id=str(donation.pk), claim=lost_claim) is None
    donation_process(donation_id=str(donation.pk), claim=lost_claim)
    donation_fail(donation_id=str(donation.pk), code="x", message="x", claim=lost_claim)
    assert _status(donation) == DonationStatus.PROCESSING
    # The take-over's run (its message carries the new claim) finishes it.
    run = donation_processing_claim(donation_id=str(donation.pk), claim=donation.claimed_at)
    assert donation_process(donation_id=str(donation.pk), claim=run).status == "processed"
    assert _status(recent) == DonationStatus.PROCESSING


@pytest.mark.integration
def test_a_taken_over_donation_is_processed_by_a_worker(donor, celery_worker, settings):
    settings.STUCK_GRACE_S = 0
    donation = _donation(donor, DonationStatus.PROCESSING, claimed_at=timezone.now())
    _age(donation, settings.PROCESSING_TIME_LIMIT + 1)

    assert donations_requeue_stuck()["processing_taken_over"] == 1

    wait_for(lambda: _status(donation) == DonationStatus.PROCESSED, timeout=90, what="processed")
    assert list(donation.history.values_list("to_status", flat=True)) == ["processed"]


def test_a_donation_whose_runs_keep_dying_ends_failed_with_worker_lost(donor):
    donation = _donation(
        donor,
        DonationStatus.PROCESSING,
        claimed_at=timezone.now(),
        lost_runs=problems.MAX_LOST_RUNS,
    )

    # One more redelivery of its first message (no claim): one lost run too many.
    assert donation_processing_claim(donation_id=str(donation.pk)) is None

    donation.refresh_from_db()
    assert (donation.status, donation.problem_code) == ("failed", problems.WORKER_LOST)


def _database_down_error() -> OperationalError:
    broken = connections.create_connection("default")
    broken.settings_dict = {**broken.settings_dict, "PORT": closed_port()}
    with pytest.raises(OperationalError) as caught:
        broken.ensure_connection()
    return caught.value


def _disk_full_error() -> OSError:
    with (
        pytest.raises(OSError, match="No space left on device") as caught,
        open("/dev/full", "wb", buffering=0) as full,
    ):
        full.write(b"x")
    return caught.value


def test_passing_faults_have_one_definition():
    slow_down = ClientError({"Error": {"Code": "SlowDown"}}, "PutObject")
    unavailable = ClientError(
        {"Error": {"Code": "Whatever"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "GetObject"
    )
    missing = ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
    disk_full = _disk_full_error()

    assert disk_full.errno == errno.ENOSPC
    assert fault_of(disk_full) is Fault.DISK_FULL
    assert fault_of(_database_down_error()) is Fault.DATABASE
    assert fault_of(EndpointConnectionError(endpoint_url="http://127.0.0.1:9")) is Fault.STORAGE
    assert fault_of(slow_down) is Fault.STORAGE
    assert fault_of(unavailable) is Fault.STORAGE
    assert fault_of(missing) is None
    assert fault_of(ValueError("a bug")) is None
    assert fault_of(PermissionError(errno.EACCES, "denied")) is None


def test_a_full_disk_is_retried_then_fails_with_its_own_code_and_message(donor, settings):
    settings.PROCESSING_MAX_RETRIES = 2
    claim = timezone.now()
    donation = _donation(donor, DonationStatus.PROCESSING, claimed_at=claim)
    disk_full = _disk_full_error()

    countdowns = [
        donation_fault(donation_id=str(donation.pk), exc=disk_full, attempt=n, claim=str(claim))
        for n in range(2)
    ]
    assert all(c is not None and c > 0 for c in countdowns)
    assert _status(donation) == DonationStatus.PROCESSING

    assert (
        donation_fault(
            donation_id=str(donation.pk), exc=disk_full, attempt=2, claim=claim.isoformat()
        )
        is None
    )
    donation.refresh_from_db()
    assert (donation.status, donation.problem_code) == ("failed", "processing.disk_full")
    assert "ran out of disk space" in donation.problem_message


def test_a_database_outage_is_retried_not_reported_as_an_internal_error(donor, settings):
    claim = timezone.now()
    donation = _donation(donor, DonationStatus.PROCESSING, claimed_at=claim)

    countdown = donation_fault(
        donation_id=str(donation.pk),
        exc=_database_down_error(),
        attempt=0,
        claim=claim.isoformat(),
    )

    assert countdown is not None
    assert _status(donation) == DonationStatus.PROCESSING
    settings.PROCESSING_MAX_RETRIES = 0
    donation_fault(
        donation_id=str(donation.pk),
        exc=_database_down_error(),
        attempt=0,
        claim=claim.isoformat(),
    )
    donation.refresh_from_db()
    assert donation.problem_code == "processing.database_unavailable"

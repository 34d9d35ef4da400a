import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from donations.models import Donation, DonationStatus
from processing.services import (
    _discard_artifacts,
    donation_fail,
    donation_process,
    donation_processing_claim,
)
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", [DonationStatus.UPLOADED, DonationStatus.PROCESSING])
def test_a_donation_stopped_before_or_during_processing_ends_failed_with_its_reason(donor, status):
    donation = Donation.objects.create(donor=donor, status=status)
    donation_fail(donation_id=str(donation.pk), code="processing.timeout", message="Too long.")

    donation.refresh_from_db()
    assert (donation.status, donation.problem_code) == ("failed", "processing.timeout")
    assert [h.to_status for h in donation.history.all()][-1] == "failed"
    assert donation.history.filter(to_status="processing").count() == (
        1 if status == DonationStatus.UPLOADED else 0
    )


@pytest.mark.parametrize("status", [DonationStatus.PROCESSED, DonationStatus.WITHDRAWN])
def test_failing_a_settled_donation_changes_nothing(donor, status):
    donation = Donation.objects.create(donor=donor, status=status)
    donation_fail(donation_id=str(donation.pk), code="processing.timeout", message="Too long.")

    donation.refresh_from_db()
    assert donation.status == status
    assert not donation.history.exists()


def _store(keys: list[str]) -> None:
    for key in keys:
        default_storage.save(key, ContentFile(b"artifact"))


def test_a_late_duplicate_run_keeps_the_artifacts_a_finished_run_gave_the_donation(donor):
    # Two deliveries of one task both ran the pipeline; the first finished, and a curator
    # accepted the donation before the second tried to end it. The second must not delete
    # the (identical, content-addressed) artifacts the donation now points to.
    prefix = "processed/abc/v1/"
    keys = [f"{prefix}motion.parquet", f"{prefix}metadata.json"]
    _store(keys)
    donation = Donation.objects.create(
        donor=donor, status=DonationStatus.ACCEPTED, artifact_prefix=prefix
    )

    _discard_artifacts(donation=donation, prefix=prefix, keys=keys)

    assert all(default_storage.exists(key) for key in keys)


def test_a_run_that_finds_its_donation_withdrawn_deletes_what_it_wrote(donor):
    prefix = "processed/def/v1/"
    keys = [f"{prefix}motion.parquet", f"{prefix}metadata.json"]
    _store(keys)
    donation = Donation.objects.create(donor=donor, status=DonationStatus.WITHDRAWN)

    _discard_artifacts(donation=donation, prefix=prefix, keys=keys)

    assert not any(default_storage.exists(key) for key in keys)


@pytest.mark.django_db(transaction=True)
def test_a_second_run_that_loses_the_race_to_start_leaves_the_donation_to_the_winner(donor):
    import threading

    from django.db import connection, transaction

    from donations.services import donation_transition

    donation = Donation.objects.create(donor=donor, status=DonationStatus.UPLOADED)
    outcome: dict[str, object] = {}

    def second_run() -> None:
        try:
            outcome["donation"] = donation_process(donation_id=str(donation.pk))
        except Exception as exc:  # the test reports what escaped
            outcome["error"] = exc
        finally:
            connection.close()

    # The winner holds the row while it moves the donation to processing; the second run has
    # read `uploaded` and waits on the same row for its own compare-and-set.
    with transaction.atomic():
        Donation.objects.select_for_update().get(pk=donation.pk)
        loser = threading.Thread(target=second_run)
        loser.start()
        wait_for(_waiting_on_donation_row, timeout=30, what="the second run to wait")
        donation_transition(donation=donation, to_status=DonationStatus.PROCESSING)
    loser.join(timeout=30)

    assert "error" not in outcome, outcome.get("error")
    assert outcome["donation"].status == DonationStatus.PROCESSING
    assert Donation.objects.get(pk=donation.pk).status == DonationStatus.PROCESSING
    assert [h.to_status for h in donation.history.all()] == ["processing"]


def _waiting_on_donation_row() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query ILIKE %s",
            ["%UPDATE%donations_donation%"],
        )
        return cursor.fetchone()[0] > 0


def test_a_message_for_a_donation_that_no_longer_exists_claims_nothing():
    import uuid

    assert donation_processing_claim(donation_id=str(uuid.uuid4())) is None

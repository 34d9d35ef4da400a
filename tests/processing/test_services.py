import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from donations.models import Donation, DonationStatus
from processing.services import _discard_artifacts, donation_fail

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

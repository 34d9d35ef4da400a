import pytest

from donations.models import Donation, DonationStatus
from processing.services import donation_fail

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

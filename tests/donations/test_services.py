import pytest

from donations.exceptions import TransitionError
from donations.models import Donation, DonationStatus
from donations.services import donation_transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def donation(donor):
    return Donation.objects.create(donor=donor)


def test_transition_moves_status_and_writes_one_history_row(donation, donor):
    donation_transition(donation=donation, to_status=DonationStatus.UPLOADED, actor=donor)
    donation.refresh_from_db()
    assert donation.status == DonationStatus.UPLOADED
    [change] = donation.history.all()
    assert (change.from_status, change.to_status, change.actor) == ("created", "uploaded", donor)


def test_transition_refuses_a_move_the_state_machine_forbids(donation):
    with pytest.raises(TransitionError, match="cannot go from created to processed"):
        donation_transition(donation=donation, to_status=DonationStatus.PROCESSED)
    donation.refresh_from_db()
    assert donation.status == DonationStatus.CREATED
    assert not donation.history.exists()


def test_transition_loses_cleanly_to_a_concurrent_move(donation):
    stale = Donation.objects.get(pk=donation.pk)
    donation_transition(donation=donation, to_status=DonationStatus.UPLOADED)
    with pytest.raises(TransitionError, match="no longer created"):
        donation_transition(donation=stale, to_status=DonationStatus.UPLOADED)
    assert donation.history.count() == 1


def test_withdrawal_is_allowed_from_any_status(donation):
    donation_transition(donation=donation, to_status=DonationStatus.UPLOADED)
    donation_transition(donation=donation, to_status=DonationStatus.WITHDRAWN)
    donation.refresh_from_db()
    assert donation.status == DonationStatus.WITHDRAWN


def test_an_upload_is_stored_and_queued_for_processing_only_when_the_transaction_commits(
    donor, consent_document, django_capture_on_commit_callbacks
):
    import hashlib

    from django.core.files.storage import default_storage
    from django.core.files.uploadedfile import SimpleUploadedFile

    from consent.services import consent_grant
    from donations.services import donation_create_from_upload
    from metagen.celery import app

    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    content = b"HIERARCHY\nROOT Hips\n"
    with django_capture_on_commit_callbacks() as callbacks:
        donation = donation_create_from_upload(
            donor=donor, motion_file=SimpleUploadedFile("x.bvh", content)
        )
    assert len(callbacks) == 1  # the enqueue waits for the commit
    [stored] = donation.files.all()
    assert default_storage.exists(stored.storage_key)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert donation.status == DonationStatus.UPLOADED
    with app.connection_for_write() as conn:  # nothing was sent before the callback ran
        assert conn.default_channel.client.llen(app.conf.task_default_queue) == 0

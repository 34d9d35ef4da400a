"""Withdrawal deletes the donation's objects after the commit through an outbox: when storage is
down then, the withdrawal still succeeds and the sweeper deletes them later. Real S3 (moto)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consent.models import ConsentEvent
from donations.models import Donation, DonationStatus, PendingObjectDeletion
from donations.services import donation_withdraw, pending_deletions_sweep
from tests.conftest import bucket_keys, storage_unreachable
from tests.consent.support import stored_donation


def _keys_of(donation: Donation, prefix: str) -> list[str]:
    return [k for k in bucket_keys() if k.startswith((f"raw/{donation.pk}/", prefix))]


@pytest.mark.django_db
def test_withdrawing_deletes_the_objects_after_commit_and_leaves_no_outbox_row(
    donor, consent_document, django_capture_on_commit_callbacks
):
    donation = stored_donation(donor)
    prefix = donation.artifact_prefix

    with django_capture_on_commit_callbacks(execute=True):
        donation_withdraw(donor=donor, donation=donation, method=ConsentEvent.Method.WEB)
        assert len(_keys_of(donation, prefix)) == 4  # nothing is deleted before the commit

    assert _keys_of(donation, prefix) == []
    assert not PendingObjectDeletion.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_while_storage_is_down_succeeds_and_the_sweeper_deletes_later(
    donor, consent_document, settings
):
    donation = stored_donation(donor)
    prefix = donation.artifact_prefix

    with storage_unreachable():
        donation_withdraw(donor=donor, donation=donation, method=ConsentEvent.Method.WEB)

    assert Donation.objects.get(pk=donation.pk).status == DonationStatus.WITHDRAWN
    assert len(_keys_of(donation, prefix)) == 4
    pending = PendingObjectDeletion.objects.filter(donation=donation)
    assert sorted(pending.values_list("prefix", "attempts")) == sorted(
        [(f"raw/{donation.pk}/", 1), (prefix, 1)]
    )

    settings.STUCK_GRACE_S = 60
    assert pending_deletions_sweep()["found"] == 0  # it failed just now: wait for the grace
    pending.update(attempted_at=timezone.now() - timedelta(minutes=2))
    counts = pending_deletions_sweep()

    assert counts == {"found": 2, "deleted": 2, "still_failing": 0}
    assert _keys_of(donation, prefix) == []
    assert not pending.exists()

"""Rows and stored objects for consent tests: a donation with a raw file and processed artifacts
really stored in the (moto) bucket."""

import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from accounts.services import user_create_verified
from donations.models import Donation, DonationFile, DonationStatus


def other_donor():  # type: ignore[no-untyped-def]
    return user_create_verified(email="someone-else@example.org", password="another-one-2026")


def stored_donation(donor, *, status: str = DonationStatus.PROCESSED) -> Donation:  # type: ignore[no-untyped-def]
    """A donation whose raw file and processed artifacts exist in object storage."""
    donation_id = uuid.uuid4()
    raw_key = f"raw/{donation_id}/{uuid.uuid4()}"
    default_storage.save(raw_key, ContentFile(b"HIERARCHY\nROOT Hips\n"))
    prefix = f"processed/{uuid.uuid4().hex}/v1/"
    for name in ("motion.parquet", "metadata.json", "preview.svg"):
        default_storage.save(f"{prefix}{name}", ContentFile(b"artifact"))
    donation = Donation.objects.create(
        id=donation_id, donor=donor, status=status, artifact_prefix=prefix
    )
    DonationFile.objects.create(
        donation=donation,
        kind=DonationFile.Kind.MOTION,
        storage_key=raw_key,
        size=20,
        sha256="0" * 64,
    )
    return donation

from uuid import UUID

from django.core.files.storage import default_storage
from django.db.models import QuerySet

from accounts.models import User
from donations.models import Donation, DonationStatus
from processing.motion.preview import MOTION_PREVIEW_NAME


def donation_list_for_user(*, user: User) -> QuerySet[Donation]:
    return Donation.objects.filter(donor=user).order_by("-created_at")


def donation_get_for_user(*, user: User, donation_id: UUID | str) -> Donation | None:
    """A donor's own donation, or None (callers answer 404, never 403, for someone else's)."""
    return (
        Donation.objects.filter(donor=user, pk=donation_id)
        .prefetch_related("history", "files", "decisions")
        .first()
    )


# Statuses whose processed artifacts exist and that the donor may preview.
PREVIEWABLE_STATUSES = (DonationStatus.PROCESSED, DonationStatus.ACCEPTED, DonationStatus.DECLINED)


def donation_motion_preview_for_user(*, user: User, donation_id: UUID | str) -> bytes | None:
    """The 3D preview (``preview.json``) of the donor's own processed donation, or None when the
    donation is someone else's, not processed (yet, or any more), or was processed before the
    pipeline wrote previews. Callers answer 404 for None."""
    prefix = (
        Donation.objects.filter(donor=user, pk=donation_id, status__in=PREVIEWABLE_STATUSES)
        .exclude(artifact_prefix="")
        .values_list("artifact_prefix", flat=True)
        .first()
    )
    if prefix is None:
        return None
    key = f"{prefix}{MOTION_PREVIEW_NAME}"
    try:
        with default_storage.open(key, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def donation_list_awaiting_review() -> QuerySet[Donation]:
    return Donation.objects.filter(status=DonationStatus.PROCESSED).order_by("created_at")


def donation_get(*, donation_id: UUID | str) -> Donation:
    return Donation.objects.get(pk=donation_id)


def donation_get_or_none(*, donation_id: UUID | str) -> Donation | None:
    return Donation.objects.filter(pk=donation_id).first()

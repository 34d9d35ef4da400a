from uuid import UUID

from django.db.models import QuerySet

from accounts.models import User
from donations.models import Donation, DonationStatus


def donation_list_for_user(*, user: User) -> QuerySet[Donation]:
    return Donation.objects.filter(donor=user).order_by("-created_at")


def donation_get_for_user(*, user: User, donation_id: UUID | str) -> Donation | None:
    """A donor's own donation, or None (callers answer 404, never 403, for someone else's)."""
    return (
        Donation.objects.filter(donor=user, pk=donation_id)
        .prefetch_related("history", "files", "decisions")
        .first()
    )


def donation_list_awaiting_review() -> QuerySet[Donation]:
    return Donation.objects.filter(status=DonationStatus.PROCESSED).order_by("created_at")


def donation_get(*, donation_id: UUID | str) -> Donation:
    return Donation.objects.get(pk=donation_id)


def donation_get_or_none(*, donation_id: UUID | str) -> Donation | None:
    return Donation.objects.filter(pk=donation_id).first()

from uuid import UUID

from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from consent.models import ConsentDocument, ConsentEvent


def consent_document_get_current() -> ConsentDocument | None:
    """The newest consent document already in effect, or None before any is published."""
    return (
        ConsentDocument.objects.filter(effective_at__lte=timezone.now())
        .order_by("-version")
        .first()
    )


def consent_event_get_effective(
    *, donor: User, donation_id: UUID | str | None
) -> ConsentEvent | None:
    """The latest event that governs a donation: its own, or else the donor's account default.

    With donation_id None, the latest account-wide event (the default for new donations).
    """
    events = ConsentEvent.objects.filter(donor=donor)
    if donation_id is None:
        events = events.filter(donation__isnull=True)
    else:
        events = events.filter(Q(donation_id=donation_id) | Q(donation__isnull=True))
    return events.select_related("document").order_by("-created_at").first()


def consent_event_list_for_user(*, user: User) -> list[ConsentEvent]:
    return list(
        ConsentEvent.objects.filter(donor=user).select_related("document").order_by("-created_at")
    )

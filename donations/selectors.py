from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from django.core.files.storage import default_storage
from django.db.models import (
    CharField,
    F,
    JSONField,
    QuerySet,
    Subquery,
)

from accounts.models import User
from consent.models import ConsentEvent
from consent.selectors import consent_event_effective_subquery
from donations.models import CurationDecision, Donation, DonationStatus
from processing.motion.preview import MOTION_PREVIEW_NAME, PREVIEW_NAME


def donation_list_rejected_raw_due(*, rejected_before: datetime) -> QuerySet[Donation]:
    """Rejected donations, unchanged since before `rejected_before`, whose raw files are still
    stored; oldest first. Served by the partial index `donation_rejected_raw_kept`."""
    return Donation.objects.filter(
        status=DonationStatus.REJECTED,
        raw_deleted_at__isnull=True,
        updated_at__lt=rejected_before,
    ).order_by("updated_at")


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
    return _preview_read(Donation.objects.filter(donor=user, pk=donation_id), MOTION_PREVIEW_NAME)


def donation_trajectory_preview_for_user(*, user: User, donation_id: UUID | str) -> bytes | None:
    """The trajectory image (``preview.svg``) of the donor's own processed donation; None as
    for ``donation_motion_preview_for_user``."""
    return _preview_read(Donation.objects.filter(donor=user, pk=donation_id), PREVIEW_NAME)


def _preview_read(donations: QuerySet[Donation], name: str) -> bytes | None:
    """The stored preview `name` of the (one) previewable donation in `donations`, or None."""
    prefix = (
        donations.filter(status__in=PREVIEWABLE_STATUSES)
        .exclude(artifact_prefix="")
        .values_list("artifact_prefix", flat=True)
        .first()
    )
    if prefix is None:
        return None
    try:
        with default_storage.open(f"{prefix}{name}", "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class CurationFilters:
    """What the curator narrowed the queue to; every field optional."""

    source_format: str = ""
    rate_min: float | None = None
    rate_max: float | None = None
    duration_min: float | None = None
    duration_max: float | None = None
    scopes: list[str] = field(default_factory=list)


def donation_list_for_curation(*, filters: CurationFilters | None = None) -> QuerySet[Donation]:
    """Processed donations awaiting review, oldest first, each annotated with its effective
    consent (`consent_action`, `consent_scopes`) so the page needs one query for the list.

    Filters apply to the processing summary (format, frame rate, duration) and to the effective
    consent (a grant holding every scope asked for)."""
    filters = filters or CurationFilters()
    effective = consent_event_effective_subquery()
    donations = Donation.objects.filter(status=DonationStatus.PROCESSED).annotate(
        consent_action=Subquery(effective.values("action")[:1], output_field=CharField()),
        consent_scopes=Subquery(effective.values("scopes")[:1], output_field=JSONField()),
    )
    if filters.source_format:
        donations = donations.filter(summary__source_format=filters.source_format)
    if filters.rate_min is not None:
        donations = donations.filter(summary__frame_rate__gte=filters.rate_min)
    if filters.rate_max is not None:
        donations = donations.filter(summary__frame_rate__lte=filters.rate_max)
    if filters.duration_min is not None:
        donations = donations.filter(summary__duration_s__gte=filters.duration_min)
    if filters.duration_max is not None:
        donations = donations.filter(summary__duration_s__lte=filters.duration_max)
    if filters.scopes:
        donations = donations.filter(consent_action=ConsentEvent.Action.GRANT)
        for scope in filters.scopes:
            # Each scope as a quoted token of the JSON text: SQLite (the embedded default) has
            # no JSON containment, and scope codes hold no quotes.
            donations = donations.filter(consent_scopes__icontains=f'"{scope}"')
    return donations.order_by("created_at")


def donation_format_list_for_curation() -> list[str]:
    """The source formats present in the queue, for the filter's choices."""
    formats = (
        Donation.objects.filter(status=DonationStatus.PROCESSED)
        .exclude(summary__source_format=None)
        .values_list("summary__source_format", flat=True)
        .distinct()
    )
    return sorted({str(f) for f in formats if f})


def curation_decision_list_recent(*, limit: int = 20) -> QuerySet[CurationDecision]:
    """The latest decisions, with who made them and when (the audit trail on the queue page)."""
    return CurationDecision.objects.select_related("curator").order_by("-created_at", "-pk")[:limit]


def donation_motion_preview_for_curation(*, donation_id: UUID | str) -> bytes | None:
    """The 3D preview (``preview.json``) of any processed donation, for curators only (the
    caller checks). None when there is none; callers answer 404."""
    return _preview_read(Donation.objects.filter(pk=donation_id), MOTION_PREVIEW_NAME)


def donation_get_if_ever_accepted(*, donation_id: UUID | str) -> Donation | None:
    """The donation if a curator ever accepted it, else None; `accepted_by_id` is that curator
    (for rewards).

    A donation withdrawn after acceptance still counts (credits earned stay); one withdrawn
    before acceptance has no `accepted` history row (withdrawn is final), so it earns nothing.
    """
    return (
        Donation.objects.filter(pk=donation_id, history__to_status=DonationStatus.ACCEPTED)
        .annotate(accepted_by_id=F("history__actor"))
        .only("id", "donor_id", "summary", "created_at")
        .first()
    )


def donation_get(*, donation_id: UUID | str) -> Donation:
    return Donation.objects.get(pk=donation_id)


def donation_get_or_none(*, donation_id: UUID | str) -> Donation | None:
    return Donation.objects.filter(pk=donation_id).first()


def donations_in_status_between(
    *, status: str, after: datetime, before: datetime
) -> QuerySet[Donation]:
    """Donations in `status` whose last move lies in [after, before), oldest first: for the
    sweepers of later apps, through the (status, updated_at) index."""
    return Donation.objects.filter(
        status=status, updated_at__gte=after, updated_at__lt=before
    ).order_by("updated_at", "pk")

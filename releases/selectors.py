from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import SHA256, Cast, Coalesce
from django.db.models.sql.compiler import SQLCompiler

from accounts.models import User
from donations.models import DonationStatus, DonationStatusChange
from releases.build import device_class
from releases.models import Dataset, DataUseAgreementAcceptance, Release, ReleaseFile, ReleaseItem

PUBLIC_STATUSES = (Release.Status.PUBLISHED, Release.Status.SUPERSEDED)


_DURATION_S = Coalesce(
    Cast(KeyTextTransform("duration_s", "donation__summary"), FloatField()), Value(0.0)
)


def _latest_published() -> QuerySet[Release]:
    return Release.objects.filter(dataset=OuterRef("pk"), status=Release.Status.PUBLISHED).order_by(
        "-published_at"
    )


def _latest_items() -> QuerySet[ReleaseItem, Any]:
    """Items of the dataset's newest published release (OuterRef = Dataset), grouped as one."""
    newest = Release.objects.filter(
        dataset=OuterRef(OuterRef("pk")), status=Release.Status.PUBLISHED
    ).order_by("-published_at")
    return ReleaseItem.objects.filter(release=Subquery(newest.values("pk")[:1])).values("release")


def dataset_list_public() -> QuerySet[Dataset]:
    """Every dataset with its count of public releases and the figures of its newest published
    release (`latest_version`, `latest_recordings`, `latest_hours`), in one query."""
    return Dataset.objects.annotate(
        published_count=Count("releases", filter=Q(releases__status__in=PUBLIC_STATUSES)),
        latest_version=Subquery(_latest_published().values("version")[:1]),
        latest_recordings=Subquery(_latest_items().annotate(n=Count("pk")).values("n")[:1]),
        latest_hours=Subquery(
            _latest_items().annotate(h=Sum(_DURATION_S) / Value(3600.0)).values("h")[:1]
        ),
    ).order_by("slug")


class _TextSHA256(SHA256):
    """Hex SHA-256 of a text's UTF-8 bytes. On PostgreSQL with its built-in sha256() (Django's
    SHA256 needs the pgcrypto extension there); elsewhere Django's own SHA256, which on SQLite
    (the embedded default) is a Python function Django registers on every connection."""

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, tuple[str | int, ...]]:
        template = "encode(sha256(convert_to(%(expressions)s, 'UTF8')), 'hex')"
        return Func.as_sql(self, compiler, connection, template=template, **extra_context)


def dataset_list_with_acceptance(*, user: User) -> QuerySet[Dataset]:
    """Datasets by slug, each with `dua_accepted_now`: whether `user` accepted the current text
    of its agreement (the hash computed in SQL, as releases.access.dua_sha256 does)."""
    if not user.is_authenticated:
        return Dataset.objects.annotate(dua_accepted_now=Value(False)).order_by("slug")
    accepted = DataUseAgreementAcceptance.objects.filter(
        dataset=OuterRef("pk"), user=user, dua_sha256=_TextSHA256(OuterRef("dua_text"))
    )
    return Dataset.objects.annotate(dua_accepted_now=Exists(accepted)).order_by("slug")


def dataset_get_public(*, slug: str) -> Dataset | None:
    return Dataset.objects.filter(slug=slug).first()


def release_list_public_with_stats(*, dataset: Dataset) -> QuerySet[Release]:
    """Public releases, newest first, with `recordings`, `contributors` and `hours`."""
    return release_list_public(dataset=dataset).annotate(
        recordings=Count("items", distinct=True),
        contributors=Count("items__contributor_pseudonym", distinct=True),
        hours=Coalesce(
            Subquery(
                ReleaseItem.objects.filter(release=OuterRef("pk"))
                .values("release")
                .annotate(h=Sum(_DURATION_S) / Value(3600.0))
                .values("h")[:1]
            ),
            Value(0.0),
        ),
    )


@dataclass(frozen=True)
class ReleaseStats:
    """Figures of one release, each as defined on the release page."""

    recordings: int
    contributors: int
    hours: float
    formats: list[tuple[str, int]]
    devices: list[tuple[str, int]]


def release_stats(*, release: Release) -> ReleaseStats:
    """Recordings = release items; contributors = distinct contributor pseudonyms; hours = the
    sum of the recordings' durations; formats and devices = recordings per source format and
    per device class (releases.build.device_class). Three queries, whatever the size."""
    items = ReleaseItem.objects.filter(release=release)
    totals = items.aggregate(
        recordings=Count("pk"),
        contributors=Count("contributor_pseudonym", distinct=True),
        seconds=Coalesce(Sum(_DURATION_S), Value(0.0)),
    )
    formats = (
        items.values(
            fmt=Coalesce(
                KeyTextTransform("source_format", "donation__summary"),
                Value(""),
                output_field=CharField(),
            )
        )
        .annotate(n=Count("pk"))
        .order_by("-n", "fmt")
    )
    # Group in SQL by what device_class looks at (a skeleton, the track roles), then name them.
    shapes = items.values(
        skeleton=Case(
            When(
                Q(donation__summary__skeleton__isnull=False) & ~Q(donation__summary__skeleton=None),
                then=Value(True),
            ),
            default=Value(False),
            output_field=BooleanField(),
        ),
        tracks=F("donation__summary__tracks"),
    ).annotate(n=Count("pk"))
    devices: Counter[str] = Counter()
    for shape in shapes:
        summary = {"skeleton": shape["skeleton"], "tracks": shape["tracks"] or []}
        devices[device_class(summary)] += shape["n"]
    return ReleaseStats(
        recordings=totals["recordings"],
        contributors=totals["contributors"],
        hours=float(totals["seconds"]) / 3600,
        formats=[(row["fmt"] or "?", row["n"]) for row in formats],
        devices=sorted(devices.items(), key=lambda kv: (-kv[1], kv[0])),
    )


def release_get_newest_published(*, dataset: Dataset) -> Release | None:
    return (
        dataset.releases.filter(status=Release.Status.PUBLISHED).order_by("-published_at").first()
    )


def release_withdrawn_count(*, release: Release) -> int:
    """How many recordings of this release were withdrawn by their donors since it was built."""
    return release.items.filter(donation__status=DonationStatus.WITHDRAWN).count()


@dataclass(frozen=True)
class Withdrawal:
    recording_id: str
    withdrawn_at: datetime
    releases: list[str]


def withdrawal_list_for_dataset(*, dataset: Dataset) -> list[Withdrawal]:
    """Recordings of the dataset's public releases whose donors withdrew them, newest
    withdrawal first: the pseudonymous recording id, when (the donation's move to withdrawn,
    made in the same transaction as the withdraw consent event) and the versions holding it."""
    withdrawn_at = (
        DonationStatusChange.objects.filter(
            donation=OuterRef("donation"), to_status=DonationStatus.WITHDRAWN
        )
        .order_by("created_at")
        .values("created_at")[:1]
    )
    rows = (
        ReleaseItem.objects.filter(
            release__dataset=dataset,
            release__status__in=PUBLIC_STATUSES,
            donation__status=DonationStatus.WITHDRAWN,
        )
        .annotate(withdrawn_at=Subquery(withdrawn_at))
        .values_list("recording_pseudonym", "withdrawn_at", "release__version")
        .order_by("recording_pseudonym", "release__created_at")
    )
    found: dict[str, Withdrawal] = {}
    for recording_id, when, version in rows:
        entry = found.setdefault(recording_id, Withdrawal(recording_id, when, []))
        entry.releases.append(version)
    return sorted(found.values(), key=lambda w: (w.withdrawn_at, w.recording_id), reverse=True)


def release_list_public(*, dataset: Dataset) -> QuerySet[Release]:
    return dataset.releases.filter(status__in=PUBLIC_STATUSES).order_by("-published_at")


def release_get_public(*, slug: str, version: str) -> Release | None:
    return (
        Release.objects.select_related("dataset")
        .filter(
            dataset__slug=slug,
            version=version,
            status__in=PUBLIC_STATUSES,
        )
        .first()
    )


def release_file_get_public(*, slug: str, version: str, path: str) -> ReleaseFile | None:
    return (
        ReleaseFile.objects.select_related("release__dataset")
        .filter(
            release__dataset__slug=slug,
            release__version=version,
            release__status__in=PUBLIC_STATUSES,
            path=path,
        )
        .first()
    )


def release_list_for_curation() -> QuerySet[Release]:
    return Release.objects.select_related("dataset").annotate(item_count=Count("items"))

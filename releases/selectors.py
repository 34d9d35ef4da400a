from django.db.models import Count, Q, QuerySet

from releases.models import Dataset, Release, ReleaseFile

PUBLIC_STATUSES = (Release.Status.PUBLISHED, Release.Status.SUPERSEDED)


def dataset_list_public() -> QuerySet[Dataset]:
    return Dataset.objects.annotate(
        published_count=Count("releases", filter=Q(releases__status__in=PUBLIC_STATUSES))
    ).order_by("slug")


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

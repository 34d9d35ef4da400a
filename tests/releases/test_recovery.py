"""A release build that fails records its step and reason, cleans up its partial objects and can
be retried under the same version; the sweeper queues lost drafts and resumes stalled builds.
Real worker, PostgreSQL, Redis and moto's S3."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from releases.exceptions import ReleaseError
from releases.models import Release
from releases.recovery import release_retry, releases_requeue_stuck
from releases.services import release_create, release_plan, release_verify
from tests.conftest import bucket_keys, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _status(release: Release) -> str:
    return Release.objects.values_list("status", flat=True).get(pk=release.pk)


def _settled(release: Release) -> bool:
    return _status(release) in {Release.Status.BUILT, Release.Status.FAILED}


def test_a_failed_final_step_is_recorded_cleaned_up_and_retried_under_the_same_version(
    client, curator, dataset, celery_worker
):
    # What a crashed earlier attempt left under the version's prefix: other bytes where the
    # final task writes README.md. The build must not overwrite it, so the final step fails.
    leftover = f"releases/{dataset.slug}/1.0.0/README.md"
    default_storage.save(leftover, ContentFile(b"left by a crashed attempt\n"))

    release = release_create(dataset=dataset, version="1.0.0", curator=curator)
    wait_for(lambda: _settled(release), timeout=90, what="the build to stop")

    release.refresh_from_db()
    assert release.status == Release.Status.FAILED
    assert release.failed_step == "final files"
    assert f"{leftover} already exists with other content" in release.problem
    assert not [k for k in bucket_keys() if k.startswith(f"releases/{dataset.slug}/")]

    client.force_login(curator)
    page = client.get(reverse("donations:curation_queue")).content.decode()
    assert "Failed at final files:" in page
    assert reverse("releases:retry", args=[release.pk]) in page
    response = client.post(reverse("releases:retry", args=[release.pk]))

    assert response.status_code == 302
    wait_for(lambda: _settled(release), timeout=90, what="the retried build")
    release.refresh_from_db()
    assert (release.status, release.version, release.failed_step, release.problem) == (
        Release.Status.BUILT,
        "1.0.0",
        "",
        "",
    )
    assert release_verify(release=release) == []


def test_only_a_failed_build_can_be_retried(curator, dataset):
    release = Release.objects.create(dataset=dataset, version="1.0.0", created_by=curator)

    with pytest.raises(ReleaseError, match="Only a failed build can be retried"):
        release_retry(release=release, curator=curator)


def test_a_draft_whose_build_message_was_lost_is_built_after_the_sweep(
    curator, dataset, celery_worker, settings
):
    settings.STUCK_GRACE_S = 60
    # Created without its message (as when Redis was down at the commit), an hour ago.
    release = Release.objects.create(
        dataset=dataset,
        version="1.0.0",
        created_by=curator,
        progress_at=timezone.now() - timedelta(hours=1),
    )
    recent = Release.objects.create(
        dataset=dataset, version="1.0.1", created_by=curator, progress_at=timezone.now()
    )

    assert releases_requeue_stuck() == {"drafts_requeued": 1, "builds_resumed": 0}

    wait_for(lambda: _settled(release), timeout=90, what="the build")
    assert _status(release) == Release.Status.BUILT
    assert _status(recent) == Release.Status.DRAFT
    assert releases_requeue_stuck() == {"drafts_requeued": 0, "builds_resumed": 0}


def test_a_build_that_stalled_past_its_limit_is_resumed_by_the_sweep(
    curator, dataset, celery_worker, settings
):
    settings.STUCK_GRACE_S = 60
    release = Release.objects.create(dataset=dataset, version="1.0.0", created_by=curator)
    release_plan(release_id=release.pk)  # planned, then its worker died before anything else
    stalled = timezone.now() - timedelta(seconds=settings.RELEASE_SHARD_TIME_LIMIT + 61)
    Release.objects.filter(pk=release.pk).update(progress_at=stalled)

    assert releases_requeue_stuck() == {"drafts_requeued": 0, "builds_resumed": 1}

    wait_for(lambda: _settled(release), timeout=90, what="the resumed build")
    assert _status(release) == Release.Status.BUILT

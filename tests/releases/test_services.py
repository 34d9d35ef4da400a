"""Release services: create, publish and supersede, failure, and queuing after commit."""

import pytest

from releases.exceptions import ReleaseError
from releases.models import Release
from releases.services import release_build, release_create, release_fail, release_publish

pytestmark = pytest.mark.django_db


def test_creating_a_release_queues_its_build_after_commit(
    curator, dataset, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        release = release_create(dataset=dataset, version="1.0.0", curator=curator)
    assert release.status == Release.Status.DRAFT
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("1.0", "Use a semantic version such as 1.0.0."),
        ("01.0.0", "Use a semantic version such as 1.0.0."),
        ("1.0.0", "Version 1.0.0 of vr-motion-open already exists."),
    ],
)
def test_a_malformed_or_taken_version_is_refused_with_its_reason(
    curator, dataset, version, message
):
    release_create(dataset=dataset, version="1.0.0", curator=curator)
    with pytest.raises(ReleaseError) as caught:
        release_create(dataset=dataset, version=version, curator=curator)
    assert str(caught.value) == message


def test_publishing_a_newer_version_supersedes_the_published_one(curator, dataset):
    v1 = release_build(
        release_id=release_create(dataset=dataset, version="1.0.0", curator=curator).pk
    )
    release_publish(release=v1, curator=curator)
    v2 = release_build(
        release_id=release_create(dataset=dataset, version="1.1.0", curator=curator).pk
    )
    release_publish(release=v2, curator=curator)

    statuses = dict(Release.objects.values_list("version", "status"))
    assert statuses == {"1.0.0": Release.Status.SUPERSEDED, "1.1.0": Release.Status.PUBLISHED}


def test_only_a_built_release_can_be_published(curator, dataset):
    draft = release_create(dataset=dataset, version="1.0.0", curator=curator)
    with pytest.raises(ReleaseError) as caught:
        release_publish(release=draft, curator=curator)
    assert str(caught.value) == "Only a built release can be published."
    assert Release.objects.get(pk=draft.pk).status == Release.Status.DRAFT


def test_an_empty_release_builds_with_its_metadata_and_no_shard(curator, dataset):
    release = release_build(
        release_id=release_create(dataset=dataset, version="1.0.0", curator=curator).pk
    )
    assert release.status == Release.Status.BUILT
    assert release.shard_count == 0
    assert "manifest.json" in set(release.files.values_list("path", flat=True))


def test_a_failed_build_records_the_problem_and_is_not_rebuilt(curator, dataset):
    release = release_create(dataset=dataset, version="1.0.0", curator=curator)
    Release.objects.filter(pk=release.pk).update(status=Release.Status.BUILDING)
    release_fail(release_id=release.pk, problem="The build failed; see the worker log.")

    assert release_build(release_id=release.pk).status == Release.Status.FAILED
    assert Release.objects.get(pk=release.pk).problem == "The build failed; see the worker log."

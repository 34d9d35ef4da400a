"""Release services: create, publish and supersede, failure, and queuing after commit."""

import pytest

from releases.exceptions import ReleaseError
from releases.models import Release
from releases.services import release_build, release_create, release_fail, release_publish
from tests.conftest import bucket_keys

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
    release_fail(
        release_id=release.pk, step="shard 0", problem="The build failed; see the worker log."
    )

    assert release_build(release_id=release.pk).status == Release.Status.FAILED
    assert Release.objects.get(pk=release.pk).problem == "The build failed; see the worker log."


NO_SITE_URL = (
    "SITE_URL is not set, so this release would carry http://localhost:8000 in its citation, "
    "datasheet and croissant.json for good. Set SITE_URL to the site's public address."
)


@pytest.fixture
def default_site_url(settings):  # type: ignore[no-untyped-def]
    """Settings as read with no SITE_URL in the environment."""
    settings.SITE_URL = "http://localhost:8000"
    settings.SITE_URL_EXPLICIT = False
    return settings


def test_production_refuses_to_create_a_release_without_an_explicit_site_url(
    default_site_url, curator, dataset
):
    default_site_url.DEBUG = False
    with pytest.raises(ReleaseError) as caught:
        release_create(dataset=dataset, version="1.0.0", curator=curator)
    assert str(caught.value) == NO_SITE_URL
    assert not Release.objects.exists()


def test_production_build_fails_a_draft_without_an_explicit_site_url_and_writes_nothing(
    settings, curator, dataset
):
    # Drafted while the address was set; built after a deploy that lost it.
    draft = release_create(dataset=dataset, version="1.0.0", curator=curator)
    settings.DEBUG = False
    settings.SITE_URL = "http://localhost:8000"
    settings.SITE_URL_EXPLICIT = False

    release = release_build(release_id=draft.pk)

    assert release.status == Release.Status.FAILED
    stored = Release.objects.get(pk=draft.pk)
    assert (stored.status, stored.problem) == (Release.Status.FAILED, NO_SITE_URL)
    assert stored.shard_count is None
    assert not stored.items.exists()
    assert not stored.files.exists()
    assert bucket_keys() == []


def test_development_builds_a_release_on_the_default_site_url(default_site_url, curator, dataset):
    default_site_url.DEBUG = True
    release = release_build(
        release_id=release_create(dataset=dataset, version="1.0.0", curator=curator).pk
    )
    assert release.status == Release.Status.BUILT

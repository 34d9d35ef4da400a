"""Invariants 1-5 of DESIGN.md, at the level of releases, each as a test."""

import hashlib
import io

import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from consent.models import ConsentEvent
from consent.scopes import covers
from consent.services import consent_grant
from donations.services import donation_withdraw
from releases.exceptions import ReleaseError
from releases.models import Dataset, Release
from releases.pseudonyms import pseudonym
from releases.services import (
    release_build,
    release_create,
    release_publish,
    release_shard_build,
    release_verify,
)
from tests.conftest import bucket_keys
from tests.releases.building import (
    MOTION_OPEN,
    accepted_donation,
    everything,
    make_donor,
    release_objects,
)

pytestmark = pytest.mark.django_db

AUDIO_OPEN = [*MOTION_OPEN, "audio:model_training", "audio:open_release"]


def _build(dataset, curator, version="1.0.0"):  # type: ignore[no-untyped-def]
    return release_build(
        release_id=release_create(dataset=dataset, version=version, curator=curator).pk
    )


def test_1_every_item_of_a_published_release_traces_to_a_consent_event_covering_its_scopes(
    curator, consent_document, dataset
):
    covered, narrow, later = make_donor(1), make_donor(2), make_donor(3)
    consent_grant(donor=covered, document=consent_document, scopes=MOTION_OPEN)
    consent_grant(donor=narrow, document=consent_document, scopes=MOTION_OPEN)
    consent_grant(donor=later, document=consent_document, scopes=MOTION_OPEN)
    kept = accepted_donation(covered, curator, seed=1)
    narrowed = accepted_donation(narrow, curator, seed=2)
    regranted = accepted_donation(later, curator, seed=3)
    consent_grant(donor=narrow, document=consent_document, scopes=["motion:model_training"])
    # A per-donation grant after the account-wide one governs that donation.
    own = consent_grant(
        donor=later, document=consent_document, scopes=MOTION_OPEN, donation_id=regranted.pk
    )

    release = _build(dataset, curator)
    release_publish(release=release, curator=curator)
    release.refresh_from_db()

    assert release.status == Release.Status.PUBLISHED
    items = {i.donation_id: i for i in release.items.select_related("consent_event")}
    assert set(items) == {kept.pk, regranted.pk}
    assert narrowed.pk not in items
    assert items[regranted.pk].consent_event_id == own.pk
    for item in items.values():
        event = item.consent_event
        assert event.action == ConsentEvent.Action.GRANT
        assert event.donor_id == item.donation.donor_id
        assert event.created_at < release.built_at
        assert covers(event.scopes, dataset.required_scopes)
    assert release_verify(release=release) == []


def test_2_a_donation_withdrawn_before_a_build_is_in_no_file_of_it(
    curator, consent_document, dataset, django_capture_on_commit_callbacks
):
    Dataset.objects.filter(pk=dataset.pk).update(modalities=["audio"])
    dataset.refresh_from_db()
    donor = make_donor(1)
    consent_grant(donor=donor, document=consent_document, scopes=AUDIO_OPEN)
    kept = accepted_donation(donor, curator, seed=1, audio=True)
    gone = accepted_donation(donor, curator, seed=2, audio=True)
    with django_capture_on_commit_callbacks(execute=True):
        donation_withdraw(donor=donor, donation=gone, method=ConsentEvent.Method.WEB)

    release = _build(dataset, curator)

    gone_id = pseudonym(secret=dataset.pseudonym_secret, kind="recording", value=gone.pk)
    kept_id = pseudonym(secret=dataset.pseudonym_secret, kind="recording", value=kept.pk)
    files = everything(release)
    assert f"audio/{kept_id}.flac" in files
    assert not any(gone_id in path for path in files)
    assert not any(gone_id in key for key in bucket_keys())
    for path, text in files.items():
        assert gone_id not in text, path
        assert str(gone.pk) not in text, path
    assert kept_id in files["recordings.parquet"]
    assert list(release.items.values_list("donation_id", flat=True)) == [kept.pk]


def test_3_a_published_release_never_changes(
    curator, consent_document, dataset, django_capture_on_commit_callbacks
):
    donors = [make_donor(n) for n in range(2)]
    donations = []
    for n, donor in enumerate(donors):
        consent_grant(donor=donor, document=consent_document, scopes=MOTION_OPEN)
        donations.append(accepted_donation(donor, curator, seed=n))
    v1 = _build(dataset, curator)
    release_publish(release=v1, curator=curator)
    before = release_objects(v1)
    keys_before = [k for k in bucket_keys() if k.startswith(v1.storage_prefix)]

    # Everything that happens later: a withdrawal, a rebuild attempt, a new version published.
    with django_capture_on_commit_callbacks(execute=True):
        donation_withdraw(donor=donors[0], donation=donations[0], method=ConsentEvent.Method.WEB)
    assert release_build(release_id=v1.pk).status == Release.Status.PUBLISHED
    release_shard_build(release_id=v1.pk, index=0, queue_next=False)
    with pytest.raises(ReleaseError):
        release_publish(release=v1, curator=curator)
    v2 = _build(dataset, curator, version="1.1.0")
    release_publish(release=v2, curator=curator)

    v1.refresh_from_db()
    assert v1.status == Release.Status.SUPERSEDED
    assert release_objects(v1) == before
    assert [k for k in bucket_keys() if k.startswith(v1.storage_prefix)] == keys_before
    for f in v1.files.all():
        assert hashlib.sha256(before[f.path]).hexdigest() == f.sha256
    assert v1.items.count() == 2
    call_command("verify_release", dataset.slug, "1.0.0")


def test_4_audio_of_a_donor_who_did_not_consent_to_audio_is_in_no_release(
    curator, consent_document, dataset
):
    Dataset.objects.filter(pk=dataset.pk).update(modalities=["audio"])
    dataset.refresh_from_db()
    speaking, silent = make_donor(1), make_donor(2)
    consent_grant(donor=speaking, document=consent_document, scopes=AUDIO_OPEN)
    consent_grant(donor=silent, document=consent_document, scopes=AUDIO_OPEN)
    with_audio = accepted_donation(speaking, curator, seed=1, audio=True)
    without = accepted_donation(silent, curator, seed=2, audio=True)
    # The second donor takes back audio for this recording, keeping motion.
    consent_grant(
        donor=silent, document=consent_document, scopes=MOTION_OPEN, donation_id=without.pk
    )

    release = _build(dataset, curator)

    def rid(donation):  # type: ignore[no-untyped-def]
        return pseudonym(secret=dataset.pseudonym_secret, kind="recording", value=donation.pk)

    objects = release_objects(release)
    audio_files = sorted(p for p in objects if p.startswith("audio/"))
    assert audio_files == [f"audio/{rid(with_audio)}.flac"]
    index = pq.read_table(io.BytesIO(objects["recordings.parquet"])).to_pylist()
    by_id = {row["recording_id"]: row for row in index}
    assert by_id[rid(without)]["audio_file"] is None
    assert by_id[rid(without)]["modalities"] == ["motion"]
    assert by_id[rid(with_audio)]["modalities"] == ["motion", "audio"]
    assert release.items.get(donation=without).with_audio is False
    assert release_verify(release=release) == []


def test_5_no_identifying_field_of_an_input_survives_into_a_release(
    curator, consent_document, dataset, donor
):
    consent_grant(donor=donor, document=consent_document, scopes=MOTION_OPEN)
    donation = accepted_donation(donor, curator, seed=4, name="alice-smith-quest3-2026-05-01.bvh")
    raw = donation.files.get()

    release = _build(dataset, curator)

    identifying = [
        str(donation.pk),
        donation.pk.hex,
        donor.email,
        "alice",
        raw.sha256,
        raw.storage_key,
        donation.artifact_prefix,
        str(raw.pk),
        str(donation.created_at.date()),
    ]
    for path, text in everything(release).items():
        for value in identifying:
            assert value not in text, (path, value)
            assert value not in path
    index = pq.read_table(io.BytesIO(release_objects(release)["recordings.parquet"]))
    assert str(donor.pk) not in index.column("contributor_id").to_pylist()

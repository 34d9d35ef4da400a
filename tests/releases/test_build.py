"""The release build: shards, schemas, metadata files, pseudonyms, fan-out and determinism."""

import io
import json

import mlcroissant as mlc
import pyarrow.parquet as pq
import pytest
from django.core.files.storage import default_storage

from consent.models import ConsentEvent
from consent.selectors import consent_event_get_effective
from consent.services import consent_grant, consent_withdraw
from donations.models import Donation
from donations.services import donation_withdraw
from releases.build import INDEX_SCHEMA, RELEASE_MOTION_SCHEMA, motion_shard_path
from releases.exceptions import ReleaseError
from releases.models import Release, ReleaseShard
from releases.pseudonyms import pseudonym
from releases.services import (
    release_build,
    release_create,
    release_eligible,
    release_plan,
    release_publish,
    release_shard_build,
)
from tests.conftest import s3_client, wait_for
from tests.factories import DatasetFactory
from tests.releases.building import (
    MOTION_OPEN,
    accepted_donation,
    make_donor,
    read_object,
    release_objects,
)

pytestmark = pytest.mark.django_db

TINY_SHARDS = 1  # bytes: every recording gets a shard of its own


def _three_donations(curator, consent_document, worker=False):  # type: ignore[no-untyped-def]
    donations = []
    for n in range(3):
        donor = make_donor(n)
        consent_grant(donor=donor, document=consent_document, scopes=MOTION_OPEN)
        donations.append(accepted_donation(donor, curator, seed=n, worker=worker))
    return donations


def test_shards_follow_the_target_size_and_pyarrow_reads_each_with_the_documented_schema(
    curator, consent_document, dataset
):
    donations = _three_donations(curator, consent_document)
    release = release_create(
        dataset=dataset, version="1.0.0", curator=curator, shard_target_bytes=TINY_SHARDS
    )
    release = release_build(release_id=release.pk)

    assert release.status == Release.Status.BUILT
    assert release.shard_count == 3
    objects = release_objects(release)
    rows = 0
    for index in range(3):
        table = pq.read_table(io.BytesIO(objects[motion_shard_path(index)]))
        assert table.schema.remove_metadata() == RELEASE_MOTION_SCHEMA
        assert len(set(table.column("recording_id").to_pylist())) == 1
        rows += table.num_rows
    index = pq.read_table(io.BytesIO(objects["recordings.parquet"]))
    assert index.schema.remove_metadata() == INDEX_SCHEMA
    assert index.num_rows == 3
    assert rows == sum(d.summary["frame_count"] * len(d.summary["tracks"]) for d in donations)
    assert set(index.column("motion_file").to_pylist()) == {motion_shard_path(i) for i in range(3)}
    assert index.column("licence").to_pylist() == ["CC-BY-4.0"] * 3


def test_one_shard_holds_every_recording_under_the_default_target(
    curator, consent_document, dataset
):
    _three_donations(curator, consent_document)
    release = release_create(dataset=dataset, version="1.0.0", curator=curator)
    release = release_build(release_id=release.pk)

    assert release.shard_target_bytes == 256 * 1024 * 1024
    assert release.shard_count == 1
    table = pq.read_table(
        io.BytesIO(read_object(f"{release.storage_prefix}data/motion-00000.parquet"))
    )
    ids = table.column("recording_id").to_pylist()
    assert ids == sorted(ids)  # rows ordered by recording, so readers can seek by id
    assert len(set(ids)) == 3


def test_every_metadata_file_is_written_and_mlcroissant_validates_croissant_json(
    curator, consent_document, dataset, tmp_path
):
    _three_donations(curator, consent_document)
    release = release_build(
        release_id=release_create(dataset=dataset, version="1.0.0", curator=curator).pk
    )
    objects = release_objects(release)

    assert {
        "recordings.parquet", "data/motion-00000.parquet", "manifest.json", "SHA256SUMS",
        "croissant.json", "README.md", "changes.json", "CITATION.cff", "CITATION.bib",
    } == set(objects)  # fmt: skip
    manifest = json.loads(objects["manifest.json"])
    assert [e["path"] for e in manifest["files"]] == sorted(
        p for p in objects if p not in ("manifest.json", "SHA256SUMS")
    )
    for entry in manifest["files"]:
        assert entry["size"] == len(objects[entry["path"]])
    sums = objects["SHA256SUMS"].decode().splitlines()
    assert len(sums) == len(objects) - 1
    assert sums[0].endswith("  CITATION.bib")

    (tmp_path / "croissant.json").write_bytes(objects["croissant.json"])
    metadata = mlc.Metadata.from_file(ctx=mlc.Context(), file=tmp_path / "croissant.json")
    assert metadata.ctx.issues.errors == set()
    croissant = json.loads(objects["croissant.json"])
    for field in ("rai:dataCollection", "rai:personalSensitiveInformation", "rai:dataLimitations",
                  "rai:dataUseCases"):  # fmt: skip
        assert len(croissant[field]) > 40, field

    readme = objects["README.md"].decode()
    assert "| Recordings | 3 |" in readme
    assert "| Contributors | 3 |" in readme
    assert "## How to cite" in readme
    assert "## Anonymization and its limits" in readme
    assert "bvh" in readme
    assert "30 Hz" in readme
    # Three contributors is a group smaller than 5: their device class is not published.
    assert "head-and-hands |" not in readme
    assert "full-body |" not in readme
    assert b"cff-version: 1.2.0" in objects["CITATION.cff"]
    assert objects["CITATION.bib"].startswith(b"@misc{metagen_vr_motion_open_1_0_0,")
    changes = json.loads(objects["changes.json"])
    assert changes["previous_version"] is None
    assert len(changes["added"]) == 3
    assert changes["removed"] == []


def test_changes_json_names_added_removed_with_their_reason_against_the_previous_version(
    curator, consent_document, dataset, django_capture_on_commit_callbacks
):
    first, second, third = _three_donations(curator, consent_document)
    v1 = release_build(
        release_id=release_create(dataset=dataset, version="1.0.0", curator=curator).pk
    )
    release_publish(release=v1, curator=curator)
    with django_capture_on_commit_callbacks(execute=True):
        donation_withdraw(donor=first.donor, donation=first, method=ConsentEvent.Method.WEB)
    # The second donor now only allows model training: no longer an open release.
    consent_grant(
        donor=second.donor, document=consent_document, scopes=["motion:model_training"],
        donation_id=second.pk,
    )  # fmt: skip
    newcomer = make_donor(9)
    consent_grant(donor=newcomer, document=consent_document, scopes=MOTION_OPEN)
    fourth = accepted_donation(newcomer, curator, seed=9)

    v2 = release_build(
        release_id=release_create(dataset=dataset, version="1.1.0", curator=curator).pk
    )

    def rid(donation: Donation) -> str:
        return pseudonym(secret=dataset.pseudonym_secret, kind="recording", value=donation.pk)

    changes = json.loads(release_objects(v2)["changes.json"])
    assert changes == {
        "previous_version": "1.0.0",
        "added": [rid(fourth)],
        "removed": sorted(
            [{"recording_id": rid(first), "reason": "withdrawn"},
             {"recording_id": rid(second), "reason": "consent"}],
            key=lambda r: r["recording_id"],
        ),
        "reprocessed": [],
    }  # fmt: skip
    assert set(v2.items.values_list("donation_id", flat=True)) == {third.pk, fourth.pk}


def test_pseudonyms_are_stable_across_versions_and_unlinkable_across_datasets(
    curator, consent_document, dataset
):
    _three_donations(curator, consent_document)
    other = DatasetFactory(slug="vr-motion-other", title="Other")
    v1 = release_build(
        release_id=release_create(dataset=dataset, version="1.0.0", curator=curator).pk
    )
    v2 = release_build(
        release_id=release_create(dataset=dataset, version="1.0.1", curator=curator).pk
    )
    elsewhere = release_build(
        release_id=release_create(dataset=other, version="1.0.0", curator=curator).pk
    )

    def ids(release: Release) -> set[tuple[str, str]]:
        return set(release.items.values_list("recording_pseudonym", "contributor_pseudonym"))

    assert ids(v1) == ids(v2)
    flat = {x for pair in ids(v1) for x in pair}
    assert flat.isdisjoint({x for pair in ids(elsewhere) for x in pair})
    assert len(flat) == 6


def test_eligibility_takes_one_query_and_agrees_with_the_effective_consent_of_each_donation(
    curator, consent_document, dataset, django_assert_num_queries
):
    donations = _three_donations(curator, consent_document)
    consent_withdraw(donor=donations[0].donor, donation_id=None)  # account-wide withdrawal
    # A donation's own withdrawal is final: a later account-wide grant does not revive it.
    fourth = accepted_donation(donations[2].donor, curator, seed=7)
    consent_withdraw(donor=fourth.donor, donation_id=fourth.pk)
    consent_grant(donor=fourth.donor, document=consent_document, scopes=MOTION_OPEN)
    consent_grant(
        donor=donations[1].donor, document=consent_document, scopes=["motion:open_release"],
        donation_id=donations[1].pk,
    )  # fmt: skip

    with django_assert_num_queries(1):
        chosen = list(release_eligible(dataset=dataset))

    assert [c.donation_id for c in chosen] == [donations[2].pk]
    for c in chosen:
        event = consent_event_get_effective(donor=donations[2].donor, donation_id=c.donation_id)
        assert c.consent_event_id == event.pk


def test_a_finished_shard_is_left_alone_and_a_redone_shard_writes_the_same_bytes(
    curator, consent_document, dataset
):
    _three_donations(curator, consent_document)
    release = release_create(
        dataset=dataset, version="1.0.0", curator=curator, shard_target_bytes=TINY_SHARDS
    )
    release_plan(release_id=release.pk)
    key = f"{release.storage_prefix}{motion_shard_path(1)}"
    assert release_shard_build(release_id=release.pk, index=1, queue_next=False) is False
    first = read_object(key)
    # A worker that died after storing the shard but before recording it: redelivered.
    ReleaseShard.objects.filter(release=release, index=1).update(done=False, files=[])
    release_shard_build(release_id=release.pk, index=1, queue_next=False)
    assert read_object(key) == first
    assert ReleaseShard.objects.get(release=release, index=1).done


def test_a_shard_object_with_other_bytes_is_never_overwritten(curator, consent_document, dataset):
    _three_donations(curator, consent_document)
    release = release_create(dataset=dataset, version="1.0.0", curator=curator)
    release_plan(release_id=release.pk)
    key = f"{release.storage_prefix}{motion_shard_path(0)}"
    bucket = default_storage.bucket_name
    s3_client().put_object(Bucket=bucket, Key=key, Body=b"someone else's bytes")

    with pytest.raises(ReleaseError, match="already exists with other content"):
        release_shard_build(release_id=release.pk, index=0, queue_next=False)
    assert read_object(key) == b"someone else's bytes"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_workers_build_the_shards_and_a_second_build_gives_the_identical_manifest(
    curator, consent_document, dataset, celery_worker
):
    _three_donations(curator, consent_document, worker=True)
    release = release_create(
        dataset=dataset, version="1.0.0", curator=curator, shard_target_bytes=TINY_SHARDS
    )
    release = wait_for(
        lambda: Release.objects.filter(pk=release.pk, status=Release.Status.BUILT).first(),
        timeout=120,
        what="the workers to build the release",
    )
    assert release.shard_count == 3
    assert ReleaseShard.objects.filter(release=release, done=True).count() == 3
    built_by_workers = release_objects(release)

    # The same inputs again, built inline in this process: the same bytes, file for file.
    for path in built_by_workers:
        default_storage.delete(f"{release.storage_prefix}{path}")
    Release.objects.filter(pk=release.pk).delete()
    again = Release.objects.create(
        dataset=dataset, version="1.0.0", created_by=curator, shard_target_bytes=TINY_SHARDS
    )
    again = release_build(release_id=again.pk)

    assert release_objects(again)["manifest.json"] == built_by_workers["manifest.json"]
    assert release_objects(again) == built_by_workers
    assert again.manifest_sha256 == release.manifest_sha256

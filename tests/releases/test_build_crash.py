"""A release build's shard tasks on a real worker that is killed mid-shard: the lost shards are
delivered again and redone alone, the finished one is left as it was, and the release builds with
the bytes an uninterrupted build gives."""

import os
import signal
from pathlib import Path

import pytest
from django.db import connection, transaction

from consent.services import consent_grant
from releases.models import Release, ReleaseShard
from releases.services import release_build, release_finalize, release_plan, release_shard_build
from releases.tasks import build_release_shard
from tests.conftest import wait_for
from tests.releases.building import MOTION_OPEN, accepted_donation, make_donor, release_objects

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

QUEUE = "metagen-test-shards"
EVERY_RECORDING_ITS_OWN_SHARD = 1  # bytes


def _lock_waiters() -> set[int]:
    """Database backends waiting for the release row lock a finishing shard takes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # a fresh view inside a transaction
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query ILIKE %s",
            ["%releases_release%FOR UPDATE%"],
        )
        return {row[0] for row in cursor.fetchall()}


def _waiting(count: int) -> set[int] | None:
    waiters = _lock_waiters()
    return waiters if len(waiters) == count else None


def _pool_children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _done(release: Release) -> list[int]:
    return sorted(
        ReleaseShard.objects.filter(release=release, done=True).values_list("index", flat=True)
    )


def _planned_release(dataset, curator, version: str) -> Release:  # type: ignore[no-untyped-def]
    release = Release.objects.create(
        dataset=dataset,
        version=version,
        created_by=curator,
        shard_target_bytes=EVERY_RECORDING_ITS_OWN_SHARD,
    )
    return release_plan(release_id=release.pk)


def test_shards_lost_with_a_killed_worker_are_redone_alone_and_the_release_is_identical(
    curator, consent_document, dataset, worker_factory
):
    for n in range(3):
        donor = make_donor(n)
        consent_grant(donor=donor, document=consent_document, scopes=MOTION_OPEN)
        accepted_donation(donor, curator, seed=n)
    release = _planned_release(dataset, curator, "1.0.0")
    assert release.shard_count == 3
    # Shard 2 finished before the crash; its stored entry must survive untouched.
    release_shard_build(release_id=release.pk, index=2, queue_next=False)
    finished = ReleaseShard.objects.get(release=release, index=2).files
    worker = worker_factory(name="shards-kill", queue=QUEUE, env={})

    # Hold the release row: each shard task writes and stores its files, then waits for the
    # lock to mark itself done. Kill the pool there, between the work and the acknowledgement.
    with transaction.atomic():
        Release.objects.select_for_update().get(pk=release.pk)
        for index in (0, 1):
            build_release_shard.apply_async(args=[release.pk, index], queue=QUEUE)
        killed = wait_for(
            lambda: _waiting(2),
            timeout=90,
            what="both shard tasks to wait for the release row",
        )
        for child in _pool_children(worker.pid):
            os.kill(child, signal.SIGKILL)
        # Late acknowledgement + reject_on_worker_lost: new pool processes get both messages.
        wait_for(
            lambda: len(_lock_waiters() - killed) == 2,
            timeout=90,
            what="the redelivered shard tasks",
        )
        assert _done(release) == [2]

    wait_for(lambda: _done(release) == [0, 1, 2], timeout=90, what="every shard to be done")
    assert ReleaseShard.objects.get(release=release, index=2).files == finished
    release = release_finalize(release_id=release.pk)
    assert release.status == Release.Status.BUILT

    # The same inputs built without a crash, in this process: the same bytes, file for file.
    uninterrupted = release_build(release_id=_planned_release(dataset, curator, "1.0.1").pk)
    crashed_files = release_objects(release)
    clean_files = release_objects(uninterrupted)
    assert sorted(crashed_files) == sorted(clean_files)
    for path in crashed_files:
        if path.startswith("data/"):
            assert crashed_files[path] == clean_files[path], path

"""A release build that failed or stalled: what is recorded, what is cleaned, how it resumes.

A failed step ("planning", "shard 3", "final files") is recorded on the release with the reason,
shown to curators; the objects no finished shard lists are deleted; `release_retry` resumes the
build from where it stopped (finished shards are kept, the version is not used up). The sweeper
queues drafts whose build message was lost and resumes builds that made no progress for a shard
task's hard time limit plus STUCK_GRACE_S.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from metagen.faults import Fault, fault_of
from metagen.queueing import enqueue_on_commit
from releases.exceptions import ReleaseError
from releases.models import Release, ReleaseShard
from releases.services import _move, _walk, release_fail

logger = logging.getLogger(__name__)

STEP_PLANNING = "planning"
STEP_FINAL = "final files"
BUILD_TASK = "releases.build_release"


def step_shard(index: int) -> str:
    return f"shard {index}"


def failure_reason(exc: BaseException) -> str:
    """What a curator is told about why a step failed (no personal data: ids, keys, codes)."""
    fault = fault_of(exc)
    name = type(exc).__name__
    if fault is Fault.STORAGE:
        return _("Object storage was unavailable (%(error)s), still after retries.") % {
            "error": name
        }
    if fault is Fault.DATABASE:
        return _("The database was unavailable (%(error)s), still after retries.") % {"error": name}
    if fault is Fault.DISK_FULL:
        return _("The worker's disk was full, still after retries.")
    return f"{name}: {exc}"[:500]


def release_build_failed(*, release_id: int, step: str, exc: BaseException) -> None:
    """Record the failed step and its reason (release_fail), then delete the partial objects
    (release_partial_objects_delete). Storage may be what failed: the clean-up is best effort,
    and what it leaves is adopted by the retry (identical bytes are kept, never rewritten)."""
    if not release_fail(release_id=release_id, step=step, problem=failure_reason(exc)):
        return
    try:
        release_partial_objects_delete(release=Release.objects.get(pk=release_id))
    except Exception:
        logger.warning("release %s: partial objects not cleaned up", release_id, exc_info=True)


def release_partial_objects_delete(*, release: Release) -> int:
    """Delete what a failed build left under the release's prefix that no finished shard
    lists (a shard cut off mid-way, the final files). Only for a failed release: a shard that
    finishes after the failure is not counted done (release_shard_build), so nothing listed
    later can lose its object. Returns how many objects were deleted."""
    if release.status != Release.Status.FAILED:
        return 0
    kept = {
        entry["path"]
        for files in ReleaseShard.objects.filter(release=release, done=True).values_list(
            "files", flat=True
        )
        for entry in files
    }
    prefix = release.storage_prefix
    try:
        present = list(_walk(prefix))
    except FileNotFoundError:  # local storage: the build never wrote anything
        return 0
    deleted = 0
    for rel in present:
        if rel not in kept:
            default_storage.delete(f"{prefix}{rel}")
            deleted += 1
    logger.info("release %s: %d partial object(s) deleted", release.pk, deleted)
    return deleted


def release_retry(*, release: Release, curator: User) -> Release:
    """Retry a failed build from the step that failed: `failed` goes back to `building` (or to
    `draft` when planning failed) and the build is queued after commit; finished shards are
    kept, so only the unfinished ones and the final files are redone, under the same version.
    Raises ReleaseError unless the release is `failed`."""
    with transaction.atomic(durable=True):
        current = Release.objects.select_for_update().get(pk=release.pk)
        to_status = (
            Release.Status.BUILDING if current.shard_count is not None else Release.Status.DRAFT
        )
        if current.status != Release.Status.FAILED or not _move(
            current,
            Release.Status.FAILED,
            to_status,
            problem="",
            failed_step="",
            progress_at=timezone.now(),
        ):
            raise ReleaseError(_("Only a failed build can be retried."))
        enqueue_on_commit(BUILD_TASK, current.pk)
    logger.info("release %s: retried by user %s", current.pk, curator.pk)
    release.status, release.problem, release.failed_step = current.status, "", ""
    return current


def releases_requeue_stuck(*, batch: int = 100) -> dict[str, int]:
    """Queue the build of drafts that waited past STUCK_GRACE_S (the build message was lost)
    and resume builds with no progress for a shard task's hard time limit plus STUCK_GRACE_S
    (a worker died; the broker would give its message back only after the visibility timeout).
    Resuming queues the unfinished shards or the final task, each idempotent. Rows are taken
    under a lock (skipping locked ones) and touched, so the next sweep waits again. Returns and
    logs the counts."""
    now = timezone.now()
    grace = timedelta(seconds=settings.STUCK_GRACE_S)
    limit = timedelta(seconds=settings.RELEASE_SHARD_TIME_LIMIT)
    counts = {"drafts_requeued": 0, "builds_resumed": 0}
    for status, before, key in (
        (Release.Status.DRAFT, now - grace, "drafts_requeued"),
        (Release.Status.BUILDING, now - limit - grace, "builds_resumed"),
    ):
        with transaction.atomic(durable=True):
            stuck = list(
                Release.objects.select_for_update(skip_locked=True)
                .filter(status=status, progress_at__lt=before)
                .order_by("progress_at")
                .values_list("pk", flat=True)[:batch]
            )
            Release.objects.filter(pk__in=stuck).update(progress_at=now)
            for release_id in stuck:
                enqueue_on_commit(BUILD_TASK, release_id)
        counts[key] = len(stuck)
    logger.info("sweep stuck releases: %s", counts)
    return counts

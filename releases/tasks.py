"""Release build tasks: a coordinator, one task per shard, and a final task for the metadata.

The coordinator assigns items to shards in the database; shard tasks run on any worker, so a
build scales by adding workers, and a crashed shard is redelivered alone (acks_late, reject on
worker lost). The last shard to finish queues the final task: no task waits on another.
"""

import ctypes
import ctypes.util
import logging
import platform

from celery import Task, shared_task
from django.conf import settings

from metagen.faults import fault_of, retry_countdown
from releases.recovery import (
    STEP_FINAL,
    STEP_PLANNING,
    release_build_failed,
    releases_requeue_stuck,
    step_shard,
)
from releases.services import (
    release_build_fan_out,
    release_finalize,
    release_shard_build,
)

logger = logging.getLogger(__name__)

_LIBC = ctypes.util.find_library("c")


def _return_freed_memory() -> None:
    """Give the heap's free pages back to the system between shards (glibc): upload and Arrow
    threads otherwise leave a long-lived worker's resident size growing shard after shard.
    Run workers with MALLOC_ARENA_MAX=2 as well (bench/README.md)."""
    if _LIBC and platform.libc_ver()[0] == "glibc":
        ctypes.CDLL(_LIBC).malloc_trim(0)


def _retry_or_fail(task: Task, exc: Exception, *, release_id: int, step: str) -> None:  # type: ignore[type-arg]
    """Retry this step when the fault passes and retries remain; otherwise record the failed
    step and its reason on the release (releases.recovery.release_build_failed) and re-raise,
    keeping the trace in the worker log."""
    if fault_of(exc) is not None and task.request.retries < settings.RELEASE_STEP_MAX_RETRIES:
        countdown = retry_countdown(
            attempt=task.request.retries, base=settings.RELEASE_RETRY_BACKOFF_S, cap=300.0
        )
        raise task.retry(exc=exc, countdown=countdown) from exc
    logger.exception("release %s: %s failed", release_id, step)
    release_build_failed(release_id=release_id, step=step, exc=exc)
    raise exc


@shared_task(
    name="releases.build_release",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=None,  # bounded by RELEASE_STEP_MAX_RETRIES
    soft_time_limit=30 * 60,
    time_limit=30 * 60 + 120,
)
def build_release(self, release_id: int) -> None:  # type: ignore[no-untyped-def]
    """Plan a release and queue its shard tasks (releases.services.release_build_fan_out), or
    resume a planned one: only its unfinished shards (or the final task) are queued. Safe to
    deliver twice; the sweeper and a curator's retry send it again."""
    try:
        release_build_fan_out(release_id=release_id)
    except Exception as exc:
        _retry_or_fail(self, exc, release_id=release_id, step=STEP_PLANNING)


@shared_task(
    name="releases.build_release_shard",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=None,  # bounded by RELEASE_STEP_MAX_RETRIES
    soft_time_limit=settings.RELEASE_SHARD_SOFT_TIME_LIMIT,
    time_limit=settings.RELEASE_SHARD_TIME_LIMIT,
)
def build_release_shard(self, release_id: int, index: int) -> None:  # type: ignore[no-untyped-def]
    """Write one shard (releases.services.release_shard_build). Idempotent; passing faults
    retry this shard alone with backoff; after the last retry the release fails at this shard."""
    try:
        release_shard_build(release_id=release_id, index=index)
        _return_freed_memory()
    except Exception as exc:
        _retry_or_fail(self, exc, release_id=release_id, step=step_shard(index))


@shared_task(
    name="releases.build_release_finalize",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=None,  # bounded by RELEASE_STEP_MAX_RETRIES
    soft_time_limit=settings.RELEASE_SHARD_SOFT_TIME_LIMIT,
    time_limit=settings.RELEASE_SHARD_TIME_LIMIT,
)
def build_release_finalize(self, release_id: int) -> None:  # type: ignore[no-untyped-def]
    """Write index, metadata, manifest and checksums; mark built (release_finalize).
    Idempotent: a release no longer building is left alone. Passing faults retry it."""
    try:
        release_finalize(release_id=release_id)
    except Exception as exc:
        _retry_or_fail(self, exc, release_id=release_id, step=STEP_FINAL)


@shared_task(
    name="releases.sweep_stuck_releases",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=10 * 60,
    time_limit=11 * 60,
)
def sweep_stuck_releases() -> None:
    """Queue drafts whose build was lost and resume stalled builds (beat, every
    SWEEP_INTERVAL_S; releases.recovery.releases_requeue_stuck). Idempotent."""
    releases_requeue_stuck()

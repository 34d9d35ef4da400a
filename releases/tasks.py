"""Release build tasks: a coordinator, one task per shard, and a final task for the metadata.

The coordinator assigns items to shards in the database; shard tasks run on any worker, so a
build scales by adding workers, and a crashed shard is redelivered alone (acks_late, reject on
worker lost). The last shard to finish queues the final task: no task waits on another.
"""

import ctypes
import ctypes.util
import logging
import platform

from botocore.exceptions import ConnectionError as BotoConnectionError
from celery import shared_task

from releases.services import (
    release_build_fan_out,
    release_fail,
    release_finalize,
    release_shard_build,
)

logger = logging.getLogger(__name__)

TRANSIENT = (BotoConnectionError, ConnectionError, TimeoutError)
_LIBC = ctypes.util.find_library("c")


def _return_freed_memory() -> None:
    """Give the heap's free pages back to the system between shards (glibc): upload and Arrow
    threads otherwise leave a long-lived worker's resident size growing shard after shard.
    Run workers with MALLOC_ARENA_MAX=2 as well (bench/README.md)."""
    if _LIBC and platform.libc_ver()[0] == "glibc":
        ctypes.CDLL(_LIBC).malloc_trim(0)


FAILED = "The build failed; see the worker log."


@shared_task(
    name="releases.build_release",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=30 * 60,
    time_limit=30 * 60 + 120,
)
def build_release(release_id: int) -> None:
    """Plan a release and queue its shard tasks (releases.services.release_build_fan_out).
    Safe to deliver twice: a planned release only has its unfinished shards queued again."""
    try:
        release_build_fan_out(release_id=release_id)
    except Exception:
        logger.exception("release %s planning failed", release_id)
        release_fail(release_id=release_id, problem=FAILED)
        raise


@shared_task(
    name="releases.build_release_shard",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=5,
    soft_time_limit=60 * 60,
    time_limit=60 * 60 + 120,
)
def build_release_shard(self, release_id: int, index: int) -> None:  # type: ignore[no-untyped-def]
    """Write one shard (releases.services.release_shard_build). Idempotent; transient storage
    errors retry this shard alone with backoff; after the last retry the release fails."""
    try:
        release_shard_build(release_id=release_id, index=index)
        _return_freed_memory()
    except TRANSIENT as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=min(300, 5 * 2**self.request.retries)) from exc
        logger.exception("release %s shard %s failed after retries", release_id, index)
        release_fail(release_id=release_id, problem=FAILED)
        raise
    except Exception:
        logger.exception("release %s shard %s failed", release_id, index)
        release_fail(release_id=release_id, problem=FAILED)
        raise


@shared_task(
    name="releases.build_release_finalize",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=60 * 60,
    time_limit=60 * 60 + 120,
)
def build_release_finalize(release_id: int) -> None:
    """Write index, metadata, manifest and checksums; mark built (release_finalize).
    Idempotent: a release no longer building is left alone."""
    try:
        release_finalize(release_id=release_id)
    except Exception:
        logger.exception("release %s finalize failed", release_id)
        release_fail(release_id=release_id, problem=FAILED)
        raise

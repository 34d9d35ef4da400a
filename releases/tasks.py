import logging

from celery import shared_task

from releases.services import release_build, release_fail

logger = logging.getLogger(__name__)


@shared_task(
    name="releases.build_release",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=60 * 60,
    time_limit=60 * 60 + 120,
)
def build_release(release_id: int) -> None:
    """Build one release (releases.services.release_build). Safe to deliver twice."""
    try:
        release_build(release_id=release_id)
    except Exception:
        logger.exception("release %s build failed", release_id)
        release_fail(release_id=release_id, problem="The build failed; see the worker log.")
        raise

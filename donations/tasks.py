from celery import shared_task

from donations.services import donation_raw_purge_rejected, pending_deletions_sweep
from donations.uploads import upload_sessions_abort_abandoned


@shared_task(
    name="donations.abort_abandoned_uploads",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=10 * 60,
    time_limit=11 * 60,
)
def abort_abandoned_uploads() -> None:
    """Abort upload sessions left open past their expiry or whose donation moved on (beat, hourly).

    Idempotent and safe to run twice at once: each donation is handled under a row lock.
    """
    upload_sessions_abort_abandoned()


@shared_task(
    name="donations.purge_rejected_raw",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=20 * 60,
    time_limit=21 * 60,
)
def purge_rejected_raw() -> None:
    """Delete the raw uploads of donations rejected longer ago than REJECTED_RAW_RETENTION_DAYS
    (beat, hourly; at most 10,000 donations a run, the next run goes on). Idempotent."""
    donation_raw_purge_rejected()


@shared_task(
    name="donations.sweep_withdrawn_objects",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=10 * 60,
    time_limit=11 * 60,
)
def sweep_withdrawn_objects() -> None:
    """Delete the objects of withdrawn donations whose deletion after commit failed (beat,
    every SWEEP_INTERVAL_S; donations.services.pending_deletions_sweep). Idempotent."""
    pending_deletions_sweep()

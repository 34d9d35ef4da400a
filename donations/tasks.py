from celery import shared_task

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

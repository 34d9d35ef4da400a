import logging
import random

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from processing.services import donation_fail, donation_process
from processing.storage_errors import is_transient

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="processing.process_donation",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=settings.PROCESSING_SOFT_TIME_LIMIT,
    time_limit=settings.PROCESSING_TIME_LIMIT,
    max_retries=None,  # bounded below by PROCESSING_MAX_RETRIES, read at run time
)
def process_donation(self, donation_id: str) -> None:  # type: ignore[no-untyped-def]
    """Process one uploaded donation (see processing.services.donation_process).

    Safe to retry and to deliver twice. Transient storage errors retry with exponential backoff
    and jitter; after the last retry, or past the soft time limit, the donation ends `failed`.
    """
    try:
        donation_process(donation_id=donation_id)
    except SoftTimeLimitExceeded:
        donation_fail(
            donation_id=donation_id,
            code="processing.timeout",
            message="Processing took too long. We will look into it; you do not need to act.",
        )
    except Exception as exc:
        if not is_transient(exc):
            # A bug on our side, not the donor's: say so where they look, keep the trace for us.
            donation_fail(
                donation_id=donation_id,
                code="processing.internal_error",
                message=(
                    "Something went wrong on our side. We have been told; you do not need to act."
                ),
            )
            raise
        if self.request.retries >= settings.PROCESSING_MAX_RETRIES:
            logger.warning("donation %s: storage unavailable, giving up", donation_id)
            donation_fail(
                donation_id=donation_id,
                code="processing.storage_unavailable",
                message="Our storage was unavailable. We will retry it; you do not need to act.",
            )
            return
        base = settings.PROCESSING_RETRY_BACKOFF_S
        countdown = min(600.0, base * 2**self.request.retries) + random.uniform(0, base)  # noqa: S311
        raise self.retry(exc=exc, countdown=countdown) from exc

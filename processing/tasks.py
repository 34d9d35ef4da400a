import logging
from datetime import datetime

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from metagen.faults import fault_of
from processing import problems
from processing.recovery import donation_fault, donations_requeue_stuck
from processing.services import donation_fail, donation_process, donation_processing_claim

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="processing.process_donation",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=settings.PROCESSING_SOFT_TIME_LIMIT,
    time_limit=settings.PROCESSING_TIME_LIMIT,
    max_retries=None,  # bounded by PROCESSING_MAX_RETRIES, read at run time (donation_fault)
)
def process_donation(self, donation_id: str, claim: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Process one uploaded donation (see processing.services.donation_process).

    Safe to retry and to deliver twice. `claim` (ISO time) is the processing claim a retry or
    the sweeper's take-over carries; a message whose claim was superseded does nothing. Passing
    faults (storage, database, full disk) retry with exponential backoff and jitter; after the
    last retry, past the soft time limit, or on any other error, the donation ends `failed`
    with a code saying which (processing.problems).
    """
    run_claim = None
    try:
        run_claim = donation_processing_claim(
            donation_id=donation_id, claim=datetime.fromisoformat(claim) if claim else None
        )
        if run_claim is None:
            return
        donation_process(donation_id=donation_id, claim=run_claim)
    except SoftTimeLimitExceeded:
        donation_fail(
            donation_id=donation_id,
            code=problems.TIMEOUT,
            message=problems.message(problems.TIMEOUT),
            claim=run_claim,
        )
    except Exception as exc:
        # Not claimed yet (the database was down): retry with the claim the message came with.
        retry_claim = run_claim.isoformat() if run_claim else claim
        countdown = donation_fault(
            donation_id=donation_id, exc=exc, attempt=self.request.retries, claim=retry_claim
        )
        if countdown is None:
            if fault_of(exc) is None:
                raise  # a bug on our side: keep the trace in the worker log
            return
        raise self.retry(
            exc=exc, countdown=countdown, kwargs={"donation_id": donation_id, "claim": retry_claim}
        ) from exc


@shared_task(
    name="processing.sweep_stuck_donations",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=10 * 60,
    time_limit=11 * 60,
)
def sweep_stuck_donations() -> None:
    """Queue again donations stuck in `uploaded` or `processing` (beat, every SWEEP_INTERVAL_S;
    processing.recovery.donations_requeue_stuck). Idempotent."""
    donations_requeue_stuck()

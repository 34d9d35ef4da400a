"""What happens when a processing run fails or is lost: retry, give up with a code, or take over.

A run that raised is retried when the fault passes (metagen.faults: storage, database, full disk)
and recorded as `failed` with its code otherwise or once its retries are spent. A run that was
lost (its message lost with the broker, its worker killed) is found by the sweeper: a donation
`uploaded` for longer than STUCK_GRACE_S is queued again; one `processing` with no progress for
the task's hard time limit plus STUCK_GRACE_S is taken over under a new claim, so the lost run
could not finish it even if it came back.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from donations.models import DonationStatus
from donations.services import donations_touch_stale
from metagen.faults import fault_of, retry_countdown
from metagen.queueing import enqueue_on_commit
from processing import problems
from processing.services import donation_fail

logger = logging.getLogger(__name__)

PROCESS_TASK = "processing.process_donation"


def donation_fault(
    *, donation_id: str, exc: BaseException, attempt: int, claim: str | None
) -> float | None:
    """Decide after a run raised `exc` on its `attempt` (0-based): the seconds to wait before
    retrying it, or None once the failure is recorded (`failed`, with the fault's code and its
    message for the donor; `processing.internal_error` for anything not passing).

    A full disk has its own code (`processing.disk_full`) and is retried like the other passing
    faults, with exponential backoff and jitter, PROCESSING_MAX_RETRIES times.
    """
    fault = fault_of(exc)
    run_claim = _parse_claim(claim)
    if fault is None:
        code = problems.INTERNAL_ERROR
    elif attempt >= settings.PROCESSING_MAX_RETRIES:
        code = problems.FAULT_CODES[fault]
    else:
        logger.info("donation %s: %s fault, retry %d", donation_id, fault, attempt + 1)
        return retry_countdown(attempt=attempt, base=settings.PROCESSING_RETRY_BACKOFF_S)
    logger.warning("donation %s: processing gave up: %s", donation_id, code)
    donation_fail(
        donation_id=donation_id, code=code, message=problems.message(code), claim=run_claim
    )
    return None


def _parse_claim(claim: str | None) -> datetime | None:
    return datetime.fromisoformat(claim) if claim else None


def donations_requeue_stuck(*, batch: int = 500) -> dict[str, int]:
    """Queue again the donations whose processing message was lost (see the module docstring).

    Idempotent and safe to run twice at once (rows are taken under a lock, skipping locked
    ones, and touched so the next sweep leaves them for another grace period). Works in
    batches of `batch` rows through the (status, updated_at) index. Returns and logs the
    counts: `uploaded` re-queued, `processing` taken over.
    """
    now = timezone.now()
    grace = timedelta(seconds=settings.STUCK_GRACE_S)
    hard_limit = timedelta(seconds=settings.PROCESSING_TIME_LIMIT)
    counts = {"uploaded_requeued": 0, "processing_taken_over": 0}
    while True:
        with transaction.atomic(durable=True):
            waiting = donations_touch_stale(
                status=DonationStatus.UPLOADED, before=now - grace, batch=batch
            )
            for donation in waiting:
                enqueue_on_commit(PROCESS_TASK, str(donation.pk))
        counts["uploaded_requeued"] += len(waiting)
        if len(waiting) < batch:
            break
    while True:
        with transaction.atomic(durable=True):
            running = donations_touch_stale(
                status=DonationStatus.PROCESSING,
                before=now - hard_limit - grace,
                batch=batch,
                take_over=True,
            )
            for donation in running:
                claim = donation.claimed_at.isoformat() if donation.claimed_at else None
                enqueue_on_commit(PROCESS_TASK, str(donation.pk), claim=claim)
        counts["processing_taken_over"] += len(running)
        if len(running) < batch:
            break
    logger.info("sweep stuck donations: %s", counts)
    return counts

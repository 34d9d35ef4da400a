from celery import shared_task
from django.db import OperationalError

from rewards.services import awards_requeue_missing, reward_award_for_donation


@shared_task(
    name="rewards.award_for_donation",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=60,
    time_limit=90,
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    retry_jitter=True,
    max_retries=8,
)
def award_for_donation(donation_id: str) -> None:
    """Credit the donor of an accepted donation (rewards.services.reward_award_for_donation).

    Enqueued on commit of the acceptance. Idempotent through the ledger key `award:<donation>`:
    a redelivery (a retry, a worker killed between the work and the acknowledgement) finds the
    entry and adds nothing. Lost database connections retry with backoff.
    """
    reward_award_for_donation(donation_id=donation_id)


@shared_task(
    name="rewards.sweep_missing_awards",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=10 * 60,
    time_limit=11 * 60,
)
def sweep_missing_awards() -> None:
    """Queue the award of accepted donations that have none (beat, every SWEEP_INTERVAL_S;
    rewards.services.awards_requeue_missing). Idempotent."""
    awards_requeue_missing()

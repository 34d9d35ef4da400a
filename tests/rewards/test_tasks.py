"""The award task on real Celery workers (PostgreSQL, Redis): acceptance credits once, whatever
the redeliveries, including a worker killed mid-award. Rows are committed for the workers."""

import os
import signal
import socket
from pathlib import Path

import pytest
from django.db import connection, transaction

from donations.models import DonationStatus
from donations.services import donation_review, donation_transition
from metagen.celery import app
from rewards.models import LedgerEntry, RewardAccount
from rewards.services import reward_award_for_donation
from rewards.tasks import award_for_donation
from tests.conftest import wait_for
from tests.rewards.support import processed_donation, reward_rule

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TASK = "rewards.award_for_donation"


def _accepted_without_enqueue(donor):  # type: ignore[no-untyped-def]
    """An accepted donation whose award nobody has enqueued (the test delivers it itself)."""
    donation = processed_donation(donor, duration_s=60.0)
    with transaction.atomic():
        donation_transition(donation=donation, to_status=DonationStatus.ACCEPTED)
    return donation


def _awards(donation) -> int:  # type: ignore[no-untyped-def]
    return LedgerEntry.objects.filter(donation=donation, kind=LedgerEntry.Kind.AWARD).count()


def _tasks_done(hostname: str) -> int:
    stats = app.control.inspect(destination=[hostname], timeout=2).stats() or {}
    return int(stats.get(hostname, {}).get("total", {}).get(TASK, 0))


def _lock_waiters() -> set[int]:
    """Database backends waiting for a row lock taken with SELECT ... FOR UPDATE."""
    with connection.cursor() as cursor:
        # Statistics views are a snapshot per transaction, and the caller may be inside one.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query ILIKE %s",
            ["%rewards_rewardaccount%FOR UPDATE%"],
        )
        return {row[0] for row in cursor.fetchall()}


def _pool_children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_a_curator_accepting_a_donation_has_the_worker_credit_its_donor(
    donor, curator, celery_worker
):
    reward_rule(credits_per_minute=10)
    donation = processed_donation(donor, duration_s=90.0)

    donation_review(donation=donation, curator=curator, accept=True)

    entry = wait_for(
        lambda: LedgerEntry.objects.filter(donation=donation).first(),
        timeout=60,
        what="the award",
    )
    assert (entry.kind, entry.credits, entry.idempotency_key) == (
        LedgerEntry.Kind.AWARD,
        15,
        f"award:{donation.pk}",
    )


def test_redelivering_the_award_after_its_work_was_committed_adds_nothing(donor, celery_worker):
    # A worker that committed the award and died before acknowledging leaves exactly this: the
    # entry in the ledger and the message back in the queue, delivered again (here, five times).
    reward_rule(credits_per_minute=10)
    donation = _accepted_without_enqueue(donor)
    first = reward_award_for_donation(donation_id=donation.pk)
    hostname = f"test@{socket.gethostname()}"
    before = _tasks_done(hostname)

    for _ in range(5):
        award_for_donation.delay(str(donation.pk))

    wait_for(lambda: _tasks_done(hostname) >= before + 5, timeout=60, what="five deliveries")
    assert _awards(donation) == 1
    assert LedgerEntry.objects.get(donation=donation) == first


def test_a_worker_killed_in_the_middle_of_an_award_is_redelivered_and_credits_once(
    donor, worker_factory
):
    reward_rule(credits_per_minute=10)
    donation = _accepted_without_enqueue(donor)
    RewardAccount.objects.create(user=donor)
    worker = worker_factory(name="rewards-kill", queue="metagen-test-rewards", env={})

    # Hold the donor's account lock so the award is caught mid-transaction, then kill it there.
    with transaction.atomic():
        RewardAccount.objects.select_for_update().get(user=donor)
        award_for_donation.apply_async(args=[str(donation.pk)], queue="metagen-test-rewards")
        killed = wait_for(_lock_waiters, timeout=60, what="the award to wait for the lock")
        for child in _pool_children(worker.pid):
            os.kill(child, signal.SIGKILL)
        # Late acknowledgement + reject_on_worker_lost: a new pool process gets the message.
        wait_for(lambda: _lock_waiters() - killed, timeout=60, what="the redelivered award")
        assert _awards(donation) == 0

    wait_for(lambda: _awards(donation) == 1, timeout=60, what="the award after the lock")
    # The killed attempt's transaction can never commit: its client is gone.
    wait_for(lambda: not _lock_waiters(), timeout=60, what="every waiter to finish")
    assert _awards(donation) == 1
    assert LedgerEntry.objects.get(donation=donation).credits == 10

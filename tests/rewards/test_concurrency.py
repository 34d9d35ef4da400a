"""Concurrency against PostgreSQL: each thread has its own database connection and its own
transactions, as separate web or worker processes would."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from donations.exceptions import TransitionError
from donations.models import DonationStatus
from donations.services import donation_review
from metagen.celery import app
from rewards.exceptions import RewardError
from rewards.models import LedgerEntry, PayoutRequest
from rewards.selectors import reward_balance_for_user
from rewards.services import ledger_adjust, payout_request_create, reward_award_for_donation
from tests.rewards.support import processed_donation, reward_rule

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 12


@pytest.fixture(autouse=True)
def _no_lingering_tasks():  # type: ignore[no-untyped-def]
    """Acceptances here enqueue real award messages and no worker runs: purge them so that no
    later test finds them in the broker."""
    yield
    app.control.purge()


def _race(work: Callable[[], object], threads: int = THREADS) -> list[object]:
    """Run `work` in `threads` threads released together; return each result or exception."""
    barrier = threading.Barrier(threads)
    results: list[object] = [None] * threads

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work()
        except Exception as exc:  # the test inspects what each thread got
            results[i] = exc
        finally:
            connection.close()

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results


def test_curators_accepting_one_donation_at_once_and_retried_awards_credit_it_once(donor, curator):
    reward_rule(credits_per_minute=10, audio_bonus=5, events_bonus=0)
    donation = processed_donation(donor, duration_s=90.0, audio=True)

    reviews = _race(lambda: donation_review(donation=donation, curator=curator, accept=True))
    awards = _race(lambda: reward_award_for_donation(donation_id=donation.pk))

    assert sum(not isinstance(r, Exception) for r in reviews) == 1
    assert all(isinstance(r, TransitionError) for r in reviews if isinstance(r, Exception))
    donation.refresh_from_db()
    assert donation.status == DonationStatus.ACCEPTED
    assert all(isinstance(a, LedgerEntry) for a in awards), awards
    assert len({a.pk for a in awards}) == 1  # type: ignore[union-attr]
    assert LedgerEntry.objects.filter(donation=donation).count() == 1
    assert reward_balance_for_user(user=donor)["balance"] == 15 + 5


def test_awards_for_many_donations_at_once_respect_the_daily_cap(donor, curator):
    reward_rule(credits_per_minute=10, audio_bonus=0, events_bonus=0, daily_cap=50)
    donations = [processed_donation(donor, duration_s=120.0) for _ in range(6)]
    for donation in donations:
        donation_review(donation=donation, curator=curator, accept=True)
    pending = list(donations)
    lock = threading.Lock()

    def award_next() -> object:
        with lock:
            donation = pending.pop()
        return reward_award_for_donation(donation_id=donation.pk)

    _race(award_next, threads=len(donations))

    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.AWARD).count() == 6
    assert reward_balance_for_user(user=donor)["balance"] == 50


def test_concurrent_payout_requests_beyond_the_balance_hold_at_most_the_balance(
    donor, curator, settings
):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    ledger_adjust(user=donor, credits=500, reason="Funds", actor=curator, idempotency_key="f")

    results = _race(lambda: payout_request_create(user=donor, credits=150))

    granted = [r for r in results if isinstance(r, PayoutRequest)]
    refused = [r for r in results if isinstance(r, RewardError)]
    assert (len(granted), len(refused)) == (3, THREADS - 3)
    assert {str(r) for r in refused} == {"You asked for 150 credits but your balance is 50."}
    assert reward_balance_for_user(user=donor) == {"balance": 50, "held": 450}


def test_concurrent_clawbacks_and_payouts_never_take_the_balance_below_zero(
    donor, curator, settings
):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    ledger_adjust(user=donor, credits=300, reason="Funds", actor=curator, idempotency_key="f")
    counter = iter(range(THREADS))
    lock = threading.Lock()

    def payout_or_clawback() -> object:
        with lock:
            i = next(counter)
        if i % 2:
            return payout_request_create(user=donor, credits=100)
        return ledger_adjust(
            user=donor, credits=-100, reason="Clawback", actor=curator, idempotency_key=f"c{i}"
        )

    results = _race(payout_or_clawback)

    assert sum(not isinstance(r, Exception) for r in results) == 3
    assert reward_balance_for_user(user=donor)["balance"] == 0


def test_double_clicks_of_one_payout_request_make_one_request(donor, curator, settings):
    settings.REWARDS_PAYOUT_MINIMUM = 100
    ledger_adjust(user=donor, credits=500, reason="Funds", actor=curator, idempotency_key="f")

    results = _race(lambda: payout_request_create(user=donor, credits=100, request_key="click-1"))

    assert all(isinstance(r, PayoutRequest) for r in results), results
    assert len({r.pk for r in results}) == 1  # type: ignore[union-attr]
    assert reward_balance_for_user(user=donor) == {"balance": 400, "held": 100}

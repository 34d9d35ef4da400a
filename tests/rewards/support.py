"""Rows for rewards tests: reward rules, processed (and accepted) donations with the summary
processing stores, an opening balance, and a second donor."""

from django.utils import timezone

from accounts.services import user_create_verified
from donations.models import Donation, DonationStatus
from donations.services import donation_review
from rewards.models import LedgerEntry, RewardRule
from rewards.services import ledger_adjust


def other_donor():  # type: ignore[no-untyped-def]
    return user_create_verified(email="other-donor@example.org", password="another-one-2026")


def reward_rule(**fields: object) -> RewardRule:
    """A rule in force since yesterday, unless told otherwise."""
    values: dict[str, object] = {
        "version": 1,
        "credits_per_minute": 10,
        "audio_bonus": 5,
        "events_bonus": 3,
        "effective_at": timezone.now() - timezone.timedelta(days=1),
    }
    values.update(fields)
    return RewardRule.objects.create(**values)


def processed_donation(
    donor,  # type: ignore[no-untyped-def]
    *,
    duration_s: float = 120.0,
    audio: bool = False,
    events: bool = False,
) -> Donation:
    """A processed donation whose summary is shaped like processing's metadata.json."""
    summary: dict[str, object] = {
        "source_format": "bvh",
        "duration_s": duration_s,
        "frame_rate": 60.0,
        "events": {"file": "events.parquet", "count": 4, "kinds": {"hit": 4}} if events else None,
    }
    if audio:
        summary["audio"] = {"codec": "flac", "duration_s": duration_s}
    return Donation.objects.create(donor=donor, status=DonationStatus.PROCESSED, summary=summary)


def accepted_donation(donor, curator, **summary) -> Donation:  # type: ignore[no-untyped-def]
    """A processed donation the curator accepted (its award is enqueued, not yet run)."""
    donation = processed_donation(donor, **summary)
    donation_review(donation=donation, curator=curator, accept=True)
    return donation


def fund(user, credits: int, actor, key: str = "fund") -> LedgerEntry:  # type: ignore[no-untyped-def]
    """An opening balance: an admin's adjustment of `credits`."""
    return ledger_adjust(
        user=user, credits=credits, reason="Opening balance", actor=actor, idempotency_key=key
    )

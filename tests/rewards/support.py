"""Rows for rewards tests: reward rules, processed donations with the summary processing stores,
and a second donor."""

from django.utils import timezone

from accounts.services import user_create_verified
from donations.models import Donation, DonationStatus
from rewards.models import RewardRule


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

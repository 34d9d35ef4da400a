"""Run every sweeper once, now: what beat does every SWEEP_INTERVAL_S (see README, "Faults")."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from donations.services import pending_deletions_sweep
from processing.recovery import donations_requeue_stuck
from releases.recovery import releases_requeue_stuck
from rewards.services import awards_requeue_missing


class Command(BaseCommand):
    help = "Queue again stuck donations, releases, missing awards and failed deletions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--lookback-s",
            type=int,
            default=None,
            help="How far back to look for accepted donations without an award "
            "(default SWEEP_LOOKBACK_S).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"donations: {donations_requeue_stuck()}")
        self.stdout.write(f"withdrawn objects: {pending_deletions_sweep()}")
        self.stdout.write(f"releases: {releases_requeue_stuck()}")
        awards = awards_requeue_missing(lookback_s=options["lookback_s"])
        self.stdout.write(f"awards: {awards}")

"""Demo data for the embedded default: three accounts and a published release of generated data.

Everything is generated here (processing.motion.synthetic); no third-party sample is used.
Safe to run again: it does nothing once the demo donor exists. The accounts include a curator
(staff) with a published password, so it refuses to run unless DEBUG is on or `--force` is given.
"""

from argparse import ArgumentParser

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import user_create_verified
from consent.selectors import consent_document_get_current
from consent.services import consent_grant
from donations.services import donation_create_from_upload, donation_review
from processing.motion.synthetic import synthetic_bvh
from processing.services import donation_process
from releases.models import Dataset
from releases.services import release_build, release_create, release_publish
from rewards.selectors import reward_rule_in_force
from rewards.services import reward_award_for_donation, reward_rule_create

DEMO_PASSWORD = "metagen-demo-2026"  # noqa: S105 - printed for the demo; local data only
ACCOUNTS = {
    "donor": "donor@demo.metagen.invalid",
    "curator": "curator@demo.metagen.invalid",
    "researcher": "researcher@demo.metagen.invalid",
}
RECORDINGS = 3


class Command(BaseCommand):
    help = "Create demo accounts and a published release built from generated recordings."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even though DEBUG is off (creates staff logins with a public password).",
        )

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "demo_seed creates staff accounts with a published password and runs only with "
                "DJANGO_DEBUG=true. Pass --force to seed this database anyway."
            )
        if not User.objects.filter(email=ACCOUNTS["donor"]).exists():
            self._seed()
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD})"))
        for role, email in ACCOUNTS.items():
            self.stdout.write(f"  {role:<10} {email}")

    def _seed(self) -> None:
        donor = user_create_verified(email=ACCOUNTS["donor"], password=DEMO_PASSWORD)
        curator = user_create_verified(
            email=ACCOUNTS["curator"], password=DEMO_PASSWORD, curator=True
        )
        user_create_verified(email=ACCOUNTS["researcher"], password=DEMO_PASSWORD)

        document = consent_document_get_current()
        if document is None:
            raise CommandError("No consent document is in effect; run `manage.py migrate`.")
        consent_grant(
            donor=donor,
            document=document,
            scopes=["motion:open_release", "motion:model_training"],
        )
        if reward_rule_in_force() is None:
            reward_rule_create(credits_per_minute=60, audio_bonus=20, events_bonus=10)
        for seed in range(RECORDINGS):
            text = synthetic_bvh(seconds=6 + 2 * seed, fps=60, seed=seed).encode()
            upload = SimpleUploadedFile("demo.bvh", text, content_type="text/plain")
            donation = donation_create_from_upload(donor=donor, motion_file=upload)
            # Processed inline so the demo is ready at once; the worker skips it when it
            # picks up the queued task (processing is idempotent).
            donation = donation_process(donation_id=str(donation.pk))
            donation_review(donation=donation, curator=curator, accept=True)
            # Credited inline too; the queued award task then finds the entry and adds nothing.
            reward_award_for_donation(donation_id=donation.pk)

        dataset = Dataset.objects.get(slug="vr-motion-open")
        release = release_create(dataset=dataset, version="0.1.0", curator=curator)
        release = release_build(release_id=release.pk)
        release_publish(release=release, curator=curator)
        self.stdout.write(
            f"Published {dataset.slug} {release.version} with {RECORDINGS} recordings."
        )

"""`manage.py verify_release <dataset> <version>`: re-read a release and check every file and
every item's consent; exits non-zero on any failure."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from releases.models import Release
from releases.services import release_verify


class Command(BaseCommand):
    help = (
        "Re-read every file of a release and check sizes, SHA-256 checksums, the manifest, and "
        "that every item is covered by its recorded consent event."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset", help="dataset slug")
        parser.add_argument("version", help="release version, e.g. 1.0.0")

    def handle(self, *args: Any, **options: Any) -> None:
        release = (
            Release.objects.select_related("dataset")
            .filter(dataset__slug=options["dataset"], version=options["version"])
            .first()
        )
        if release is None:
            raise CommandError(f"No release {options['version']} of {options['dataset']}.")
        problems = release_verify(release=release)
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} problem(s) in {release}.")
        self.stdout.write(
            self.style.SUCCESS(
                f"{release}: {release.files.count()} files and "
                f"{release.items.count()} items verified."
            )
        )

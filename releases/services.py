import logging
import shutil
import tempfile
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from consent.models import ConsentEvent
from consent.scopes import covers
from consent.selectors import consent_event_get_effective
from donations.models import Donation, DonationStatus
from metagen.hashing import sha256_stream
from releases.build import BuildInput, write_release
from releases.exceptions import ReleaseError
from releases.models import SEMVER, Dataset, Download, Release, ReleaseFile, ReleaseItem
from releases.pseudonyms import pseudonym

logger = logging.getLogger(__name__)


def release_create(*, dataset: Dataset, version: str, curator: User, notes: str = "") -> Release:
    """Create a draft release and queue its build after commit. Raises ReleaseError if the
    version is malformed or already taken."""
    from django.core.exceptions import ValidationError

    from releases.tasks import build_release

    try:
        SEMVER(version)
    except ValidationError as exc:
        raise ReleaseError(exc.messages[0]) from exc
    if dataset.releases.filter(version=version).exists():
        raise ReleaseError(f"Version {version} of {dataset.slug} already exists.")
    with transaction.atomic(durable=True):
        release = Release.objects.create(
            dataset=dataset, version=version, created_by=curator, notes=notes
        )
        build_release.delay_on_commit(release.pk)
    return release


def _move(release: Release, from_status: str, to_status: str, **fields: object) -> bool:
    moved = Release.objects.filter(pk=release.pk, status=from_status).update(
        status=to_status, **fields
    )
    if moved:
        release.status = to_status
        for name, value in fields.items():
            setattr(release, name, value)
    return bool(moved)


def _eligible(dataset: Dataset) -> list[tuple[Donation, ConsentEvent]]:
    """Accepted donations whose effective consent, now, covers the dataset's scopes."""
    chosen = []
    accepted = Donation.objects.filter(status=DonationStatus.ACCEPTED).select_related("donor")
    for donation in accepted.order_by("pk"):
        event = consent_event_get_effective(donor=donation.donor, donation_id=donation.pk)
        if (
            event is not None
            and event.action == ConsentEvent.Action.GRANT
            and covers(event.scopes, dataset.required_scopes)
        ):
            chosen.append((donation, event))
    return chosen


def release_build(*, release_id: int) -> Release:
    """Build a draft release: select eligible donations, write and store its files.

    Idempotent: a release that is not draft or building is left alone. Refuses to overwrite an
    object that already exists under the release's prefix (releases are immutable). On success
    the release is `built` with its items and files recorded; on a build error, `failed`.
    """
    release = Release.objects.select_related("dataset").get(pk=release_id)
    if release.status == Release.Status.DRAFT:
        _move(release, Release.Status.DRAFT, Release.Status.BUILDING)
    elif release.status != Release.Status.BUILDING:
        return release

    dataset = release.dataset
    chosen = _eligible(dataset)
    workdir = Path(tempfile.mkdtemp(prefix="metagen-release-"))
    handles = []
    try:
        inputs = []
        for donation, _event in chosen:
            fh = default_storage.open(f"{donation.artifact_prefix}motion.parquet", "rb")
            handles.append(fh)
            inputs.append(
                BuildInput(
                    recording_id=pseudonym(
                        secret=dataset.pseudonym_secret, kind="recording", value=donation.pk
                    ),
                    contributor_id=pseudonym(
                        secret=dataset.pseudonym_secret, kind="contributor", value=donation.donor_id
                    ),
                    motion_parquet=fh,
                    metadata=donation.summary,
                )
            )
        write_release(out_dir=workdir, dataset=dataset.slug, version=release.version, items=inputs)
        stored = _store_release_files(release=release, out_dir=workdir)
    finally:
        for fh in handles:
            fh.close()
        shutil.rmtree(workdir, ignore_errors=True)

    with transaction.atomic(durable=True):
        ReleaseItem.objects.bulk_create(
            ReleaseItem(
                release=release,
                donation=donation,
                consent_event=event,
                recording_pseudonym=pseudonym(
                    secret=dataset.pseudonym_secret, kind="recording", value=donation.pk
                ),
                contributor_pseudonym=pseudonym(
                    secret=dataset.pseudonym_secret, kind="contributor", value=donation.donor_id
                ),
            )
            for donation, event in chosen
        )
        ReleaseFile.objects.bulk_create(
            ReleaseFile(release=release, path=path, size=size, sha256=sha)
            for path, size, sha in stored
        )
        manifest_sha = next(sha for path, _size, sha in stored if path == "manifest.json")
        if not _move(
            release,
            Release.Status.BUILDING,
            Release.Status.BUILT,
            built_at=timezone.now(),
            manifest_sha256=manifest_sha,
        ):
            raise ReleaseError("The release changed while it was being built.")
    logger.info("release %s built with %d recordings", release.pk, len(chosen))
    return release


def _store_release_files(*, release: Release, out_dir: Path) -> list[tuple[str, int, str]]:
    stored = []
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(out_dir).as_posix()
        key = f"{release.storage_prefix}{rel}"
        with path.open("rb") as fh:
            digest = sha256_stream(fh)
        if default_storage.exists(key):
            # Left by a crashed attempt of this same build: keep it only if it is identical.
            with default_storage.open(key, "rb") as existing:
                if sha256_stream(existing) != digest:
                    raise ReleaseError(f"{key} already exists with other content.")
        else:
            with path.open("rb") as fh:
                default_storage.save(key, File(fh, name=path.name))
        stored.append((rel, path.stat().st_size, digest))
    return stored


def release_fail(*, release_id: int, problem: str) -> None:
    release = Release.objects.get(pk=release_id)
    _move(release, Release.Status.BUILDING, Release.Status.FAILED, problem=problem)


def release_publish(*, release: Release, curator: User) -> Release:
    """Publish a built release; the dataset's previously published release becomes superseded.

    Raises ReleaseError unless the release is built. After this nothing about it changes.
    """
    with transaction.atomic(durable=True):
        previous = Release.objects.select_for_update().filter(
            dataset=release.dataset, status=Release.Status.PUBLISHED
        )
        for old in previous:
            _move(old, Release.Status.PUBLISHED, Release.Status.SUPERSEDED)
        if not _move(
            release, Release.Status.BUILT, Release.Status.PUBLISHED, published_at=timezone.now()
        ):
            raise ReleaseError("Only a built release can be published.")
    logger.info("release %s published by user %s", release.pk, curator.pk)
    return release


def release_file_open(*, release_file: ReleaseFile, user: User | None, via: str = "web") -> File:
    """Log a download and open the file for streaming. Access checks are the caller's."""
    with transaction.atomic(durable=True):
        Download.objects.create(
            release_file=release_file,
            user=user if user is not None and user.is_authenticated else None,
            via=via,
        )
    return default_storage.open(release_file.storage_key, "rb")

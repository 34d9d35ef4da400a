import hashlib
import hmac
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from uuid import UUID

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from consent.models import ConsentEvent
from consent.scopes import covers
from consent.selectors import consent_event_effective_subquery
from donations.models import Donation, DonationStatus
from metagen.checks import site_url_missing
from metagen.hashing import CHUNK, sha256_stream
from metagen.queueing import enqueue, enqueue_on_commit
from processing.motion.anonymize import height_of, noise_factor
from processing.motion.errors import RejectedRecording
from processing.motion.limits import REFERENCE_HEIGHT_M
from processing.motion.model import Skeleton
from releases.build import (
    INDEX,
    MANIFEST,
    SUMS,
    IndexWriter,
    ShardItem,
    ShardPlanner,
    audio_path,
    device_class,
    estimated_bytes,
    events_shard_path,
    file_entry,
    manifest_bytes,
    motion_shard_path,
    sums_bytes,
    write_events_shard,
    write_motion_shard,
)
from releases.croissant import CroissantInput, croissant_bytes
from releases.datasheet import (
    BIASES,
    DATA_COLLECTION,
    MAINTENANCE,
    PERSONAL_INFORMATION,
    PREPROCESSING,
    USE_CASES,
    Documents,
    ReleaseStats,
    bibtex_bytes,
    citation_cff_bytes,
    cite_as,
    licence_url,
    limitations,
    readme_bytes,
)
from releases.exceptions import ReleaseError
from releases.models import (
    SEMVER,
    Dataset,
    Release,
    ReleaseFile,
    ReleaseItem,
    ReleaseShard,
)
from releases.pseudonyms import pseudonym

logger = logging.getLogger(__name__)

# About 256 MB of Parquet per motion shard unless a release asks for another size.
DEFAULT_SHARD_TARGET_BYTES = getattr(settings, "RELEASE_SHARD_TARGET_BYTES", 256 * 1024 * 1024)


def release_create(
    *,
    dataset: Dataset,
    version: str,
    curator: User,
    notes: str = "",
    shard_target_bytes: int | None = None,
) -> Release:
    """Create a draft release and queue its build after commit. Raises ReleaseError if the
    version is malformed or already taken. The build applies the dataset's body-size profile
    (processing always keeps body size; see release_plan)."""
    from django.core.exceptions import ValidationError

    from releases.tasks import build_release

    try:
        SEMVER(version)
    except ValidationError as exc:
        raise ReleaseError(exc.messages[0]) from exc
    problem = _site_url_problem()
    if problem:
        raise ReleaseError(problem)
    if dataset.releases.filter(version=version).exists():
        raise ReleaseError(
            _("Version %(version)s of %(dataset)s already exists.")
            % {"version": version, "dataset": dataset.slug}
        )
    with transaction.atomic(durable=True):
        release = Release.objects.create(
            dataset=dataset,
            version=version,
            created_by=curator,
            notes=notes,
            shard_target_bytes=shard_target_bytes or DEFAULT_SHARD_TARGET_BYTES,
            progress_at=timezone.now(),
        )
        enqueue_on_commit(build_release, release.pk)
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


def _effective_events(donations: QuerySet[Donation]) -> QuerySet[Donation]:
    """Annotate each donation with its effective consent event, in the same query
    (consent.selectors.consent_event_effective_subquery): one query for any number of
    donations instead of one per donation."""
    events = consent_event_effective_subquery()
    return donations.annotate(
        effective_event_id=Subquery(events.values("pk")[:1]),
        effective_action=Subquery(events.values("action")[:1]),
        effective_scopes=Subquery(events.values("scopes")[:1]),
    )


def _modality_scopes(dataset: Dataset, modality: str) -> list[str]:
    """The scopes a donor must hold to release `modality` in this dataset: the same uses as
    the dataset's required motion scopes."""
    uses = sorted({s.split(":", 1)[1] for s in dataset.required_scopes if ":" in s})
    return [f"{modality}:{use}" for use in uses]


@dataclass(frozen=True)
class Eligible:
    donation_id: UUID
    donor_id: int
    artifact_prefix: str
    summary: dict[str, Any]
    consent_event_id: UUID
    with_audio: bool
    with_events: bool


def release_eligible(*, dataset: Dataset) -> Iterator[Eligible]:
    """Accepted donations whose effective consent, now, grants every required scope of the
    dataset, in a fixed order (donation id); audio and events only where the dataset carries
    them and the same consent grants them. Streams rows: one query, fetched in chunks."""
    audio_scopes = _modality_scopes(dataset, "audio")
    events_scopes = _modality_scopes(dataset, "events")
    carries = set(dataset.modalities)
    rows = (
        _effective_events(Donation.objects.filter(status=DonationStatus.ACCEPTED))
        .order_by("pk")
        .values_list(  # type: ignore[misc]  # django-stubs does not see the annotations
            "pk",
            "donor_id",
            "artifact_prefix",
            "summary",
            "effective_event_id",
            "effective_action",
            "effective_scopes",
        )
    )
    for pk, donor_id, prefix, summary, event_id, action, scopes in rows.iterator(chunk_size=500):
        if event_id is None or action != ConsentEvent.Action.GRANT:
            continue
        if not covers(scopes, dataset.required_scopes):
            continue
        yield Eligible(
            donation_id=pk,
            donor_id=donor_id,
            artifact_prefix=prefix,
            summary=summary,
            consent_event_id=event_id,
            with_audio="audio" in carries
            and bool(summary.get("audio"))
            and covers(scopes, audio_scopes),
            with_events="events" in carries
            and bool(summary.get("events"))
            and covers(scopes, events_scopes),
        )


def _recording_id(dataset: Dataset, donation_id: object) -> str:
    return pseudonym(secret=dataset.pseudonym_secret, kind="recording", value=donation_id)


def _contributor_id(dataset: Dataset, donor_id: int) -> str:
    return pseudonym(secret=dataset.pseudonym_secret, kind="contributor", value=donor_id)


HEIGHT_UNKNOWN = "height_unknown"


def _noise_seed(dataset: Dataset, recording_id: str) -> int:
    """Keyed by the dataset's secret: stable across its versions, unlinkable across datasets,
    and not computable by anyone who has only the published files."""
    mac = hmac.new(
        dataset.pseudonym_secret.encode(), f"body-scale:{recording_id}".encode(), hashlib.sha256
    )
    return int.from_bytes(mac.digest()[:8], "little")


def _skeleton(summary: dict[str, Any]) -> Skeleton | None:
    """The rest skeleton processing recorded in metadata.json (the donation's summary)."""
    skeleton = summary.get("skeleton")
    if not skeleton:
        return None
    return Skeleton(
        joints=list(skeleton["joints"]),
        parents=np.asarray(skeleton["parents"], dtype=np.int32),
        offsets=np.asarray(skeleton["offsets_m"], dtype=np.float64).reshape(-1, 3),
        end_sites=[(int(e["parent"]), tuple(e["offset_m"])) for e in skeleton["end_sites"]],
    )


def _head_heights(artifact_prefix: str, summary: dict[str, Any]) -> Callable[[], Any] | None:
    """Reads the head track's `py` from the processed motion, only when called."""
    heads = [t["name"] for t in summary.get("tracks") or [] if t.get("role") == "head"]
    if not heads:
        return None

    def read() -> Any:
        # Row group by row group, skipping those whose statistics rule the head out: a long
        # full-body take is never held whole (rows are ordered by track).
        parts = []
        with default_storage.open(f"{artifact_prefix}motion.parquet", "rb") as fh:
            parquet = pq.ParquetFile(fh)
            track_column = parquet.schema_arrow.get_field_index("track")
            for group in range(parquet.metadata.num_row_groups):
                stats = parquet.metadata.row_group(group).column(track_column).statistics
                known = stats is not None and stats.has_min_max
                if known and not stats.min <= heads[0] <= stats.max:
                    continue
                table = parquet.read_row_group(group, columns=["track", "py"])
                parts.append(table.filter(pc.equal(table["track"], heads[0]))["py"].to_numpy())
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.float32)

    return read


def _body_scale(dataset: Dataset, recording_id: str, chosen: "Eligible") -> float | None:
    """The factor on this recording's positions for the dataset's body-size profile (module
    processing.motion.anonymize), or None when `normalize` cannot estimate its height."""
    if dataset.body_size == Dataset.BodySize.NOISE:
        return noise_factor(_noise_seed(dataset, recording_id))
    if dataset.body_size == Dataset.BodySize.NORMALIZE:
        summary = chosen.summary
        try:
            height = height_of(_skeleton(summary), _head_heights(chosen.artifact_prefix, summary))
        except RejectedRecording:
            return None
        return REFERENCE_HEIGHT_M / height
    return 1.0


def _site_url_problem() -> str | None:
    """Why this site may not build a release, or None: production freezes SITE_URL into every
    release (citation, datasheet, croissant.json), so it must be set (metagen.E001)."""
    if not site_url_missing():
        return None
    return _(
        "SITE_URL is not set, so this release would carry %(url)s in its citation, datasheet "
        "and croissant.json for good. Set SITE_URL to the site's public address."
    ) % {"url": settings.SITE_URL}


def release_plan(*, release_id: int) -> Release:
    """Move a draft release to `building`, choose its items and assign each to a shard.

    One durable transaction: the items (with the consent event that admitted each and the
    factor of the dataset's body-size profile on its positions), one ReleaseShard row per
    shard, and the shard count. A `normalize` dataset reads the head track of recordings
    without a skeleton to estimate their height, and leaves out (Release.excluded, logged by
    pseudonymous id) recordings whose height it cannot estimate. Idempotent: a release already
    planned (building with shards) or past building is returned unchanged.
    """
    with transaction.atomic(durable=True):
        release = Release.objects.select_for_update().select_related("dataset").get(pk=release_id)
        if release.status != Release.Status.DRAFT and not (
            release.status == Release.Status.BUILDING and release.shard_count is None
        ):
            return release
        problem = _site_url_problem()
        if problem:
            _move(release, release.status, Release.Status.FAILED, problem=problem)
            logger.warning("release %s not built: SITE_URL is not set", release.pk)
            return release
        dataset = release.dataset
        target = release.shard_target_bytes or DEFAULT_SHARD_TARGET_BYTES
        planner = ShardPlanner(target)
        batch: list[ReleaseItem] = []
        excluded: list[dict[str, str]] = []
        for chosen in release_eligible(dataset=dataset):
            recording_id = _recording_id(dataset, chosen.donation_id)
            scale = _body_scale(dataset, recording_id, chosen)
            if scale is None:
                excluded.append({"recording_id": recording_id, "reason": HEIGHT_UNKNOWN})
                logger.info(
                    "release %s leaves out recording %s: height unknown", release.pk, recording_id
                )
                continue
            batch.append(
                ReleaseItem(
                    release=release,
                    donation_id=chosen.donation_id,
                    consent_event_id=chosen.consent_event_id,
                    recording_pseudonym=recording_id,
                    body_scale=scale,
                    contributor_pseudonym=_contributor_id(dataset, chosen.donor_id),
                    shard=planner.place(estimated_bytes(chosen.summary)),
                    with_audio=chosen.with_audio,
                    with_events=chosen.with_events,
                    artifact_prefix=chosen.artifact_prefix,
                )
            )
            if len(batch) >= 1000:
                ReleaseItem.objects.bulk_create(batch)
                batch = []
        ReleaseItem.objects.bulk_create(batch)
        ReleaseShard.objects.bulk_create(
            ReleaseShard(release=release, index=i) for i in range(planner.count)
        )
        Release.objects.filter(pk=release.pk).update(
            status=Release.Status.BUILDING,
            shard_count=planner.count,
            shard_target_bytes=target,
            excluded=excluded,
            progress_at=timezone.now(),
        )
        release.excluded = excluded
        release.status = Release.Status.BUILDING
        release.shard_count = planner.count
        release.shard_target_bytes = target
    logger.info(
        "release %s planned: %d shard(s), %d recording(s) left out",
        release.pk,
        planner.count,
        len(excluded),
    )
    return release


def release_build_fan_out(*, release_id: int) -> Release:
    """Plan the release (release_plan) and, after commit, queue one task per unfinished shard,
    or the final task when no shard is left. Safe to retry: queuing a finished shard again
    does nothing."""
    from releases.tasks import build_release_finalize, build_release_shard

    release = release_plan(release_id=release_id)
    if release.status != Release.Status.BUILDING:
        return release
    pending = list(
        ReleaseShard.objects.filter(release=release, done=False).values_list("index", flat=True)
    )
    for index in pending:
        enqueue(build_release_shard, release.pk, index)
    if not pending:
        enqueue(build_release_finalize, release.pk)
    return release


def _shard_items(release: Release, index: int) -> QuerySet[ReleaseItem]:
    return release.items.filter(shard=index).order_by("recording_pseudonym")


def _opener(key: str) -> Callable[[], AbstractContextManager[BinaryIO]]:
    def open_() -> AbstractContextManager[BinaryIO]:
        return default_storage.open(key, "rb")  # type: ignore[return-value]

    return open_


def release_shard_build(*, release_id: int, index: int, queue_next: bool = True) -> bool:
    """Write one shard (motion, events, audio files) of a building release and store it.

    Reads one item at a time. Idempotent: a finished shard is left alone; a shard redone after
    a crash writes the same bytes, and an object already stored with other bytes is an error
    (nothing under a release's prefix is ever overwritten). When this is the last shard to
    finish and `queue_next`, the final task is queued after commit. Returns whether every
    shard of the release is done.
    """
    from releases.tasks import build_release_finalize

    release = Release.objects.select_related("dataset").get(pk=release_id)
    shard = ReleaseShard.objects.get(release=release, index=index)
    if shard.done or release.status != Release.Status.BUILDING:
        remaining = ReleaseShard.objects.filter(release=release, done=False).exists()
        if not remaining and queue_next and release.status == Release.Status.BUILDING:
            enqueue(build_release_finalize, release.pk)  # its first queuing may have been lost
        return not remaining

    items = list(
        _shard_items(release, index).values_list(
            "recording_pseudonym", "artifact_prefix", "with_audio", "with_events", "body_scale"
        )
    )
    workdir = Path(tempfile.mkdtemp(prefix="metagen-shard-"))
    try:
        shard_items = [
            ShardItem(
                recording_id=rid,
                motion=_opener(f"{prefix}motion.parquet"),
                events=_opener(f"{prefix}events.parquet") if with_events else None,
                scale=scale,
            )
            for rid, prefix, _with_audio, with_events, scale in items
        ]
        written = [motion_shard_path(index)]
        write_motion_shard(workdir / written[0], shard_items)
        if "events" in release.dataset.modalities:
            written.append(events_shard_path(index))
            write_events_shard(workdir / written[1], shard_items)
        entries = [_store_local(release, workdir / rel, rel) for rel in written]
        for rid, prefix, with_audio, _with_events, _scale in items:
            if with_audio:
                entries.append(
                    _store_copy(release, f"{prefix}audio.flac", audio_path(rid), workdir)
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    with transaction.atomic(durable=True):
        # Completions take the release's row lock in turn, so exactly one sees none left.
        current = Release.objects.select_for_update().get(pk=release.pk)
        if current.status != Release.Status.BUILDING:
            # The build failed meanwhile: its partial objects are cleaned up or adopted on retry,
            # and this shard is redone then, so it must not count as done now.
            return False
        ReleaseShard.objects.filter(pk=shard.pk, done=False).update(done=True, files=entries)
        Release.objects.filter(pk=release.pk).update(progress_at=timezone.now())
        remaining = ReleaseShard.objects.filter(release=release, done=False).exists()
        if not remaining and queue_next:
            enqueue_on_commit(build_release_finalize, release.pk)
    return not remaining


def _store_local(release: Release, path: Path, rel: str) -> dict[str, Any]:
    """Store a local file under the release's prefix, never overwriting other bytes."""
    entry = file_entry(path, rel)
    key = f"{release.storage_prefix}{rel}"
    if default_storage.exists(key):
        # Left by a crashed attempt of this same build: keep it only if it is identical.
        with default_storage.open(key, "rb") as existing:
            if sha256_stream(existing) != entry["sha256"]:
                raise ReleaseError(f"{key} already exists with other content.")
    else:
        with path.open("rb") as fh:
            saved = default_storage.save(key, File(fh, name=path.name))
        if saved != key:
            raise ReleaseError(f"{key} was stored as {saved}.")
    return entry


def _store_copy(release: Release, source_key: str, rel: str, workdir: Path) -> dict[str, Any]:
    local = workdir / "copy" / rel
    local.parent.mkdir(parents=True, exist_ok=True)
    with default_storage.open(source_key, "rb") as src, local.open("wb") as dst:
        shutil.copyfileobj(src, dst, CHUNK)
    try:
        return _store_local(release, local, rel)
    finally:
        local.unlink()


def _semver(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _previous_release(release: Release) -> Release | None:
    """The highest earlier version of the dataset that was built (published or not)."""
    done = (Release.Status.BUILT, Release.Status.PUBLISHED, Release.Status.SUPERSEDED)
    earlier = [
        r
        for r in Release.objects.filter(dataset=release.dataset, status__in=done).exclude(
            pk=release.pk
        )
        if _semver(r.version) < _semver(release.version)
    ]
    return max(earlier, key=lambda r: _semver(r.version), default=None)


def _changes(release: Release) -> dict[str, Any]:
    """changes.json: recordings added and removed against the previous version, with why,
    and (only when there are any) the recordings this build left out, with why."""
    previous = _previous_release(release)
    now = dict(release.items.values_list("recording_pseudonym", "artifact_prefix"))
    left_out = {e["recording_id"]: e["reason"] for e in release.excluded}
    extra = {"excluded": sorted(release.excluded, key=lambda e: e["recording_id"])}
    if not left_out:
        extra = {}  # the same changes.json as before body-size profiles existed
    if previous is None:
        return {
            "previous_version": None,
            "added": sorted(now),
            "removed": [],
            "reprocessed": [],
            **extra,
        }
    before = {
        rid: (prefix, status)
        for rid, prefix, status in previous.items.values_list(
            "recording_pseudonym", "artifact_prefix", "donation__status"
        )
    }
    removed = []
    for rid in sorted(set(before) - set(now)):
        status = before[rid][1]
        if rid in left_out:
            reason = left_out[rid]
        elif status == DonationStatus.WITHDRAWN:
            reason = "withdrawn"
        elif status == DonationStatus.DECLINED:
            reason = "declined"
        else:
            reason = "consent"  # its consent no longer covers the dataset's scopes
        removed.append({"recording_id": rid, "reason": reason})
    reprocessed = sorted(rid for rid in set(before) & set(now) if before[rid][0] != now[rid])
    return {
        "previous_version": previous.version,
        "added": sorted(set(now) - set(before)),
        "removed": removed,
        "reprocessed": reprocessed,
        **extra,
    }


def release_finalize(*, release_id: int) -> Release:
    """Write the index, changes, datasheet, citation, croissant.json, then manifest.json and
    SHA256SUMS; record the files and move the release to `built`.

    Idempotent: a release that is not building, or still has unfinished shards, is left alone;
    of two runs at once, the later one returns the release the first one built.
    """
    release = Release.objects.select_related("dataset").get(pk=release_id)
    if release.status != Release.Status.BUILDING or release.shard_count is None:
        return release
    if ReleaseShard.objects.filter(release=release, done=False).exists():
        return release
    dataset = release.dataset
    url = f"{settings.SITE_URL.rstrip('/')}/datasets/{dataset.slug}/{release.version}/"
    docs = Documents(
        slug=dataset.slug,
        title=dataset.title,
        description=dataset.description,
        version=release.version,
        licence=dataset.licence,
        url=url,
        access_tier=dataset.access_tier,
        required_scopes=sorted(dataset.required_scopes),
        modalities=sorted(m for m in dataset.modalities if m != "motion"),
        citation=dataset.citation,
        doi=dataset.doi,
        year=release.created_at.year,
        body_size=dataset.body_size,
        excluded=len(release.excluded),
    )
    entries: list[dict[str, Any]] = [
        entry for files in release.shards.values_list("files", flat=True) for entry in files
    ]
    stats = ReleaseStats()
    workdir = Path(tempfile.mkdtemp(prefix="metagen-release-"))
    try:
        index = IndexWriter(workdir / INDEX)
        rows = (
            release.items.order_by("recording_pseudonym")
            .values_list(
                "recording_pseudonym",
                "contributor_pseudonym",
                "shard",
                "with_audio",
                "with_events",
                "donation__summary",
            )
            .iterator(chunk_size=500)
        )
        for rid, cid, shard, with_audio, with_events, summary in rows:
            tracks = summary.get("tracks") or []
            row = {
                "recording_id": rid,
                "contributor_id": cid,
                "duration_s": float(summary.get("duration_s") or 0.0),
                "frame_rate": float(summary.get("frame_rate") or 0.0),
                "frame_count": int(summary.get("frame_count") or 0),
                "tracks": [str(t.get("name", "")) for t in tracks],
                "track_roles": [str(t.get("role", "")) for t in tracks],
                "source_format": str(summary.get("source_format") or ""),
                "device_class": device_class(summary),
                "modalities": ["motion"]
                + (["audio"] if with_audio else [])
                + (["events"] if with_events else []),
                "licence": dataset.licence,
                "motion_file": motion_shard_path(shard),
                "events_file": events_shard_path(shard) if with_events else None,
                "audio_file": audio_path(rid) if with_audio else None,
            }
            index.add(row)
            stats.add(row)
        index.close()
        index_entry = file_entry(workdir / INDEX, INDEX)
        documents = {
            "changes.json": (
                json.dumps(_changes(release), indent=2, sort_keys=True) + "\n"
            ).encode(),
            "README.md": readme_bytes(docs, stats, shard_count=release.shard_count),
            "CITATION.cff": citation_cff_bytes(docs),
            "CITATION.bib": bibtex_bytes(docs),
            "croissant.json": croissant_bytes(
                CroissantInput(
                    slug=dataset.slug,
                    title=dataset.title,
                    description=dataset.description,
                    version=release.version,
                    licence_url=licence_url(dataset.licence),
                    url=url,
                    cite_as=cite_as(docs),
                    carries_events="events" in dataset.modalities,
                    carries_audio="audio" in dataset.modalities,
                    index_sha256=index_entry["sha256"],
                    index_size=index_entry["size"],
                    data_collection=DATA_COLLECTION,
                    personal_information=PERSONAL_INFORMATION,
                    limitations=limitations(dataset.body_size),
                    use_cases=USE_CASES,
                    biases=BIASES,
                    preprocessing=PREPROCESSING,
                    maintenance=MAINTENANCE,
                )
            ),
        }
        for name, data in documents.items():
            (workdir / name).write_bytes(data)
        for name in [INDEX, *documents]:
            entries.append(_store_local(release, workdir / name, name))
        (workdir / MANIFEST).write_bytes(
            manifest_bytes(
                dataset=dataset.slug,
                version=release.version,
                recordings=stats.recordings,
                entries=entries,
            )
        )
        manifest_entry = _store_local(release, workdir / MANIFEST, MANIFEST)
        (workdir / SUMS).write_bytes(sums_bytes([*entries, manifest_entry]))
        sums_entry = _store_local(release, workdir / SUMS, SUMS)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    with transaction.atomic(durable=True):
        # The last shard and a redelivered finished one may each queue this task: the run that
        # takes the lock second finds the release built and leaves it (same files, same bytes).
        current = Release.objects.select_for_update().select_related("dataset").get(pk=release.pk)
        if current.status in (
            Release.Status.BUILT,
            Release.Status.PUBLISHED,
            Release.Status.SUPERSEDED,
        ):
            return current
        ReleaseFile.objects.bulk_create(
            (
                ReleaseFile(release=release, path=e["path"], size=e["size"], sha256=e["sha256"])
                for e in [*entries, manifest_entry, sums_entry]
            ),
            batch_size=1000,
        )
        if not _move(
            release,
            Release.Status.BUILDING,
            Release.Status.BUILT,
            built_at=timezone.now(),
            manifest_sha256=manifest_entry["sha256"],
        ):
            raise ReleaseError("The release changed while it was being built.")
    logger.info("release %s built with %d recordings", release.pk, stats.recordings)
    return release


def release_build(*, release_id: int) -> Release:
    """Build a release in this process: plan, every shard, then the final files.

    The same services the fanned-out tasks run, for the demo seed, small releases and tests;
    nothing is queued. Idempotent like each of its steps.
    """
    release = release_plan(release_id=release_id)
    if release.status != Release.Status.BUILDING:
        return release
    for index in range(release.shard_count or 0):
        release_shard_build(release_id=release.pk, index=index, queue_next=False)
    return release_finalize(release_id=release.pk)


def release_fail(*, release_id: int, step: str, problem: str) -> bool:
    """Record that the build gave up at `step` ("planning", "shard 3", "final files") and why:
    the release moves from `draft` or `building` to `failed`, shown to curators, who can retry
    it (releases.recovery.release_retry). Returns whether it moved (a release that moved on is
    left alone)."""
    release = Release.objects.get(pk=release_id)
    fields = {"problem": problem[:1000], "failed_step": step}
    moved = (
        _move(release, release.status, Release.Status.FAILED, **fields)
        if release.status
        in (
            Release.Status.DRAFT,
            Release.Status.BUILDING,
        )
        else False
    )
    if moved:
        logger.warning("release %s failed at %s: %s", release.pk, step, problem[:200])
    return moved


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
            raise ReleaseError(_("Only a built release can be published."))
    logger.info("release %s published by user %s", release.pk, curator.pk)
    return release


def _walk(prefix: str) -> Iterator[str]:
    """Every key under a storage prefix (relative to it)."""
    folders, files = default_storage.listdir(prefix)
    yield from files
    for folder in folders:
        for rel in _walk(f"{prefix}{folder}/"):
            yield f"{folder}/{rel}"


def release_verify(*, release: Release) -> list[str]:
    """Re-read every file of a built release and check it; returns the problems (none = good).

    Checks: each recorded file exists with its size and SHA-256; manifest.json is the one
    recorded at build and lists exactly the other files; SHA256SUMS agrees; nothing else lies
    under the release's prefix; the index lists exactly the items; every item's consent event
    is a grant by its donor, for it or for all their donations, made before the build, covering
    the dataset's scopes (and audio or events scopes where the item carries them).
    """
    problems: list[str] = []
    dataset = release.dataset
    if release.status not in (
        Release.Status.BUILT,
        Release.Status.PUBLISHED,
        Release.Status.SUPERSEDED,
    ):
        return [f"release is {release.status}, not built"]
    recorded = {f.path: f for f in release.files.all()}
    for path, rf in sorted(recorded.items()):
        key = rf.storage_key
        if not default_storage.exists(key):
            problems.append(f"{path}: missing")
            continue
        size = 0
        digest = hashlib.sha256()
        with default_storage.open(key, "rb") as fh:
            while chunk := fh.read(CHUNK):
                size += len(chunk)
                digest.update(chunk)
        if size != rf.size:
            problems.append(f"{path}: size {size}, expected {rf.size}")
        if digest.hexdigest() != rf.sha256:
            problems.append(f"{path}: SHA-256 {digest.hexdigest()}, expected {rf.sha256}")
    extra = sorted(set(_walk(release.storage_prefix)) - set(recorded))
    problems.extend(f"{path}: not part of the release" for path in extra)

    manifest = recorded.get(MANIFEST)
    if manifest is None or manifest.sha256 != release.manifest_sha256:
        problems.append(f"{MANIFEST}: not the manifest recorded at build")
    elif default_storage.exists(manifest.storage_key):
        with default_storage.open(manifest.storage_key, "rb") as fh:
            listed = {e["path"]: e for e in json.load(fh)["files"]}
        others = {p: f for p, f in recorded.items() if p not in (MANIFEST, SUMS)}
        if set(listed) != set(others):
            problems.append(f"{MANIFEST}: lists other files than the release has")
        for path, entry in listed.items():
            other = others.get(path)
            if other is not None and (entry["size"], entry["sha256"]) != (other.size, other.sha256):
                problems.append(f"{MANIFEST}: {path} differs from the recorded file")
    sums = recorded.get(SUMS)
    if sums is not None and default_storage.exists(sums.storage_key):
        with default_storage.open(sums.storage_key, "rb") as fh:
            lines = fh.read().decode().splitlines()
        pairs = {path: sha for sha, path in (line.split("  ", 1) for line in lines if line)}
        expected = {p: f.sha256 for p, f in recorded.items() if p != SUMS}
        if pairs != expected:
            problems.append(f"{SUMS}: does not match the release's files")

    items = release.items.select_related("consent_event", "donation")
    item_ids = set()
    audio_scopes = _modality_scopes(dataset, "audio")
    events_scopes = _modality_scopes(dataset, "events")
    for item in items.iterator(chunk_size=500):
        item_ids.add(item.recording_pseudonym)
        event = item.consent_event
        who = f"recording {item.recording_pseudonym}"
        if event.donor_id != item.donation.donor_id or event.donation_id not in (
            None,
            item.donation_id,
        ):
            problems.append(f"{who}: consent event is not its donor's")
        if event.action != ConsentEvent.Action.GRANT:
            problems.append(f"{who}: consent event is not a grant")
        if release.built_at is not None and event.created_at > release.built_at:
            problems.append(f"{who}: consent event is later than the build")
        if not covers(event.scopes, dataset.required_scopes):
            problems.append(f"{who}: consent does not cover the dataset's scopes")
        if item.with_audio and not covers(event.scopes, audio_scopes):
            problems.append(f"{who}: audio without consent to release audio")
        if item.with_events and not covers(event.scopes, events_scopes):
            problems.append(f"{who}: events without consent to release events")
    index = recorded.get(INDEX)
    if index is not None and default_storage.exists(index.storage_key):
        with default_storage.open(index.storage_key, "rb") as fh:
            indexed = set(pq.read_table(fh, columns=["recording_id"]).column(0).to_pylist())
        if indexed != item_ids:
            problems.append(f"{INDEX}: does not list exactly the release's items")
    return problems

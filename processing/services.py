import base64
import hashlib
import json
import logging
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from donations.exceptions import TransitionError
from donations.models import Donation, DonationFile, DonationStatus
from donations.selectors import donation_get
from donations.services import donation_claim_renew, donation_transition
from donations.uploads import donation_file_record_sha256, upload_checksums_for_file
from metagen.hashing import CHUNK
from processing import problems
from processing.motion import RejectedRecording, convert_audio, convert_file

logger = logging.getLogger(__name__)

# Bumped when the pipeline's output changes, so new outputs never overwrite old ones.
PIPELINE_VERSION = 2  # 2: motion.parquet in frame blocks, zstd fast mode
AUDIO_NAME = "audio.flac"


def _download(*, key: str, dest: Path, part_size: int | None = None) -> tuple[str, list[str]]:
    """Copy an object to a local file in chunks, in one pass; returns its SHA-256 (hex) and,
    given `part_size`, the base64 SHA-256 of each upload part as S3 spells part checksums."""
    digest = hashlib.sha256()
    parts: list[str] = []
    part = hashlib.sha256()
    in_part = 0
    with default_storage.open(key, "rb") as src, dest.open("wb") as out:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
            view = memoryview(chunk)
            while part_size and view:
                take = min(part_size - in_part, len(view))
                part.update(view[:take])
                in_part += take
                view = view[take:]
                if in_part == part_size:
                    parts.append(base64.b64encode(part.digest()).decode())
                    part, in_part = hashlib.sha256(), 0
    if in_part:
        parts.append(base64.b64encode(part.digest()).decode())
    return digest.hexdigest(), parts


def _upload_artifacts(*, prefix: str, artifacts: dict[str, Path]) -> list[str]:
    """Store the artifacts under `prefix`; returns the keys this run wrote."""
    written = []
    # Keys are content-addressed: an object already there holds the same bytes (a re-run).
    for name, path in sorted(artifacts.items()):
        key = f"{prefix}{name}"
        if default_storage.exists(key):
            continue
        with path.open("rb") as fh:
            default_storage.save(key, File(fh, name=name))
        written.append(key)
    return written


CHECKSUM_MISMATCH_MESSAGE = (
    "A stored file does not match what was uploaded. Please upload it again."
)


def _verify_download(*, stored: DonationFile, dest: Path) -> bool:
    """Download one raw file and check it against what the upload declared.

    Files from an upload session are checked part by part against the SHA-256 the client
    declared for each part, then their whole-object SHA-256 is recorded; other files (stored
    with their SHA-256 already) are compared with it.
    """
    upload = upload_checksums_for_file(file_id=stored.pk)
    if upload is None or stored.sha256:
        sha256, _parts = _download(key=stored.storage_key, dest=dest)
        return sha256 == stored.sha256
    part_size, declared = upload
    sha256, parts = _download(key=stored.storage_key, dest=dest, part_size=part_size)
    if parts != [declared.get(n) for n in range(1, len(parts) + 1)] or len(declared) != len(parts):
        return False
    donation_file_record_sha256(file=stored, sha256=sha256)
    return True


def donation_processing_claim(
    *, donation_id: str, claim: datetime | None = None
) -> datetime | None:
    """Claim a donation for one processing run; returns the run's claim, or None: leave it.

    `uploaded` moves to `processing` with a new claim. A `processing` donation is claimed anew
    when `claim` is its current claim (this task's retry, or the sweeper's take-over), or when
    no claim is given: the first message delivered again after its worker died, which counts a
    lost run. A stale `claim` (the sweeper took the donation over), any other status, or a
    donation that no longer exists (a message outliving its row): None.
    """
    try:
        donation = donation_get(donation_id=donation_id)
    except Donation.DoesNotExist:
        logger.info("donation %s: no such donation; nothing to process", donation_id)
        return None
    if donation.status == DonationStatus.UPLOADED:
        now = timezone.now()
        try:
            with transaction.atomic(durable=True):
                donation_transition(
                    donation=donation, to_status=DonationStatus.PROCESSING, claimed_at=now
                )
        except TransitionError:
            logger.info("donation %s was started by another run; leaving it", donation.pk)
            return None
        return now
    if donation.status != DonationStatus.PROCESSING:
        logger.info("donation %s is %s; nothing to process", donation.pk, donation.status)
        return None
    if claim is not None and claim != donation.claimed_at:
        logger.info("donation %s was taken over by a later run; leaving it", donation.pk)
        return None
    with transaction.atomic(durable=True):
        renewed = donation_claim_renew(
            donation=donation, expected=donation.claimed_at, lost=claim is None
        )
    if renewed is None:
        logger.info("donation %s was claimed by another run; leaving it", donation.pk)
    elif donation.lost_runs > problems.MAX_LOST_RUNS:
        logger.warning("donation %s: %d runs lost; giving up", donation.pk, donation.lost_runs)
        donation_fail(
            donation_id=donation_id,
            code=problems.WORKER_LOST,
            message=problems.message(problems.WORKER_LOST),
            claim=renewed,
        )
        return None
    return renewed


def donation_process(*, donation_id: str, claim: datetime | None = None) -> Donation:
    """Run validate -> anonymize -> convert -> preview on an uploaded donation.

    Idempotent: a donation that is not `uploaded` or `processing` is left as it is; a re-run after
    a crash redoes the work into the same content-addressed keys and changes nothing visible.
    `claim` is the run's claim (donation_processing_claim); without one the run claims first.
    Ends in `processed`, or `rejected` with a code and a message for the donor, only while the
    claim holds. Passing faults (storage, database, full disk) propagate to the task, which
    retries them (donation_fault).
    """
    if claim is None:
        claim = donation_processing_claim(donation_id=donation_id)
        if claim is None:
            return donation_get(donation_id=donation_id)
    donation = donation_get(donation_id=donation_id)
    if donation.status != DonationStatus.PROCESSING or donation.claimed_at != claim:
        logger.info("donation %s is no longer this run's; leaving it", donation.pk)
        return donation

    files = {f.kind: f for f in donation.files.all()}
    workdir = Path(tempfile.mkdtemp(prefix="metagen-"))
    try:
        raw = {}
        for kind, stored in files.items():
            raw[kind] = workdir / f"raw-{kind}"
            if not _verify_download(stored=stored, dest=raw[kind]):
                logger.info("donation %s rejected: upload.checksum_mismatch", donation.pk)
                return _end(
                    donation,
                    claim,
                    DonationStatus.REJECTED,
                    problem_code="upload.checksum_mismatch",
                    problem_message=CHECKSUM_MISMATCH_MESSAGE,
                )
        out = workdir / "out"
        try:
            result = convert_file(raw[DonationFile.Kind.MOTION], out)
            metadata, artifacts = result.metadata, dict(result.artifacts)
            if DonationFile.Kind.AUDIO in raw:
                metadata["audio"] = convert_audio(
                    raw[DonationFile.Kind.AUDIO],
                    out / AUDIO_NAME,
                    motion_duration_s=float(metadata["duration_s"]),
                )
                artifacts[AUDIO_NAME] = out / AUDIO_NAME
                _write_json(artifacts["metadata.json"], metadata)
        except RejectedRecording as rejection:
            logger.info("donation %s rejected: %s", donation.pk, rejection.code)
            return _end(
                donation,
                claim,
                DonationStatus.REJECTED,
                problem_code=rejection.code,
                problem_message=rejection.message,
            )
        # Content-addressed by every input file, so a re-run writes the same keys.
        content = hashlib.sha256(
            ":".join(f"{kind}={files[kind].sha256}" for kind in sorted(files)).encode()
        ).hexdigest()
        prefix = f"processed/{content}/v{PIPELINE_VERSION}/"
        written = _upload_artifacts(prefix=prefix, artifacts=artifacts)
        ended = _end(
            donation,
            claim,
            DonationStatus.PROCESSED,
            artifact_prefix=prefix,
            summary=metadata,
            problem_code="",
            problem_message="",
        )
        # Withdrawn (or otherwise settled) while we worked: our objects go. Still `processing`
        # means another run took the claim over and may be writing the same content-addressed
        # keys right now: they are its too, so nothing is deleted.
        if ended.status not in (DonationStatus.PROCESSED, DonationStatus.PROCESSING):
            _discard_artifacts(donation=ended, prefix=prefix, keys=written)
        return ended
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _discard_artifacts(*, donation: Donation, prefix: str, keys: list[str]) -> None:
    """The donation moved (withdrawn) while we worked: delete what this run wrote, unless a
    donation uses the same content-addressed prefix: another one of the same bytes, or this
    one, when a second delivery of the task lost the race to a first that already finished
    (and the donation moved on, accepted say)."""
    if Donation.objects.filter(artifact_prefix=prefix).exists():
        return
    for key in keys:
        default_storage.delete(key)
    logger.info("donation %s: %d artifact(s) of a discarded result deleted", donation.pk, len(keys))


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n", "utf-8")


def donation_fail(
    *, donation_id: str, code: str, message: str, claim: datetime | None = None
) -> Donation:
    """Record that processing gave up (retries exhausted or time limit): status `failed`.

    A donation stopped before it reached `processing` (a time limit can strike that early) goes
    through `processing` first, so the history tells what happened. Anything already settled
    is left as it is, and so is a donation another run claimed since `claim` (when given).
    """
    donation = donation_get(donation_id=donation_id)
    if donation.status not in {DonationStatus.UPLOADED, DonationStatus.PROCESSING}:
        return donation
    where = {"claimed_at": claim} if claim is not None else None
    if where and donation.status == DonationStatus.UPLOADED:
        return donation  # a claimed run never saw it `uploaded`: some other move came between
    try:
        with transaction.atomic(durable=True):
            if donation.status == DonationStatus.UPLOADED:
                donation_transition(donation=donation, to_status=DonationStatus.PROCESSING)
            return donation_transition(
                donation=donation,
                to_status=DonationStatus.FAILED,
                where=where,
                problem_code=code,
                problem_message=message,
            )
    except TransitionError:
        logger.info("donation %s moved while failing; left as it is", donation.pk)
        return donation_get(donation_id=donation.pk)


def _end(donation: Donation, claim: datetime, status: str, **fields: Any) -> Donation:
    try:
        with transaction.atomic(durable=True):
            return donation_transition(
                donation=donation, to_status=status, where={"claimed_at": claim}, **fields
            )
    except TransitionError:
        # Withdrawn (or otherwise moved) while we worked: leave it as the other move left it.
        logger.info("donation %s moved while processing; result discarded", donation.pk)
        return donation_get(donation_id=donation.pk)

import hashlib
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from donations.exceptions import TransitionError
from donations.models import Donation, DonationFile, DonationStatus
from donations.selectors import donation_get
from donations.services import donation_transition
from metagen.hashing import CHUNK
from processing.motion import RejectedRecording, convert_audio, convert_file

logger = logging.getLogger(__name__)

# Bumped when the pipeline's output changes, so new outputs never overwrite old ones.
PIPELINE_VERSION = 1
AUDIO_NAME = "audio.flac"


def _download(*, key: str, dest: Path) -> str:
    """Copy an object to a local file in chunks; returns its SHA-256."""
    digest = hashlib.sha256()
    with default_storage.open(key, "rb") as src, dest.open("wb") as out:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _upload_artifacts(*, prefix: str, artifacts: dict[str, Path]) -> None:
    # Keys are content-addressed: an object already there holds the same bytes (a re-run).
    for name, path in sorted(artifacts.items()):
        key = f"{prefix}{name}"
        if default_storage.exists(key):
            continue
        with path.open("rb") as fh:
            default_storage.save(key, File(fh, name=name))


def donation_process(*, donation_id: str) -> Donation:
    """Run validate -> anonymize -> convert -> preview on an uploaded donation.

    Idempotent: a donation that is not `uploaded` or `processing` is left as it is; a re-run after
    a crash redoes the work into the same content-addressed keys and changes nothing visible.
    Ends in `processed`, or `rejected` with a code and a message for the donor. Storage errors
    propagate to the task, which retries the transient ones.
    """
    donation = donation_get(donation_id=donation_id)
    if donation.status == DonationStatus.UPLOADED:
        with transaction.atomic(durable=True):
            donation_transition(donation=donation, to_status=DonationStatus.PROCESSING)
    elif donation.status != DonationStatus.PROCESSING:
        logger.info("donation %s is %s; nothing to process", donation.pk, donation.status)
        return donation

    files = {f.kind: f for f in donation.files.all()}
    workdir = Path(tempfile.mkdtemp(prefix="metagen-"))
    try:
        raw = {}
        for kind, stored in files.items():
            raw[kind] = workdir / f"raw-{kind}"
            if _download(key=stored.storage_key, dest=raw[kind]) != stored.sha256:
                return _end(
                    donation,
                    DonationStatus.REJECTED,
                    problem_code="upload.checksum_mismatch",
                    problem_message=(
                        "A stored file does not match what was uploaded. Please upload it again."
                    ),
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
                DonationStatus.REJECTED,
                problem_code=rejection.code,
                problem_message=rejection.message,
            )
        # Content-addressed by every input file, so a re-run writes the same keys.
        content = hashlib.sha256(
            ":".join(f"{kind}={files[kind].sha256}" for kind in sorted(files)).encode()
        ).hexdigest()
        prefix = f"processed/{content}/v{PIPELINE_VERSION}/"
        _upload_artifacts(prefix=prefix, artifacts=artifacts)
        return _end(
            donation,
            DonationStatus.PROCESSED,
            artifact_prefix=prefix,
            summary=metadata,
            problem_code="",
            problem_message="",
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n", "utf-8")


def donation_fail(*, donation_id: str, code: str, message: str) -> Donation:
    """Record that processing gave up (retries exhausted or time limit): status `failed`.

    A donation stopped before it reached `processing` (a time limit can strike that early) goes
    through `processing` first, so the history tells what happened. Anything already settled
    is left as it is.
    """
    donation = donation_get(donation_id=donation_id)
    if donation.status not in {DonationStatus.UPLOADED, DonationStatus.PROCESSING}:
        return donation
    try:
        with transaction.atomic(durable=True):
            if donation.status == DonationStatus.UPLOADED:
                donation_transition(donation=donation, to_status=DonationStatus.PROCESSING)
            return donation_transition(
                donation=donation,
                to_status=DonationStatus.FAILED,
                problem_code=code,
                problem_message=message,
            )
    except TransitionError:
        logger.info("donation %s moved while failing; left as it is", donation.pk)
        return donation_get(donation_id=donation.pk)


def _end(donation: Donation, status: str, **fields: Any) -> Donation:
    try:
        with transaction.atomic(durable=True):
            return donation_transition(donation=donation, to_status=status, **fields)
    except TransitionError:
        # Withdrawn (or otherwise moved) while we worked: leave it as the other move left it.
        logger.info("donation %s moved while processing; result discarded", donation.pk)
        return donation_get(donation_id=donation.pk)

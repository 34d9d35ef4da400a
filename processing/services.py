import hashlib
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
from processing.motion import RejectedRecording, convert_file

logger = logging.getLogger(__name__)

# Bumped when the pipeline's output changes, so new outputs never overwrite old ones.
PIPELINE_VERSION = 1


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

    motion = donation.files.get(kind=DonationFile.Kind.MOTION)
    workdir = Path(tempfile.mkdtemp(prefix="metagen-"))
    try:
        raw_path = workdir / "raw"
        sha256 = _download(key=motion.storage_key, dest=raw_path)
        if sha256 != motion.sha256:
            return _end(
                donation,
                DonationStatus.REJECTED,
                problem_code="upload.checksum_mismatch",
                problem_message=(
                    "The stored file does not match what was uploaded. Please upload it again."
                ),
            )
        try:
            result = convert_file(raw_path, workdir / "out")
        except RejectedRecording as rejection:
            logger.info("donation %s rejected: %s", donation.pk, rejection.code)
            return _end(
                donation,
                DonationStatus.REJECTED,
                problem_code=rejection.code,
                problem_message=rejection.message,
            )
        prefix = f"processed/{sha256}/v{PIPELINE_VERSION}/"
        _upload_artifacts(prefix=prefix, artifacts=result.artifacts)
        return _end(
            donation,
            DonationStatus.PROCESSED,
            artifact_prefix=prefix,
            summary=result.metadata,
            problem_code="",
            problem_message="",
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def donation_fail(*, donation_id: str, code: str, message: str) -> Donation:
    """Record that processing gave up (retries exhausted or time limit): status `failed`."""
    donation = donation_get(donation_id=donation_id)
    if donation.status != DonationStatus.PROCESSING:
        return donation
    return _end(donation, DonationStatus.FAILED, problem_code=code, problem_message=message)


def _end(donation: Donation, status: str, **fields: Any) -> Donation:
    try:
        with transaction.atomic(durable=True):
            return donation_transition(donation=donation, to_status=status, **fields)
    except TransitionError:
        # Withdrawn (or otherwise moved) while we worked: leave it as the other move left it.
        logger.info("donation %s moved while processing; result discarded", donation.pk)
        return donation_get(donation_id=donation.pk)

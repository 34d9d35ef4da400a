"""Helpers for the release build tests: real donations through the real pipeline (inline)."""

import io
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import soundfile as sf
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.services import user_create_verified
from donations.models import Donation, DonationStatus
from donations.services import donation_create_from_upload, donation_review
from processing.motion.synthetic import synthetic_bvh
from releases.models import Release
from tests.conftest import process_here, wait_for

MOTION_OPEN = ["motion:model_training", "motion:open_release"]


def make_donor(n: int):  # type: ignore[no-untyped-def]
    return user_create_verified(email=f"donor{n}@example.org", password="donate-it-2026")


def wav(seconds: float) -> bytes:
    buffer = io.BytesIO()
    tone = 0.2 * np.sin(2 * np.pi * 220 * np.arange(int(16_000 * seconds)) / 16_000)
    sf.write(buffer, tone, 16_000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def accepted_donation(  # type: ignore[no-untyped-def]
    donor, curator, *, seed: int, audio: bool = False, name: str = "take.bvh", worker: bool = False
):
    """A processed and accepted donation: processed inline, or (`worker`) by the running
    Celery worker, which picks up the task queued on commit in transactional tests."""
    motion = SimpleUploadedFile(name, synthetic_bvh(seconds=2, fps=30, seed=seed).encode())
    voice = SimpleUploadedFile("voice.wav", wav(2.0)) if audio else None
    donation = donation_create_from_upload(donor=donor, motion_file=motion, audio_file=voice)
    if worker:
        wait_for(
            lambda: Donation.objects.get(pk=donation.pk).status == DonationStatus.PROCESSED,
            timeout=90,
            what="the worker to process the donation",
        )
    else:
        process_here(donation.pk)
    donation.refresh_from_db()
    return donation_review(donation=donation, curator=curator, accept=True)


def read_object(key: str) -> bytes:
    with default_storage.open(key, "rb") as fh:
        return fh.read()


def release_objects(release: Release) -> dict[str, bytes]:
    return {f.path: read_object(f.storage_key) for f in release.files.all()}


def as_text(path: str, data: bytes) -> str:
    """Every value of a Parquet file, or the text of any other file, for substring checks."""
    if path.endswith(".parquet"):
        table = pq.read_table(io.BytesIO(data))
        return " ".join(str(v) for column in table.columns for v in column.to_pylist())
    if path.endswith(".flac"):
        return ""
    return data.decode("utf-8")


def everything(release: Release) -> dict[str, Any]:
    """Path -> text of every file of the release (FLAC audio as its path only)."""
    return {path: as_text(path, data) for path, data in release_objects(release).items()}

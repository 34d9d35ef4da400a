"""Every supported format, and audio, through the real pipeline: upload -> worker -> storage."""

import io
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from consent.services import consent_grant
from donations.models import Donation, DonationStatus
from donations.services import donation_create_from_upload
from processing.motion.synthetic import synthetic_bvh
from processing.motion.writers.bsor import write_bsor
from processing.motion.writers.posestream import write_pose_csv
from tests.conftest import SHARED, s3_client, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SAMPLE1_BSOR = SHARED / "samples" / "real" / "bsor" / "xror_sample1.bsor"


@pytest.fixture
def consenting_donor(donor, consent_document):
    consent_grant(
        donor=donor,
        document=consent_document,
        scopes=["motion:open_release", "audio:open_release", "events:open_release"],
    )
    return donor


def _settled(donation: Donation) -> Donation:
    wait_for(
        lambda: (
            Donation.objects.get(pk=donation.pk).status
            not in {DonationStatus.UPLOADED, DonationStatus.PROCESSING}
        ),
        timeout=90,
        what="processing to settle",
    )
    return Donation.objects.get(pk=donation.pk)


def _three_tracks(seconds: float = 4.0, rate: int = 90):  # type: ignore[no-untyped-def]
    t = np.arange(int(seconds * rate)) / rate
    p = np.stack(
        [
            np.stack([0.1 * np.sin(t), 1.6 + 0 * t, -0.1 * t], 1),
            np.stack([-0.3 + 0.1 * np.sin(t), 1.1 + 0 * t, -0.3 + 0 * t], 1),
            np.stack([0.3 + 0.1 * np.cos(t), 1.1 + 0 * t, -0.3 + 0 * t], 1),
        ]
    )
    q = np.zeros((3, t.size, 4))
    q[..., 3] = 1.0
    return t, p, q


def _wav(seconds: float) -> bytes:
    buffer = io.BytesIO()
    tone = 0.2 * np.sin(2 * np.pi * 220 * np.arange(int(16_000 * seconds)) / 16_000)
    sf.write(buffer, tone, 16_000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def test_bsor_and_a_pose_stream_csv_are_processed_by_the_worker(
    consenting_donor, celery_worker, tmp_path
):
    t, p, q = _three_tracks()
    write_bsor(tmp_path / "a", times=t, head=(p[0], q[0]), left=(p[1], q[1]), right=(p[2], q[2]))
    write_pose_csv(
        tmp_path / "b", names=["h", "l", "r"], roles=["head", "left_hand", "right_hand"],
        times=t, positions=p, rotations=q,
    )  # fmt: skip
    for name, expected in (("a", "bsor"), ("b", "posecsv")):
        upload = SimpleUploadedFile("take.dat", (tmp_path / name).read_bytes())
        donation = _settled(donation_create_from_upload(donor=consenting_donor, motion_file=upload))
        assert donation.status == DonationStatus.PROCESSED, donation.problem_message
        assert donation.summary["source_format"] == expected
        assert {t["role"] for t in donation.summary["tracks"]} == {
            "head", "left_hand", "right_hand"
        }  # fmt: skip


def test_audio_is_converted_to_flac_beside_the_motion(consenting_donor, celery_worker):
    motion = synthetic_bvh(seconds=3, fps=60, seed=2).encode()
    donation = donation_create_from_upload(
        donor=consenting_donor,
        motion_file=SimpleUploadedFile("m.bvh", motion),
        audio_file=SimpleUploadedFile("voice.wav", _wav(3.2)),
    )
    donation = _settled(donation)

    assert donation.status == DonationStatus.PROCESSED, donation.problem_message
    assert donation.summary["audio"]["format"] == "flac"
    assert donation.summary["audio"]["duration_s"] == pytest.approx(3.2)
    with default_storage.open(f"{donation.artifact_prefix}audio.flac") as fh:
        data, rate = sf.read(io.BytesIO(fh.read()))
    assert rate == 16_000
    assert data.shape == (int(16_000 * 3.2),)


def test_audio_much_longer_than_the_motion_is_rejected_with_both_durations(
    consenting_donor, celery_worker
):
    donation = donation_create_from_upload(
        donor=consenting_donor,
        motion_file=SimpleUploadedFile("m.bvh", synthetic_bvh(seconds=3, fps=60).encode()),
        audio_file=SimpleUploadedFile("voice.wav", _wav(9.0)),
    )
    donation = _settled(donation)

    assert donation.status == DonationStatus.REJECTED
    assert donation.problem_code == "audio.duration_mismatch"
    assert "9.0" in donation.problem_message
    assert "3.0" in donation.problem_message


def test_audio_without_consent_to_share_audio_is_refused_at_upload(donor, consent_document):
    from donations.exceptions import DonationError

    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    with pytest.raises(DonationError, match="does not cover voice audio"):
        donation_create_from_upload(
            donor=donor,
            motion_file=SimpleUploadedFile("m.bvh", synthetic_bvh(seconds=2).encode()),
            audio_file=SimpleUploadedFile("voice.wav", _wav(2.0)),
        )
    assert not Donation.objects.exists()


@pytest.mark.skipif(not SAMPLE1_BSOR.is_file(), reason=f"shared samples absent: {SAMPLE1_BSOR}")
def test_a_real_replay_leaves_no_player_id_or_name_in_any_processed_object(
    consenting_donor, celery_worker
):
    from bsor.Bsor import make_bsor

    with SAMPLE1_BSOR.open("rb") as fh:
        info = make_bsor(fh).info
    needles = [info.playerId.encode(), info.playerName.encode()]
    donation = donation_create_from_upload(
        donor=consenting_donor,
        motion_file=SimpleUploadedFile("replay.bsor", SAMPLE1_BSOR.read_bytes()),
    )
    donation = _settled(donation)
    assert donation.status == DonationStatus.PROCESSED, donation.problem_message

    client = s3_client()
    bucket = default_storage.bucket_name
    listing = client.list_objects_v2(Bucket=bucket, Prefix=donation.artifact_prefix)
    keys = [obj["Key"] for obj in listing["Contents"]]
    assert {Path(k).name for k in keys} >= {"motion.parquet", "events.parquet", "metadata.json"}
    leaks = [
        key
        for key in keys
        for needle in needles
        if needle in client.get_object(Bucket=bucket, Key=key)["Body"].read()
    ]
    assert leaks == [], "an identifying value of the replay is in a processed object"
    stored_summary = repr(donation.summary).encode()
    assert not any(needle in stored_summary for needle in needles)
    assert "player_name" in donation.summary["anonymization"]["stripped_fields"]
    assert (
        pq.read_table(default_storage.open(f"{donation.artifact_prefix}events.parquet")).num_rows
        > 1000
    )


TILT_XROR = SHARED / "samples" / "real" / "xror" / "tilt_sample.xror"


@pytest.mark.skipif(not TILT_XROR.is_file(), reason=f"shared samples absent: {TILT_XROR}")
def test_the_quality_report_is_stored_and_a_tilt_brush_xror_is_rejected_as_not_body_motion(
    consenting_donor, celery_worker, tmp_path
):
    from processing.motion.quality import QUALITY_VERSION, score_of

    t, p, q = _three_tracks()
    write_bsor(tmp_path / "a", times=t, head=(p[0], q[0]), left=(p[1], q[1]), right=(p[2], q[2]))
    body = _settled(
        donation_create_from_upload(
            donor=consenting_donor,
            motion_file=SimpleUploadedFile("take.bsor", (tmp_path / "a").read_bytes()),
        )
    )
    brush = _settled(
        donation_create_from_upload(
            donor=consenting_donor,
            motion_file=SimpleUploadedFile("sketch.xror", TILT_XROR.read_bytes()),
        )
    )

    assert body.status == DonationStatus.PROCESSED, body.problem_message
    quality = body.summary["quality"]
    assert quality["version"] == QUALITY_VERSION
    assert quality["score"] == score_of(quality["components"])
    assert quality["components"]["body_coverage"] == 1.0
    assert isinstance(quality["codes"], list)
    assert brush.status == DonationStatus.REJECTED
    assert brush.problem_code == "motion.not_body_motion"
    assert "no headset, no hand controllers" in brush.problem_message

"""The release build applies the dataset's body-size profile (keep, normalize, noise)."""

import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from consent.services import consent_grant
from donations.models import Donation, DonationStatus
from donations.services import donation_create_from_upload, donation_review
from processing.motion.limits import NOISE_SCALE_RANGE, REFERENCE_HEIGHT_M
from processing.motion.writers.bsor import write_bsor
from processing.services import donation_process
from releases.build import events_shard_path, motion_shard_path
from releases.models import Dataset, Release
from releases.pseudonyms import pseudonym
from releases.services import release_build, release_create, release_plan
from tests.factories import DatasetFactory
from tests.releases.building import MOTION_OPEN, accepted_donation, make_donor, release_objects

pytestmark = pytest.mark.django_db

EVENTS_OPEN = ["events:model_training", "events:open_release"]


def _dataset(slug: str, body_size: str, **fields):  # type: ignore[no-untyped-def]
    return DatasetFactory(slug=slug, title=slug, body_size=body_size, **fields)


def _build(dataset: Dataset, curator, version: str = "1.0.0") -> Release:  # type: ignore[no-untyped-def]
    release = release_create(dataset=dataset, version=version, curator=curator)
    return release_build(release_id=release.pk)


def _motion(release: Release) -> dict[str, np.ndarray]:
    """Recording id -> its (rows, 7) px..qw array, in shard order."""
    table = pq.read_table(io.BytesIO(release_objects(release)[motion_shard_path(0)]))
    columns = ["px", "py", "pz", "qx", "qy", "qz", "qw"]
    out = {}
    for rid in sorted(set(table.column("recording_id").to_pylist())):
        rows = table.filter(np.array(table.column("recording_id").to_pylist()) == rid)
        out[rid] = np.stack([rows.column(c).to_numpy() for c in columns], axis=1)
    return out


def _rest_height(summary: dict) -> float:  # type: ignore[type-arg]
    """The skeleton's rest-pose vertical extent, straight from metadata.json's offsets."""
    skeleton = summary["skeleton"]
    world = []
    for offset, parent in zip(skeleton["offsets_m"], skeleton["parents"], strict=True):
        world.append(np.add(offset, world[parent] if parent >= 0 else 0.0))
    ends = [np.add(world[e["parent"]], e["offset_m"]) for e in skeleton["end_sites"]]
    ys = [p[1] for p in world + ends]
    return max(ys) - min(ys)


def _bsor_donation(donor, curator, tmp_path, *, head_y: float, height_m: float):  # type: ignore[no-untyped-def]
    """A processed head-and-hands BSOR replay whose head stays at `head_y` and which logs the
    player height `height_m` as an event."""
    t = np.arange(360) / 90
    p = np.stack(
        [
            np.stack([0.1 * np.sin(t), head_y + 0 * t, -0.1 * t], 1),
            np.stack([-0.3 + 0.1 * np.sin(t), 1.1 + 0 * t, -0.3 + 0 * t], 1),
            np.stack([0.3 + 0.1 * np.cos(t), 1.1 + 0 * t, -0.3 + 0 * t], 1),
        ]
    )
    q = np.zeros((3, t.size, 4))
    q[..., 3] = 1.0
    path = tmp_path / f"replay-{head_y}.bsor"
    write_bsor(
        path, times=t, head=(p[0], q[0]), left=(p[1], q[1]), right=(p[2], q[2]),
        heights=[(height_m, 1.0)],
    )  # fmt: skip
    upload = SimpleUploadedFile("replay.bsor", path.read_bytes())
    donation = donation_create_from_upload(donor=donor, motion_file=upload)
    donation_process(donation_id=str(donation.pk))
    donation.refresh_from_db()
    assert donation.status == DonationStatus.PROCESSED, donation.problem_message
    return donation_review(donation=donation, curator=curator, accept=True)


def test_a_normalize_build_scales_a_skeleton_recording_to_the_reference_height(
    curator, consent_document
):
    donor = make_donor(1)
    consent_grant(donor=donor, document=consent_document, scopes=MOTION_OPEN)
    donation = accepted_donation(donor, curator, seed=4)
    kept = _motion(_build(_dataset("kept", Dataset.BodySize.KEEP), curator))
    normalized_release = _build(_dataset("normalized", Dataset.BodySize.NORMALIZE), curator)
    normalized = _motion(normalized_release)

    height = _rest_height(donation.summary)
    assert abs(height - REFERENCE_HEIGHT_M) > 0.1  # so the factor is not about 1
    factor = normalized_release.items.get().body_scale
    assert factor == pytest.approx(REFERENCE_HEIGHT_M / height, rel=1e-6)
    assert height * factor == pytest.approx(REFERENCE_HEIGHT_M, abs=1e-6)
    [before] = kept.values()
    [after] = normalized.values()
    assert np.array_equal(after[:, :3], before[:, :3] * np.float32(factor))
    assert after.dtype == np.float32
    assert np.array_equal(after[:, 3:], before[:, 3:])  # rotations untouched
    readme = release_objects(normalized_release)["README.md"].decode()
    assert "Body-size profile: `normalize`." in readme
    assert "estimated standing height is 1.70 m" in readme


def test_a_normalize_build_scales_a_head_and_hands_replay_and_its_player_height_event(
    curator, consent_document, tmp_path
):
    donor = make_donor(2)
    consent_grant(donor=donor, document=consent_document, scopes=MOTION_OPEN + EVENTS_OPEN)
    _bsor_donation(donor, curator, tmp_path, head_y=1.6, height_m=1.75)
    kept_release = _build(_dataset("kept", Dataset.BodySize.KEEP, modalities=["events"]), curator)
    normalized_release = _build(
        _dataset("normalized", Dataset.BodySize.NORMALIZE, modalities=["events"]), curator
    )
    [before] = _motion(kept_release).values()
    [after] = _motion(normalized_release).values()

    factor = REFERENCE_HEIGHT_M * 0.936 / 1.6
    assert normalized_release.items.get().body_scale == pytest.approx(factor, rel=1e-5)
    assert np.allclose(after[:, :3], before[:, :3] * factor, rtol=1e-5, atol=1e-6)
    assert np.array_equal(after[:, 3:], before[:, 3:])
    head_y = after[: len(after) // 3, 1]  # tracks in order: the head first
    assert np.percentile(head_y, 95) / 0.936 == pytest.approx(REFERENCE_HEIGHT_M, abs=1e-4)

    def heights(release: Release) -> list[float]:
        data = release_objects(release)[events_shard_path(0)]
        events = pq.read_table(io.BytesIO(data)).column("data").to_pylist()
        return [json.loads(e)["height_m"] for e in events if "height_m" in e]

    assert heights(kept_release) == [pytest.approx(1.75, abs=1e-6)]
    assert heights(normalized_release) == [pytest.approx(round(1.75 * factor, 6), abs=2e-6)]


def test_a_recording_whose_height_is_unknown_is_left_out_of_a_normalize_release_and_listed(
    curator, consent_document
):
    donor = make_donor(3)
    consent_grant(donor=donor, document=consent_document, scopes=MOTION_OPEN)
    kept = accepted_donation(donor, curator, seed=5)
    hands_only = Donation.objects.create(
        donor=donor,
        status=DonationStatus.ACCEPTED,
        summary={
            "source_format": "posecsv", "frame_rate": 90.0, "duration_s": 2.0,
            "frame_count": 180, "skeleton": None,
            "tracks": [{"name": "l", "role": "left_hand"}, {"name": "r", "role": "right_hand"}],
        },
    )  # fmt: skip
    dataset = _dataset("normalized", Dataset.BodySize.NORMALIZE)

    release = _build(dataset, curator)

    left_out = pseudonym(secret=dataset.pseudonym_secret, kind="recording", value=hands_only.pk)
    assert release.status == Release.Status.BUILT
    assert list(release.items.values_list("donation_id", flat=True)) == [kept.pk]
    assert release.excluded == [{"recording_id": left_out, "reason": "height_unknown"}]
    objects = release_objects(release)
    assert json.loads(objects["changes.json"])["excluded"] == release.excluded
    assert left_out not in objects[motion_shard_path(0)].decode("latin-1")
    assert "1 eligible recording(s) were left out because their height could not be" in (
        objects["README.md"].decode()
    )


def test_noise_factors_lie_in_range_stay_across_versions_and_differ_across_datasets(
    curator, consent_document
):
    donations = []
    for n in range(3):
        donor = make_donor(10 + n)
        consent_grant(donor=donor, document=consent_document, scopes=MOTION_OPEN)
        donations.append(accepted_donation(donor, curator, seed=n))
    noisy = _dataset("noisy", Dataset.BodySize.NOISE)
    other = _dataset("noisy-other", Dataset.BodySize.NOISE)
    plans = [
        release_plan(release_id=release_create(dataset=d, version=v, curator=curator).pk)
        for d, v in ((noisy, "1.0.0"), (noisy, "1.1.0"), (other, "1.0.0"))
    ]

    def factors(release: Release) -> dict[object, float]:
        return dict(release.items.values_list("donation_id", "body_scale"))

    first, second, elsewhere = (factors(r) for r in plans)
    assert set(first) == {d.pk for d in donations}
    low, high = NOISE_SCALE_RANGE
    assert all(low <= f <= high for f in [*first.values(), *elsewhere.values()])
    assert len(set(first.values())) == 3
    assert first == second
    assert all(first[pk] != elsewhere[pk] for pk in first)


def test_a_noise_build_scales_positions_by_the_planned_factor(curator, consent_document):
    donor = make_donor(20)
    consent_grant(donor=donor, document=consent_document, scopes=MOTION_OPEN)
    accepted_donation(donor, curator, seed=6)
    [before] = _motion(_build(_dataset("kept", Dataset.BodySize.KEEP), curator)).values()
    noisy_release = _build(_dataset("noisy", Dataset.BodySize.NOISE), curator)
    [after] = _motion(noisy_release).values()

    factor = noisy_release.items.get().body_scale
    assert factor != 1.0
    assert np.array_equal(after[:, :3], before[:, :3] * np.float32(factor))
    assert np.array_equal(after[:, 3:], before[:, 3:])
    readme = release_objects(noisy_release)["README.md"].decode()
    assert "Body-size profile: `noise`." in readme
    assert "by a factor between 0.95 and 1.05" in readme


def test_the_head_heights_are_read_from_every_row_group_holding_the_head_and_only_those():
    from releases.services import _head_heights

    table = pa.table(
        {
            "track": ["a"] * 4 + ["head"] * 4 + ["z"] * 4,
            "py": np.arange(12, dtype=np.float32),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=3)  # the head spans two of four groups
    default_storage.save("processed/rowgroups/motion.parquet", ContentFile(buffer.getvalue()))

    read = _head_heights("processed/rowgroups/", {"tracks": [{"name": "head", "role": "head"}]})

    assert read is not None
    assert read().tolist() == [4.0, 5.0, 6.0, 7.0]
    assert (
        _head_heights("processed/rowgroups/", {"tracks": [{"name": "a", "role": "joint"}]}) is None
    )

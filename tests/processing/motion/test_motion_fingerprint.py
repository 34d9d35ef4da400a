"""Duplicate detection (issue 12): the fingerprint, its rule and its index, on our own corpus.

The corpus: every real sample (../shared/samples/real), edited copies of each (trimmed at both
ends, resampled, recentred, re-exported as a pose stream), and 1,000 synthetic head-and-hands
sessions plus 100 synthetic BVH skeletons, all distinct by seed.
"""

from __future__ import annotations

import io
import itertools
import json
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from processing.motion import fingerprint as fpm
from processing.motion.__main__ import main
from processing.motion.convert import read_recording
from processing.motion.errors import RejectedRecording
from processing.motion.fingerprint import Fingerprint, FingerprintIndex, fingerprint
from processing.motion.model import Recording
from processing.motion.synthetic import synthetic_bvh
from tests.processing.motion.fingerprint_corpus import (
    converted,
    moved,
    reexported,
    resampled,
    trimmed,
    vr_session,
)
from tests.processing.motion.motion_bvh_samples import SHARED_SAMPLES

pytestmark = pytest.mark.skipif(
    not SHARED_SAMPLES.exists(), reason="/work/shared real samples are not mounted here"
)

BSOR1 = SHARED_SAMPLES / "bsor" / "xror_sample1.bsor"
XROR1 = SHARED_SAMPLES / "xror" / "sample1.xror"
REAL = {
    "bsor1": BSOR1,
    "bsor2": SHARED_SAMPLES / "bsor" / "xror_sample2.bsor",
    "xror1": XROR1,
    "cmu": SHARED_SAMPLES / "bvh" / "cmu_01_01_fairmotion.bvh",
    "pfnn": SHARED_SAMPLES / "bvh" / "pfnn_hierarchy_fairmotion.bvh",
    "sinusoidal": SHARED_SAMPLES / "bvh" / "sinusoidal_fairmotion.bvh",
}
SAME_SESSION = {frozenset({"bsor1", "xror1"})}
# Samples long and lively enough to have index keys (the others are 2 s long). The XROR
# tilt sample (a brush) is refused as not body motion, so it has no fingerprint.
INDEXED = ("bsor1", "bsor2", "xror1", "cmu")


@pytest.fixture(scope="module")
def real() -> dict[str, Recording]:
    return {name: read_recording(path) for name, path in REAL.items()}


@pytest.fixture(scope="module")
def real_fps(real: dict[str, Recording]) -> dict[str, Fingerprint]:
    return {name: fingerprint(converted(r)) for name, r in real.items()}


def test_the_same_session_in_bsor_and_xror_is_the_same(real_fps: dict[str, Fingerprint]) -> None:
    a, b = real_fps["bsor1"], real_fps["xror1"]
    assert a.motion_sha256 == b.motion_sha256  # the exact (canonical motion) duplicate
    assert fpm.compare(a, b) == ("same", 1.0)


def test_every_pair_of_distinct_real_samples_is_different(
    real_fps: dict[str, Fingerprint],
) -> None:
    for (x, a), (y, b) in itertools.combinations(real_fps.items(), 2):
        if frozenset({x, y}) in SAME_SESSION:
            continue
        verdict, score = fpm.compare(a, b)
        assert verdict == "different", (x, y, score)
        assert score < 0.2, (x, y, score)
        assert fpm.shared_keys(a, b) < fpm.MIN_SHARED_KEYS, (x, y)


EDITS = {
    "trimmed_both_ends": (lambda r, _tmp: trimmed(r, 0.12, 0.2), "near"),
    "trimmed_start_only": (lambda r, _tmp: trimmed(r, 0.3, 0.0), "near"),
    "trimmed_resampled_moved": (
        lambda r, _tmp: moved(resampled(trimmed(r, 0.05, 0.15), 72.0), yaw=-2.0),
        "near",
    ),
    "resampled_60hz": (lambda r, _tmp: resampled(r, 60.0), "same"),
    "resampled_72hz": (lambda r, _tmp: resampled(r, 72.0), "same"),
    "recentred": (lambda r, _tmp: moved(r), "same"),
    "reexported_csv": (lambda r, tmp: reexported(r, tmp, "csv"), "same"),
    "reexported_json": (lambda r, tmp: reexported(r, tmp, "json"), "same"),
}


# A pose-stream re-export keeps no skeleton, so the 4-joint sinusoidal chain (no head, no hands)
# is no longer body motion once re-exported: test_a_reexported_joint_chain_is_not_body_motion.
SAMPLE_EDITS = [
    (sample, edit)
    for sample in sorted(REAL)
    for edit in sorted(EDITS)
    if not (sample == "sinusoidal" and edit.startswith("reexported"))
]


@pytest.mark.parametrize(("sample", "edit"), SAMPLE_EDITS)
def test_an_edited_copy_of_each_real_sample_is_found(
    sample: str,
    edit: str,
    real: dict[str, Recording],
    real_fps: dict[str, Fingerprint],
    tmp_path: Path,
) -> None:
    make, expected = EDITS[edit]
    original = real_fps[sample]
    copy = fingerprint(converted(make(real[sample], tmp_path)))
    verdict, score = fpm.compare(original, copy)
    assert verdict == expected, (score, original.duration_s, copy.duration_s)
    assert score >= 0.95
    if expected == "near":
        assert copy.duration_s < 0.9 * original.duration_s
    if sample in INDEXED:  # and the index finds it among unrelated recordings
        index = FingerprintIndex()
        for name, fp in real_fps.items():
            index.add(name, fp)
        found = [name for name, _verdict, _score in index.find(copy)]
        expected_names = {sample} | {n for pair in SAME_SESSION if sample in pair for n in pair}
        assert set(found) == expected_names


def test_recentring_keeps_the_index_keys_and_signature(real: dict[str, Recording]) -> None:
    recording = converted(real["bsor2"])
    a, b = fingerprint(recording), fingerprint(moved(recording, yaw=2.5))
    assert a.motion_sha256 != b.motion_sha256  # moved poses: not the canonical motion
    assert fpm.shared_keys(a, b) >= 0.9 * len(a.keys)
    assert np.abs(a.signature.astype(int) - b.signature.astype(int)).max() <= 1


def test_the_json_form_is_small_and_reads_back(real: dict[str, Recording]) -> None:
    fp = fingerprint(converted(real["bsor1"]))
    text = json.dumps(fp.to_json())
    assert len(text) < 6000
    back = Fingerprint.from_json(json.loads(text))
    assert back.keys == fp.keys
    assert back.motion_sha256 == fp.motion_sha256
    assert np.array_equal(back.signature, fp.signature)
    assert json.dumps(fingerprint(converted(real["bsor1"])).to_json()) == text  # deterministic
    assert fp.to_json()["version"] == fpm.FINGERPRINT_VERSION
    assert len(fp.keys) <= fpm.MAX_KEYS


def test_a_long_recording_keeps_its_size_bounded() -> None:
    session = vr_session(7, seconds=1800.0, hz=30.0)
    fp = fingerprint(session)
    assert fp.signature.shape[0] <= fpm.SIGNATURE_MAX_SAMPLES
    assert len(fp.keys) == fpm.MAX_KEYS
    assert len(json.dumps(fp.to_json())) < 7000
    # A ten-minute stretch of it is still found (bottom-k keys, coarser signature compared).
    part = fingerprint(trimmed(session, 0.4, 0.27))
    assert part.rate > fp.rate
    assert fpm.shared_keys(fp, part) >= fpm.MIN_SHARED_KEYS
    assert fpm.verdict(fp, part) == "near"


def test_a_too_short_signature_or_another_layout_never_matches_but_by_hash() -> None:
    session = vr_session(3, seconds=0.2)
    short = fingerprint(session)
    assert short.signature.shape[0] < fpm.MIN_SAMPLES
    assert fpm.verdict(short, fingerprint(moved(session))) == "different"
    assert fpm.verdict(short, fingerprint(session)) == "same"  # equal canonical hash
    one_hand = replace_tracks(vr_session(3), keep=2)
    assert one_hand.roles == ["head", "left_hand"]
    assert fpm.similarity(fingerprint(vr_session(3)), fingerprint(one_hand)) == 0.0


def replace_tracks(recording: Recording, *, keep: int) -> Recording:
    from dataclasses import replace

    return replace(
        recording,
        tracks=recording.tracks[:keep],
        roles=recording.roles[:keep],
        positions=recording.positions[:keep],
        rotations=recording.rotations[:keep],
    )


SYNTHETIC_VR = 1000
SYNTHETIC_BVH = 100


@pytest.fixture(scope="module")
def synthetic_corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Fingerprint]:
    corpus = {f"vr{seed}": fingerprint(vr_session(seed)) for seed in range(SYNTHETIC_VR)}
    folder = tmp_path_factory.mktemp("bvh")
    for seed in range(SYNTHETIC_BVH):
        path = folder / f"{seed}.bvh"
        path.write_text(synthetic_bvh(seconds=4.0, fps=30, seed=seed))
        corpus[f"bvh{seed}"] = fingerprint(converted(read_recording(path)))
    return corpus


def test_the_synthetic_corpus_gives_no_false_match(
    synthetic_corpus: dict[str, Fingerprint], real_fps: dict[str, Fingerprint]
) -> None:
    corpus = {**synthetic_corpus, **real_fps}
    assert len(synthetic_corpus) >= 1000
    assert len({fp.motion_sha256 for fp in synthetic_corpus.values()}) == len(synthetic_corpus)
    index = FingerprintIndex()
    for name, fp in corpus.items():
        index.add(name, fp)
    # Through the index: every candidate is verified, and only the same session matches.
    matches = set()
    for name, fp in corpus.items():
        for other, _verdict, _score in index.find(fp):
            if other != name:
                matches.add(frozenset({name, str(other)}))
    assert matches == SAME_SESSION
    # And the rule itself on a seeded sample of pairs, index or not.
    names = sorted(corpus)
    rng = np.random.default_rng(12)
    for i, j in rng.integers(0, len(names), size=(1500, 2)):
        pair = frozenset({names[i], names[j]})
        if i != j and pair not in SAME_SESSION:
            assert fpm.verdict(corpus[names[i]], corpus[names[j]]) == "different", pair


def test_trimmed_synthetic_sessions_are_found_through_the_index(
    synthetic_corpus: dict[str, Fingerprint],
) -> None:
    index = FingerprintIndex()
    for name, fp in synthetic_corpus.items():
        index.add(name, fp)
    missed = []
    for seed in range(0, SYNTHETIC_VR, 20):
        copy = fingerprint(moved(resampled(trimmed(vr_session(seed), 0.1, 0.15), 72.0)))
        found = index.find(copy)
        if [name for name, _v, _s in found] != [f"vr{seed}"]:
            missed.append((seed, found))
    assert missed == []


def test_compare_command_prints_similarity_and_verdict() -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        status = main(["compare", str(BSOR1), str(XROR1)])
    assert status == 0
    result = json.loads(out.getvalue())
    assert result["verdict"] == "same"
    assert result["similarity"] == 1.0
    assert result["rule"] == fpm.RULE
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["compare", str(BSOR1), str(REAL["bsor2"])]) == 0
    assert json.loads(out.getvalue())["verdict"] == "different"


def test_compare_command_refuses_a_bad_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(BSOR1), str(SHARED_SAMPLES / "tilt" / "sample.TILT")]) == 2
    assert capsys.readouterr().err.startswith("rejected: format.unsupported")


def test_a_reexported_joint_chain_is_not_body_motion(
    real: dict[str, Recording], tmp_path: Path
) -> None:
    with pytest.raises(RejectedRecording) as refused:
        reexported(real["sinusoidal"], tmp_path, "csv")
    assert refused.value.code == "motion.not_body_motion"

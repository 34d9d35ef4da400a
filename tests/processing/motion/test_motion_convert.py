"""Conversion to the canonical artifacts: Parquet schema and order, metadata, determinism, CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from processing.motion import CODES, RejectedRecording, convert_file, read_recording
from processing.motion.formats import supported_labels
from tests.processing.motion.motion_bvh_samples import (
    CMU,
    PFNN,
    REPO_ROOT,
    SHARED_SAMPLES,
    SINUSOIDAL,
)

EXPECTED_SCHEMA = [
    ("track", pa.string()),
    ("frame", pa.int32()),
    ("t", pa.float64()),
    ("px", pa.float32()),
    ("py", pa.float32()),
    ("pz", pa.float32()),
    ("qx", pa.float32()),
    ("qy", pa.float32()),
    ("qz", pa.float32()),
    ("qw", pa.float32()),
]


def test_parquet_has_the_fixed_schema_and_one_row_per_track_and_frame(tmp_path):
    result = convert_file(PFNN, tmp_path)

    table = pq.read_table(result.artifacts["motion.parquet"])
    assert [(f.name, f.type) for f in table.schema] == EXPECTED_SCHEMA
    assert table.num_rows == 31 * 60
    tracks = table.column("track").to_pylist()
    assert tracks[:60] == ["Hips"] * 60
    assert table.column("frame").to_pylist()[:61] == [*range(60), 0]
    assert table.column("t").to_numpy()[59] == pytest.approx(59 / 30)


def test_parquet_encodings_are_zstd_byte_stream_split_and_dictionary_for_track_only(tmp_path):
    result = convert_file(SINUSOIDAL, tmp_path)

    row_group = pq.ParquetFile(result.artifacts["motion.parquet"]).metadata.row_group(0)
    for i in range(row_group.num_columns):
        column = row_group.column(i)
        assert column.compression == "ZSTD"
        name = column.path_in_schema
        if name == "track":
            assert "RLE_DICTIONARY" in column.encodings
        elif name == "frame":
            assert "RLE_DICTIONARY" not in column.encodings
        else:
            assert "BYTE_STREAM_SPLIT" in column.encodings, name


def test_parquet_rows_match_the_recording(tmp_path):
    result = convert_file(SINUSOIDAL, tmp_path)
    table = pq.read_table(result.artifacts["motion.parquet"])

    recording = read_recording(SINUSOIDAL)  # unanonymized: compare shapes and quaternion norms
    assert table.num_rows == len(recording.tracks) * recording.frame_count
    q = np.stack([table.column(c).to_numpy() for c in ("qx", "qy", "qz", "qw")], axis=1)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-6)


def test_conversion_is_byte_for_byte_deterministic(tmp_path):
    first = convert_file(CMU, tmp_path / "a", body_size="noise")
    second = convert_file(CMU, tmp_path / "b", body_size="noise")

    for name in ("motion.parquet", "metadata.json"):
        assert first.artifacts[name].read_bytes() == second.artifacts[name].read_bytes()


def test_metadata_describes_the_recording(tmp_path):
    result = convert_file(CMU, tmp_path)

    written = json.loads(result.artifacts["metadata.json"].read_text())
    assert written == result.metadata
    assert written["schema_version"] == 1
    assert written["source_format"] == "bvh"
    assert written["frame_rate"] == 120.0
    # The CMU file's first frame is a T-pose reference; it is cut and counted.
    assert written["frame_count"] == 2751
    assert written["conversion"]["dropped_leading_frames"] == 1
    assert written["duration_s"] == pytest.approx(2751 / 120)
    assert len(written["tracks"]) == 31
    assert {"name": "Head", "role": "head"} in written["tracks"]
    assert written["skeleton"]["parents"][0] == -1
    assert len(written["skeleton"]["offsets_m"]) == 31
    assert written["units"] == {"length": "m", "time": "s"}
    assert written["frame"] == {
        "handedness": "right",
        "up": "+Y",
        "forward": "-Z",
        "quaternion_order": "xyzw",
    }
    assert written["anonymization"] == {
        "recentred": True,
        "body_size": "keep",
        "stripped_fields": [],
    }
    text = result.artifacts["metadata.json"].read_text()
    assert text == json.dumps(written, sort_keys=True, indent=2) + "\n"


@pytest.mark.parametrize("path", [CMU, PFNN, SINUSOIDAL])
def test_real_samples_convert(tmp_path, path):
    result = convert_file(path, tmp_path)

    assert set(result.artifacts) == {
        "motion.parquet",
        "metadata.json",
        "preview.svg",
        "preview.json",
    }
    assert all(p.is_file() for p in result.artifacts.values())


def test_format_is_detected_from_content_not_name(tmp_path):
    renamed = tmp_path / "recording.csv"
    shutil.copy(SINUSOIDAL, renamed)

    assert convert_file(renamed, tmp_path / "out").metadata["source_format"] == "bvh"


def test_tilt_brush_file_is_an_unsupported_format(tmp_path):
    tilt = SHARED_SAMPLES / "tilt" / "sample.TILT"
    if not tilt.is_file():
        pytest.skip(f"shared sample folder absent: {tilt}")

    with pytest.raises(RejectedRecording) as caught:
        convert_file(tilt, tmp_path)
    assert caught.value.code == "format.unsupported"
    assert caught.value.message.startswith(
        "This file is not a recording format we can read. Supported formats: BVH, "
    )
    for label in supported_labels():
        assert label in caught.value.message


def test_every_rejection_code_is_documented():
    assert all(code.count(".") == 1 and text for code, text in CODES.items())
    with pytest.raises(ValueError, match="unregistered"):
        RejectedRecording("bvh.made_up", "x")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "processing.motion", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_inspect_prints_a_json_summary():
    run = _cli("inspect", str(PFNN))

    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["frame_count"] == 60
    assert summary["source_format"] == "bvh"


def test_cli_convert_writes_artifacts(tmp_path):
    run = _cli("convert", str(SINUSOIDAL), str(tmp_path), "--body-size", "normalize")

    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "metadata.json").read_text())["anonymization"]["body_size"] == (
        "normalize"
    )


def test_cli_rejection_exits_2_with_the_reason_on_stderr(tmp_path):
    empty = tmp_path / "empty.bvh"
    empty.write_bytes(b"")

    run = _cli("convert", str(empty), str(tmp_path / "out"))

    assert run.returncode == 2
    assert run.stderr == "rejected: motion.empty_file: The file is empty. Export it again.\n"
    assert run.stdout == ""


def test_the_library_readme_documents_every_rejection_code():
    readme = (
        Path(__file__).resolve().parents[3] / "processing" / "motion" / "README.md"
    ).read_text()
    from processing.motion import CODES

    missing = [code for code in CODES if f"`{code}`" not in readme]
    assert missing == []

"""Bad BVH input: each defect is refused with its exact code and a message naming the place."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processing.motion import RejectedRecording, convert_file
from processing.motion.limits import MAX_FILE_BYTES
from tests.processing.motion.fuzzing import FUZZ, convert_bytes
from tests.processing.motion.motion_bvh_samples import SINUSOIDAL, write

SAMPLE = SINUSOIDAL.read_bytes()
HEADER_LINES = 24  # the sinusoidal sample's motion lines start on line 25
FIRST_ROW = b"\t-3.0 6.0 5.0 0.0 0.0 0.0 0.0 0.0 0.0 -90.0 0.0 0.0 0.0 0.0 0.0\n"


def _reject(tmp_path: Path, content: bytes) -> RejectedRecording:
    path = write(tmp_path / "upload.bin", content)
    with pytest.raises(RejectedRecording) as caught:
        convert_file(path, tmp_path / "out")
    assert not (tmp_path / "out" / "motion.parquet").exists()
    return caught.value


def _replace_line(line_no: int, new: bytes) -> bytes:
    lines = SAMPLE.splitlines(keepends=True)
    lines[line_no - 1] = new
    return b"".join(lines)


def test_empty_file(tmp_path):
    assert _reject(tmp_path, b"").code == "motion.empty_file"


def test_file_cut_inside_the_motion_block_reports_missing_frames(tmp_path):
    rejection = _reject(tmp_path, SAMPLE[: len(SAMPLE) // 2])

    assert rejection.code == "bvh.frame_count_mismatch"
    assert "says it has 120 frames but contains 5" in rejection.message
    assert "cut short" in rejection.message


def test_file_cut_inside_the_hierarchy(tmp_path):
    assert _reject(tmp_path, SAMPLE[:200]).code == "bvh.bad_structure"


def test_missing_motion_section(tmp_path):
    rejection = _reject(tmp_path, SAMPLE[: SAMPLE.index(b"MOTION")])

    assert rejection.code == "bvh.bad_structure"
    assert "MOTION" in rejection.message


def test_more_motion_lines_than_frames_declared(tmp_path):
    rejection = _reject(tmp_path, SAMPLE.replace(b"Frames: 120", b"Frames: 118"))

    assert rejection.code == "bvh.frame_count_mismatch"
    assert rejection.message == (
        "The file says it has 118 frames but contains 120 motion lines. "
        "Export the recording again; the header may be wrong."
    )


def test_fewer_motion_lines_than_frames_declared(tmp_path):
    rejection = _reject(tmp_path, SAMPLE.replace(b"Frames: 120", b"Frames: 122"))

    assert rejection.code == "bvh.frame_count_mismatch"
    assert "122 frames but contains 120" in rejection.message


def test_nan_value_names_its_line(tmp_path):
    rejection = _reject(tmp_path, _replace_line(40, FIRST_ROW.replace(b"-90.0", b"nan")))

    assert rejection.code == "bvh.bad_value"
    assert rejection.message.startswith("Line 40 ")


@pytest.mark.parametrize("value", [b"1e999", b"1e300", b"-3.5e38"])
def test_a_value_beyond_what_a_float32_holds_is_a_bad_value_on_its_line(tmp_path, value):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no silent overflow to infinity
        rejection = _reject(tmp_path, _replace_line(30, FIRST_ROW.replace(b"-90.0", value)))

    assert rejection.code == "bvh.bad_value"
    assert rejection.message.startswith("Line 30 ")


def test_decimal_comma_is_a_bad_value(tmp_path):
    rejection = _reject(tmp_path, _replace_line(26, FIRST_ROW.replace(b"-3.0", b"-3,0")))

    assert rejection.code == "bvh.bad_value"


def test_line_with_a_missing_value_names_its_line(tmp_path):
    rejection = _reject(tmp_path, _replace_line(50, FIRST_ROW.replace(b" -90.0", b"")))

    assert rejection.code == "bvh.wrong_value_count"
    assert rejection.message.startswith("Line 50 has 14 values but the skeleton needs 15")


def test_line_with_an_extra_value(tmp_path):
    rejection = _reject(
        tmp_path, _replace_line(HEADER_LINES + 120, FIRST_ROW.replace(b"\n", b" 1\n"))
    )

    assert rejection.code == "bvh.wrong_value_count"
    assert f"Line {HEADER_LINES + 120} has 16 values" in rejection.message


@pytest.mark.parametrize("frame_time", [b"0", b"0.0", b"0.001", b"0.5", b"-0.01"])
def test_frame_time_outside_10_to_240_fps(tmp_path, frame_time):
    content = SAMPLE.replace(b"Frame Time: 0.016666666666666666", b"Frame Time: " + frame_time)

    assert _reject(tmp_path, content).code == "motion.frame_rate_out_of_range"


def test_zero_frames(tmp_path):
    content = SAMPLE[: SAMPLE.index(b"Frames:")] + b"Frames: 0\nFrame Time: 0.0166667\n"

    assert _reject(tmp_path, content).code == "motion.no_frames"


def test_non_utf8_bytes_in_the_hierarchy(tmp_path):
    rejection = _reject(tmp_path, SAMPLE.replace(b"JOINT child1", b"JOINT child\xff\xfe"))

    assert rejection.code == "bvh.bad_encoding"
    assert rejection.message.startswith("Line 6 ")


def test_non_utf8_bytes_in_the_motion_block(tmp_path):
    rejection = _reject(tmp_path, _replace_line(27, FIRST_ROW.replace(b"-3.0", b"\xff\xfe")))

    assert rejection.code == "bvh.bad_encoding"
    assert rejection.message.startswith("Line 27 ")


def test_unknown_channel(tmp_path):
    content = SAMPLE.replace(
        b"CHANNELS 3 Xrotation Yrotation Zrotation", b"CHANNELS 3 Xrotation Yrotation Wrotation", 1
    )

    assert _reject(tmp_path, content).code == "bvh.bad_channel"


def test_duplicate_joint_names(tmp_path):
    rejection = _reject(tmp_path, SAMPLE.replace(b"JOINT child2", b"JOINT child1"))

    assert rejection.code == "bvh.duplicate_joint"
    assert "'child1'" in rejection.message


def test_unbalanced_braces(tmp_path):
    content = SAMPLE.replace(b"}\nMOTION", b"MOTION")

    assert _reject(tmp_path, content).code == "bvh.bad_structure"


def test_teleport_in_the_middle_is_implausible(tmp_path):
    row = FIRST_ROW.replace(b"-3.0 6.0 5.0", b"-3.0 6.0 500.0")
    rejection = _reject(tmp_path, _replace_line(HEADER_LINES + 60, row))

    assert rejection.code == "motion.implausible_speed"
    assert "0.98 s" in rejection.message


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.bvh"
    with path.open("wb") as f:
        f.write(SAMPLE)
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk

    with pytest.raises(RejectedRecording) as caught:
        convert_file(path, tmp_path / "out")
    assert caught.value.code == "motion.file_too_large"


def test_rejection_string_is_code_then_message(tmp_path):
    rejection = _reject(tmp_path, b"")

    assert str(rejection) == f"{rejection.code}: {rejection.message}"


@FUZZ
@given(st.binary(max_size=3000))
def test_fuzz_arbitrary_bytes_only_ever_reject(content):
    # Any format: detection sees these bytes first (the format-specific fuzz tests follow).
    convert_bytes(content)


@FUZZ
@given(st.binary(max_size=3000))
def test_fuzz_bytes_after_a_bvh_header_only_ever_reject(tail):
    convert_bytes(b"HIERARCHY\n" + tail)


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(SAMPLE) - 1),
            st.integers(0, 8),
            st.sampled_from(
                [
                    b"",
                    b"0",
                    b"-",
                    b".",
                    b" ",
                    b"\n",
                    b"\t",
                    b"{",
                    b"}",
                    b"\xff",
                    b"e9",
                    b"JOINT",
                    b"nan",
                    b"CHANNELS 6",
                ]
            ),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_fuzz_mutated_bvh_only_ever_rejects_or_converts(edits):
    content = SAMPLE
    for at, cut, insert in edits:
        content = content[:at] + insert + content[at + cut :]
    convert_bytes(content)


@FUZZ
@given(st.integers(1, SAMPLE.rstrip().rindex(b"\n")))  # cut anywhere before the last line
def test_fuzz_truncated_bvh_is_always_rejected(length):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.bin"
        path.write_bytes(SAMPLE[:length])
        with pytest.raises(RejectedRecording):
            convert_file(path, Path(tmp) / "out")

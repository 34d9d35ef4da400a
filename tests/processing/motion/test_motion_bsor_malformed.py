"""Bad BSOR input: each defect, made from a valid synthetic replay, is refused with its exact code.

Fuzzing (random bytes behind the magic, and mutated valid replays) checks that nothing but
RejectedRecording ever escapes the reader and the pipeline.
"""

from __future__ import annotations

import contextlib
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processing.motion import RejectedRecording, convert_file, read_recording
from processing.motion.formats import base as format_base
from processing.motion.formats.bsor import (
    MAGIC_BYTES,
    SECTION_FRAMES,
    SECTION_HEIGHTS,
    SECTION_NOTES,
    SECTION_PAUSES,
    SECTION_WALLS,
    read_bsor,
)
from processing.motion.writers.bsor import BsorNote, write_bsor
from tests.processing.motion.test_motion_bsor_reader import RATE, synthetic_poses

FRAMES = 60
FRAME_SIZE = 92


def _valid(tmp_path: Path, **kwargs):
    """A small valid replay with notes, a wall, a height and a pause; its bytes and layout."""
    path = tmp_path / "valid.bsor"
    layout = write_bsor(
        path,
        times=np.arange(FRAMES) / RATE,
        **synthetic_poses(FRAMES),
        notes=[BsorNote(31016, 0.2, 0.19, 0), BsorNote(30204, 0.3, 0.25, 2)],
        walls=[(101, 0.5, 0.4, 0.35)],
        heights=[(1.7, 0.1)],
        pauses=[(1, 0.5)],
        **kwargs,
    )
    return path.read_bytes(), layout


def _reject(tmp_path: Path, content: bytes) -> RejectedRecording:
    path = tmp_path / "upload.bin"
    path.write_bytes(content)
    with pytest.raises(RejectedRecording) as caught:
        convert_file(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written, or all of it discarded
    return caught.value


def _with_int(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack("<i", value) + data[offset + 4 :]


def test_the_valid_base_file_converts(tmp_path):
    data, _ = _valid(tmp_path)
    (tmp_path / "ok.bsor").write_bytes(data)

    result = convert_file(tmp_path / "ok.bsor", tmp_path / "out")

    assert result.metadata["frame_count"] == FRAMES


def test_empty_file(tmp_path):
    assert _reject(tmp_path, b"").code == "motion.empty_file"


@pytest.mark.parametrize(
    ("where", "cut"),
    [
        ("header", lambda layout: 4),  # magic only, no version byte
        ("info", lambda layout: 5),  # no section byte
        ("info", lambda layout: layout.sections[0] + 12),  # inside the first string
        ("info", lambda layout: layout.sections[SECTION_FRAMES] - 3),  # inside the last float
        ("frames", lambda layout: layout.sections[SECTION_FRAMES] + 3),  # inside the count
        ("frames", lambda layout: layout.first_frame + 10 * FRAME_SIZE + 7),  # mid-frame
        ("note events", lambda layout: layout.sections[SECTION_NOTES]),  # before its type byte
        ("note events", lambda layout: layout.sections[SECTION_NOTES] + 5 + 40),  # in a cut
        ("wall events", lambda layout: layout.sections[SECTION_WALLS] + 7),
        ("height events", lambda layout: layout.sections[SECTION_HEIGHTS] + 9),
        ("pauses", lambda layout: layout.sections[SECTION_PAUSES] + 3),
        ("pauses", lambda layout: layout.size - 1),
    ],
)
def test_truncated_file_names_the_section_it_ends_in(tmp_path, where, cut):
    data, layout = _valid(tmp_path)

    rejection = _reject(tmp_path, data[: cut(layout)])

    assert rejection.code == "bsor.truncated"
    assert f"inside its {where}" in rejection.message


def test_file_cut_inside_the_magic_is_not_recognised(tmp_path):
    data, _ = _valid(tmp_path)

    assert _reject(tmp_path, data[:3]).code == "format.unsupported"


def test_wrong_magic_is_unsupported_for_the_pipeline_and_bad_magic_for_the_reader(tmp_path):
    data, _ = _valid(tmp_path)
    wrong = b"\x00" + data[1:]

    assert _reject(tmp_path, wrong).code == "format.unsupported"
    (tmp_path / "direct.bsor").write_bytes(wrong)
    with pytest.raises(RejectedRecording) as caught:
        read_bsor(tmp_path / "direct.bsor")
    assert caught.value.code == "bsor.bad_magic"


def test_unsupported_version(tmp_path):
    data, _ = _valid(tmp_path)

    rejection = _reject(tmp_path, data[:4] + b"\x02" + data[5:])

    assert rejection.code == "bsor.unsupported_version"
    assert "version 2" in rejection.message


def test_huge_frame_count_with_few_bytes_is_a_bad_count_refused_before_allocation(tmp_path):
    data, layout = _valid(tmp_path)
    count_at = layout.sections[SECTION_FRAMES] + 1

    rejection = _reject(tmp_path, _with_int(data, count_at, 2**31 - 1))

    assert rejection.code == "bsor.bad_count"
    assert "2147483647 frames" in rejection.message


def test_negative_frame_count_is_a_bad_count(tmp_path):
    data, layout = _valid(tmp_path)

    rejection = _reject(tmp_path, _with_int(data, layout.sections[SECTION_FRAMES] + 1, -5))

    assert rejection.code == "bsor.bad_count"


def test_frame_count_beyond_the_bytes_present_is_truncation(tmp_path):
    data, layout = _valid(tmp_path)

    rejection = _reject(tmp_path, _with_int(data, layout.sections[SECTION_FRAMES] + 1, 10_000))

    assert rejection.code == "bsor.truncated"


@pytest.mark.parametrize("section", [SECTION_NOTES, SECTION_WALLS, SECTION_HEIGHTS, SECTION_PAUSES])
def test_event_count_above_the_cap_is_a_bad_count(tmp_path, section):
    data, layout = _valid(tmp_path)

    rejection = _reject(tmp_path, _with_int(data, layout.sections[section] + 1, 50_000_000))

    assert rejection.code == "bsor.bad_count"


def test_zero_frames(tmp_path):
    path = tmp_path / "none.bsor"
    write_bsor(path, times=[], head=([], []), left=([], []), right=([], []))

    assert _reject(tmp_path, path.read_bytes()).code == "motion.no_frames"


def test_nan_position(tmp_path):
    data, layout = _valid(tmp_path)
    at = layout.first_frame + 20 * FRAME_SIZE + 8 + 4  # frame 20, head y
    bad = data[:at] + struct.pack("<f", float("nan")) + data[at + 4 :]

    assert _reject(tmp_path, bad).code == "motion.non_finite"


def test_nan_frame_time(tmp_path):
    data, layout = _valid(tmp_path)
    at = layout.first_frame + 20 * FRAME_SIZE
    bad = data[:at] + struct.pack("<f", float("nan")) + data[at + 4 :]

    assert _reject(tmp_path, bad).code == "motion.time_not_increasing"


def test_clock_jumping_back_is_not_increasing(tmp_path):
    data, layout = _valid(tmp_path)
    at = layout.first_frame + 40 * FRAME_SIZE
    bad = data[:at] + struct.pack("<f", 0.05) + data[at + 4 :]  # frame 40 back at 0.05 s

    rejection = _reject(tmp_path, bad)

    assert rejection.code == "motion.time_not_increasing"
    assert "jumps back by 0.38 s at frame 41" in rejection.message


@pytest.mark.parametrize("length", [-1, 2**30])
def test_impossible_string_length(tmp_path, length):
    data, layout = _valid(tmp_path)

    rejection = _reject(tmp_path, _with_int(data, layout.sections[0] + 1, length))

    assert rejection.code == "bsor.bad_string"


def test_missing_info_section_byte(tmp_path):
    data, _ = _valid(tmp_path)

    rejection = _reject(tmp_path, data[:5] + b"\x03" + data[6:])

    assert rejection.code == "bsor.bad_section"
    assert "info section" in rejection.message


def test_sections_out_of_order(tmp_path):
    data, layout = _valid(tmp_path)
    at = layout.sections[SECTION_WALLS]

    assert _reject(tmp_path, data[:at] + b"\x04" + data[at + 1 :]).code == "bsor.bad_section"


def test_unknown_note_event_type(tmp_path):
    data, layout = _valid(tmp_path)
    at = layout.sections[SECTION_NOTES] + 5 + 12  # first note's event type

    rejection = _reject(tmp_path, _with_int(data, at, 7))

    assert rejection.code == "bsor.bad_event"
    assert "Note event 1 has an unknown type (7)" in rejection.message


@pytest.mark.parametrize("type_value", [256, 257, -256])  # a valid low byte, then damage
def test_a_note_type_damaged_beyond_its_low_byte_is_named(tmp_path, type_value):
    path = tmp_path / "misses.bsor"
    misses = [BsorNote(30204, 0.1 * i, 0.1 * i - 0.05, 2) for i in range(1, 6)]  # 16 B each
    layout = write_bsor(
        path, times=np.arange(FRAMES) / RATE, **synthetic_poses(FRAMES), notes=misses
    )
    data = path.read_bytes()
    third = layout.sections[SECTION_NOTES] + 5 + 2 * 16 + 12  # the third note's type

    rejection = _reject(tmp_path, _with_int(data, third, type_value))

    assert rejection.code == "bsor.bad_event"
    assert f"Note event 3 has an unknown type ({type_value})" in rejection.message


@pytest.mark.parametrize("garbage", [b"\x00", b"\x09abc", b"\x05" + bytes(16)])
def test_trailing_garbage(tmp_path, garbage):
    data, _ = _valid(tmp_path)

    assert _reject(tmp_path, data + garbage).code == "bsor.trailing_garbage"


def test_garbage_after_user_data(tmp_path):
    data, _ = _valid(tmp_path, user_data=[("k", b"v")])

    assert _reject(tmp_path, data + b"\x07").code == "bsor.trailing_garbage"


def test_user_data_entry_longer_than_the_file(tmp_path):
    data, _ = _valid(tmp_path, user_data=[("k", b"value")])
    at = len(data) - 5 - 4  # the entry's byte count

    assert _reject(tmp_path, _with_int(data, at, 1_000_000)).code == "bsor.truncated"


def test_file_larger_than_the_limit_is_refused_before_reading(tmp_path, monkeypatch):
    data, _ = _valid(tmp_path)
    (tmp_path / "big.bsor").write_bytes(data)
    monkeypatch.setattr(format_base, "MAX_FILE_BYTES", len(data) - 1)

    with pytest.raises(RejectedRecording) as caught:
        read_bsor(tmp_path / "big.bsor")

    assert caught.value.code == "motion.file_too_large"


# -- fuzzing ---------------------------------------------------------------------------------------

_BASE: bytes | None = None


def _base_file() -> bytes:
    global _BASE
    if _BASE is None:
        with tempfile.TemporaryDirectory() as tmp:
            _BASE, _ = _valid(Path(tmp), user_data=[("k", b"v")])
    return _BASE


def _only_rejections(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.bsor"
        path.write_bytes(content)
        with contextlib.suppress(RejectedRecording):
            convert_file(path, Path(tmp) / "out")
        with contextlib.suppress(RejectedRecording):
            read_recording(path)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_behind_the_magic_raise_only_rejections(tail):
    _only_rejections(MAGIC_BYTES + b"\x01" + tail)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(0, 10_000),
    st.booleans(),
)
def test_mutated_valid_replays_raise_only_rejections(changes, cut, truncate):
    data = bytearray(_base_file())
    for offset, value in changes:
        data[offset % len(data)] = value
    if truncate:
        data = data[: cut % len(data)]
    _only_rejections(bytes(data))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 400), st.integers(-(2**31), 2**31 - 1))
def test_any_int32_written_into_the_header_region_raises_only_rejections(offset, value):
    data = _base_file()
    at = offset % (len(data) - 4)
    _only_rejections(_with_int(data, at, value))

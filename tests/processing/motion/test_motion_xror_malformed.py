"""Bad XROR input: each defect is refused with its exact code; fuzzing only ever refuses.

Every bad file is made from a small valid writer output, edited at the BSON or byte level and
written to disk, then read through the same path an upload takes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from processing.motion import RejectedRecording, convert_file
from processing.motion.formats import base as format_base
from processing.motion.formats.xror import MAX_EXPANSION, fpzip_header, read_xror
from tests.processing.motion.fuzzing import FUZZ, convert_bytes
from tests.processing.motion.test_motion_xror_support import (
    compress,
    encode,
    small_document,
    table,
)

VALID = encode(small_document())


def _reject(tmp_path: Path, content: bytes | dict[str, Any], *, via_convert=True):
    path = tmp_path / "upload.bin"
    path.write_bytes(content if isinstance(content, bytes) else encode(content))
    read = (
        (lambda: convert_file(path, tmp_path / "out")) if via_convert else (lambda: read_xror(path))
    )
    with pytest.raises(RejectedRecording) as caught:
        read()
    assert not (tmp_path / "out" / "motion.parquet").exists()
    return caught.value


def test_the_valid_base_file_converts(tmp_path):
    path = tmp_path / "ok.xror"
    path.write_bytes(VALID)

    assert convert_file(path, tmp_path / "out").metadata["frame_count"] == 120


# Document level ------------------------------------------------------------------------------


@pytest.mark.parametrize("keep", [100, len(VALID) // 2, len(VALID) - 1])
def test_file_cut_short_is_truncated(tmp_path, keep):
    rejection = _reject(tmp_path, VALID[:keep])

    assert rejection.code == "xror.truncated"
    assert f"says it holds {len(VALID)} bytes but has {keep}" in rejection.message


def test_file_cut_before_its_schema_is_not_recognised_but_truncated_when_read_directly(tmp_path):
    assert _reject(tmp_path, VALID[:40]).code == "format.unsupported"
    assert _reject(tmp_path, VALID[:40], via_convert=False).code == "xror.truncated"
    assert _reject(tmp_path, VALID[:3], via_convert=False).code == "xror.truncated"


def test_declared_length_shorter_than_the_file_is_a_bad_document(tmp_path):
    rejection = _reject(tmp_path, VALID + b"\x00" * 16)

    assert rejection.code == "xror.bad_document"
    assert rejection.message == (
        "The file is not a valid XROR recording. The document says it is "
        f"{len(VALID)} bytes long but the file has {len(VALID) + 16}."
    )


def test_broken_element_inside_a_well_framed_document_is_a_bad_document(tmp_path):
    broken = bytearray(VALID)
    at = VALID.index(b"\x03info\x00")
    broken[at] = 0x7E  # not a BSON element type
    assert _reject(tmp_path, bytes(broken)).code == "xror.bad_document"


def test_non_bson_bytes_are_not_claimed_and_refused_directly(tmp_path):
    junk = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    assert _reject(tmp_path, junk).code == "format.unsupported"
    framed = (len(junk) + 4).to_bytes(4, "little") + junk  # right length, not BSON inside
    assert _reject(tmp_path, framed, via_convert=False).code == "xror.bad_document"


def test_empty_and_oversized_files(tmp_path, monkeypatch):
    assert _reject(tmp_path, b"", via_convert=False).code == "motion.empty_file"
    monkeypatch.setattr(format_base, "MAX_FILE_BYTES", len(VALID) - 1)
    assert _reject(tmp_path, VALID, via_convert=False).code == "motion.file_too_large"


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d.pop("info"), "info"),
        (lambda d: d["info"].pop("hardware"), "info.hardware"),
        (lambda d: d["info"]["hardware"].pop("devices"), "info.hardware.devices"),
        (
            lambda d: d["info"]["hardware"]["devices"][1].pop("axes"),
            "info.hardware.devices[2].axes",
        ),
        (lambda d: d.pop("frames"), "frames"),
    ],
    ids=["info", "hardware", "devices", "axes", "frames"],
)
def test_missing_required_field_is_named(tmp_path, edit, field):
    document = small_document()
    edit(document)
    rejection = _reject(tmp_path, document)

    assert rejection.code == "xror.missing_field"
    assert f"'{field}'" in rejection.message


def test_missing_schema_is_not_claimed_and_named_when_read_directly(tmp_path):
    document = small_document()
    document.pop("$schema")
    assert _reject(tmp_path, document).code == "format.unsupported"
    rejection = _reject(tmp_path, document, via_convert=False)
    assert rejection.code == "xror.missing_field"
    assert "'$schema'" in rejection.message


@pytest.mark.parametrize(
    "schema",
    [
        "https://metaguard.github.io/xror/schema/v2.0.0/schema.json",
        "https://metaguard.github.io/xror/schema/v0.1.0/schema.json",
        "xror, some version",
    ],
)
def test_other_schema_versions_are_unsupported(tmp_path, schema):
    document = small_document()
    document["$schema"] = schema
    assert _reject(tmp_path, document).code == "xror.unsupported_version"


def test_pre_1_0_uncompressed_frames_are_unsupported(tmp_path):
    document = small_document()
    document["frames"] = table(document["frames"])[:5].tolist()
    assert _reject(tmp_path, document).code == "xror.unsupported_version"


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.update(info="text"),
        lambda d: d.update(frames=12),
        lambda d: d["info"]["hardware"].update(devices={"a": 1}),
        lambda d: d["info"]["hardware"]["devices"][0].update(axes=["x", "x", "y"]),
        lambda d: d.update(events=[{"id": "m", "attr": 5}]),
    ],
    ids=["info-not-object", "frames-not-binary", "devices-not-list", "repeated-axis", "attr"],
)
def test_fields_of_the_wrong_type_are_a_bad_document(tmp_path, edit):
    document = small_document()
    edit(document)
    assert _reject(tmp_path, document).code == "xror.bad_document"


# Arrays ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: b"not an fpzip stream at all",
        lambda blob: b"\x00" + blob[1:],  # magic
        lambda blob: blob[: len(blob) // 2],  # cut inside the compressed body
        lambda blob: blob[:30] + b"\xff" * (len(blob) - 30),  # body overwritten
    ],
    ids=["not-fpzip", "magic", "cut-body", "overwritten-body"],
)
def test_corrupted_fpzip_frames_are_a_bad_array(tmp_path, damage):
    document = small_document()
    document["frames"] = damage(document["frames"])
    rejection = _reject(tmp_path, document)

    assert rejection.code == "xror.bad_array"
    assert rejection.message.startswith("A compressed array in the file is damaged")


def test_frame_width_must_match_the_declared_axes(tmp_path):
    document = small_document()
    document["info"]["hardware"]["devices"][2]["axes"].append("p")
    rejection = _reject(tmp_path, document)

    assert rejection.code == "xror.bad_array"
    assert "have 22 values per row but the file declares 23" in rejection.message


def test_event_rows_must_match_the_declared_other_data(tmp_path):
    document = small_document()
    document["events"].append(
        {
            "id": "m",
            "name": "Miss",
            "attr": ["spawnTime", "noteID"],
            "floatData": compress(np.array([[0.5, 0.4]])),
            "otherData": [[30204], [31016]],
        }
    )
    rejection = _reject(tmp_path, document)

    assert rejection.code == "xror.bad_array"
    assert "event type 'm' have 1 rows but the file declares 2" in rejection.message


def test_arrays_expanding_far_beyond_the_file_are_refused_before_decompressing(tmp_path):
    rows = 800_000  # 70 MB of zeros compress to a few kilobytes
    zeros = np.zeros((rows, 22))
    document = small_document()
    document["frames"] = compress(zeros)
    header = fpzip_header(document["frames"])
    assert header is not None
    assert header.ny == rows
    assert header.nx * header.ny * 4 > MAX_EXPANSION * len(encode(document))
    rejection = _reject(tmp_path, document)

    assert rejection.code == "xror.bad_array"
    assert f"far more than {MAX_EXPANSION} times the file" in rejection.message


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_frame_values_are_a_bad_value(tmp_path, value):
    document = small_document()
    frames = table(document["frames"])
    frames[10, 5] = value
    document["frames"] = compress(frames)
    assert _reject(tmp_path, document).code == "xror.bad_value"


# Motion ------------------------------------------------------------------------------------


def test_frames_going_back_in_time_are_refused(tmp_path):
    document = small_document()
    frames = table(document["frames"])
    frames[[40, 41]] = frames[[41, 40]]
    document["frames"] = compress(frames)
    rejection = _reject(tmp_path, document)

    assert rejection.code == "motion.time_not_increasing"
    assert rejection.message.startswith("Frame 42 is earlier than the frame before it.")


def test_devices_without_a_full_pose_mean_no_motion(tmp_path):
    document = small_document()
    for device in document["info"]["hardware"]["devices"]:
        device["axes"] = ["x", "y", "z", "p", "q", "r", "s"]  # same width, no rotation
    assert _reject(tmp_path, document).code == "xror.no_motion"


def test_a_single_frame_is_no_motion(tmp_path):
    document = small_document()
    document["frames"] = compress(table(document["frames"])[:1])
    assert _reject(tmp_path, document).code == "xror.no_motion"


def test_no_devices_is_no_motion(tmp_path):
    document = small_document()
    document["info"]["hardware"]["devices"] = []
    assert _reject(tmp_path, document).code == "xror.no_motion"


# Fuzzing -----------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=3000))
def test_fuzz_bytes_after_an_xror_head_only_ever_reject(tail):
    head = VALID[: VALID.index(b"info") - 1]  # length, $schema element
    convert_bytes(head + tail)


@FUZZ
@given(
    st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8)
)
def test_fuzz_byte_mutated_valid_file_only_ever_rejects_or_converts(edits):
    content = bytearray(VALID)
    for at, value in edits:
        content[at] = value
    convert_bytes(bytes(content))


def test_javascript_code_values_are_plain_text_to_the_reader(tmp_path):
    # Found by hypothesis: bson decodes type 0x0D as Code, a str subclass that cannot be hashed,
    # which once escaped as TypeError from the axes check.
    from bson.code import Code

    document = small_document()
    device = document["info"]["hardware"]["devices"][0]
    device["axes"] = [Code(axis) for axis in device["axes"]]
    recording = read_xror(_write(tmp_path, encode(document)))
    assert recording.frame_count > 0


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "code.xror"
    path.write_bytes(data)
    return path

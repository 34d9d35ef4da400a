"""Bad pose streams: each real malformed file is refused with its exact code and a message that
names the place; random damage never raises anything but RejectedRecording."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processing.motion import CODES, RejectedRecording, convert_file
from processing.motion.formats import posejson
from tests.processing.motion.test_motion_posestream_samples import (
    CORPUS,
    DATA,
    small_aframe,
    small_csv_lines,
    small_document,
)


def _reject(tmp_path: Path, src: Path) -> RejectedRecording:
    with pytest.raises(RejectedRecording) as caught:
        convert_file(src, tmp_path / "out")
    assert not (tmp_path / "out" / "motion.parquet").exists()
    return caught.value


def test_committed_corpus_matches_its_generator():
    for case, content in CORPUS:
        assert (DATA / case.file).read_bytes() == content, (
            f"{case.file} drifted: python -m tests.processing.motion.test_motion_posestream_samples"
        )


@pytest.mark.parametrize(("case", "content"), CORPUS, ids=[c.file for c, _ in CORPUS])
def test_malformed_file_is_refused_with_its_code_and_place(tmp_path, case, content):
    rejection = _reject(tmp_path, DATA / case.file)

    assert rejection.code == case.code
    assert case.message in rejection.message
    assert rejection.code in CODES


def test_the_valid_bases_of_the_corpus_are_accepted(tmp_path):
    for name, content in (
        ("base.json", json.dumps(small_document())),
        ("base.csv", "\n".join(small_csv_lines()) + "\n"),
        ("aframe.json", json.dumps(small_aframe())),
    ):
        (tmp_path / name).write_text(content)
        convert_file(tmp_path / name, tmp_path / name.replace(".", "_"))


def test_empty_file(tmp_path):
    (tmp_path / "empty.json").write_bytes(b"")

    assert _reject(tmp_path, tmp_path / "empty.json").code == "motion.empty_file"


def test_json_that_is_neither_pose_stream_nor_aframe_is_unsupported(tmp_path):
    (tmp_path / "x.json").write_text('{"hello": "world"}')

    rejection = _reject(tmp_path, tmp_path / "x.json")

    assert rejection.code == "format.unsupported"
    assert "MetaGen pose stream (JSON)" in rejection.message


def test_json_above_the_json_cap_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(posejson, "MAX_JSON_BYTES", 1000)
    path = tmp_path / "big.json"
    path.write_text(json.dumps(small_document()))

    with pytest.raises(RejectedRecording) as caught:
        posejson.read_pose_json(path)

    assert caught.value.code == "posestream.json_too_large"
    assert "CSV" in caught.value.message


def test_json_cut_short_message_gives_line_and_column(tmp_path):
    case, _ = next(c for c in CORPUS if c[0].file == "json_cut_short.json")

    message = _reject(tmp_path, DATA / case.file).message

    assert message.startswith("The file is not valid JSON: ")
    assert message.endswith("The file may be cut short or damaged; export it again.")


def test_misaligned_aframe_message_is_actionable(tmp_path):
    rejection = _reject(tmp_path, DATA / "aframe_controller_starts_late.json")

    assert rejection.message == (
        "The right hand track has no pose within 0.25 s of the head's frame at 0.00 s (the "
        "nearest is 0.40 s away), so it cannot be lined up with the head. Record again with "
        "the controllers tracked the whole time, or trim the recording."
    )


def _rejection_code(src: Path, out: Path) -> str | None:
    try:
        convert_file(src, out)
    except RejectedRecording as rejection:
        return rejection.code
    return None


SEEDS = {
    "json": json.dumps(small_document()).encode(),
    "csv": ("\n".join(small_csv_lines()) + "\n").encode(),
    "aframe": json.dumps(small_aframe()).encode(),
}


def _damaged(data: st.DataObject) -> bytes:
    content = bytearray(SEEDS[data.draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = data.draw(st.integers(0, max(0, len(content) - 1)))
        if action == "flip" and content:
            content[at] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del content[at:]
        elif action == "insert":
            content[at:at] = data.draw(
                st.sampled_from([b",", b"[", b"]", b"{", b"}", b'"', b"-", b"e9", b"\n", b"\x00"])
            )
        elif content:
            del content[at : at + data.draw(st.integers(1, 40))]
    return bytes(content)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_pose_streams_raise_nothing_but_rejected_recording(data):
    content = _damaged(data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.bin"
        path.write_bytes(content)
        code = _rejection_code(path, Path(tmp) / "out")
    assert code is None or code in CODES


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_structurally_mutated_documents_raise_nothing_but_rejected_recording(data):
    document = data.draw(st.sampled_from([small_document, small_aframe]))()
    node = document
    while isinstance(node, dict | list) and node and data.draw(st.booleans()):
        key = data.draw(
            st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node)))
        )
        child = node[key]
        if not isinstance(child, dict | list) or data.draw(st.booleans()):
            node[key] = data.draw(json_values)
            break
        node = child
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.json"
        path.write_text(json.dumps(document))
        code = _rejection_code(path, Path(tmp) / "out")
    assert code is None or code in CODES

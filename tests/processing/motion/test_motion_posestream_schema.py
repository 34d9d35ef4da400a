"""The published JSON Schema and the reader agree: examples validate, and on every case the
reader accepts exactly the documents the schema accepts (apart from the documented rules a schema
cannot express)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processing.motion import RejectedRecording
from processing.motion.formats.posecsv import read_pose_csv
from processing.motion.formats.posejson import pose_stream_recording
from tests.processing.motion.test_motion_posestream_samples import (
    DECLARATIONS,
    small_document,
    write_json,
)

SCHEMAS = Path(__file__).resolve().parents[3] / "processing" / "motion" / "schemas"
SCHEMA = json.loads((SCHEMAS / "pose-stream.schema.json").read_text())
README = (SCHEMAS / "README.md").read_text()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
# Rules the reader adds to the schema (README, "Rules the reader enforces ...").
BEYOND_SCHEMA = {
    "posestream.duplicate_track",
    "posestream.unknown_track",
    "posestream.length_mismatch",
    "posestream.bad_value",
    "motion.time_not_increasing",
}


def _reader_accepts(document) -> tuple[bool, str | None]:
    try:
        pose_stream_recording(copy.deepcopy(document))
    except RejectedRecording as rejection:
        return False, rejection.code
    return True, None


def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_readme_json_example_validates_and_reads():
    example = json.loads(re.search(r"```json\n(.*?)```", README, re.S).group(1))

    VALIDATOR.validate(example)
    recording = pose_stream_recording(example)

    assert recording.tracks == ["head", "lh"]
    assert recording.source_metadata == {"device": "free text: stripped, never copied"}
    assert recording.positions[0, 1].tolist() == pytest.approx([0.001, 1.6, -0.002])


def test_readme_csv_example_reads(tmp_path):
    example = re.search(r"## Wide CSV\n\n```\n(.*?)```", README, re.S).group(1)
    (tmp_path / "example.csv").write_text(example)

    recording = read_pose_csv(tmp_path / "example.csv")

    assert recording.roles == ["head", "left_hand"]
    assert recording.positions[0, 0].tolist() == pytest.approx([0.0, 1.6, 0.0])


@pytest.mark.parametrize("declared", sorted(DECLARATIONS))
def test_writer_output_validates_against_the_schema(tmp_path, declared):
    path = write_json(
        tmp_path / "take.json",
        DECLARATIONS[declared],
        events=[{"t": 0.5, "kind": "note_cut", "data": {"lane": 2, "hit": True, "id": "a"}}],
        extra={"meta": {"anything": [1, "two"]}},
    )

    VALIDATOR.validate(json.loads(path.read_text()))


def _case(change):
    document = small_document()
    change(document)
    return document


def _set(path, value):
    def change(document):
        node = document
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def _delete(path):
    def change(document):
        node = document
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return change


CASES = {
    # Accepted by both.
    "base": lambda d: None,
    "version as 1.0": _set(["version"], 1.0),
    "integer coordinates": _set(["frames", "head", "position", 0], [0, 2, -1]),
    "extra metadata keys": lambda d: d.update(user={"id": 7}, session="s", anything=[None]),
    "events with data": _set(
        ["events"], [{"t": 0.1, "kind": "a.b-c_d", "data": {"k": [1, 2.5], "s": "x" * 256}}]
    ),
    "event without data": _set(["events"], [{"t": 0, "kind": "pause"}]),
    "no events": _set(["events"], []),
    "left-handed Z-up wxyz mm ms": lambda d: d.update(
        units={"length": "mm", "time": "ms"},
        frame={"handedness": "left", "up": "+Z", "forward": "-X", "quaternion_order": "wxyz"},
    ),
    "joint roles may repeat": lambda d: [t.update(role="joint") for t in d["tracks"]],
    "64-character track name": lambda d: (
        d["tracks"][0].update(name="h" * 64),
        d["frames"].__setitem__("h" * 64, d["frames"].pop("head")),
    ),
    # Refused by both.
    "top level not an object": None,
    "missing format": _delete(["format"]),
    "wrong format": _set(["format"], "pose-stream"),
    "version 2": _set(["version"], 2),
    "version true": _set(["version"], True),
    "version as text": _set(["version"], "1"),
    "missing units": _delete(["units"]),
    "missing frame": _delete(["frame"]),
    "units inches": _set(["units", "length"], "in"),
    "time in minutes": _set(["units", "time"], "min"),
    "missing time unit": _delete(["units", "time"]),
    "extra key in units": _set(["units", "angle"], "deg"),
    "handedness missing": _delete(["frame", "handedness"]),
    "up lower case": _set(["frame", "up"], "+y"),
    "forward on the up axis": _set(["frame", "forward"], "-Y"),
    "quaternion order zyxw": _set(["frame", "quaternion_order"], "zyxw"),
    "extra key in frame": _set(["frame", "scale"], 1),
    "frame is a string": _set(["frame"], "openxr"),
    "tracks empty": _set(["tracks"], []),
    "tracks not a list": _set(["tracks"], {"name": "head"}),
    "track without role": _delete(["tracks", 0, "role"]),
    "track with extra key": _set(["tracks", 0, "colour"], "red"),
    "track role unknown": _set(["tracks", 0, "role"], "torso"),
    "track name with space": _set(["tracks", 0, "name"], "my head"),
    "track name t": _set(["tracks", 0, "name"], "t"),
    "track name empty": _set(["tracks", 0, "name"], ""),
    "track name 65 characters": _set(["tracks", 0, "name"], "h" * 65),
    "track name a number": _set(["tracks", 0, "name"], 3),
    "frames missing": _delete(["frames"]),
    "frames not an object": _set(["frames"], []),
    "t missing": _delete(["frames", "t"]),
    "t with one time": _set(["frames", "t"], [0.0]),
    "t with a string": _set(["frames", "t", 3], "0.1"),
    "t with a boolean": _set(["frames", "t", 3], True),
    "t with null": _set(["frames", "t", 3], None),
    "frames key with a dot": lambda d: d["frames"].__setitem__("a.b", d["frames"]["head"]),
    "track entry without rotation": _delete(["frames", "head", "rotation"]),
    "track entry with extra key": _set(["frames", "head", "velocity"], []),
    "track entry a list": _set(["frames", "lh"], [[0, 0, 0]]),
    "position of 4 numbers": _set(["frames", "head", "position", 2], [0, 1, 2, 3]),
    "position as an object": _set(["frames", "head", "position", 2], {"x": 0, "y": 1, "z": 2}),
    "rotation of 3 numbers": _set(["frames", "lh", "rotation", 0], [0, 0, 0]),
    "rotation with a boolean": _set(["frames", "lh", "rotation", 0], [0, 0, 0, True]),
    "position list is an object": _set(["frames", "rh", "position"], {"0": [0, 0, 0]}),
    "events null": _set(["events"], None),
    "events an object": _set(["events"], {"t": 0, "kind": "x"}),
    "event without kind": _set(["events"], [{"t": 0}]),
    "event kind upper case": _set(["events"], [{"t": 0, "kind": "Pause"}]),
    "event time as text": _set(["events"], [{"t": "0", "kind": "pause"}]),
    "event extra key": _set(["events"], [{"t": 0, "kind": "pause", "who": "me"}]),
    "event data a list": _set(["events"], [{"t": 0, "kind": "pause", "data": [1]}]),
    "event data null value": _set(["events"], [{"t": 0, "kind": "p", "data": {"a": None}}]),
    "event data nested object": _set(["events"], [{"t": 0, "kind": "p", "data": {"a": {}}}]),
    "event data long text": _set(["events"], [{"t": 0, "kind": "p", "data": {"a": "x" * 257}}]),
    "event data list of text": _set(["events"], [{"t": 0, "kind": "p", "data": {"a": ["x"]}}]),
    "event data 65 numbers": _set(["events"], [{"t": 0, "kind": "p", "data": {"a": [0] * 65}}]),
    "event data key with space": _set(["events"], [{"t": 0, "kind": "p", "data": {"a b": 1}}]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_reader_accepts_exactly_what_the_schema_accepts(name):
    change = CASES[name]
    document = ["not", "an", "object"] if change is None else _case(change)

    schema_valid = VALIDATOR.is_valid(document)
    accepted, code = _reader_accepts(document)

    assert accepted == schema_valid, f"schema says {schema_valid}, reader {code}"
    if not accepted:
        assert code not in BEYOND_SCHEMA


def test_the_cases_cover_both_outcomes():
    outcomes = {VALIDATOR.is_valid(_case(c)) for c in CASES.values() if c is not None}
    assert outcomes == {True, False}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(-2, 2, allow_nan=False)
    | st.sampled_from(["t", "head", "m", "cm", "ms", "+Y", "-Z", "xyzw", "wxyz", "joint", "x"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["t", "kind", "data", "x", "head"]), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_random_mutations_are_judged_alike_by_schema_and_reader(data):
    """Replace, delete or add one value anywhere; the two verdicts must match, unless the reader
    refused for a documented rule beyond the schema."""
    document = small_document()
    node = document
    while True:
        keys = sorted(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict | list) and child and data.draw(st.booleans()):
            node = child
            continue
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            node[key] = data.draw(json_values)
        elif action == "delete":
            del node[key]
        elif isinstance(node, dict):
            node[data.draw(st.sampled_from(["x", "t", "head", "kind", "data"]))] = data.draw(
                json_values
            )
        else:
            node.append(data.draw(json_values))
        break
    schema_valid = VALIDATOR.is_valid(document)
    accepted, code = _reader_accepts(document)
    if code in BEYOND_SCHEMA:
        return
    assert accepted == schema_valid, f"schema says {schema_valid}, reader {code}"

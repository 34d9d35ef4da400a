"""Synthetic pose streams shared by the pose-stream tests, and the malformed-file corpus.

``canonical_poses`` is someone swaying, looking around and moving both hands: smooth, plausible
speeds, nobody's data. ``CORPUS`` lists the files in ``data/posestream/`` with the code and
message each must be refused with; ``write_corpus`` regenerates them
(``python -m tests.processing.motion.test_motion_posestream_samples``) and a test checks the
committed files still match it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from processing.motion.formats.posejson import FrameDeclaration
from processing.motion.rotations import euler_to_quaternion_c, make_continuous
from processing.motion.writers.posestream import (
    write_aframe_json,
    write_pose_csv,
    write_pose_json,
)

DATA = Path(__file__).resolve().parent / "data" / "posestream"
NAMES = ["head", "lh", "rh"]
ROLES = ["head", "left_hand", "right_hand"]

# Frames that exercise the conversion: mirrored, scaled, reordered, Z-up.
DECLARATIONS = {
    "canonical": FrameDeclaration(),
    "unity_cm_ms_wxyz": FrameDeclaration(
        length="cm", time="ms", handedness="left", up="+Y", forward="+Z", quaternion_order="wxyz"
    ),
    "unreal_cm": FrameDeclaration(length="cm", handedness="left", up="+Z", forward="+X"),
    "ros_mm": FrameDeclaration(length="mm", handedness="right", up="+Z", forward="+X"),
    "blender_wxyz": FrameDeclaration(
        handedness="right", up="+Z", forward="-Y", quaternion_order="wxyz"
    ),
}


def quaternions_from_euler_deg(order: str, angles: np.ndarray) -> np.ndarray:
    """(N, 3) angles in degrees about the axes of ``order`` to (N, 4) xyzw."""
    return euler_to_quaternion_c(order, np.asarray(angles, dtype=np.float64).T).T


def canonical_poses(*, seconds: float = 3.0, rate: float = 90.0) -> dict[str, Any]:
    """Times (F,), positions (3, F, 3) and rotations (3, F, 4) float32 in the canonical frame."""
    t = np.arange(round(seconds * rate)) / rate
    body = np.stack([0.15 * np.sin(0.8 * t), 1.62 + 0.03 * np.sin(2.0 * t), -0.1 * t], axis=1)
    offsets = [(0.0, 0.0, 0.0), (-0.25, -0.45, -0.3), (0.25, -0.45, -0.3)]
    positions = np.stack(
        [
            body + offset + k * 0.1 * np.stack([np.sin(3 * t), np.cos(2 * t), np.sin(t)], 1)
            for k, offset in enumerate(offsets)
        ]
    )
    rotations = []
    for k in range(3):
        yaw = 40 * np.sin(0.7 * t + k)
        pitch = 20 * np.sin(1.1 * t + 2 * k)
        roll = 10 * np.sin(1.7 * t + 3 * k)
        rotations.append(quaternions_from_euler_deg("YXZ", np.stack([yaw, pitch, roll], 1)))
    return {
        "times": t,
        "positions": positions.astype(np.float32),
        "rotations": make_continuous(np.stack(rotations)).astype(np.float32),
    }


def write_json(path: Path, declaration: FrameDeclaration | None = None, **kwargs: Any) -> Path:
    poses = canonical_poses(**kwargs.pop("poses", {}))
    write_pose_json(path, names=NAMES, roles=ROLES, declaration=declaration, **poses, **kwargs)
    return path


def write_csv(path: Path, declaration: FrameDeclaration | None = None, **kwargs: Any) -> Path:
    poses = canonical_poses(**kwargs.pop("poses", {}))
    write_pose_csv(path, names=NAMES, roles=ROLES, declaration=declaration, **poses, **kwargs)
    return path


def write_aframe(path: Path, **kwargs: Any) -> Path:
    poses = canonical_poses(**kwargs.pop("poses", {}))
    write_aframe_json(path, roles=ROLES, **poses, **kwargs)
    return path


def small_document() -> dict[str, Any]:
    """A valid pose-stream document of 12 frames (the base of the corpus and schema cases)."""
    poses = canonical_poses(seconds=12 / 90)
    positions = np.round(poses["positions"].astype(np.float64), 5)
    rotations = poses["rotations"].astype(np.float64)
    return {
        "format": "metagen-pose-stream",
        "version": 1,
        "units": {"length": "m", "time": "s"},
        "frame": {"handedness": "right", "up": "+Y", "forward": "-Z", "quaternion_order": "xyzw"},
        "tracks": [{"name": n, "role": r} for n, r in zip(NAMES, ROLES, strict=True)],
        "frames": {
            "t": np.round(poses["times"], 6).tolist(),
            **{
                name: {
                    "position": positions[k].tolist(),
                    "rotation": np.round(rotations[k], 6).tolist(),
                }
                for k, name in enumerate(NAMES)
            },
        },
    }


def small_csv_lines() -> list[str]:
    """A valid 12-frame wide CSV, as lines without newlines."""
    doc = small_document()
    lines = [
        "# metagen-pose-stream v1 units=m time=s handedness=right up=+Y forward=-Z quat=xyzw "
        "roles=head:head,lh:left_hand,rh:right_hand",
        "t,"
        + ",".join(f"{n}.{c}" for n in NAMES for c in ("px", "py", "pz", "qx", "qy", "qz", "qw")),
    ]
    for i, t in enumerate(doc["frames"]["t"]):
        values = [t]
        for name in NAMES:
            values += doc["frames"][name]["position"][i] + doc["frames"][name]["rotation"][i]
        lines.append(",".join(repr(v) for v in values))
    return lines


def small_aframe() -> dict[str, Any]:
    """A valid A-Frame recording of 12 camera frames and two controllers on the same clock."""
    doc = small_document()
    stamps = [1000.0 + 1000.0 * t for t in doc["frames"]["t"]]
    result: dict[str, Any] = {}
    for key, name in (("camera", "head"), ("leftHand", "lh"), ("rightHand", "rh")):
        result[key] = {
            "poses": [
                {
                    "position": dict(zip("xyz", p, strict=True)),
                    "rotation": {"x": 0.0, "y": 0.0, "z": 0.0},
                    "timestamp": s,
                }
                for p, s in zip(doc["frames"][name]["position"], stamps, strict=True)
            ],
            "events": [],
        }
    return result


def _set_field(line: str, index: int, value: str) -> str:
    fields = line.split(",")
    fields[index] = value
    return ",".join(fields)


def _swap(line: str, a: str, b: str) -> str:
    return ",".join({a: b, b: a}.get(field, field) for field in line.split(","))


def _dumps(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Case:
    file: str
    code: str
    message: str  # a fragment the donor's message must contain


def _corpus() -> list[tuple[Case, bytes]]:
    cases: list[tuple[Case, bytes]] = []

    def add(file: str, code: str, message: str, content: bytes) -> None:
        cases.append((Case(file, code, message), content))

    def doc_with(change: Any) -> bytes:
        doc = small_document()
        change(doc)
        return _dumps(doc)

    valid = _dumps(small_document())
    add("json_cut_short.json", "posestream.bad_json", "line 1, column 1201", valid[:1200])
    add(
        "json_nan_literal.json",
        "posestream.bad_value",
        "contains NaN",
        doc_with(lambda d: d["frames"]["head"]["position"][3].__setitem__(0, float("nan"))),
    )
    add(
        "json_latin1.json",
        "posestream.bad_json",
        "Line 1 contains bytes that are not UTF-8",
        valid[:-1] + b',"meta":"caf\xe9"}',
    )
    add(
        "json_missing_units.json",
        "posestream.bad_frame_declaration",
        "'units' is missing",
        doc_with(lambda d: d.pop("units")),
    )
    add(
        "json_bad_handedness.json",
        "posestream.bad_frame_declaration",
        "the handedness must be one of right, left",
        doc_with(lambda d: d["frame"].update(handedness="lefty")),
    )
    add(
        "json_up_forward_same_axis.json",
        "posestream.bad_frame_declaration",
        "the up and forward axes must be different axes",
        doc_with(lambda d: d["frame"].update(up="+Y", forward="-Y")),
    )
    add(
        "json_version_2.json",
        "posestream.unsupported_version",
        "version 2; we read version 1",
        doc_with(lambda d: d.update(version=2)),
    )
    add(
        "json_position_pair.json",
        "posestream.schema",
        "at 'frames.lh.position[5]': expected a list of 3 numbers",
        doc_with(lambda d: d["frames"]["lh"]["position"][5].pop()),
    )
    add(
        "json_quoted_number.json",
        "posestream.schema",
        "at 'frames.rh.rotation[2]': expected a list of 4 numbers",
        doc_with(lambda d: d["frames"]["rh"]["rotation"][2].__setitem__(0, "0.5")),
    )
    add(
        "json_undeclared_track.json",
        "posestream.unknown_track",
        "'frames' holds data for 'tail', which is not declared",
        doc_with(lambda d: d["frames"].update(tail=d["frames"]["lh"])),
    )
    add(
        "json_track_without_data.json",
        "posestream.unknown_track",
        "The track 'rh' is declared in 'tracks' but has no data",
        doc_with(lambda d: d["frames"].pop("rh")),
    )
    add(
        "json_length_mismatch.json",
        "posestream.length_mismatch",
        "'frames.head.rotation' has 11 entries but 'frames.t' has 12 times",
        doc_with(lambda d: d["frames"]["head"]["rotation"].pop()),
    )
    add(
        "json_duplicate_name.json",
        "posestream.duplicate_track",
        "Two tracks are named 'lh'",
        doc_with(lambda d: d["tracks"][2].update(name="lh")),
    )
    add(
        "json_two_heads.json",
        "posestream.duplicate_track",
        "Two tracks have the role 'head'",
        doc_with(lambda d: d["tracks"][1].update(role="head")),
    )

    def one_frame(d: dict[str, Any]) -> None:
        d["frames"]["t"] = d["frames"]["t"][:1]
        for name in NAMES:
            for key in ("position", "rotation"):
                d["frames"][name][key] = d["frames"][name][key][:1]

    add("json_one_frame.json", "posestream.too_few_frames", "has 1 frame;", doc_with(one_frame))
    add(
        "json_time_backwards.json",
        "motion.time_not_increasing",
        "The frame time at 'frames.t[4]' does not come after",
        doc_with(lambda d: d["frames"]["t"].__setitem__(4, 0.0)),
    )
    add(
        "json_event_kind_free_text.json",
        "posestream.schema",
        "at 'events[0].kind'",
        doc_with(lambda d: d.update(events=[{"t": 0.01, "kind": "Alice pressed A"}])),
    )
    add(
        "json_huge_number.json",
        "posestream.bad_value",
        "The value at 'frames.head.position[0]' is too large",
        doc_with(lambda d: d["frames"]["head"]["position"][0].__setitem__(1, 10**400)),
    )
    add(
        "json_bad_role.json",
        "posestream.schema",
        "at 'tracks[1].role': expected one of head, left_hand, right_hand, joint",
        doc_with(lambda d: d["tracks"][1].update(role="hand")),
    )

    lines = small_csv_lines()

    def csv(change: Any) -> bytes:
        copy = list(lines)
        change(copy)
        return ("\n".join(copy) + "\n").encode()

    add(
        "csv_no_roles.csv",
        "posestream.bad_frame_declaration",
        "'roles' is not declared",
        csv(lambda c: c.__setitem__(0, c[0].split(" roles=")[0])),
    )
    add(
        "csv_misspelt_key.csv",
        "posestream.bad_frame_declaration",
        "'hand' is not a known declaration key",
        csv(lambda c: c.__setitem__(0, c[0].replace("handedness=", "hand="))),
    )
    add(
        "csv_columns_out_of_order.csv",
        "posestream.bad_csv_header",
        "Column 5 of the header should be 'head.qx' but is 'head.qw'",
        csv(lambda c: c.__setitem__(1, _swap(c[1], "head.qx", "head.qw"))),
    )
    add(
        "csv_undeclared_track.csv",
        "posestream.unknown_track",
        "columns for the track 'tail'",
        csv(lambda c: c.__setitem__(1, c[1].replace("rh.", "tail."))),
    )
    add(
        "csv_short_row.csv",
        "posestream.wrong_value_count",
        "Line 7 has 21 values but the header has 22 columns",
        csv(lambda c: c.__setitem__(6, c[6].rsplit(",", 1)[0])),
    )
    add(
        "csv_text_value.csv",
        "posestream.bad_value",
        "Line 9 contains a value that is not a finite number",
        csv(lambda c: c.__setitem__(8, _set_field(c[8], 3, "abc"))),
    )
    add(
        "csv_nan.csv",
        "posestream.bad_value",
        "Line 6 contains a value that is not a finite number",
        csv(lambda c: c.__setitem__(5, _set_field(c[5], 9, "nan"))),
    )
    add(
        "csv_cut_short.csv",
        "posestream.wrong_value_count",
        "Line 14 has",
        csv(lambda c: None)[:-40],
    )
    add(
        "csv_version_2.csv",
        "posestream.unsupported_version",
        "version 2; we read version 1",
        csv(lambda c: c.__setitem__(0, c[0].replace(" v1 ", " v2 "))),
    )
    add(
        "csv_time_backwards.csv",
        "motion.time_not_increasing",
        "The time on line 8 does not come after",
        csv(lambda c: c.__setitem__(7, _set_field(c[7], 0, "0.0"))),
    )

    def aframe(change: Any) -> bytes:
        doc = small_aframe()
        change(doc)
        return _dumps(doc)

    add(
        "aframe_no_camera.json",
        "posestream.schema",
        "at 'camera': expected the camera's recording",
        aframe(lambda d: d.pop("camera")),
    )

    def late_right(d: dict[str, Any]) -> None:
        for pose in d["rightHand"]["poses"]:
            pose["timestamp"] += 400.0

    add(
        "aframe_controller_starts_late.json",
        "posestream.misaligned",
        "The right hand track has no pose within 0.25 s of the head's frame at 0.00 s "
        "(the nearest is 0.40 s away)",
        aframe(late_right),
    )
    add(
        "aframe_position_two_numbers.json",
        "posestream.schema",
        "at 'camera.poses[3].position': expected three numbers",
        aframe(lambda d: d["camera"]["poses"][3].update(position="1 2")),
    )
    add(
        "aframe_missing_timestamp.json",
        "posestream.schema",
        "at 'camera.poses[2]': expected a pose with 'position', 'rotation' and 'timestamp'",
        aframe(lambda d: d["camera"]["poses"][2].pop("timestamp")),
    )
    return cases


CORPUS = _corpus()


def write_corpus(directory: Path = DATA) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for case, content in CORPUS:
        (directory / case.file).write_bytes(content)


if __name__ == "__main__":
    write_corpus(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA)

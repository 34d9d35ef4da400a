"""XROR privacy: nothing identifying from ``info`` reaches an artifact; only field names do.

sample1.xror holds a real player's platform id and name. The values are read from the input at
test time and every assertion is on a count or a boolean, so a failure never prints them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from processing.motion import convert_file, read_recording
from processing.motion.formats.xror import read_xror
from tests.processing.motion.test_motion_xror_support import (
    SAMPLE1,
    TILT,
    needs_samples,
    raw_document,
)


def _artifact_bytes(out: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file())


def _artifact_text(out: Path) -> str:
    """Everything an artifact says as text: metadata JSON and every Parquet string value."""
    parts = [(out / "metadata.json").read_text(encoding="utf-8")]
    for path in sorted(out.glob("*.parquet")):
        table = pq.read_table(path)
        parts.append(json.dumps((table.schema.metadata or {}).get(b"", b"").decode()))
        for column in table.columns:
            if pa.types.is_string(column.type) or pa.types.is_dictionary(column.type):
                parts.extend(str(v) for v in column.to_pylist())
    return "\n".join(parts)


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


@needs_samples
def test_player_id_and_name_reach_no_artifact_byte(tmp_path):
    user = raw_document(SAMPLE1)["info"]["user"]
    needles = {str(user["id"]), str(user["name"])}
    if str(user["id"]).strip().isdigit():  # a numeric id may be written as a number
        number = int(user["id"])
        needles |= {str(number), f"{number:.6g}", f"{float(number)!r}"}
    convert_file(SAMPLE1, tmp_path)
    raw = _artifact_bytes(tmp_path)
    text = _artifact_text(tmp_path).lower()

    in_bytes = sum(n.encode() in raw for n in needles if n)
    in_text = sum(n.lower() in text for n in needles if n)
    assert in_bytes == 0
    assert in_text == 0


@needs_samples
def test_no_identifying_info_value_reaches_the_artifacts(tmp_path):
    """Every string in ``info`` but the devices' schema enums and axes: user, device models,
    software, song, map hash, mapper..., plus the score and the timestamp's digits."""
    info = raw_document(SAMPLE1)["info"]
    devices = info["hardware"]["devices"]
    structural = {str(v) for d in devices for k, v in d.items() if k != "name"}
    structural |= {a for d in devices for a in d["axes"]}
    values = [v for v in _leaves(info) if isinstance(v, str) and v not in structural]
    values.append(str(info["software"]["activity"]["score"]))
    values.append(str(int(info["timestamp"].timestamp())))
    convert_file(SAMPLE1, tmp_path)
    text = _artifact_text(tmp_path).lower()

    assert len(values) >= 15
    leaked = sum(v.lower() in text for v in values if len(v) >= 4)
    assert leaked == 0


@needs_samples
def test_metadata_lists_the_stripped_field_names_only(tmp_path):
    result = convert_file(SAMPLE1, tmp_path)
    stripped = result.metadata["anonymization"]["stripped_fields"]

    assert {
        "info.user.id",
        "info.user.name",
        "info.timestamp",
        "info.hardware.devices[].name",
        "info.software.app.id",
        "info.software.activity.songHash",
        "info.software.activity.score",
        "info.software.runtime",
    } <= set(stripped)
    assert stripped == sorted(read_recording(SAMPLE1).source_metadata)
    assert not any("devices[].axes" in s or "devices[].joint" in s for s in stripped)


@needs_samples
def test_track_names_come_from_roles_never_from_device_names():
    for sample in (SAMPLE1, TILT):
        names = {d.get("name") for d in raw_document(sample)["info"]["hardware"]["devices"]}
        recording = read_xror(sample)  # the reader's names (validation refuses the tilt one)
        assert not names & set(recording.tracks)
        assert set(recording.tracks) <= {"head", "left_hand", "right_hand", "brush"}

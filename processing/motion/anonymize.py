"""Remove what identifies the donor while keeping the motion.

Always:

* Drop every source-metadata field (comments, ids, timestamps, names); the report lists the
  field names, never their values.
* Drop "namespace:" prefixes from joint names (capture software puts actor and take names
  there); listed as ``joint_name_prefixes``.
* Recentre: the origin moves onto the floor under the anchor at frame 0 (x and z of the anchor
  become 0; y is kept, so a floor at y = 0 stays there), and the recording turns about +Y so the
  anchor's initial facing (its -Z axis projected onto the ground) is -Z. The anchor is the head
  track, else the skeleton's first root, else the first track. When the anchor looks almost
  straight up or down, its top (+Y axis) gives the facing instead.

Body size, a per-dataset choice (``BODY_SIZES``):

* ``keep``: unchanged.
* ``normalize``: scale about the origin so the estimated standing height is REFERENCE_HEIGHT_M.
  Height: the vertical extent of the skeleton's rest pose, else the 95th percentile of head
  height divided by 0.936 (eye height over stature for adults).
* ``noise``: scale by a factor drawn uniformly from NOISE_SCALE_RANGE. The generator is seeded
  by ``seed`` or, by default, by a hash of the recording, so a rerun gives the same bytes. A
  caller that wants the factor unguessable from the source passes a secret-derived seed.

Event values in metres (data keys ending in ``_m``, e.g. BSOR's automatic player height) scale
with the body too, or they would give the true size away.

The scale factor and the estimated height are never written anywhere.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from processing.motion.errors import RejectedRecording
from processing.motion.limits import NOISE_SCALE_RANGE, REFERENCE_HEIGHT_M
from processing.motion.model import Events, Recording, Skeleton
from processing.motion.rotations import quaternion_rotate, yaw_matrix

BodySize = Literal["keep", "normalize", "noise"]
BODY_SIZES: tuple[BodySize, ...] = ("keep", "normalize", "noise")
_EYE_TO_STATURE = 0.936
_MIN_HEIGHT_M = 0.3

_CHUNK_FRAMES = 1 << 16


@dataclass(frozen=True)
class AnonymizationReport:
    recentred: bool
    body_size: BodySize
    stripped_fields: list[str]


def anonymize(
    recording: Recording, *, body_size: str = "keep", seed: int | None = None
) -> tuple[Recording, AnonymizationReport]:
    """Return an anonymized copy of ``recording`` and what was done (see module docstring)."""
    copy = replace(
        recording, positions=recording.positions.copy(), rotations=recording.rotations.copy()
    )
    return anonymize_in_place(copy, body_size=body_size, seed=seed)


def anonymize_in_place(
    recording: Recording, *, body_size: str = "keep", seed: int | None = None
) -> tuple[Recording, AnonymizationReport]:
    """``anonymize`` that overwrites ``recording``'s pose arrays instead of copying them.

    For callers that own the recording (convert_file): no second set of full-size arrays.
    """
    result, report, poses = anonymize_deferred(recording, body_size=body_size, seed=seed)
    for track in range(len(result.tracks)):
        poses(track)
    return result, report


def anonymize_deferred(
    recording: Recording, *, body_size: str = "keep", seed: int | None = None
) -> tuple[Recording, AnonymizationReport, PoseMap]:
    """``anonymize_in_place`` with the pose pass left to the caller.

    Returns the recording with everything but the poses anonymized, the report, and the
    ``PoseMap`` that must be applied exactly once to every frame of every track before its
    poses are used (convert_file applies it block by block as it hands each block to the
    Parquet writer). For ``noise`` the poses are done already (its default seed hashes the
    recentred poses) and the map is the identity. For ``keep`` only frame 0 of the poses is
    read here, so a caller that streams frames may pass a recording whose later frames are
    not yet written.
    """
    if body_size not in BODY_SIZES:
        raise ValueError(f"body_size must be one of {BODY_SIZES}, not {body_size!r}")
    stripped = sorted(recording.source_metadata)
    tracks, had_prefixes = _strip_name_prefixes(recording.tracks)
    if had_prefixes:
        stripped.append("joint_name_prefixes")
    result = replace(recording, tracks=tracks, source_metadata={})
    if result.skeleton is not None:
        result.skeleton = replace(result.skeleton, joints=list(tracks))
    if body_size == "normalize":
        # Recentring keeps heights (y) exactly, so the estimate can come first and the scale
        # ride along in the same pass over the poses.
        factor = REFERENCE_HEIGHT_M / estimate_height(result)
        result, poses = _recentring(result, factor)
        result = _scaled(result, factor)
    elif body_size == "noise":
        result = _recentred(result, 1.0)
        factor = noise_factor(_content_seed(result) if seed is None else seed)
        result.positions *= np.float32(factor)
        result = _scaled(result, factor)
        poses = PoseMap(result, None)
    else:
        result, poses = _recentring(result, 1.0)
    report = AnonymizationReport(
        recentred=True,
        body_size=body_size,
        stripped_fields=sorted(stripped),
    )
    return result, report, poses


def _strip_name_prefixes(names: list[str]) -> tuple[list[str], bool]:
    if not any(":" in name for name in names):
        return list(names), False
    bases = [name.rsplit(":", 1)[-1].strip() or "joint" for name in names]
    seen: dict[str, int] = {}
    unique = []
    for base in bases:
        seen[base] = seen.get(base, 0) + 1
        unique.append(base if seen[base] == 1 else f"{base}_{seen[base]}")
    return unique, True


def anchor_index(recording: Recording) -> int:
    if "head" in recording.roles:
        return recording.roles.index("head")
    if recording.skeleton is not None:
        return int(np.flatnonzero(recording.skeleton.parents < 0)[0])
    return 0


def initial_heading(recording: Recording, anchor: int) -> float:
    """Yaw (radians about +Y) of the anchor's facing at frame 0; yaw 0 faces -Z."""
    q = recording.rotations[anchor, 0].astype(np.float64)
    forward = quaternion_rotate(q, np.array([0.0, 0.0, -1.0]))
    if math.hypot(forward[0], forward[2]) < 0.2:  # looking straight up or down
        top = quaternion_rotate(q, np.array([0.0, 1.0, 0.0]))
        forward = top if forward[1] < 0 else -top
    return math.atan2(-forward[0], -forward[2])


def recentre(recording: Recording) -> Recording:
    """A recentred copy (module docstring); the input is left as it was."""
    copy = replace(
        recording, positions=recording.positions.copy(), rotations=recording.rotations.copy()
    )
    return _recentred(copy, 1.0)


def _recentred(recording: Recording, factor: float) -> Recording:
    """Recentre in place, scaling positions by ``factor`` about the new origin in the same pass."""
    result, poses = _recentring(recording, factor)
    for track in range(len(recording.tracks)):
        poses(track)
    return result


class PoseMap:
    """The pose part of anonymization, fixed before it is applied, so it can be applied block
    by block: ``p -> (p - origin) @ position_map``, ``q -> q @ rotation_maps[track]`` (row
    vectors), or the identity when the maps are None.

    ``into`` writes a block's anonymized columns (px, py, pz, qx, qy, qz, qw) into a
    caller's contiguous (7, n) buffer, for the Parquet writer to take without a copy, and back
    into the recording; calling the map does the same in place. Each element goes through the
    same float32 operations in the same order whatever the blocks, so the result does not
    depend on them.
    """

    def __init__(
        self,
        recording: Recording,
        maps: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], list[npt.NDArray[np.float32]]]
        | None,
    ) -> None:
        self.positions, self.rotations = recording.positions, recording.rotations
        self.frame_count = recording.frame_count
        self.maps = maps
        self._raw: npt.NDArray[np.float32] | None = None
        self._out: npt.NDArray[np.float32] | None = None

    def __call__(self, track: int, start: int = 0, stop: int | None = None) -> None:
        """Frames start..stop - 1 (default: to the end) of ``track``, in place."""
        if self.maps is None:
            return
        stop = self.frame_count if stop is None else stop
        if self._out is None:
            self._out = np.empty((7, _CHUNK_FRAMES), dtype=np.float32)
        for first in range(start, stop, _CHUNK_FRAMES):
            last = min(first + _CHUNK_FRAMES, stop)
            self.into(track, first, last, self._out[:, : last - first])

    def into(self, track: int, start: int, stop: int, out: npt.NDArray[np.float32]) -> None:
        """Anonymize frames start..stop - 1 of ``track`` into ``out`` (7, stop - start) and
        into the recording."""
        p = self.positions[track, start:stop]
        q = self.rotations[track, start:stop]
        if self.maps is None:
            out[0:3] = p.T
            out[3:7] = q.T
            return
        origin, position_map, rotation_maps = self.maps
        n = stop - start
        if self._raw is None or self._raw.shape[1] < n:  # reused: no fresh pages per block
            self._raw = np.empty((8, n), dtype=np.float32)
        raw = self._raw[:, :n]  # the 7 columns as read, and one for products
        with np.errstate(invalid="ignore", over="ignore"):  # damaged values: refused anyway
            np.subtract(p.T, origin[:, None], out=raw[0:3])
            _map_columns(raw[0:3], position_map, out[0:3], raw[7])
            raw[3:7] = q.T
            _map_columns(raw[3:7], rotation_maps[track], out[3:7], raw[7])
        p[...] = out[0:3].T
        q[...] = out[3:7].T


def _recentring(recording: Recording, factor: float) -> tuple[Recording, PoseMap]:
    """The recentring (and scaling by ``factor``) of ``_recentred``, poses left to the
    returned ``PoseMap``: the skeleton is done; every track's map is fixed from frame 0 now.

    Positions go through (p - origin) @ (factor * turn)^T, rotations through the 4 x 4 matrix
    of the yaw product, with each track's sign chosen so its first frame keeps w >= 0.
    """
    anchor = anchor_index(recording)
    origin = recording.positions[anchor, 0].astype(np.float64) * np.array([1.0, 0.0, 1.0])
    turn = -initial_heading(recording, anchor)
    matrix = yaw_matrix(turn)
    position_map = (matrix.T * factor).astype(np.float32)
    s, c = math.sin(0.5 * turn), math.cos(0.5 * turn)
    # q' = yaw * q as a row-vector product q' = q @ Y: the columns are the 8-multiply formula.
    yaw = np.array([[c, 0, -s, 0], [0, c, 0, -s], [s, 0, c, 0], [0, s, 0, c]]).astype(np.float32)
    rotations = recording.rotations
    rotation_maps = []
    mapped = np.empty((5, 1), dtype=np.float32)
    for track in range(len(recording.tracks)):
        # The sign that keeps the first frame's w >= 0, from the map applied to that frame
        # (w can round across zero); negating the map negates every product exactly.
        first = rotations[track, :1].T if recording.frame_count else np.zeros((4, 1), np.float32)
        _map_columns(first, yaw, mapped[:4], mapped[4])
        rotation_maps.append(yaw if mapped[3, 0] >= 0 else -yaw)
    maps = (origin.astype(np.float32), position_map, rotation_maps)
    skeleton = recording.skeleton
    if skeleton is not None:  # a root's offset is in world axes, the others in their parent's
        offsets = skeleton.offsets.copy()
        roots = skeleton.parents < 0
        offsets[roots] = offsets[roots] @ matrix.T
        skeleton = replace(skeleton, offsets=offsets)
    return replace(recording, skeleton=skeleton), PoseMap(recording, maps)


def _map_columns(
    columns: npt.NDArray[np.float32],
    matrix: npt.NDArray[np.float32],
    out: npt.NDArray[np.float32],
    tmp: npt.NDArray[np.float32],
) -> None:
    """out = (columns^T @ matrix)^T for (k, n) columns and a k x k matrix, with elementwise
    numpy only; ``out`` must not overlap ``columns``.

    Not np.matmul: that goes to the multithreaded BLAS, whose threads spin and wait for each
    other on a busy 2-CPU machine (a 50 ms pass took 0.3-1.5 s with another process or the
    Parquet writer thread running). The maps here are yaw rotations, mostly zeros; zero terms
    are skipped.
    """
    for j in range(matrix.shape[1]):
        terms = [(i, matrix[i, j]) for i in range(matrix.shape[0]) if matrix[i, j] != 0]
        if not terms:
            out[j] = 0
            continue
        first, weight = terms[0]
        np.multiply(columns[first], weight, out=out[j])
        for i, weight in terms[1:]:
            np.multiply(columns[i], weight, out=tmp)
            np.add(out[j], tmp, out=out[j])


def estimate_height(recording: Recording) -> float:
    """Standing height in metres (see module docstring); RejectedRecording if unknowable."""
    head = recording.roles.index("head") if "head" in recording.roles else None
    positions = recording.positions
    return height_of(recording.skeleton, None if head is None else lambda: positions[head, :, 1])


def height_of(
    skeleton: Skeleton | None, head_y: Callable[[], npt.NDArray[np.floating[Any]]] | None
) -> float:
    """``estimate_height`` from its parts, for callers without a whole Recording (the release
    build reads a processed artifact): the skeleton's rest pose, else the head track's heights,
    which ``head_y`` returns and is only called when the skeleton gives no height."""
    height = 0.0
    if skeleton is not None:
        height = float(np.ptp(skeleton.rest_points()[:, 1]))
    if height < _MIN_HEIGHT_M and head_y is not None:
        heights = head_y()
        if heights.size:
            height = float(np.percentile(heights, 95)) / _EYE_TO_STATURE
    if not math.isfinite(height) or height < _MIN_HEIGHT_M:
        raise RejectedRecording(
            "anonymize.height_unknown",
            "We could not estimate the body height in this recording, which this dataset needs "
            "to hide body size. Include the head or a full skeleton.",
        )
    return height


def noise_factor(seed: int) -> float:
    """The ``noise`` profile's scale factor for a seed: uniform in NOISE_SCALE_RANGE."""
    return float(np.random.default_rng(seed).uniform(*NOISE_SCALE_RANGE))


def _scaled(recording: Recording, factor: float) -> Recording:
    """Scale what goes with the body (skeleton, metre-valued events); poses are done already."""
    skeleton = recording.skeleton
    if skeleton is not None:
        skeleton = Skeleton(
            joints=skeleton.joints,
            parents=skeleton.parents,
            offsets=skeleton.offsets * factor,
            end_sites=[(p, _scale3(o, factor)) for p, o in skeleton.end_sites],
        )
    events = _scaled_events(recording.events, factor)
    return replace(recording, skeleton=skeleton, events=events)


def _scaled_events(events: Events | None, factor: float) -> Events | None:
    """Event values in metres (data keys ending in "_m", e.g. a game's player height)."""
    if events is None or not any('_m"' in text for text in events.texts()):
        return events
    return replace(events, data=[scale_event_data(text, factor) for text in events.texts()])


def scale_event_data(text: str, factor: float) -> str:
    """One event's JSON data with its metre values (keys ending in "_m") times ``factor``;
    text without such a key comes back unchanged, the same object."""
    if '_m"' not in text:
        return text
    values = json.loads(text)
    for key, value in values.items():
        if key.endswith("_m") and type(value) in (int, float):
            values[key] = round(value * factor, 6)
    return json.dumps(values, sort_keys=True)


def _scale3(v: tuple[float, float, float], factor: float) -> tuple[float, float, float]:
    return (v[0] * factor, v[1] * factor, v[2] * factor)


def _content_seed(recording: Recording) -> int:
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(recording.positions).data)  # no copy when contiguous
    digest.update(np.ascontiguousarray(recording.rotations).data)
    return int.from_bytes(digest.digest()[:8], "little")

"""BSOR reader: BeatLeader's open replay format for Beat Saber, file version 1.

Layout (https://github.com/BeatLeader/BS-Open-Replay; little-endian; int = int32, long = int64,
float = float32, bool = 1 byte, string = int byte count + UTF-8 bytes): magic int 0x442d3d69,
version byte 1, then sections, each opened by its type byte, in this order:

====  ==========================  =============================================================
type  section                     content
====  ==========================  =============================================================
0     info                        13 strings (mod version, game version, unix timestamp, player
                                  id, player name, platform, tracking system, hmd, controller,
                                  map hash, song name, mapper, difficulty), score int, 3 strings
                                  (mode, environment, modifiers), jump distance float, left
                                  handed bool, height float, start time, fail time, speed floats
1     frames                      count, then 92-byte frames: song time float, fps int, head,
                                  left hand, right hand as position xyz + rotation xyzw floats
2     note events                 count, then noteID int, event time, spawn time floats, event
                                  type int (0 good cut, 1 bad cut, 2 miss, 3 bomb); good and bad
                                  cuts carry a 72-byte cut info (``CUT_DTYPE``)
3     wall events                 count, then wallID int, energy, time, spawn time floats
4     automatic heights           count, then height, time floats
5     pauses                      count, then duration long (whole seconds), time float
6     saber offsets (optional)    left then right saber pose in its controller's frame (14 floats)
7     user data (optional)        count, then key string + int byte count + bytes
====  ==========================  =============================================================

Reading is bounded: the file's size is checked against MAX_FILE_BYTES before a byte is read;
every count and string length is checked against the bytes left (and a cap) before anything is
allocated; the frame block is read in fixed-size chunks, each decoded with one structured
``np.frombuffer`` (no per-frame Python) straight into the output arrays, which store each pose
component contiguously (``BsorStream``: a caller may use the first frames while later ones are
read). Note events vary in size with their type, so one Python step per note finds where each
starts (a fraction of a microsecond each; their fields are then gathered vectorised); their
count is capped by ``MAX_EVENTS``.

Conversion into the canonical model (model.py):

* Axes: Unity's frame is left-handed, X right, Y up, +Z forward; the canonical frame is
  right-handed, X right, Y up, -Z forward. The map between them is the mirror M = diag(1, 1, -1),
  so positions become (x, y, -z). A rotation R becomes M R M; for a unit quaternion (x, y, z, w)
  the axis is a pseudo-vector (it picks up det M = -1 besides M), so the quaternion becomes
  (-x, -y, z, w). Unity's forward +Z therefore becomes -Z, and a device's local +Z (its
  forward) becomes its local -Z, as model.py asks. Metres and seconds are already the units.
  Quaternions are then made sign-continuous per track (first frame w >= 0).
* Tracks: ``head``, ``left_hand``, ``right_hand``, with those roles. The hands are what the
  game records, the saber pose. When the optional saber offsets are present (the saber's pose in
  its controller's frame, BeatLeader 0.6 and later) they are removed, C = S * O^-1, so the hand
  tracks are the tracked controllers; their values are kept nowhere (a personal setting, exact
  floats identical in every replay of the player: a linkage key). ``conversion["hand_pose"]``
  says which of the two the tracks are.
* Clock: frame times are song time. Beat Saber's song clock stands still while a level loads and
  runs faster or slower than real time under the song-speed modifiers; BeatLeader records no
  frames while paused. So: (1) a frame is dropped when the next frame's song time is not later
  (the clock stood still, e.g. the first three or four frames of a replay, the first of which
  can be all zeros; the last pose logged at a time is the one kept); the count is
  ``conversion["dropped_repeated_frames"]``; (2) if the clock steps back by more than
  ``MAX_CLOCK_STEP_BACK_S`` anywhere, or the kept times still do not increase, the recording is
  refused (``motion.time_not_increasing``): such a stretch is a restart or a seek, not jitter;
  (3) song time becomes real time by dividing by the song speed (modifiers SF 1.5, FS 1.2, SS
  0.85; a practice-mode speed overrides them), ``conversion["song_speed"]``; (4) each pause's
  recorded duration (whole seconds, so up to 1 s short) is inserted after it, leaving a gap
  without frames where the player moved unrecorded; (5) the first kept frame is time 0.
* Frame rate: the per-frame fps field is unreliable (it reads 3 in early frames); the nominal
  rate is the mean rate over the regular frame intervals (at most twice the median interval,
  which leaves hitches and pauses out), snapped to a whole number within 1 %. The median
  interval itself is biased: song time is a float32 audio clock, so intervals of a 90 Hz replay
  cluster on a few quantised values and the median gives 91 Hz and a duration 1 % short.
* Events (``Recording.events``, on the recording clock, same mapping as the frames):
  ``note_good_cut``, ``note_bad_cut``, ``note_miss``, ``bomb_cut`` with the note's line index,
  line layer, colour, cut direction and scoring type decoded from its noteID, and its scheduled
  time ``note_time_s``; cuts add the saber, the four cut checks, the timing and direction
  deviations, the cut angle and the before/after swing ratings. ``wall_hit`` (line index,
  obstacle type, width, energy), ``height`` (``height_m``, the game's automatic player height),
  ``pause`` (``duration_s``). Left out: saber speed (follows from the hand track; some mod
  versions pack a flag into it), saber direction, cut point and cut normal (vectors in the
  game's world frame, which the recorded origin frame does not determine, so they cannot be put
  in the canonical frame honestly) and the cut's distance to the note centre (a score term).
  Events with a non-finite time are dropped (``conversion["dropped_events"]``); non-finite
  values become null.
* Identifying info goes to ``source_metadata`` (player id and name, platform, tracking system,
  hmd, controller, timestamp, versions, map hash, song, mapper, difficulty, score, mode,
  environment, modifiers, jump distance, left-handedness, height, start/fail time, practice
  speed), so anonymize drops the values and lists the names. Of those, only coarse derived facts
  reach ``conversion``: the song speed (needed to explain the clock) and ``device_class``
  (``pc_vr`` for the Steam and Oculus PC platforms, ``standalone`` for Quest, else ``unknown``).
  The exact headset and controller models narrow down the person, so they stay out; so does
  left-handedness (a body trait the conversion does not need) and the static height (body size
  is anonymize's business). User data (section 7) is skipped unread and listed as
  ``user_data``; saber offsets are listed as ``saber_offsets``.
* Old BeatLeader builds wrote the length of the player name, song name and mapper in UTF-16
  code units rather than UTF-8 bytes; as other BSOR readers do, such a string is extended byte
  by byte (up to three bytes per declared unit) until it decodes and a plausible string length
  follows. Invalid UTF-8 in info strings is not refused: their values are never used.

Linkability: BeatLeader replays are normally public. The motion and event timings of a donated
replay match its public copy, so no stripping of metadata makes a BSOR donation unlinkable to
the player's leaderboard profile by someone holding BeatLeader's replays. Consent texts and
dataset cards should say so.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from io import BufferedReader
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from processing.motion.columns import arrow_array
from processing.motion.columns import text as arrow_text
from processing.motion.errors import RejectedRecording
from processing.motion.formats.base import ReadOptions, checked_file_size
from processing.motion.limits import MAX_FILE_BYTES, QUATERNION_NORM_TOLERANCE
from processing.motion.model import Events, Float32Array, Float64Array, Recording, Role
from processing.motion.rotations import quaternion_multiply, quaternion_rotate

MAGIC = 0x442D3D69
MAGIC_BYTES = MAGIC.to_bytes(4, "little")
VERSION = 1

SECTION_INFO = 0
SECTION_FRAMES = 1
SECTION_NOTES = 2
SECTION_WALLS = 3
SECTION_HEIGHTS = 4
SECTION_PAUSES = 5
SECTION_SABER_OFFSETS = 6
SECTION_USER_DATA = 7

FRAME_DTYPE = np.dtype([("time", "<f4"), ("fps", "<i4"), ("pose", "<f4", (3, 7))])
NOTE_HEAD_DTYPE = np.dtype(
    [("note_id", "<i4"), ("event_time", "<f4"), ("spawn_time", "<f4"), ("event_type", "<i4")]
)
CUT_DTYPE = np.dtype(
    [
        ("speed_ok", "u1"),
        ("direction_ok", "u1"),
        ("saber_type_ok", "u1"),
        ("was_cut_too_soon", "u1"),
        ("saber_speed", "<f4"),
        ("saber_dir", "<f4", (3,)),
        ("saber_type", "<i4"),
        ("time_deviation", "<f4"),
        ("cut_dir_deviation", "<f4"),
        ("cut_point", "<f4", (3,)),
        ("cut_normal", "<f4", (3,)),
        ("cut_distance_to_center", "<f4"),
        ("cut_angle", "<f4"),
        ("before_cut_rating", "<f4"),
        ("after_cut_rating", "<f4"),
    ]
)
WALL_DTYPE = np.dtype(
    [("wall_id", "<i4"), ("energy", "<f4"), ("time", "<f4"), ("spawn_time", "<f4")]
)
HEIGHT_DTYPE = np.dtype([("height", "<f4"), ("time", "<f4")])
PAUSE_DTYPE = np.dtype([("duration", "<i8"), ("time", "<f4")])
SABER_OFFSETS_DTYPE = np.dtype([("pose", "<f4", (2, 7))])
NOTE_GOOD, NOTE_BAD, NOTE_MISS, NOTE_BOMB = 0, 1, 2, 3
# Bytes of a note by its type's low byte: head and cut info for cuts, the head alone for misses
# and bombs, 0 (not a type) for the rest.
_NOTE_SIZES = bytes([88, 88, 16, 16] + [0] * 252)

# Info fields in file order: (name in source_metadata, kind). "name" strings may carry the
# UTF-16 length bug of old builds (module docstring).
INFO_FIELDS: tuple[tuple[str, str], ...] = (
    ("mod_version", "string"),
    ("game_version", "string"),
    ("timestamp", "string"),
    ("player_id", "string"),
    ("player_name", "name"),
    ("platform", "string"),
    ("tracking_system", "string"),
    ("hmd", "string"),
    ("controller", "string"),
    ("map_hash", "string"),
    ("song_name", "name"),
    ("mapper", "name"),
    ("difficulty", "string"),
    ("score", "int"),
    ("mode", "string"),
    ("environment", "string"),
    ("modifiers", "string"),
    ("jump_distance", "float"),
    ("left_handed", "bool"),
    ("player_height", "float"),
    ("start_time", "float"),
    ("fail_time", "float"),
    ("practice_speed", "float"),
)

# A 4-hour map at 20 notes a second has under 300k notes; heights come at most a few a frame.
MAX_EVENTS = 1_000_000
MAX_INFO_STRING_BYTES = 64 * 1024
MAX_USER_DATA_ENTRIES = 10_000
MAX_NAME_EXTENSION = 1024
MAX_CLOCK_STEP_BACK_S = 0.05
SONG_SPEED_MODIFIERS = {"SF": 1.5, "FS": 1.2, "SS": 0.85}
_MIRROR_P = np.array([1.0, 1.0, -1.0], dtype=np.float32)
_MIRROR_Q = np.array([-1.0, -1.0, 1.0, 1.0], dtype=np.float32)
_ORIGIN_PEEK = 256  # frames read ahead to find the clock origin (see read_bsor)
# Frames per read: 6 MB, big enough to amortise per-window overhead; a little over half of
# convert_file's block, so every second read completes a block and the frame after it.
_FRAME_CHUNK = (1 << 16) + 64
_RATE_SNAP = 0.01
_DEVICE_CLASSES = {"steam": "pc_vr", "oculuspc": "pc_vr", "oculus": "standalone"}
_SECTION_NAMES = {
    SECTION_FRAMES: "frames",
    SECTION_NOTES: "note events",
    SECTION_WALLS: "wall events",
    SECTION_HEIGHTS: "height events",
    SECTION_PAUSES: "pauses",
    SECTION_USER_DATA: "user data",
}
_AGAIN = "Copy the .bsor file again from the game's replay folder."


class BsorReader:
    name = "bsor"
    label = "BSOR (BeatLeader replay)"

    def sniff(self, head: bytes) -> bool:
        return head.startswith(MAGIC_BYTES)

    def read(self, path: Path, options: ReadOptions) -> Recording:
        return read_bsor(path)

    def open_stream(self, path: Path, options: ReadOptions) -> BsorStream:
        return BsorStream(path)


READER = BsorReader()


def read_bsor(path: Path) -> Recording:
    """Read a BSOR v1 replay into the canonical model; RejectedRecording for any bad input."""
    with BsorStream(path) as stream:
        for _ in stream:
            pass
        return stream.recording()


class BsorStream:
    """A replay whose frames are decoded chunk by chunk, for a caller that works as they come.

    convert_file checks, anonymizes and writes the first frames while later ones are still
    being read; ``read_bsor`` just drains the stream, so both see the same values. Opening
    parses every section but the frames (refusing a damaged file before any frame) and starts
    making the events on a second thread. Iterating decodes the frame block and yields how many
    leading frames are final (kept, on the recording clock, in the canonical frame,
    sign-continuous) in ``times``, ``positions`` and ``rotations``: full-size arrays whose later
    frames are not written yet. ``recording()``, once the stream is drained, raises what the
    clock rules found anywhere in the file, or returns the Recording over the same arrays.
    """

    source_format = "bsor"
    tracks: tuple[str, ...] = ("head", "left_hand", "right_hand")
    roles: tuple[Role, ...] = ("head", "left_hand", "right_hand")

    def __init__(self, path: Path) -> None:
        size = checked_file_size(path)
        self._file = path.open("rb")
        self._pool = ThreadPoolExecutor(max_workers=1)
        try:
            parser = _Parser(self._file, size)
            self._parsed = parsed = parser.parse()
            if parsed.declared_frames == 0:
                raise RejectedRecording(
                    "motion.no_frames",
                    f"The replay has no frames, so there is no motion. {_AGAIN}",
                )
            self._frames_at = parser.frames_at
            self._speed = song_speed(parsed.info)
            origin = parser.first_kept_time(parsed)
            self._early: tuple[float, Future[tuple[Events | None, int]]] | None = None
            if origin is not None:
                clock = _Clock(origin, self._speed, parsed.pauses)
                self._early = (origin, self._pool.submit(_events, parsed, clock))
            self._decoder = _FrameDecoder(parsed, self._speed)
        except BaseException:
            self.close()
            raise
        self.source_metadata = _source_metadata(parsed)
        self.times = self._decoder.times
        self.positions = self._decoder.positions
        self.rotations = self._decoder.rotations
        self.drained = False
        self._rate: Future[float] | None = None

    def __enter__(self) -> BsorStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._file.close()

    def __iter__(self) -> Iterator[int]:
        itemsize = FRAME_DTYPE.itemsize
        count = self._parsed.declared_frames
        # One slot in front of each chunk carries the previous chunk's last frame, whose fate
        # (kept or not) depends on the next frame's time.
        buffer = bytearray((min(count, _FRAME_CHUNK) + 1) * itemsize)
        carried = 0
        self._file.seek(self._frames_at)
        for start in range(0, count, _FRAME_CHUNK):
            stop = min(start + _FRAME_CHUNK, count)
            view = memoryview(buffer)[carried * itemsize : (carried + stop - start) * itemsize]
            if self._file.readinto(view) != len(view):
                raise _truncated("frames")
            window = carried + stop - start
            frames = np.frombuffer(buffer, dtype=FRAME_DTYPE, count=window)
            self._decoder.add(frames, start - carried, last=stop == count)
            del frames
            buffer[:itemsize] = buffer[(window - 1) * itemsize : window * itemsize]
            carried = 1
            if stop == count:  # the rate needs every frame: made beside the caller's last work
                self._rate = self._pool.submit(self._decoder.nominal_rate)
            yield self._decoder.ready
        self.drained = True

    def after_events(self, use: Callable[[Events | None], None]) -> Future[None] | None:
        """Run ``use(events)`` on the events' thread once they are made, if they are already
        being made on the clock the frames settled on (after the first frames are final);
        None otherwise (``recording()`` then makes them)."""
        early, clock = self._early, self._decoder.clock
        if early is None or clock is None or early[0] != clock.origin:
            return None
        made = early[1]
        return self._pool.submit(lambda: use(made.result()[0]))

    def recording(self) -> Recording:
        """The whole recording (see the class docstring); only after the stream is drained."""
        if not self.drained:
            raise RuntimeError("recording() before the frame stream was drained")
        decoder, parsed = self._decoder, self._parsed
        decoder.raise_clock_faults()
        kept = decoder.ready
        clock, rate = decoder.clock, self._rate
        if clock is None or rate is None:  # a drained stream kept its last frame, has a rate
            raise RuntimeError("the frame stream ended without its last frame")
        if self._early is not None and self._early[0] == clock.origin:
            events, dropped_events = self._early[1].result()
        else:
            events, dropped_events = _events(parsed, clock)
        conversion: dict[str, Any] = {
            "axes": "Unity left-handed (+Z forward) mirrored in Z: p -> (x, y, -z), "
            "q -> (-x, -y, z, w)",
            "clock": "song time / song_speed, pauses inserted, first kept frame at 0",
            "song_speed": self._speed,
            "declared_frames": parsed.declared_frames,
            "dropped_repeated_frames": parsed.declared_frames - kept,
            "hand_pose": decoder.hand_pose,
            "device_class": _DEVICE_CLASSES.get(
                str(parsed.info.get("platform", "")).lower(), "unknown"
            ),
        }
        if clock.clamped:
            conversion["negative_pause_durations_ignored"] = clock.clamped
        if dropped_events:
            conversion["dropped_events"] = dropped_events
        return Recording(
            source_format="bsor",
            tracks=list(self.tracks),
            roles=list(self.roles),
            times=self.times[:kept],
            positions=self.positions[:, :kept],
            rotations=self.rotations[:, :kept],
            frame_rate=rate.result(),
            source_metadata=self.source_metadata,
            conversion=conversion,
            events=events,
        )


class _Parsed:
    """Everything read from the file, still in Unity's frame and song time."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}
        self.declared_frames = 0  # the frame block itself is decoded by BsorStream
        self.notes = np.empty(0, dtype=NOTE_HEAD_DTYPE)
        self.cuts = np.empty(0, dtype=CUT_DTYPE)  # one per note with a cut, in note order
        self.walls = np.empty(0, dtype=WALL_DTYPE)
        self.heights = np.empty(0, dtype=HEIGHT_DTYPE)
        self.pauses = np.empty(0, dtype=PAUSE_DTYPE)
        self.saber_offsets: npt.NDArray[np.float32] | None = None  # (2, 7), Unity frame
        self.user_data_entries: int | None = None


class _Parser:
    """A bounded cursor over the file: every read is checked against the bytes left first."""

    def __init__(self, f: BufferedReader, size: int) -> None:
        self.f = f
        self.size = size
        self.pos = 0
        self.frames_at = 0

    # -- primitives ---------------------------------------------------------------------------

    def remaining(self) -> int:
        return self.size - self.pos

    def take(self, n: int, where: str) -> bytes:
        if n > self.remaining():
            raise _truncated(where)
        data = self.f.read(n)
        if len(data) != n:  # the file shrank while we read it
            raise _truncated(where)
        self.pos += n
        return data

    def skip(self, n: int, where: str) -> None:
        if n > self.remaining():
            raise _truncated(where)
        self.pos += n
        self.f.seek(self.pos)

    def int32(self, where: str) -> int:
        value: int = struct.unpack("<i", self.take(4, where))[0]
        return value

    def count(self, where: str, record_size: int, cap: int) -> int:
        """A record count: refused if negative or beyond any acceptable file, before allocation."""
        count = self.int32(where)
        if count < 0 or count > cap:
            raise RejectedRecording(
                "bsor.bad_count",
                f"The replay declares {count} {where}, which no valid replay holds. The file "
                f"is damaged. {_AGAIN}",
            )
        if count * record_size > self.remaining():
            raise _truncated(where)
        return count

    def string(self, where: str) -> bytes:
        return self.take(self._string_length(where), where)

    def _string_length(self, where: str) -> int:
        length = self.int32(where)
        if length < 0 or length > MAX_INFO_STRING_BYTES:
            raise RejectedRecording(
                "bsor.bad_string",
                f"A text field of the replay's {where} has an impossible length ({length} "
                f"bytes). The file is damaged. {_AGAIN}",
            )
        return length

    def name_string(self, where: str) -> bytes:
        """A string that old builds wrote with a UTF-16 unit count (module docstring).

        The true byte length is at most three bytes per declared unit; the search looks at most
        ``MAX_NAME_EXTENSION`` bytes further and decodes only where a plausible string length
        follows, so a hostile file costs at most that many cheap steps.
        """
        length = self._string_length(where)
        data = self.take(length, where)
        if self.remaining() < 4:
            return data
        start = self.pos
        limit = min(2 * length, MAX_NAME_EXTENSION, self.remaining() - 4)
        window = self.f.read(limit + 4)
        self.f.seek(start)
        for extra in range(limit + 1):
            following = int.from_bytes(window[extra : extra + 4], "little", signed=True)
            if 0 <= following <= MAX_INFO_STRING_BYTES and _decodes(data + window[:extra]):
                return data + self.take(extra, where)
        return data  # not the known bug: let the next field report the damage

    def section(self, expected: int, where: str) -> None:
        found = self.take(1, where)[0]
        if found != expected:
            raise RejectedRecording(
                "bsor.bad_section",
                f"The replay's {where} section is missing or out of place (section type "
                f"{found} where {expected} belongs). The file is damaged. {_AGAIN}",
            )

    # -- sections -----------------------------------------------------------------------------

    def parse(self) -> _Parsed:
        parsed = _Parsed()
        head = self.take(5, "header")
        if head[:4] != MAGIC_BYTES:
            raise RejectedRecording(
                "bsor.bad_magic",
                f"The file does not start like a BeatLeader replay (.bsor). {_AGAIN}",
            )
        if head[4] != VERSION:
            raise RejectedRecording(
                "bsor.unsupported_version",
                f"The replay is in BSOR format version {head[4]}; we read version {VERSION}. "
                "Send us a replay recorded with a BeatLeader mod that writes version 1.",
            )
        self.section(SECTION_INFO, "info")
        parsed.info = self._info()
        self.section(SECTION_FRAMES, "frames")
        self._locate_frames(parsed)
        self.section(SECTION_NOTES, "note events")
        parsed.notes, parsed.cuts = self._notes()
        self.section(SECTION_WALLS, "wall events")
        parsed.walls = self._fixed(SECTION_WALLS, WALL_DTYPE)
        self.section(SECTION_HEIGHTS, "height events")
        parsed.heights = self._fixed(SECTION_HEIGHTS, HEIGHT_DTYPE)
        self.section(SECTION_PAUSES, "pauses")
        parsed.pauses = self._fixed(SECTION_PAUSES, PAUSE_DTYPE)
        next_section = self._optional_section(SECTION_SABER_OFFSETS)
        if next_section == SECTION_SABER_OFFSETS:
            block = self.take(SABER_OFFSETS_DTYPE.itemsize, "saber offsets")
            parsed.saber_offsets = np.frombuffer(block, SABER_OFFSETS_DTYPE)["pose"][0].copy()
            next_section = self._optional_section(SECTION_USER_DATA)
        if next_section == SECTION_USER_DATA:
            parsed.user_data_entries = self._skip_user_data()
            next_section = self._optional_section(None)
        return parsed

    def _optional_section(self, allowed: int | None) -> int | None:
        """The next optional section's type, None at the end; anything else is garbage."""
        if self.remaining() == 0:
            return None
        found = self.take(1, "optional sections")[0]
        if allowed is not None and allowed <= found <= SECTION_USER_DATA:
            return found
        raise RejectedRecording(
            "bsor.trailing_garbage",
            f"The replay has {self.remaining() + 1} unexpected bytes after its last section. "
            f"The file may be damaged or not a plain BeatLeader replay. {_AGAIN}",
        )

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {}
        for name, kind in INFO_FIELDS:
            if kind == "string":
                info[name] = self.string("info").decode("utf-8", errors="replace")
            elif kind == "name":
                info[name] = self.name_string("info").decode("utf-8", errors="replace")
            elif kind == "int":
                info[name] = self.int32("info")
            elif kind == "float":
                info[name] = float(struct.unpack("<f", self.take(4, "info"))[0])
            else:
                info[name] = self.take(1, "info")[0] != 0
        return info

    def _locate_frames(self, parsed: _Parsed) -> None:
        """Check the frame count against the bytes left and step over the block (read later)."""
        itemsize = FRAME_DTYPE.itemsize
        count = self.count("frames", itemsize, MAX_FILE_BYTES // itemsize)
        parsed.declared_frames = count
        self.frames_at = self.pos
        self.skip(count * itemsize, "frames")

    def first_kept_time(self, parsed: _Parsed) -> float | None:
        """Song time of the first frame whose successor is later (clock rule 1), from the first
        frames alone; None if those do not settle it."""
        count = parsed.declared_frames
        peek = min(count, _ORIGIN_PEEK)
        self.f.seek(self.frames_at)
        block = self.f.read(peek * FRAME_DTYPE.itemsize)
        if len(block) != peek * FRAME_DTYPE.itemsize or not peek:
            return None
        with np.errstate(invalid="ignore"):  # signalling NaNs of a damaged file: refused later
            times = np.frombuffer(block, dtype=FRAME_DTYPE)["time"].astype(np.float64)
        later = np.flatnonzero(times[1:] > times[:-1])
        if later.size:
            return float(times[later[0]])
        return float(times[-1]) if peek == count else None

    def _notes(self) -> tuple[npt.NDArray[np.void], npt.NDArray[np.void]]:
        head_size, cut_size = NOTE_HEAD_DTYPE.itemsize, CUT_DTYPE.itemsize
        count = self.count("note events", head_size, MAX_EVENTS)
        start = self.pos
        block = self.f.read(min(count * (head_size + cut_size), self.remaining()))
        end = len(block)
        # A note's size follows from its type, the int32 at byte 12 of the note. The walk reads
        # only the type's low byte (one bytes index and one table lookup per note: no list of
        # every word, no struct); the whole words are checked once after it, vectorised,
        # and before any refusal the walk makes, so the first damaged note is the one named.
        words = np.frombuffer(block, dtype="<i4", count=end // 4)
        sizes = _NOTE_SIZES
        starts: list[int] = []
        append = starts.append
        at = 0
        for _ in range(count):
            if at + head_size > end:
                self._check_note_types(words, starts)
                raise _truncated("note events")
            size = sizes[block[at + 12]]
            append(at)
            at += size
            if not size or at > end:
                self._check_note_types(words, starts)  # refuses the type of the last if bad
                raise _truncated("note events")
        found = self._check_note_types(words, starts)
        offsets = np.array(starts, dtype=np.int64)
        has_cut = (found == NOTE_GOOD) | (found == NOTE_BAD)
        self.pos = start + at
        self.f.seek(self.pos)
        # Gathered as 8-byte words (every record starts and ends on one): 9x fewer indices.
        raw = np.frombuffer(block, dtype="<u8", count=end // 8)
        first_word = offsets // 8
        heads = raw[first_word[:, None] + np.arange(head_size // 8)].view(NOTE_HEAD_DTYPE)[:, 0]
        cut_word = first_word[has_cut] + head_size // 8
        cuts = raw[cut_word[:, None] + np.arange(cut_size // 8)].view(CUT_DTYPE)[:, 0]
        return heads, cuts

    @staticmethod
    def _check_note_types(words: npt.NDArray[np.int32], starts: list[int]) -> npt.NDArray[np.int32]:
        """The notes' event types; refused at the first that is not one."""
        found: npt.NDArray[np.int32] = words[np.array(starts, dtype=np.int64) // 4 + 3]
        bad = np.flatnonzero((found < NOTE_GOOD) | (found > NOTE_BOMB))
        if bad.size:
            first = int(bad[0])
            raise RejectedRecording(
                "bsor.bad_event",
                f"Note event {first + 1} has an unknown type ({int(found[first])}), so the "
                f"events after it cannot be found. The file is damaged. {_AGAIN}",
            )
        return found

    def _fixed(self, section: int, dtype: np.dtype[np.void]) -> npt.NDArray[np.void]:
        where = _SECTION_NAMES[section]
        count = self.count(where, dtype.itemsize, MAX_EVENTS)
        return np.frombuffer(self.take(count * dtype.itemsize, where), dtype=dtype)

    def _skip_user_data(self) -> int:
        entries = self.count("user data", 8, MAX_USER_DATA_ENTRIES)
        for _ in range(entries):
            self.skip(self._string_length("user data"), "user data")
            length = self.int32("user data")
            if length < 0:
                raise RejectedRecording(
                    "bsor.bad_count",
                    f"A user data entry declares {length} bytes. The file is damaged. {_AGAIN}",
                )
            self.skip(length, "user data")
        return entries


def _decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _truncated(where: str) -> RejectedRecording:
    return RejectedRecording(
        "bsor.truncated",
        f"The replay file ends too early (inside its {where}); it may have been cut short "
        f"while copying. {_AGAIN}",
    )


# -- conversion --------------------------------------------------------------------------------


def song_speed(info: dict[str, Any]) -> float:
    """Song seconds per real second: practice speed if set, else the speed modifiers."""
    practice = info.get("practice_speed", 0.0)
    if isinstance(practice, float) and math.isfinite(practice) and 0.1 <= practice <= 10.0:
        return practice
    speed = 1.0
    modifiers = str(info.get("modifiers", ""))
    for modifier in {m.strip().upper() for m in modifiers.split(",")}:
        speed *= SONG_SPEED_MODIFIERS.get(modifier, 1.0)
    return speed


class _FrameDecoder:
    """The frame block into canonical frames, one window of raw frames at a time.

    A window is a chunk of the block plus the previous chunk's last frame, so every step
    between consecutive frames is seen exactly once. What the conversion needs from earlier
    windows is carried: the last kept song time, the clock (fixed at the first kept frame),
    each track's last quaternion and sign. Each frame's result equals what one pass over the
    whole block would give; the clock rules' findings are kept and raised, in the order the
    rules are listed in the module docstring, by ``raise_clock_faults`` at the end.
    """

    def __init__(self, parsed: _Parsed, speed: float) -> None:
        count = parsed.declared_frames
        self.times = np.empty(count, dtype=np.float64)
        self.song = np.empty(count, dtype=np.float32)  # as read: float64 only when used
        self.fps = np.empty(count, dtype=np.int32)
        # Stored component by component ((track, component, frame) in memory), seen as the
        # model's (track, frame, component): each decoded component, and each column the
        # checks, the anonymizer and the Parquet writer take, is then one contiguous run.
        self.positions = np.empty((3, 3, count), dtype=np.float32).transpose(0, 2, 1)
        self.rotations = np.empty((3, 4, count), dtype=np.float32).transpose(0, 2, 1)
        self.ready = 0
        self.clock: _Clock | None = None
        self._speed = speed
        self._pauses = parsed.pauses
        self._finite = True
        self._min_step = 0.0  # the smallest step between song times, and where (raw index)
        self._min_step_at = -1
        self._kept_increasing = True
        self._last_kept = -math.inf
        self._signs: list[tuple[Float32Array, bool] | None] = [None, None, None]
        self._saber: list[tuple[Float64Array, Float64Array]] | None = None
        self.hand_pose = "saber (the file has no saber offsets)"
        if parsed.saber_offsets is not None:
            self._saber = _saber_inverses(parsed.saber_offsets)
            self.hand_pose = (
                "controller (saber offsets removed)"
                if self._saber is not None
                else "saber (the file's saber offsets are not valid poses; not applied)"
            )

    def add(self, frames: npt.NDArray[np.void], first: int, *, last: bool) -> None:
        """Decode a window whose first frame has raw index ``first``. Its last frame is left
        for the next window (its successor decides whether it is kept) unless ``last``."""
        with np.errstate(invalid="ignore"):  # signalling NaNs of a damaged file: refused later
            song = frames["time"].astype(np.float64)
        if not np.isfinite(song).all():
            self._finite = False
        step = np.diff(song)
        if step.size:
            at = int(np.argmin(step))
            if step[at] < self._min_step:
                self._min_step, self._min_step_at = float(step[at]), first + at
        # A frame is kept iff the next one is later (clock rule 1); the file's last always is.
        keep = np.append(step > 0, True) if last else step > 0
        index = np.flatnonzero(keep)
        if not index.size:
            return
        kept_song = song[index]
        if kept_song[0] <= self._last_kept or (np.diff(kept_song) <= 0).any():
            self._kept_increasing = False
        self._last_kept = float(kept_song[-1])
        if self.clock is None:
            self.clock = _Clock(float(kept_song[0]), self._speed, self._pauses)
        out = slice(self.ready, self.ready + index.shape[0])
        self.song[out] = kept_song
        self.times[out] = self.clock(kept_song)
        all_kept = index.shape[0] == frames.shape[0] - (0 if last else 1)
        chosen = frames[: index.shape[0]] if all_kept else frames[index]
        self.fps[out] = chosen["fps"]
        pose = chosen["pose"]  # (n, 3 devices, 7)
        positions, rotations = self.positions[:, out], self.rotations[:, out]
        # Unity +Z forward -> canonical -Z forward; the mirrored rotation (x, y, z, w) ->
        # (-x, -y, z, w). Straight into the (track, frame, component) layout, one component at
        # a time so each numpy loop runs over all the window's frames. Damaged files hold
        # signalling NaNs; validation refuses them, so no warning here.
        with np.errstate(invalid="ignore"):
            for device in range(3):
                for k in range(3):
                    np.multiply(pose[:, device, k], _MIRROR_P[k], out=positions[device, :, k])
                for k in range(4):
                    np.multiply(pose[:, device, 3 + k], _MIRROR_Q[k], out=rotations[device, :, k])
            if self._saber is not None:
                _remove_saber_offsets(positions, rotations, self._saber)
        for track in range(3):
            self._signs[track] = _make_continuous(rotations[track], self._signs[track])
        self.ready = out.stop

    def nominal_rate(self) -> float:
        song = self.song[: self.ready].astype(np.float64)
        return nominal_rate(song, self._speed, self.fps[: self.ready])

    def raise_clock_faults(self) -> None:
        """Clock rule 2 (module docstring), over the whole block."""
        if not self._finite:
            raise RejectedRecording(
                "motion.time_not_increasing",
                f"Some frame times in the replay are not numbers. The file is damaged. {_AGAIN}",
            )
        back = -self._min_step
        if back > MAX_CLOCK_STEP_BACK_S:
            raise RejectedRecording(
                "motion.time_not_increasing",
                f"The replay's clock jumps back by {back:.2f} s at frame {self._min_step_at + 2}, "
                "as if the song restarted or was rewound. Send a replay of one uninterrupted play.",
            )
        if not self._kept_increasing:
            raise RejectedRecording(
                "motion.time_not_increasing",
                "The replay's frame times go back and forth. Send a replay of one uninterrupted "
                "play.",
            )


def _source_metadata(parsed: _Parsed) -> dict[str, Any]:
    source_metadata: dict[str, Any] = dict(parsed.info)
    if parsed.saber_offsets is not None:
        source_metadata["saber_offsets"] = parsed.saber_offsets.tolist()
    if parsed.user_data_entries is not None:
        source_metadata["user_data"] = parsed.user_data_entries  # only the count, never read
    return source_metadata


class _Clock:
    """Song time -> recording time: (t - t0) / speed + pauses inserted up to t."""

    def __init__(self, origin: float, speed: float, pauses: npt.NDArray[np.void]) -> None:
        self.speed = speed
        times = pauses["time"].astype(np.float64)
        durations = pauses["duration"].astype(np.float64)
        usable = np.isfinite(times)
        order = np.argsort(times[usable], kind="stable")
        self.pause_times = times[usable][order]
        self.clamped = int((durations[usable] < 0).sum())
        self.pause_shift = np.concatenate(
            [[0.0], np.cumsum(np.maximum(durations[usable], 0)[order])]
        )
        self.origin = origin
        self.origin_shift = float(self._shift(np.array([origin]))[0])

    def _shift(self, song: Float64Array) -> Float64Array:
        shift: Float64Array = self.pause_shift[np.searchsorted(self.pause_times, song, "right")]
        return shift

    def __call__(self, song: Float64Array) -> Float64Array:
        result: Float64Array = (song - self.origin) / self.speed + (
            self._shift(song) - self.origin_shift
        )
        return result


def nominal_rate(song_times: Float64Array, speed: float, fps: npt.NDArray[np.int32]) -> float:
    """Frames per real second (module docstring: mean over regular intervals, snapped)."""
    if song_times.shape[0] < 2:
        positive = fps[fps > 0]
        return float(np.median(positive)) if positive.size else 0.0
    intervals = np.diff(song_times) / speed
    regular = intervals[intervals <= 2.0 * _median(intervals)]
    rate = regular.shape[0] / float(regular.sum())
    whole = round(rate)
    return float(whole) if abs(rate - whole) <= _RATE_SNAP * rate else rate


def _median(values: Float64Array) -> float:
    """np.median of finite values without its NaN check (which imports numpy.ma, ~0.1 s)."""
    n = values.shape[0]
    k = n // 2
    if n % 2:
        return float(np.partition(values, k)[k])
    part = np.partition(values, [k - 1, k])
    return float((part[k - 1] + part[k]) / 2.0)


def _make_continuous(
    track: Float32Array, previous: tuple[Float32Array, bool] | None
) -> tuple[Float32Array, bool]:
    """Flip quaternion signs in place so the track stays on one hemisphere, first w >= 0.

    ``track`` continues a track whose last quaternion as read, and whether it was flipped,
    are ``previous`` (None at the start); returns the same for this part.
    """
    flips = _dots(track[1:], track[:-1]) < 0.0
    if previous is None:
        first_negative = bool(track[0, 3] < 0.0)
    else:
        last, last_negative = previous
        first_negative = last_negative != bool(_dots(track[:1], last[None, :])[0] < 0.0)
    carried = (track[-1].copy(), first_negative != bool(np.logical_xor.reduce(flips)))
    if not first_negative and not flips.any():
        return carried  # already continuous: nothing to flip
    negative = np.empty(track.shape[0], dtype=bool)
    negative[0] = first_negative
    np.logical_xor.accumulate(flips, out=negative[1:])
    if first_negative:
        np.logical_not(negative[1:], out=negative[1:])
    track *= np.where(negative, np.float32(-1.0), np.float32(1.0))[:, None]
    return carried


def _dots(a: Float32Array, b: Float32Array) -> Float32Array:
    """Row-wise dot products of (n, 4) arrays, summed in one fixed order whatever the rows'
    layout, so a pair across a window boundary gives the bits it gives inside a window (a
    near-orthogonal pair's sign decides a flip)."""
    total: Float32Array = a[:, 0] * b[:, 0]
    for k in range(1, 4):
        total += a[:, k] * b[:, k]
    return total


def _saber_inverses(
    offsets: npt.NDArray[np.float32],
) -> list[tuple[Float64Array, Float64Array]] | None:
    """Per hand, the saber's offset position and inverse offset rotation in the canonical
    frame; None when the offsets are not valid poses.

    The mirror into the canonical frame is a group automorphism, so converting S and O first and
    composing after gives the same result as composing in Unity's frame.
    """
    canonical = offsets.astype(np.float64).copy()
    canonical[:, 2] *= -1.0
    canonical[:, 3:5] *= -1.0
    norms = np.linalg.norm(canonical[:, 3:7], axis=1)
    if not np.isfinite(canonical).all() or (np.abs(norms - 1.0) > QUATERNION_NORM_TOLERANCE).any():
        return None
    return [(hand[0:3], hand[3:7] * np.array([-1.0, -1.0, -1.0, 1.0])) for hand in canonical]


def _remove_saber_offsets(
    positions: Float32Array,
    rotations: Float32Array,
    inverses: list[tuple[Float64Array, Float64Array]],
) -> None:
    """Controller pose C = S * O^-1 for each hand (tracks 1 and 2), in place."""
    for track, (offset_position, inverse) in zip((1, 2), inverses, strict=True):
        controller = quaternion_multiply(rotations[track].astype(np.float64), inverse)
        moved = quaternion_rotate(controller, np.broadcast_to(offset_position, (1, 3)))
        positions[track] -= moved.astype(np.float32)
        rotations[track] = controller.astype(np.float32)


# -- events ------------------------------------------------------------------------------------

_NOTE_KINDS = ("note_good_cut", "note_bad_cut", "note_miss", "bomb_cut")

# A column of event data, one value per event: floats (rounded to 6 decimals, micro-units;
# non-finite ones become null), integers, or Arrow strings that are already JSON ("true",
# '"left"').
Column: TypeAlias = "npt.NDArray[Any] | pa.Array"
_NULL = arrow_text("null")


def _pick(index: npt.NDArray[Any], *choices: str) -> pa.Array:
    """choices[index[i]] for each row, as Arrow strings (a C++ take, no per-row Python)."""
    return pc.take(pa.array(choices, pa.string()), arrow_array(np.asarray(index).astype(np.int32)))


def _choose(condition: npt.NDArray[np.bool_], yes: str, no: str) -> pa.Array:
    return _pick(condition, no, yes)


def _booleans(values: npt.NDArray[Any]) -> pa.Array:
    return _choose(values.astype(bool), "true", "false")


def _json_values(values: Column) -> pa.Array:
    if isinstance(values, pa.Array):  # already JSON text
        return values
    if values.dtype.kind == "f":
        numbers = arrow_array(np.round(values.astype(np.float64), 6))
        text = pc.cast(numbers, pa.string())
        if not np.isfinite(values).all():
            text = pc.if_else(pc.is_finite(numbers), text, _NULL)
        return text
    if values.dtype.kind in "iu":
        return pc.cast(arrow_array(values.astype(np.int64)), pa.string())
    return pa.array(values.tolist(), pa.string())


def _json_objects(columns: dict[str, Column]) -> pa.Array:
    """One JSON object text per row, keys sorted, built column-wise by Arrow (no per-row Python)."""
    parts: list[Any] = []
    for i, name in enumerate(sorted(columns)):
        parts += [
            arrow_text(("{" if i == 0 else ", ") + f'"{name}": '),
            _json_values(columns[name]),
        ]
    joined: pa.Array = pc.binary_join_element_wise(*parts, arrow_text("}"), arrow_text(""))
    return joined


def _in_row_order(groups: list[tuple[npt.NDArray[np.intp], pa.Array]], count: int) -> pa.Array:
    """The texts made group by group (each for its rows) put back into row order."""
    if len(groups) == 1:
        return groups[0][1]
    rows = np.concatenate([group_rows for group_rows, _ in groups])
    position = np.empty(count, dtype=np.int64)
    position[rows] = np.arange(count)
    return pa.concat_arrays([texts for _, texts in groups]).take(arrow_array(position))


def _note_events(
    notes: npt.NDArray[np.void], cuts: npt.NDArray[np.void], clock: _Clock
) -> tuple[Float64Array, list[str], pa.Array]:
    event_type = notes["event_type"].astype(np.int64)
    ids = notes["note_id"].astype(np.int64)
    bomb = event_type == NOTE_BOMB
    # noteID = scoringType*10000 + line*1000 + layer*100 + colorType*10 + cutDirection, with
    # colorType -1 for bombs: undo that -10 before reading the digits. Ids outside the standard
    # ranges (mapping extensions) are kept raw.
    code = ids + np.where(bomb, 10, 0)
    color = (code // 10) % 10
    standard = (code >= 0) & (code < 80000) & (color <= 1)
    has_cut = (event_type == NOTE_GOOD) | (event_type == NOTE_BAD)
    cut_row = np.cumsum(has_cut) - 1  # index into cuts of each note with a cut
    note_time = clock(notes["spawn_time"].astype(np.float64))
    groups: list[tuple[npt.NDArray[np.intp], pa.Array]] = []
    for decoded in (True, False):
        for with_cut in (True, False):
            rows = np.flatnonzero((standard == decoded) & (has_cut == with_cut))
            if not rows.size:
                continue
            columns: dict[str, Column] = {"note_time_s": note_time[rows]}
            if decoded:
                c = code[rows]
                columns["cut_direction"] = c % 10
                columns["color"] = _pick(
                    np.where(bomb[rows], 2, color[rows] != 0), '"left"', '"right"', '"none"'
                )
                columns["line_layer"] = (c // 100) % 10
                columns["line_index"] = (c // 1000) % 10
                columns["scoring_type"] = c // 10000
            else:
                columns["note_id"] = ids[rows]
            if with_cut:
                cut = cuts[cut_row[rows]]
                columns |= {
                    "saber": _choose(cut["saber_type"] == 0, '"left"', '"right"'),
                    "speed_ok": _booleans(cut["speed_ok"]),
                    "direction_ok": _booleans(cut["direction_ok"]),
                    "saber_type_ok": _booleans(cut["saber_type_ok"]),
                    "was_cut_too_soon": _booleans(cut["was_cut_too_soon"]),
                    "time_deviation_s": cut["time_deviation"] / np.float64(clock.speed),
                    "cut_direction_deviation_deg": cut["cut_dir_deviation"],
                    "cut_angle_deg": cut["cut_angle"],
                    "before_cut_rating": cut["before_cut_rating"],
                    "after_cut_rating": cut["after_cut_rating"],
                }
            groups.append((rows, _json_objects(columns)))
    kinds = [_NOTE_KINDS[t] for t in event_type.tolist()]
    data = _in_row_order(groups, notes.shape[0])
    return clock(notes["event_time"].astype(np.float64)), kinds, data


def _wall_events(walls: npt.NDArray[np.void], clock: _Clock) -> pa.Array:
    # wallID = lineIndex*100 + obstacleType*10 + width
    ids = walls["wall_id"].astype(np.int64)
    standard = (ids >= 0) & (ids < 1000)
    wall_time = clock(walls["spawn_time"].astype(np.float64))
    groups: list[tuple[npt.NDArray[np.intp], pa.Array]] = []
    for decoded in (True, False):
        rows = np.flatnonzero(standard == decoded)
        if not rows.size:
            continue
        columns: dict[str, Column] = {
            "energy": walls["energy"][rows],
            "wall_time_s": wall_time[rows],
        }
        if decoded:
            columns["line_index"] = ids[rows] // 100
            columns["obstacle_type"] = (ids[rows] // 10) % 10
            columns["width"] = ids[rows] % 10
        else:
            columns["wall_id"] = ids[rows]
        groups.append((rows, _json_objects(columns)))
    return _in_row_order(groups, walls.shape[0])


def _events(parsed: _Parsed, clock: _Clock) -> tuple[Events | None, int]:
    times: list[Float64Array] = []
    kinds: list[str] = []
    data: list[pa.Array] = []
    if parsed.notes.shape[0]:
        note_times, note_kinds, note_data = _note_events(parsed.notes, parsed.cuts, clock)
        times.append(note_times)
        kinds += note_kinds
        data.append(note_data)
    walls, heights, pauses = parsed.walls, parsed.heights, parsed.pauses
    if walls.shape[0]:
        times.append(clock(walls["time"].astype(np.float64)))
        kinds += ["wall_hit"] * walls.shape[0]
        data.append(_wall_events(walls, clock))
    if heights.shape[0]:
        times.append(clock(heights["time"].astype(np.float64)))
        kinds += ["height"] * heights.shape[0]
        data.append(_json_objects({"height_m": heights["height"]}))
    if pauses.shape[0]:
        durations = np.maximum(pauses["duration"].astype(np.float64), 0.0)
        times.append(clock(pauses["time"].astype(np.float64)) - durations)  # when it began
        kinds += ["pause"] * pauses.shape[0]
        data.append(_json_objects({"duration_s": durations}))
    if not times:
        return None, 0
    all_times = np.concatenate(times)
    all_data = pa.concat_arrays(data) if len(data) > 1 else data[0]
    finite = np.isfinite(all_times)
    dropped = int((~finite).sum())
    if dropped:
        keep = np.flatnonzero(finite)
        all_times = all_times[keep]
        kinds = [kinds[i] for i in keep]
        all_data = all_data.take(arrow_array(keep.astype(np.int64)))
    return Events(times=all_times, kinds=kinds, data=all_data), dropped


__all__ = [
    "CUT_DTYPE",
    "FRAME_DTYPE",
    "HEIGHT_DTYPE",
    "INFO_FIELDS",
    "MAGIC",
    "MAGIC_BYTES",
    "NOTE_HEAD_DTYPE",
    "PAUSE_DTYPE",
    "READER",
    "SABER_OFFSETS_DTYPE",
    "VERSION",
    "WALL_DTYPE",
    "BsorReader",
    "nominal_rate",
    "read_bsor",
    "song_speed",
]

"""Why a recording was refused: one exception type and the catalogue of its codes.

Every reader, validator and the anonymizer raise :class:`RejectedRecording` for bad input and
nothing else. The code is stable (the Django side stores it and may translate it); the message is
plain English a donor can act on, and never quotes file contents beyond small numbers and joint
names.
"""

from __future__ import annotations

CODES: dict[str, str] = {
    # Detection and file-level limits.
    "format.unsupported": "The content is not a recording format any registered reader accepts.",
    "motion.empty_file": "The file has no content at all.",
    "motion.file_too_large": "Larger than MAX_FILE_BYTES; refused before reading.",
    # BVH reader.
    "bvh.bad_structure": "HIERARCHY/MOTION layout broken: missing section, brace or field.",
    "bvh.bad_encoding": "The hierarchy or a motion line is not valid UTF-8 text.",
    "bvh.bad_channel": "A CHANNELS line names an unknown or repeated channel, or too many.",
    "bvh.duplicate_joint": "Two joints share a name, so their tracks could not be told apart.",
    "bvh.frame_count_mismatch": "The Frames: header disagrees with the number of motion lines.",
    "bvh.wrong_value_count": "A motion line has more or fewer numbers than the channels declare.",
    "bvh.bad_value": "A number in the file is not a plain finite decimal (e.g. nan, inf, 1,5).",
    # Pose streams.
    "posestream.bad_json": "The JSON pose stream is not valid UTF-8 JSON (cut short or damaged).",
    "posestream.json_too_large": "A JSON pose stream above MAX_JSON_BYTES; CSV has no such cap.",
    "posestream.schema": "The JSON does not follow the published structure (path named).",
    "posestream.unsupported_version": "The pose stream declares a version we do not read.",
    "posestream.bad_frame_declaration": "Units, handedness, axes or quaternion order missing/bad.",
    "posestream.unknown_track": "Frame data or CSV columns for an undeclared track, or vice versa.",
    "posestream.duplicate_track": "Two tracks share a name, or two claim the head or one hand.",
    "posestream.length_mismatch": "A track has more or fewer poses than there are frame times.",
    "posestream.too_few_frames": "Fewer than two frames, so no frame rate can be known.",
    "posestream.bad_csv_header": "The CSV header line does not match the declared tracks.",
    "posestream.wrong_value_count": "A CSV row has more or fewer values than header columns.",
    "posestream.bad_value": "A value is not a finite number (row or path named).",
    "posestream.misaligned": "A controller has no pose near a camera frame (A-Frame alignment).",
    # Audio.
    "audio.unsupported": "Not WAV, FLAC or Ogg audio by content.",
    "audio.empty": "The audio file is empty or holds no samples.",
    "audio.file_too_large": "Audio larger than MAX_FILE_BYTES; refused before reading.",
    "audio.undecodable": "Recognised as WAV/FLAC/Ogg but the audio cannot be decoded.",
    "audio.truncated": "The audio stops before its header says it ends (file cut short).",
    "audio.bad_parameters": "Sample rate or channel count outside what we accept.",
    "audio.too_long": "Audio longer than MAX_DURATION_S.",
    "audio.duration_mismatch": "Audio and motion durations differ by more than the tolerance.",
    # XROR reader.
    "xror.bad_document": "Not a readable BSON document, wrong length, or a field of wrong type.",
    "xror.truncated": "The BSON document says it is longer than the file (file cut short).",
    "xror.missing_field": "A field every XROR needs is absent (info, devices, axes, frames).",
    "xror.unsupported_version": "The $schema is not XROR 1.x, or frames are pre-1.0 lists.",
    "xror.bad_array": "An fpzip array is damaged or its shape disagrees with the declarations.",
    "xror.bad_value": "A frame value is NaN or infinite.",
    "xror.no_motion": "No device with position and rotation, or fewer than two usable frames.",
    # BSOR reader.
    "bsor.bad_magic": "No BSOR magic number at the start (reader called directly).",
    "bsor.unsupported_version": "The BSOR version byte is not 1.",
    "bsor.truncated": "The file ends before a field or before the records its counts declare.",
    "bsor.bad_count": "A record count is negative or more than any file within limits holds.",
    "bsor.bad_string": "An info string length is negative or above MAX_INFO_STRING_BYTES.",
    "bsor.bad_section": "A required section's type byte is missing or out of order.",
    "bsor.bad_event": "A note event has an unknown event type, so later events cannot be found.",
    "bsor.trailing_garbage": "Bytes after the last known section (saber offsets, user data).",
    # Canonical-model rules (validate.py), shared by every format.
    "motion.no_frames": "The recording has no frames.",
    "motion.no_tracks": "The recording has no tracks (no joints or devices).",
    "motion.too_many_tracks": "More tracks/joints than MAX_TRACKS.",
    "motion.frame_rate_out_of_range": "Nominal frame rate outside MIN_FRAME_RATE..MAX_FRAME_RATE.",
    "motion.too_long": "Duration above MAX_DURATION_S.",
    "motion.time_not_increasing": "Frame times are not strictly increasing.",
    "motion.non_finite": "A position or rotation is NaN or infinite after conversion.",
    "motion.bad_rotation": "A rotation quaternion is not of unit length.",
    "motion.implausible_speed": "Head, hand or root moves faster than MAX_SPEED_M_S.",
    "motion.not_body_motion": "No head or hand track and no skeleton: an object or brush track.",
    # Anonymization.
    "anonymize.height_unknown": "Body height could not be estimated for the 'normalize' profile.",
}


class RejectedRecording(Exception):
    """The input cannot become a dataset recording; ``message`` tells the donor what to do."""

    def __init__(self, code: str, message: str) -> None:
        if code not in CODES:
            raise ValueError(f"unregistered rejection code {code!r}")
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

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

"""What a donor can do next when a donation is rejected or its processing failed, by problem code.

The problem message says what is wrong with the file; the advice here says what to do about it.
Looked up by exact code, then by the code's family (the part before the dot), then a general
advice, so a code added to the motion library later still gets sensible advice.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Advice:
    text: str | Promise
    # Whether the formats page (how to export each format) helps with this problem.
    formats_link: bool = False
    # A problem on our side: the file itself may be fine.
    ours: bool = False


_DAMAGED = Advice(
    _(
        "The file looks damaged or cut short. Export or copy it again from the app that "
        "recorded it, and upload the new file."
    )
)
_TOO_BIG = Advice(
    _(
        "Split the recording into shorter takes and donate each one separately. A pose stream "
        "as CSV has no size limit beyond the upload limit."
    ),
    formats_link=True,
)
_GLITCH = Advice(
    _(
        "The motion contains a tracking glitch (tracking lost, a teleport, or a unit mix-up). "
        "Donate another take, or cut the glitchy part out and upload it again."
    )
)
_OUR_SIDE = Advice(
    _(
        "This was a problem on our side, not with your file. An administrator will retry it; "
        "you do not need to do anything."
    ),
    ours=True,
)

_BY_CODE: dict[str, Advice] = {
    "format.unsupported": Advice(
        _(
            "Export the recording in one of the formats we read (BVH, a BeatLeader replay, "
            "XROR or a MetaGen pose stream) and upload it again."
        ),
        formats_link=True,
    ),
    "motion.empty_file": _DAMAGED,
    "motion.file_too_large": _TOO_BIG,
    "motion.too_long": _TOO_BIG,
    "posestream.json_too_large": _TOO_BIG,
    "bvh.bad_encoding": _DAMAGED,
    "posestream.bad_json": _DAMAGED,
    "xror.bad_document": _DAMAGED,
    "xror.truncated": _DAMAGED,
    "bsor.truncated": _DAMAGED,
    "upload.checksum_mismatch": Advice(
        _("The file was damaged on its way to us. Upload the same file again.")
    ),
    "motion.time_not_increasing": _GLITCH,
    "motion.non_finite": _GLITCH,
    "motion.bad_rotation": _GLITCH,
    "motion.implausible_speed": _GLITCH,
    "motion.frame_rate_out_of_range": Advice(
        _("Record or export the motion at 10 to 240 frames per second and upload it again."),
        formats_link=True,
    ),
    "motion.too_many_tracks": Advice(
        _("Export the skeleton with fewer joints (at most 256) and upload it again."),
        formats_link=True,
    ),
    "motion.not_body_motion": Advice(
        _(
            "We collect the motion of people's bodies. Donate a recording of your headset and "
            "hand controllers, or a full-body motion capture with a skeleton; drawings, "
            "brush strokes and single object trackers cannot be used."
        ),
        formats_link=True,
    ),
    "motion.no_frames": _DAMAGED,
    "motion.no_tracks": _DAMAGED,
    "audio.duration_mismatch": Advice(
        _(
            "Upload the audio recorded together with this motion, trimmed to the same length, "
            "or donate the motion without audio."
        )
    ),
    "audio.too_long": Advice(
        _("Split the recording into shorter takes, audio and motion alike, and donate each one.")
    ),
    "anonymize.height_unknown": Advice(
        _(
            "We could not tell the body height from this recording. Donate a take that starts "
            "standing upright with the headset on."
        )
    ),
}

_BY_FAMILY: dict[str, Advice] = {
    "bvh": Advice(
        _(
            "Your exporter wrote a BVH file we cannot read. Export it again (check its settings "
            "against our formats page), or fix the line the message names, and upload it again."
        ),
        formats_link=True,
    ),
    "posestream": Advice(
        _(
            "Check the file against the published pose-stream schema, fix the part the message "
            "names, and upload it again."
        ),
        formats_link=True,
    ),
    "audio": Advice(
        _(
            "Export the audio again as WAV, FLAC or Ogg from the app that recorded it, or donate "
            "the motion without audio."
        )
    ),
    "xror": Advice(
        _("Convert the recording to XROR again with an up-to-date tool and upload it again."),
        formats_link=True,
    ),
    "bsor": Advice(
        _(
            "Download the replay again from BeatLeader (replays written by mods that add extra "
            "data after the replay cannot be read) and upload it again."
        ),
        formats_link=True,
    ),
    "processing": _OUR_SIDE,
}

_GENERAL = Advice(
    _(
        "Read the reason above, fix the file and upload it again. If you think the file is "
        "fine, contact us and quote the reason code."
    ),
    formats_link=True,
)


def advice_for(code: str) -> Advice:
    """What to do next for a problem code; never fails (unknown codes get a general advice)."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    return _BY_FAMILY.get(code.partition(".")[0], _GENERAL)


_NEXT_STEPS: dict[str, str | Promise] = {
    "created": _("Finish uploading the file."),
    "uploaded": _("Nothing: it is waiting for processing."),
    "processing": _("Nothing: we are checking and anonymizing it."),
    "processed": _("Look at the preview; a curator will review it."),
    "rejected": _("See why, and what to do."),
    "failed": _("Nothing: an administrator will retry it."),
    "accepted": _("Nothing more. Thank you! It can go into the next release."),
    "declined": _("See the curator's reason."),
    "withdrawn": _("Nothing: it is removed and in no later release."),
}


def next_step_for(status: str) -> str | Promise:
    """One short line for the dashboard: what the donor can do now, given the status."""
    return _NEXT_STEPS.get(status, _("Nothing for now."))


# The quality report (processing/motion/quality.py) in plain words ---------------------------

_QUALITY_ADVICE: dict[str, str | Promise] = {
    "quality.partial_body": _(
        "Only part of the body was tracked. Record with the headset and both hand controllers "
        "on, or export the full skeleton."
    ),
    "quality.tracking_loss": _(
        "Tracking was lost for part of the time (the controllers froze or jumped). Keep the "
        "controllers in the headset's view, with good lighting, and charged batteries."
    ),
    "quality.jitter": _(
        "The head or hands shake from frame to frame, which is tracking noise. Better lighting "
        "and fewer reflective surfaces in the room help the tracking."
    ),
    "quality.mostly_idle": _(
        "Nothing moves for most of the recording. Trim the still parts at the start and end, "
        "or donate a take with more movement."
    ),
    "quality.timing_gaps": _(
        "Frames are missing (the app or the computer skipped some). Close other programs "
        "while recording, or export again at a steady frame rate."
    ),
    "quality.implausible_height": _(
        "The body height does not look like a person's, or could not be measured. Calibrate "
        "the floor height in your headset's settings before recording."
    ),
}


@dataclass(frozen=True)
class QualityInWords:
    score: int
    version: int
    meaning: str | Promise
    improvements: list[str | Promise]


def quality_in_words(summary: object) -> QualityInWords | None:
    """The stored quality report (``summary["quality"]``) as a score, what it means and what
    would improve it; None when the donation has none (processed before reports existed)."""
    quality = summary.get("quality") if isinstance(summary, dict) else None
    if not isinstance(quality, dict) or not isinstance(quality.get("score"), int):
        return None
    score = quality["score"]
    if score >= 90:
        meaning = _("Very good: the motion is complete, steady and well tracked.")
    elif score >= 70:
        meaning = _("Good: usable for research, with some weaker parts listed below.")
    elif score >= 40:
        meaning = _("Fair: researchers may leave it out of analyses that need clean tracking.")
    else:
        meaning = _("Poor: most research uses will not be able to rely on this recording.")
    codes = [code for code in quality.get("codes", []) if isinstance(code, str)]
    return QualityInWords(
        score=score,
        version=int(quality.get("version", 0)),
        meaning=meaning,
        improvements=[_QUALITY_ADVICE[code] for code in codes if code in _QUALITY_ADVICE],
    )

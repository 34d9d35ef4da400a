"""Audio beside a recording: WAV/FLAC/Ogg in, tag-free FLAC out, checked against the motion."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processing.motion import CODES, RejectedRecording, convert_audio
from processing.motion import audio as audio_module
from processing.motion.audio import default_tolerance_s

RATE = 16000
SECRETS = {"title": "Alice at home", "artist": "Alice Donorova", "comment": "iPhone of Alice"}


def _tone(seconds: float, channels: int = 2, rate: int = RATE, amplitude: float = 0.5):
    t = np.arange(round(seconds * rate)) / rate
    waves = [amplitude * np.sin(2 * np.pi * (220 + 110 * c) * t) for c in range(channels)]
    return np.stack(waves, axis=1)


def _write(path: Path, *, fmt: str, subtype: str, seconds: float = 2.0, tags: bool = True,
           rate: int = RATE, data=None) -> Path:  # fmt: skip
    samples = _tone(seconds, rate=rate) if data is None else data
    with sf.SoundFile(path, "w", rate, samples.shape[1], subtype, format=fmt) as f:
        if tags:
            for name, value in SECRETS.items():
                setattr(f, name, value)
        f.write(samples)
    return path


def _reject(src: Path, dst: Path, **kwargs) -> RejectedRecording:
    with pytest.raises(RejectedRecording) as caught:
        convert_audio(src, dst, **{"motion_duration_s": None, **kwargs})
    assert not dst.exists()
    assert caught.value.code in CODES
    return caught.value


LOSSLESS = [
    ("WAV", "PCM_16", "int16", 16),
    ("WAV", "PCM_24", "int32", 24),
    ("WAV", "PCM_U8", "int16", 16),
    ("FLAC", "PCM_16", "int16", 16),
    ("FLAC", "PCM_24", "int32", 24),
]


@pytest.mark.parametrize(("fmt", "subtype", "dtype", "bits"), LOSSLESS)
def test_lossless_sources_become_sample_exact_flac(tmp_path, fmt, subtype, dtype, bits):
    src = _write(tmp_path / "voice.bin", fmt=fmt, subtype=subtype)

    summary = convert_audio(src, tmp_path / "audio.flac", motion_duration_s=2.0)

    original, _ = sf.read(src, dtype=dtype)
    converted, rate = sf.read(tmp_path / "audio.flac", dtype=dtype)
    np.testing.assert_array_equal(converted, original)
    assert rate == RATE
    assert sf.info(tmp_path / "audio.flac").subtype == f"PCM_{bits}"
    assert summary == {
        "format": "flac",
        "bits_per_sample": bits,
        "sample_rate": RATE,
        "channels": 2,
        "frames": 2 * RATE,
        "duration_s": 2.0,
        "source_format": fmt.lower(),
        "source_subtype": subtype.lower(),
        "stripped": ["tags"],
        "motion_duration_s": 2.0,
        "tolerance_s": 1.0,
    }
    json.dumps(summary)


def test_ogg_vorbis_becomes_16_bit_flac_matching_its_decoding(tmp_path):
    src = _write(tmp_path / "voice.ogg", fmt="OGG", subtype="VORBIS")

    summary = convert_audio(src, tmp_path / "audio.flac", motion_duration_s=2.3)

    decoded, _ = sf.read(src, dtype="float64")
    converted, _ = sf.read(tmp_path / "audio.flac", dtype="float64")
    np.testing.assert_allclose(converted, decoded, atol=2 / 32768)
    assert summary["bits_per_sample"] == 16
    assert summary["source_format"] == "ogg"


def test_float_wav_is_clipped_to_full_scale_in_24_bit(tmp_path):
    loud = _tone(1.0, amplitude=1.5)
    src = _write(tmp_path / "loud.wav", fmt="WAV", subtype="FLOAT", seconds=1.0, data=loud)

    convert_audio(src, tmp_path / "audio.flac", motion_duration_s=None)

    converted, _ = sf.read(tmp_path / "audio.flac", dtype="float64")
    assert sf.info(tmp_path / "audio.flac").subtype == "PCM_24"
    np.testing.assert_allclose(converted, np.clip(loud, -1.0, 1.0), atol=2**-22)


@pytest.mark.parametrize(("fmt", "subtype"), [("WAV", "PCM_16"), ("FLAC", "PCM_24"),
                                              ("OGG", "VORBIS")])  # fmt: skip
def test_tags_of_the_source_are_absent_from_the_output_bytes(tmp_path, fmt, subtype):
    src = _write(tmp_path / "voice", fmt=fmt, subtype=subtype)
    assert b"Alice" in src.read_bytes()  # the source really carries them

    convert_audio(src, tmp_path / "audio.flac", motion_duration_s=None)

    output = (tmp_path / "audio.flac").read_bytes()
    for value in SECRETS.values():
        assert value.encode() not in output
    assert b"Alice" not in output
    with sf.SoundFile(tmp_path / "audio.flac") as f:
        assert not any(getattr(f, name) for name in SECRETS)


def test_untagged_source_reports_nothing_stripped(tmp_path):
    src = _write(tmp_path / "plain.wav", fmt="WAV", subtype="PCM_16", tags=False)

    summary = convert_audio(src, tmp_path / "audio.flac", motion_duration_s=None)

    assert summary["stripped"] == []
    assert "motion_duration_s" not in summary


def test_same_input_gives_the_same_bytes(tmp_path):
    src = _write(tmp_path / "voice.wav", fmt="WAV", subtype="PCM_24")

    convert_audio(src, tmp_path / "a.flac", motion_duration_s=None)
    convert_audio(src, tmp_path / "b.flac", motion_duration_s=None)

    assert (tmp_path / "a.flac").read_bytes() == (tmp_path / "b.flac").read_bytes()


def test_conversion_streams_in_blocks_and_stays_exact(tmp_path, monkeypatch):
    monkeypatch.setattr(audio_module, "BLOCK_FRAMES", 1000)
    src = _write(tmp_path / "voice.flac", fmt="FLAC", subtype="PCM_16", seconds=1.3)

    convert_audio(src, tmp_path / "audio.flac", motion_duration_s=None)

    np.testing.assert_array_equal(
        sf.read(tmp_path / "audio.flac", dtype="int16")[0], sf.read(src, dtype="int16")[0]
    )


def test_format_comes_from_content_not_the_name(tmp_path):
    src = _write(tmp_path / "voice.wav", fmt="FLAC", subtype="PCM_16")

    summary = convert_audio(src, tmp_path / "a.flac", motion_duration_s=None)

    assert summary["source_format"] == "flac"


def test_duration_mismatch_names_both_durations(tmp_path):
    src = _write(tmp_path / "voice.wav", fmt="WAV", subtype="PCM_16", seconds=3.0)

    rejection = _reject(src, tmp_path / "audio.flac", motion_duration_s=10.0)

    assert rejection.code == "audio.duration_mismatch"
    assert rejection.message.startswith(
        "The audio lasts 3.00 s but the motion lasts 10.00 s; they may differ by at most 1.00 s."
    )


def test_durations_within_the_tolerance_are_accepted(tmp_path):
    src = _write(tmp_path / "voice.wav", fmt="WAV", subtype="PCM_16", seconds=3.0)

    convert_audio(src, tmp_path / "a.flac", motion_duration_s=3.95)
    convert_audio(src, tmp_path / "b.flac", motion_duration_s=2.2, tolerance_s=0.8)
    with pytest.raises(RejectedRecording):
        convert_audio(src, tmp_path / "c.flac", motion_duration_s=2.2, tolerance_s=0.5)


def test_default_tolerance_is_one_second_or_two_percent():
    assert default_tolerance_s(10.0) == 1.0
    assert default_tolerance_s(50.0) == 1.0
    assert default_tolerance_s(600.0) == pytest.approx(12.0)


def test_long_take_uses_the_two_percent_tolerance(tmp_path):
    mono = _tone(98.5, channels=1, rate=8000)
    src = _write(tmp_path / "long.wav", fmt="WAV", subtype="PCM_16", rate=8000, data=mono)

    summary = convert_audio(src, tmp_path / "a.flac", motion_duration_s=100.0)

    assert summary["tolerance_s"] == 2.0
    assert _reject(src, tmp_path / "b.flac", motion_duration_s=101.0).code == (
        "audio.duration_mismatch"
    )


@pytest.mark.parametrize(
    "content",
    [
        b'{"format": "metagen-pose-stream"}',
        b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(200),  # MP3 with an ID3 tag
        b"RIFF\x24\x00\x00\x00AVI LIST" + bytes(100),
        b"HIERARCHY\nROOT Hips\n",
        bytes(range(256)),
    ],
    ids=["json", "mp3", "riff-avi", "bvh", "binary"],
)
def test_content_that_is_not_wav_flac_or_ogg_is_unsupported(tmp_path, content):
    (tmp_path / "voice.wav").write_bytes(content)

    rejection = _reject(tmp_path / "voice.wav", tmp_path / "audio.flac")

    assert rejection.code == "audio.unsupported"
    assert rejection.message == (
        "This file is not audio we can read. Upload WAV, FLAC or Ogg (Vorbis) audio."
    )


@pytest.mark.parametrize(
    ("fmt", "subtype", "keep"),
    [
        ("WAV", "PCM_16", 0.5),
        ("WAV", "PCM_24", 0.99),
        ("FLAC", "PCM_16", 0.5),
        ("FLAC", "PCM_24", 0.98),
        ("FLAC", "PCM_16", 0.002),  # cut inside the metadata blocks
        ("OGG", "VORBIS", 0.5),
        ("OGG", "VORBIS", 0.995),
    ],
)
def test_truncated_files_are_refused_as_cut_short(tmp_path, fmt, subtype, keep):
    whole = _write(tmp_path / "whole", fmt=fmt, subtype=subtype, seconds=3.0).read_bytes()
    (tmp_path / "cut").write_bytes(whole[: max(5, int(len(whole) * keep))])

    rejection = _reject(tmp_path / "cut", tmp_path / "audio.flac")

    assert rejection.code == "audio.truncated"
    assert "cut short" in rejection.message


def test_empty_file_and_file_without_samples(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    silent = _write(tmp_path / "none.wav", fmt="WAV", subtype="PCM_16", data=np.zeros((0, 1)))

    assert _reject(tmp_path / "empty.wav", tmp_path / "a.flac").code == "audio.empty"
    assert _reject(silent, tmp_path / "b.flac").code == "audio.empty"


def test_sample_rate_outside_the_accepted_range(tmp_path):
    src = _write(tmp_path / "low.wav", fmt="WAV", subtype="PCM_16", rate=4000,
                 data=_tone(1.0, rate=4000))  # fmt: skip

    rejection = _reject(src, tmp_path / "audio.flac")

    assert rejection.code == "audio.bad_parameters"
    assert "4000 Hz" in rejection.message


def test_convert_audio_is_exported_lazily():
    import processing.motion as motion

    assert motion.convert_audio is convert_audio
    assert "convert_audio" in motion.__all__


def _seed_files() -> dict[str, bytes]:
    seeds = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, subtype in (("WAV", "PCM_16"), ("FLAC", "PCM_16"), ("OGG", "VORBIS")):
            path = _write(Path(tmp) / fmt, fmt=fmt, subtype=subtype, seconds=0.3)
            seeds[fmt] = path.read_bytes()
    return seeds


SEEDS = _seed_files()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_audio_raises_nothing_but_rejected_recording(data):
    content = bytearray(SEEDS[data.draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(content) - 1)) if content else 0
        action = data.draw(st.sampled_from(["flip", "cut", "delete", "insert"]))
        if action == "flip" and content:
            content[at] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del content[at:]
        elif action == "delete":
            del content[at : at + data.draw(st.integers(1, 64))]
        else:
            content[at:at] = data.draw(st.binary(min_size=1, max_size=16))
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "upload", Path(tmp) / "audio.flac"
        src.write_bytes(bytes(content))
        try:
            convert_audio(src, dst, motion_duration_s=0.3)
            code = None
        except RejectedRecording as rejection:
            code = rejection.code
        assert code is None or (code in CODES and not dst.exists())

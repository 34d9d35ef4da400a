import xml.etree.ElementTree as ET
from pathlib import Path

from processing.motion import convert_file, read_recording
from processing.motion.anonymize import anonymize
from processing.motion.preview import render_preview_svg
from processing.motion.synthetic import synthetic_bvh

SVG = "{http://www.w3.org/2000/svg}"


def _recording(tmp_path: Path, seed: int = 0):  # type: ignore[no-untyped-def]
    src = tmp_path / "take.bvh"
    src.write_text(synthetic_bvh(seconds=3, fps=60, seed=seed))
    recording, _report = anonymize(read_recording(src), body_size="keep")
    return recording


def test_preview_draws_head_and_both_hands_in_two_views(tmp_path):
    svg = ET.fromstring(render_preview_svg(_recording(tmp_path)))
    polylines = svg.findall(f"{SVG}polyline")
    assert len(polylines) == 2 * 3  # top and front view, for head, left hand, right hand
    assert svg.find(f"{SVG}title").text == "Trajectories: head · left hand · right hand"
    for line in polylines:
        points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
        assert len(points) == 180
        assert all(0 <= x <= 440 and 0 <= y <= 220 for x, y in points)


def test_preview_is_byte_identical_for_the_same_recording_and_differs_for_another(tmp_path):
    first = render_preview_svg(_recording(tmp_path, seed=1))
    assert render_preview_svg(_recording(tmp_path, seed=1)) == first
    assert render_preview_svg(_recording(tmp_path, seed=2)) != first


def test_convert_writes_the_preview_beside_the_table(tmp_path):
    src = tmp_path / "take.bvh"
    src.write_text(synthetic_bvh(seconds=2, fps=60, seed=4))
    result = convert_file(src, tmp_path / "out")
    assert result.artifacts["preview.svg"].read_text().startswith("<svg")

"""Synthetic recordings for demos, tests and benchmarks: plausible, generated, nobody's data."""

import numpy as np

# A small humanoid: hips -> spine -> neck -> head, and an arm each side ending in a hand.
# Offsets in centimetres, as most BVH exporters write them.
_JOINTS: list[tuple[str, int, tuple[float, float, float]]] = [
    ("Hips", -1, (0.0, 0.0, 0.0)),
    ("Spine", 0, (0.0, 20.0, 0.0)),
    ("Neck", 1, (0.0, 35.0, 0.0)),
    ("Head", 2, (0.0, 12.0, 0.0)),
    ("LeftShoulder", 1, (18.0, 30.0, 0.0)),
    ("LeftElbow", 4, (28.0, 0.0, 0.0)),
    ("LeftHand", 5, (26.0, 0.0, 0.0)),
    ("RightShoulder", 1, (-18.0, 30.0, 0.0)),
    ("RightElbow", 7, (-28.0, 0.0, 0.0)),
    ("RightHand", 8, (-26.0, 0.0, 0.0)),
]


def synthetic_bvh(*, seconds: float = 4.0, fps: int = 60, seed: int = 0) -> str:
    """A BVH text of someone swaying, turning their head and waving, with seeded variation."""
    rng = np.random.default_rng(seed)
    frames = max(1, round(seconds * fps))
    t = np.arange(frames) / fps
    phase = rng.uniform(0, 2 * np.pi, size=len(_JOINTS) * 3)
    amp = rng.uniform(5, 25, size=len(_JOINTS) * 3)
    freq = rng.uniform(0.2, 1.0, size=len(_JOINTS) * 3)
    rotations = amp * np.sin(2 * np.pi * freq * t[:, None] + phase)  # degrees, frames x joints*3
    root = np.stack(
        [10 * np.sin(0.5 * t), 95 + 2 * np.sin(2 * t), 10 * np.cos(0.3 * t) - 10], axis=1
    )
    values = np.concatenate([root, rotations], axis=1)

    lines = ["HIERARCHY"]
    children: dict[int, list[int]] = {}
    for index, (_name, parent, _offset) in enumerate(_JOINTS):
        children.setdefault(parent, []).append(index)

    def emit(index: int, depth: int) -> None:
        name, parent, offset = _JOINTS[index]
        pad = "  " * depth
        lines.append(f"{pad}{'ROOT' if parent < 0 else 'JOINT'} {name}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {offset[0]:.2f} {offset[1]:.2f} {offset[2]:.2f}")
        if parent < 0:
            lines.append(
                f"{pad}  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"
            )
        else:
            lines.append(f"{pad}  CHANNELS 3 Zrotation Xrotation Yrotation")
        for child in children.get(index, []):
            emit(child, depth + 1)
        if index not in children:
            lines.append(f"{pad}  End Site")
            lines.append(f"{pad}  {{")
            lines.append(f"{pad}    OFFSET 0.00 5.00 0.00")
            lines.append(f"{pad}  }}")
        lines.append(f"{pad}}}")

    emit(0, 0)
    lines += ["MOTION", f"Frames: {frames}", f"Frame Time: {1 / fps:.7f}"]
    lines.extend(" ".join(f"{v:.4f}" for v in row) for row in values)
    return "\n".join(lines) + "\n"

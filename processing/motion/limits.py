"""Numeric limits shared by readers and validation, kept together so they are reviewed together."""

from __future__ import annotations

# Checked from the file's size before a byte is read. Peak memory of a BVH conversion is about
# 3.5 times the file size (pyarrow's parse buffers with the float32 channels, then the float32
# poses, which conversion anonymizes in place), under 3x the decoded arrays; a BSOR's is about
# 2.8 times its size.
MAX_FILE_BYTES = 2 * 1024**3

MIN_FRAME_RATE = 10.0
MAX_FRAME_RATE = 240.0
MAX_DURATION_S = 4 * 3600.0
MAX_TRACKS = 256

# Faster than any human head or hand (a baseball pitcher's hand peaks near 40 m/s), slow enough
# to catch teleports, unit mistakes (cm read as m) and tracking loss jumps.
MAX_SPEED_M_S = 50.0

# Inside-out trackers (standalone headsets) re-acquire a controller with a one-frame relocation.
# Isolated relocations up to this distance are tolerated, this many at most (or this many per
# minute of recording, if more); they are counted in the metadata. Anything else is a teleport.
MAX_RELOCATION_M = 1.0
MAX_RELOCATIONS = 3
MAX_RELOCATIONS_PER_MINUTE = 2.0

# Leading frames that may be cut when only they jump (a prepended T-pose, tracker start-up).
MAX_LEADING_DROP = 3

# |q| may drift from 1 by float32 rounding; anything beyond this is not a rotation.
QUATERNION_NORM_TOLERANCE = 1e-3

REFERENCE_HEIGHT_M = 1.70
NOISE_SCALE_RANGE = (0.95, 1.05)

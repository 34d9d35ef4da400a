"""Which reader a file needs, decided from its first bytes only (file names are donor-chosen)."""

from __future__ import annotations

from pathlib import Path

from processing.motion.errors import RejectedRecording
from processing.motion.formats import READERS, FormatReader, supported_labels

SNIFF_BYTES = 4096


def detect_format(path: Path) -> FormatReader:
    """The registered reader whose sniff accepts the file's head; RejectedRecording otherwise."""
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    if not head:
        raise RejectedRecording("motion.empty_file", "The file is empty. Export it again.")
    for reader in READERS:
        if reader.sniff(head):
            return reader
    raise RejectedRecording(
        "format.unsupported",
        "This file is not a recording format we can read. Supported formats: "
        + ", ".join(supported_labels())
        + ".",
    )

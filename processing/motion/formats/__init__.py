"""Registry of format readers. Add a reader by appending it to READERS (order = sniff order)."""

from __future__ import annotations

from processing.motion.formats import bsor, bvh, posecsv, posejson, xror
from processing.motion.formats.base import FormatReader, ReadOptions

READERS: tuple[FormatReader, ...] = (
    bvh.READER,
    posejson.READER,
    posejson.AFRAME_READER,
    posecsv.READER,
    xror.READER,
    bsor.READER,
)


def supported_labels() -> list[str]:
    return [reader.label for reader in READERS]


def reader_named(name: str) -> FormatReader:
    for reader in READERS:
        if reader.name == name:
            return reader
    raise KeyError(name)


__all__ = ["READERS", "FormatReader", "ReadOptions", "reader_named", "supported_labels"]

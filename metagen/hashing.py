import hashlib
from typing import Protocol

CHUNK = 8 * 1024 * 1024


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def sha256_stream(fh: Readable) -> str:
    """SHA-256 of a file object read in chunks, so large files never sit whole in memory."""
    digest = hashlib.sha256()
    while chunk := fh.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()

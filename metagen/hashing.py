import hashlib
from typing import BinaryIO

CHUNK = 8 * 1024 * 1024


def sha256_stream(fh: BinaryIO) -> str:
    """SHA-256 of a file object read in chunks, so large files never sit whole in memory."""
    digest = hashlib.sha256()
    while chunk := fh.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()

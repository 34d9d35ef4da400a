"""Keyed pseudonyms: stable across versions of one dataset, unlinkable across datasets."""

import hashlib
import hmac


def pseudonym(*, secret: str, kind: str, value: object) -> str:
    mac = hmac.new(secret.encode(), f"{kind}:{value}".encode(), hashlib.sha256)
    return mac.hexdigest()[:24]

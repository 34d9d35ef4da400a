"""A script's side of the upload protocol, as a researcher's or donor's tool would speak it."""

import hashlib
from pathlib import Path

import requests
from django.test import Client
from django.urls import reverse

from donations.uploads import sha256_base64

MIB = 1024 * 1024


def use_local_storage(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """Switch to the embedded default's local-disk object storage (under `tmp_path`), with small
    parts for quick tests; returns the storage root."""
    root = tmp_path / "objects"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "metagen.storage.LocalObjectStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    settings.UPLOAD_PART_SIZE = 64 * 1024
    return root


def open_upload(client: Client, *files: tuple[str, bytes, str]) -> dict:
    """POST /api/uploads/ for (kind, content, extension) triples; returns the JSON answer."""
    response = client.post(
        reverse("api:upload-list"),
        {
            "files": [
                {"kind": kind, "size": len(content), "extension": ext, "content_type": ""}
                for kind, content, ext in files
            ]
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def part_bytes(content: bytes, session: dict, number: int) -> bytes:
    size = session["part_size"]
    return content[(number - 1) * size : number * size]


def sign(client: Client, session_id: str, number: int, data: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("api:upload-part-sign", args=[session_id, number]),
        {"checksum_sha256": sha256_base64(data)},
        content_type="application/json",
    )


def put_part(client: Client, signed: dict, data: bytes):  # type: ignore[no-untyped-def]
    """PUT a part where the signature says: S3 over HTTP, or the Django endpoint (test client)."""
    if signed["url"].startswith("http://testserver/"):
        return client.put(
            signed["url"],
            data,
            content_type="application/octet-stream",
            headers=signed["headers"],
        )
    return requests.put(signed["url"], data=data, headers=signed["headers"], timeout=60)


def send_part(  # type: ignore[no-untyped-def]
    client: Client, session: dict, content: bytes, number: int, *, body: bytes | None = None
):
    """Sign part `number` of `content` and PUT it (or `body` instead: a corrupted part)."""
    data = part_bytes(content, session, number)
    signed = sign(client, session["id"], number, data)
    assert signed.status_code == 200, signed.content
    response = put_part(client, signed.json(), data if body is None else body)
    assert response.status_code == 200, response.content
    return response


def complete(client: Client, session_id: str):  # type: ignore[no-untyped-def]
    return client.post(reverse("api:upload-complete", args=[session_id]))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

"""Researcher access to release files: the data-use agreement, signed URLs, download logs and
byte-range streaming from storage.

Who may fetch what (release_file_access):
- open datasets: anyone, at a stable URL that answers range requests;
- restricted datasets: anonymous visitors get 404 (nothing to see), signed-in researchers who
  have not accepted the current agreement text get 403, and those who have get short-lived signed
  URLs (an S3 presigned GET, or a Django URL signed with TimestampSigner on local storage).
"""

import enum
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import User
from releases.models import Dataset, DataUseAgreementAcceptance, Download, ReleaseFile

logger = logging.getLogger(__name__)

SIGNED_URL_MAX_AGE_S = getattr(settings, "RELEASE_SIGNED_URL_MAX_AGE_S", 15 * 60)
CHUNK = 1024 * 1024
_SALT = "releases.file"


class Access(enum.Enum):
    ALLOWED = "allowed"
    NEEDS_AGREEMENT = "needs_agreement"  # answer 403
    HIDDEN = "hidden"  # answer 404


def dua_sha256(*, dataset: Dataset) -> str:
    """The SHA-256 of the agreement text as shown (UTF-8); an acceptance is of this hash."""
    return hashlib.sha256(dataset.dua_text.encode("utf-8")).hexdigest()


def dua_accepted(*, dataset: Dataset, user: User | None) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return DataUseAgreementAcceptance.objects.filter(
        dataset=dataset, user=user, dua_sha256=dua_sha256(dataset=dataset)
    ).exists()


def dua_accept(*, dataset: Dataset, user: User, dua_sha256_seen: str) -> DataUseAgreementAcceptance:
    """Record that `user` accepted the dataset's agreement text with hash `dua_sha256_seen`.

    Raises ValueError if the text changed since it was shown (the hash differs) or the dataset
    is not restricted. Idempotent: accepting the same text again returns the first acceptance.
    """
    current = dua_sha256(dataset=dataset)
    if dataset.access_tier != Dataset.AccessTier.RESTRICTED or not dataset.dua_text:
        raise ValueError("This dataset has no data-use agreement.")
    if dua_sha256_seen != current:
        raise ValueError("The agreement changed since you opened it; read it again.")
    try:
        with transaction.atomic(durable=True):
            acceptance = DataUseAgreementAcceptance.objects.create(
                dataset=dataset, user=user, dua_sha256=current
            )
    except IntegrityError:
        return DataUseAgreementAcceptance.objects.get(
            dataset=dataset, user=user, dua_sha256=current
        )
    logger.info("user %s accepted the agreement of dataset %s", user.pk, dataset.pk)
    return acceptance


def release_file_access(*, release_file: ReleaseFile, user: User | None) -> Access:
    dataset = release_file.release.dataset
    if dataset.access_tier == Dataset.AccessTier.OPEN:
        return Access.ALLOWED
    if user is None or not user.is_authenticated:
        return Access.HIDDEN
    if not dua_accepted(dataset=dataset, user=user):
        return Access.NEEDS_AGREEMENT
    return Access.ALLOWED


def download_log(*, release_file: ReleaseFile, user: User | None, via: str) -> Download:
    """Append one row to the download log (no IP address, no user agent)."""
    with transaction.atomic(durable=True):
        return Download.objects.create(
            release_file=release_file,
            user=user if user is not None and user.is_authenticated else None,
            via=via,
        )


def _signature_payload(release_file: ReleaseFile, user: User) -> str:
    return f"{release_file.pk}:{user.pk}"


def signed_url_check(*, release_file: ReleaseFile, signature: str) -> User | None:
    """The user a Django-signed file URL was issued to, or None if the signature is bad, for
    another file, or older than SIGNED_URL_MAX_AGE_S."""
    signer = signing.TimestampSigner(salt=_SALT)
    try:
        value = signer.unsign(signature, max_age=SIGNED_URL_MAX_AGE_S)
    except signing.BadSignature:
        return None
    file_id, _sep, user_id = value.partition(":")
    if file_id != str(release_file.pk):
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def _is_s3() -> bool:
    return getattr(default_storage, "bucket", None) is not None


def signed_url_make(*, release_file: ReleaseFile, user: User, absolute: str = "") -> str:
    """A short-lived URL for one file of a restricted release, issued to a user who may have it
    (the caller checks release_file_access). Logs the issue in the download log.

    With S3 storage: a presigned GET of the object (the key is checked to lie under the
    release's prefix). Otherwise: the file's Django URL with a TimestampSigner signature;
    `absolute` (scheme and host) is prefixed to it.
    """
    key = release_file.storage_key
    if not key.startswith(release_file.release.storage_prefix) or ".." in key.split("/"):
        raise ValueError("A release file lies outside its release.")
    download_log(release_file=release_file, user=user, via="signed-url")
    if _is_s3():
        client = default_storage.connection.meta.client  # type: ignore[attr-defined]
        return str(
            client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": default_storage.bucket_name,  # type: ignore[attr-defined]
                    "Key": default_storage._normalize_name(key),  # type: ignore[attr-defined]
                    "ResponseContentDisposition": (
                        f'attachment; filename="{release_file.path.rsplit("/", 1)[-1]}"'
                    ),
                },
                ExpiresIn=SIGNED_URL_MAX_AGE_S,
            )
        )
    signature = signing.TimestampSigner(salt=_SALT).sign(_signature_payload(release_file, user))
    release = release_file.release
    path = reverse("releases:file", args=[release.dataset.slug, release.version, release_file.path])
    return f"{absolute}{path}?{urlencode({'signature': signature})}"


# --- Byte ranges ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class Unsatisfiable(Exception):
    """The Range header names no byte of the file (answer 416)."""


def range_parse(*, header: str, size: int) -> ByteRange | None:
    """One `bytes=a-b`, `bytes=a-` or `bytes=-n` range, clipped to the file; None when the
    header is absent, malformed or asks for several ranges (the whole file is sent then, as
    RFC 9110 allows). Raises Unsatisfiable when the range starts past the end."""
    unit, _sep, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or not spec or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0:
                raise Unsatisfiable
            return ByteRange(max(0, size - suffix), size - 1) if size else None
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size:
        raise Unsatisfiable
    if start < 0 or end < start:
        return None
    return ByteRange(start, min(end, size - 1))


def storage_read_span(*, key: str, start: int, length: int) -> Iterator[bytes]:
    """Stream `length` bytes of the object at `key` from `start`, reading only that span: an S3
    ranged GET, or seek-and-read on local storage."""
    if length <= 0:
        return
    if _is_s3():
        obj = default_storage.bucket.Object(default_storage._normalize_name(key))  # type: ignore[attr-defined]
        body = obj.get(Range=f"bytes={start}-{start + length - 1}")["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()
        return
    with default_storage.open(key, "rb") as fh:
        fh.seek(start)
        left = length
        while left > 0:
            chunk = fh.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk

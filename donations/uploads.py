"""Resumable multipart uploads: the storage side of the protocol and its services.

The client protocol is the same for both storages: open a session per file, ask for a signed URL
per part (declaring the part's SHA-256), PUT the part there, list the stored parts to resume, and
complete. With S3 the URLs are presigned `upload_part` URLs and the bytes never touch a web
process; with the local-disk storage they point at a Django endpoint that streams one part (at
most `part_size` bytes) to `uploads/<session>/<part>` and concatenates the parts on completion.
"""

import base64
import binascii
import hashlib
import logging
import math
import os
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from donations.exceptions import DonationError
from donations.models import (
    Donation,
    DonationFile,
    DonationStatus,
    UploadPart,
    UploadSession,
)
from donations.services import (
    donation_consent_require,
    donation_transition,
    storage_delete_prefix,
)
from metagen.hashing import Readable
from metagen.queueing import enqueue_on_commit

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
S3_MIN_PART_SIZE = 5 * MIB
S3_MAX_PARTS = 10_000
STREAM_CHUNK = 1 * MIB
PART_URL_SALT = "donations.upload-part"

# Extensions the browser and the server accept per kind; the worker's content detection decides.
EXTENSIONS = {
    DonationFile.Kind.MOTION: ("bvh", "bsor", "xror", "json", "csv"),
    DonationFile.Kind.AUDIO: ("wav", "flac", "ogg"),
}
# Declared content types that contradict the kind (browsers declare "" for most motion formats).
_FOREIGN_TYPES = {
    DonationFile.Kind.MOTION: ("audio/", "video/", "image/"),
    DonationFile.Kind.AUDIO: ("video/", "image/", "text/", "application/json"),
}


class UploadError(DonationError):
    """An upload request that cannot be honoured; the message is safe to show to the donor."""


class StorageUnavailableError(UploadError):
    """Storage failed on our side (the client may simply try again): answered 503."""


class PartTooLargeError(UploadError):
    """A part body larger than the session's part size (answered 413 before reading it)."""


@dataclass(frozen=True)
class FileSpec:
    """What the client declares about one file before sending it (never its name)."""

    kind: str
    size: int
    extension: str
    content_type: str = ""


@dataclass(frozen=True)
class StoredPart:
    part_number: int
    size: int
    etag: str


@dataclass(frozen=True)
class SignedPart:
    url: str
    headers: dict[str, str]
    expires_in: int
    method: str = "PUT"


# --- Storage side ------------------------------------------------------------------------------


def _s3_client_and_bucket() -> tuple[Any, str] | None:
    """django-storages' own boto3 client and bucket name, or None for the local-disk storage."""
    bucket = getattr(default_storage, "bucket", None)
    if bucket is None:
        return None
    return default_storage.connection.meta.client, bucket.name  # type: ignore[attr-defined]


def _is_no_such_upload(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in {"NoSuchUpload", "404"}


def _storage_start(*, key: str) -> str:
    s3 = _s3_client_and_bucket()
    if s3 is None:
        return ""
    client, bucket = s3
    response = client.create_multipart_upload(
        Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256", ContentType="application/octet-stream"
    )
    return str(response["UploadId"])


def _part_key(session: UploadSession, part_number: int) -> str:
    return f"uploads/{session.pk}/{part_number}"


def _storage_list_parts(session: UploadSession) -> list[StoredPart]:
    s3 = _s3_client_and_bucket()
    if s3 is None:
        folder = f"uploads/{session.pk}"
        try:
            _dirs, names = default_storage.listdir(folder)
        except FileNotFoundError:
            return []
        parts = []
        for name in names:
            if not name.isdigit():  # a temporary file of a part still being written
                continue
            number = int(name)
            key = _part_key(session, number)
            size = default_storage.size(key)
            parts.append(StoredPart(number, size, _local_etag(key, size)))
        return sorted(parts, key=lambda p: p.part_number)
    client, bucket = s3
    parts = []
    marker = 0
    while True:
        try:
            response = client.list_parts(
                Bucket=bucket,
                Key=session.storage_key,
                UploadId=session.s3_upload_id,
                PartNumberMarker=marker,
            )
        except ClientError as exc:
            if _is_no_such_upload(exc):
                return []
            raise
        parts.extend(
            StoredPart(int(p["PartNumber"]), int(p["Size"]), str(p["ETag"]))
            for p in response.get("Parts", [])
        )
        if not response.get("IsTruncated"):
            return parts
        marker = int(response["NextPartNumberMarker"])


def _local_etag(key: str, size: int) -> str:
    # The part's own name holds no digest; the size and the key make a stable, cheap tag.
    return f'"{hashlib.sha256(f"{key}:{size}".encode()).hexdigest()[:32]}"'


def _storage_complete(session: UploadSession, parts: list[StoredPart], checksums: dict[int, str]):  # type: ignore[no-untyped-def]
    s3 = _s3_client_and_bucket()
    if s3 is None:
        # Concatenate into a temporary file beside the final key, then rename it into place in
        # one step: a parallel completion never sees (or deletes) a half-written object, and
        # the last rename wins with the same bytes. The parts go after commit.
        target = Path(default_storage.path(session.storage_key))
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=".assembling-", delete=False
        ) as joined:
            try:
                for part in parts:
                    with default_storage.open(_part_key(session, part.part_number), "rb") as src:
                        while chunk := src.read(STREAM_CHUNK):
                            joined.write(chunk)
                joined.flush()
                os.chmod(joined.name, 0o644)
                os.replace(joined.name, target)
            except BaseException:
                Path(joined.name).unlink(missing_ok=True)
                raise
        return
    client, bucket = s3
    try:
        client.complete_multipart_upload(
            Bucket=bucket,
            Key=session.storage_key,
            UploadId=session.s3_upload_id,
            MultipartUpload={
                "Parts": [
                    {
                        "PartNumber": p.part_number,
                        "ETag": p.etag,
                        "ChecksumSHA256": checksums[p.part_number],
                    }
                    for p in parts
                ]
            },
        )
    except ClientError as exc:
        if not _is_no_such_upload(exc):
            raise
        # Completed by an earlier attempt whose database write did not happen: the object is
        # there with the declared size, so finish the bookkeeping.
        if _final_size(session) != session.size:
            raise UploadError(
                _("This upload no longer exists in storage. Please start the upload again.")
            ) from exc


def _final_size(session: UploadSession) -> int | None:
    s3 = _s3_client_and_bucket()
    if s3 is None:
        if not default_storage.exists(session.storage_key):
            return None
        return default_storage.size(session.storage_key)
    client, bucket = s3
    try:
        return int(client.head_object(Bucket=bucket, Key=session.storage_key)["ContentLength"])
    except ClientError:
        return None


def _storage_abort(*, session_id: str, storage_key: str, s3_upload_id: str) -> None:
    """Drop an unfinished upload's parts. Safe to repeat."""
    s3 = _s3_client_and_bucket()
    if s3 is None:
        storage_delete_prefix(f"uploads/{session_id}/")
        return
    client, bucket = s3
    try:
        client.abort_multipart_upload(Bucket=bucket, Key=storage_key, UploadId=s3_upload_id)
    except ClientError as exc:
        if not _is_no_such_upload(exc):
            raise


def _storage_discard(*, session_id: str, storage_key: str, s3_upload_id: str) -> None:
    """Remove everything a cancelled upload may have left, whatever its session's state: its
    parts and its assembled object (a completion racing the cancel may have made it). Safe to
    repeat."""
    _storage_abort(session_id=session_id, storage_key=storage_key, s3_upload_id=s3_upload_id)
    default_storage.delete(storage_key)


def _delete_local_parts_after_commit(session: UploadSession) -> None:
    if _s3_client_and_bucket() is None:
        session_id, key = str(session.pk), session.storage_key
        transaction.on_commit(
            lambda: _storage_abort(session_id=session_id, storage_key=key, s3_upload_id=""),
            robust=True,
        )


# --- Reads -------------------------------------------------------------------------------------


def upload_session_get_for_user(*, user: User, session_id: uuid.UUID | str) -> UploadSession | None:
    """The donor's own upload session, or None (callers answer 404 for someone else's)."""
    return (
        UploadSession.objects.filter(donation__donor=user, pk=session_id)
        .select_related("donation")
        .first()
    )


def upload_session_get(*, session_id: uuid.UUID | str) -> UploadSession | None:
    """Any upload session, for the local part endpoint whose signed URL already authorises."""
    return UploadSession.objects.filter(pk=session_id).first()


def upload_part_list(*, session: UploadSession) -> list[StoredPart]:
    """The parts already in storage, so a client resumes by sending only the others."""
    if session.status != UploadSession.Status.OPEN:
        return []
    return _storage_list_parts(session)


# --- Services ----------------------------------------------------------------------------------


def _part_size_for(size: int) -> int:
    part_size = settings.UPLOAD_PART_SIZE
    if _s3_client_and_bucket() is not None:
        part_size = max(part_size, S3_MIN_PART_SIZE)
    if size > part_size * S3_MAX_PARTS:  # never more than S3's 10,000 parts; whole MiB
        part_size = math.ceil(size / S3_MAX_PARTS / MIB) * MIB
    return part_size


def _check_spec(spec: FileSpec) -> None:
    kind = DonationFile.Kind(spec.kind)
    what = str(kind.label).lower()
    extension = spec.extension.lower().lstrip(".")
    if extension not in EXTENSIONS[kind]:
        allowed = ", ".join(f".{e}" for e in EXTENSIONS[kind])
        raise UploadError(
            _("A %(what)s file must end in one of %(allowed)s.")
            % {"what": what, "allowed": allowed}
        )
    content_type = spec.content_type.lower()
    if content_type.startswith(_FOREIGN_TYPES[kind]):
        raise UploadError(
            _("The %(what)s file looks like %(type)s, not a %(what)s recording.")
            % {"what": what, "type": content_type}
        )
    if spec.size <= 0:
        raise UploadError(_("The %(what)s file is empty.") % {"what": what})
    if spec.size > settings.MAX_UPLOAD_BYTES:
        limit_mb = settings.MAX_UPLOAD_BYTES // MIB
        raise UploadError(
            _("The %(what)s file is larger than the %(limit)s MB limit.")
            % {"what": what, "limit": limit_mb}
        )


def upload_session_open(*, donor: User, files: Sequence[FileSpec]) -> Donation:
    """Start a donation: a `created` Donation with one open UploadSession per file.

    Requires a consent grant covering motion (and audio for an audio file), exactly one motion
    file and at most one audio file, each with an accepted extension and a size within
    MAX_UPLOAD_BYTES. Starts an S3 multipart upload per file before the database write and
    aborts them if that write fails. Raises UploadError/DonationError with a donor-facing message.
    """
    kinds = [spec.kind for spec in files]
    if kinds.count(DonationFile.Kind.MOTION) != 1 or len(set(kinds)) != len(kinds):
        raise UploadError(_("Send one motion file, and at most one audio file with it."))
    donation_consent_require(donor=donor, with_audio=DonationFile.Kind.AUDIO in kinds)
    for spec in files:
        _check_spec(spec)

    donation_id = uuid.uuid4()
    expires_at = timezone.now() + timedelta(hours=settings.UPLOAD_SESSION_TTL_HOURS)
    sessions: list[UploadSession] = []
    try:
        for spec in files:
            file_id = uuid.uuid4()
            key = f"raw/{donation_id}/{file_id}"
            part_size = _part_size_for(spec.size)
            sessions.append(
                UploadSession(
                    donation_id=donation_id,
                    kind=spec.kind,
                    file_id=file_id,
                    storage_key=key,
                    content_type=spec.content_type[:100],
                    size=spec.size,
                    part_size=part_size,
                    part_count=math.ceil(spec.size / part_size),
                    s3_upload_id=_storage_start(key=key),
                    expires_at=expires_at,
                )
            )
        with transaction.atomic(durable=True):
            donation = Donation.objects.create(id=donation_id, donor=donor)
            UploadSession.objects.bulk_create(sessions)
    except Exception:
        for session in sessions:
            _storage_abort(
                session_id=str(session.pk),
                storage_key=session.storage_key,
                s3_upload_id=session.s3_upload_id,
            )
        raise
    logger.info("donation %s: %d upload session(s) opened", donation.pk, len(sessions))
    return donation


def _decode_checksum(checksum_sha256: str) -> str:
    try:
        raw = base64.b64decode(checksum_sha256, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise UploadError(_("The checksum must be the part's SHA-256, base64-encoded."))
    return checksum_sha256


def _require_open(session: UploadSession) -> None:
    if session.status == UploadSession.Status.COMPLETED:
        raise UploadError(_("This upload is already complete."))
    if session.status != UploadSession.Status.OPEN:
        raise UploadError(_("This upload was cancelled. Please start again."))
    if session.expires_at <= timezone.now():
        raise UploadError(_("This upload has expired. Please start again."))


def _require_part_number(session: UploadSession, part_number: int) -> None:
    if not 1 <= part_number <= session.part_count:
        raise UploadError(
            _("Part numbers of this upload go from 1 to %(count)s.") % {"count": session.part_count}
        )


def upload_part_sign(
    *, session: UploadSession, part_number: int, checksum_sha256: str
) -> SignedPart:
    """Record the SHA-256 a client declares for one part and return where to PUT it.

    S3: a presigned `upload_part` URL that binds the checksum and the part's exact length (the
    client sends header `x-amz-checksum-sha256`). Local disk: a signed URL of the Django part
    endpoint binding the same. Re-signing a part (a retry) replaces its recorded checksum.
    """
    _require_open(session)
    _require_part_number(session, part_number)
    checksum = _decode_checksum(checksum_sha256)
    with transaction.atomic(durable=True):
        UploadPart.objects.update_or_create(
            session=session,
            part_number=part_number,
            defaults={"checksum_sha256": checksum, "stored_at": None},
        )
    expires_in = settings.UPLOAD_PART_URL_EXPIRES_S
    headers = {"x-amz-checksum-sha256": checksum}
    s3 = _s3_client_and_bucket()
    if s3 is None:
        token = signing.dumps(
            {"s": str(session.pk), "n": part_number, "c": checksum}, salt=PART_URL_SALT
        )
        path = reverse("donations:upload_part", args=[session.pk, part_number])
        return SignedPart(url=f"{path}?signature={token}", headers=headers, expires_in=expires_in)
    client, bucket = s3
    url = client.generate_presigned_url(
        "upload_part",
        Params={
            "Bucket": bucket,
            "Key": session.storage_key,
            "UploadId": session.s3_upload_id,
            "PartNumber": part_number,
            "ChecksumSHA256": checksum,
            "ContentLength": session.part_length(part_number),
        },
        ExpiresIn=expires_in,
    )
    return SignedPart(url=url, headers=headers, expires_in=expires_in)


def upload_part_url_check(*, session_id: str, part_number: int, signature: str) -> str | None:
    """The checksum a local part URL was signed for, or None if the signature is not valid for
    this session and part (callers answer 404). Raises UploadError when it has expired."""
    try:
        payload = signing.loads(
            signature, salt=PART_URL_SALT, max_age=settings.UPLOAD_PART_URL_EXPIRES_S
        )
    except signing.SignatureExpired as exc:
        raise UploadError(_("This part's upload link has expired; ask for a new one.")) from exc
    except signing.BadSignature:
        return None
    if payload.get("s") != str(session_id) or payload.get("n") != part_number:
        return None
    return str(payload["c"])


def upload_part_store(
    *,
    session: UploadSession,
    part_number: int,
    checksum_sha256: str,
    body: Readable,
    content_length: int,
) -> StoredPart:
    """Stream one part (local-disk storage) to `uploads/<session>/<part>` and verify its SHA-256.

    Refuses a declared length above the part size before reading anything (PartTooLargeError),
    reads at most `content_length` bytes in 1 MiB chunks into a temporary file, and stores the
    part only if its SHA-256 matches the signed checksum. Safe to retry: a part sent again
    replaces the stored one.
    """
    if content_length > session.part_size:
        raise PartTooLargeError(
            _("A part may hold at most %(size)s bytes.") % {"size": session.part_size}
        )
    _require_open(session)
    _require_part_number(session, part_number)
    expected = session.part_length(part_number)
    if content_length != expected:
        raise UploadError(
            _("Part %(n)s must be %(expected)s bytes long, not %(got)s.")
            % {"n": part_number, "expected": expected, "got": content_length}
        )
    digest = hashlib.sha256()
    with tempfile.TemporaryFile() as spool:
        remaining = content_length
        while remaining:
            chunk = body.read(min(STREAM_CHUNK, remaining))
            if not chunk:
                raise UploadError(_("The part arrived incomplete. Send it again."))
            digest.update(chunk)
            spool.write(chunk)
            remaining -= len(chunk)
        if base64.b64encode(digest.digest()).decode() != checksum_sha256:
            raise UploadError(
                _(
                    "The part's content does not match its SHA-256 checksum; it was not stored. "
                    "Send the part again."
                )
            )
        spool.seek(0)
        key = _part_key(session, part_number)
        if default_storage.exists(key):
            default_storage.delete(key)
        default_storage.save(key, File(spool))
    with transaction.atomic(durable=True):
        UploadPart.objects.filter(session=session, part_number=part_number).update(
            stored_at=timezone.now()
        )
    return StoredPart(part_number, content_length, _local_etag(key, content_length))


def _check_parts(session: UploadSession, parts: list[StoredPart], checksums: dict[int, str]):  # type: ignore[no-untyped-def]
    stored = {p.part_number: p for p in parts}
    missing = [n for n in range(1, session.part_count + 1) if n not in stored or n not in checksums]
    if missing:
        shown = ", ".join(str(n) for n in missing[:10])
        raise UploadError(
            _("Some parts are missing (%(parts)s). Upload them, then complete again.")
            % {"parts": shown}
        )
    wrong = [n for n, p in stored.items() if p.size != session.part_length(n)]
    if wrong or len(stored) != session.part_count:
        raise UploadError(_("Some parts have the wrong size. Please start the upload again."))


def _assemble(session: UploadSession) -> None:
    """Join the session's stored parts into its object (or find it joined by an earlier try)."""
    checksums = dict(session.parts.values_list("part_number", "checksum_sha256"))
    parts = _storage_list_parts(session)
    if not parts and _final_size(session) == session.size:
        return  # storage already completed it on an earlier attempt
    _check_parts(session, parts, checksums)
    _storage_complete(session, parts, checksums)


_CANCELLED = "cancelled"
_FINISHED = "finished"


def upload_session_complete(*, session: UploadSession) -> UploadSession:
    """Assemble a session's parts into its object; idempotent.

    A completed session is returned as it is. Otherwise checks that every part is stored with
    its exact length and a recorded checksum, completes the S3 multipart upload (or joins the
    local parts), then in one transaction, under the donation's row lock, marks the session
    completed. When it was the donation's last open session, it creates the DonationFile rows
    (sha256 is left to the worker, which verifies every part), moves the donation created ->
    uploaded and enqueues processing after commit. A failure before the commit leaves the session
    open, so completing again is safe.

    Assembly runs outside the transaction, so a cancel (or a withdrawal) can land meanwhile: the
    locked re-check then finds the session aborted or the donation gone, deletes what this call
    assembled, and raises UploadError. Together with the cancel deleting the object whatever the
    session's state, no assembled object outlives a cancelled upload.
    """
    if session.status == UploadSession.Status.COMPLETED:
        return session
    _require_open(session)
    try:
        _assemble(session)
    except (UploadError, ClientError, OSError) as exc:
        # A parallel completion or cancel may have taken the parts from under this one.
        current = UploadSession.objects.select_related("donation").get(pk=session.pk)
        if current.status == UploadSession.Status.COMPLETED:
            return current
        if current.status == UploadSession.Status.ABORTED:
            raise UploadError(_("This upload was cancelled. Please start again.")) from exc
        if _final_size(session) != session.size:
            if isinstance(exc, UploadError):
                raise
            logger.warning("upload %s: storage could not assemble it", session.pk)
            raise StorageUnavailableError(
                _("Storage could not assemble the upload just now. Please complete it again.")
            ) from exc
        # The object is whole: a parallel completion joined it. Finish the bookkeeping.

    outcome, locked = _complete_in_transaction(session)
    if outcome == _CANCELLED:
        _storage_discard(
            session_id=str(session.pk),
            storage_key=session.storage_key,
            s3_upload_id=session.s3_upload_id,
        )
        logger.info("upload %s: cancelled while completing; its object was deleted", session.pk)
        raise UploadError(_("This upload was cancelled. Please start again."))
    return locked


def _complete_in_transaction(session: UploadSession) -> tuple[str, UploadSession]:
    from processing.tasks import process_donation

    with transaction.atomic(durable=True):
        donation = Donation.objects.select_for_update().get(pk=session.donation_id)
        locked = UploadSession.objects.get(pk=session.pk)
        locked.donation = donation
        if donation.status in {DonationStatus.ABANDONED, DonationStatus.WITHDRAWN}:
            return _CANCELLED, locked
        if locked.status == UploadSession.Status.COMPLETED:
            return _FINISHED, locked
        if locked.status != UploadSession.Status.OPEN or donation.status != DonationStatus.CREATED:
            return _CANCELLED, locked
        locked.status = UploadSession.Status.COMPLETED
        locked.completed_at = timezone.now()
        locked.save(update_fields=["status", "completed_at"])
        _delete_local_parts_after_commit(locked)
        siblings = list(donation.upload_sessions.all())
        if all(s.status == UploadSession.Status.COMPLETED for s in siblings):
            DonationFile.objects.bulk_create(
                DonationFile(
                    id=s.file_id,
                    donation=donation,
                    kind=s.kind,
                    storage_key=s.storage_key,
                    size=s.size,
                    sha256="",
                )
                for s in siblings
            )
            donation_transition(
                donation=donation, to_status=DonationStatus.UPLOADED, actor=donation.donor
            )
            enqueue_on_commit(process_donation, str(donation.pk))
    return _FINISHED, locked


def _abort_donation_uploads(*, donation_id: uuid.UUID, actor: User | None, note: str) -> int:
    """Abort every open session of one donation, and mark it abandoned if still `created`.

    Storage is cleaned after commit, whatever each session's state: the parts and the assembled
    object of every session aborted now, and of every session of a donation abandoned now
    (nothing of an abandoned donation is kept; a completion racing this one may already have
    assembled an open session's object). Returns how many sessions were aborted now.
    """
    with transaction.atomic(durable=True):
        donation = Donation.objects.select_for_update().get(pk=donation_id)
        sessions = list(donation.upload_sessions.all())
        still_created = donation.status == DonationStatus.CREATED
        to_abort = [s for s in sessions if s.status == UploadSession.Status.OPEN]
        UploadSession.objects.filter(pk__in=[s.pk for s in to_abort]).update(
            status=UploadSession.Status.ABORTED
        )
        if still_created:
            donation_transition(
                donation=donation, to_status=DonationStatus.ABANDONED, actor=actor, note=note
            )
        to_clean = sessions if still_created else to_abort
        discards = [(str(s.pk), s.storage_key, s.s3_upload_id) for s in to_clean]

        def clean_storage() -> None:
            for session_id, key, upload_id in discards:
                _storage_discard(session_id=session_id, storage_key=key, s3_upload_id=upload_id)

        transaction.on_commit(clean_storage, robust=True)
    return len(to_abort)


def upload_session_abort(*, session: UploadSession, actor: User) -> UploadSession:
    """Cancel the upload of a donation (the donor's cancel button): idempotent.

    Aborts all of the donation's open sessions and moves it created -> abandoned. Raises
    UploadError when the donation's upload already completed (withdraw it instead).
    """
    if session.status == UploadSession.Status.ABORTED:
        return session
    if session.donation.status != DonationStatus.CREATED:
        raise UploadError(
            _("This upload is complete and cannot be cancelled; you can withdraw the donation.")
        )
    _abort_donation_uploads(donation_id=session.donation_id, actor=actor, note="upload cancelled")
    session.refresh_from_db()
    return session


def upload_sessions_abort_abandoned() -> int:
    """Abort sessions left open past `expires_at`, or whose donation is no longer `created`
    (withdrawn, say); their donations still `created` become `abandoned`. Idempotent: run
    hourly by beat. Returns how many sessions were aborted."""
    now = timezone.now()
    donation_ids = set(
        UploadSession.objects.filter(status=UploadSession.Status.OPEN, expires_at__lte=now)
        .values_list("donation_id", flat=True)
        .union(
            UploadSession.objects.filter(status=UploadSession.Status.OPEN)
            .exclude(donation__status=DonationStatus.CREATED)
            .values_list("donation_id", flat=True)
        )
    )
    aborted = 0
    for donation_id in sorted(donation_ids):
        aborted += _abort_donation_uploads(
            donation_id=donation_id, actor=None, note="upload abandoned"
        )
    if aborted:
        logger.info("aborted %d abandoned upload session(s)", aborted)
    return aborted


def sha256_base64(data: bytes) -> str:
    """The base64 SHA-256 S3 uses for part checksums (scripts and tests compute it this way)."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# --- For the worker ----------------------------------------------------------------------------


def upload_checksums_for_file(*, file_id: uuid.UUID) -> tuple[int, dict[int, str]] | None:
    """(part size, {part number: base64 SHA-256}) recorded for the upload that made a
    DonationFile, or None for a file stored another way (demo data, a direct upload)."""
    session = UploadSession.objects.filter(file_id=file_id).first()
    if session is None:
        return None
    return session.part_size, dict(session.parts.values_list("part_number", "checksum_sha256"))


def donation_file_record_sha256(*, file: DonationFile, sha256: str) -> DonationFile:
    """Record the whole-object SHA-256 the worker computed over a verified upload."""
    with transaction.atomic(durable=True):
        DonationFile.objects.filter(pk=file.pk).update(sha256=sha256)
    file.sha256 = sha256
    return file

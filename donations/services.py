import hashlib
import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from consent.models import ConsentEvent
from consent.selectors import consent_event_get_effective
from donations.exceptions import DonationError, SelfReviewError, TransitionError
from donations.models import (
    ALLOWED_TRANSITIONS,
    CurationDecision,
    Donation,
    DonationFile,
    DonationStatus,
    DonationStatusChange,
    PendingObjectDeletion,
)
from donations.selectors import donation_list_rejected_raw_due
from metagen.queueing import enqueue_on_commit

logger = logging.getLogger(__name__)

S3_DELETE_BATCH = 1000  # S3's limit of keys per DeleteObjects request


def donation_transition(
    *,
    donation: Donation,
    to_status: str,
    actor: User | None = None,
    note: str = "",
    where: dict[str, object] | None = None,
    **fields: object,
) -> Donation:
    """Move a donation to `to_status`, the only way its status ever changes.

    Checks the move against ALLOWED_TRANSITIONS (withdrawal is allowed from anywhere), applies it
    as a compare-and-set on the status the caller saw, sets `fields` in the same UPDATE, and
    writes a history row, all in one transaction. `where` adds conditions to the compare-and-set
    (a processing run's claim). Raises TransitionError when the move is not allowed or another
    process moved the donation first (or `where` no longer holds). Callers own the outer
    transaction.
    """
    from_status = donation.status
    allowed = ALLOWED_TRANSITIONS[from_status]
    if to_status != DonationStatus.WITHDRAWN and to_status not in allowed:
        raise TransitionError(f"A donation cannot go from {from_status} to {to_status}.")
    if to_status == from_status:
        raise TransitionError(f"The donation is already {from_status}.")
    now = timezone.now()
    with transaction.atomic():
        moved = Donation.objects.filter(pk=donation.pk, status=from_status, **(where or {})).update(
            status=to_status, updated_at=now, **fields
        )
        if not moved:
            raise TransitionError(f"The donation is no longer {from_status}.")
        DonationStatusChange.objects.create(
            donation=donation, from_status=from_status, to_status=to_status, actor=actor, note=note
        )
    donation.status = to_status
    donation.updated_at = now
    for name, value in fields.items():
        setattr(donation, name, value)
    logger.info("donation %s: %s -> %s", donation.pk, from_status, to_status)
    return donation


def donations_touch_stale(
    *, status: str, before: datetime, batch: int, take_over: bool = False
) -> list[Donation]:
    """Take up to `batch` donations in `status` whose last move (or touch) is older than
    `before`, oldest first, and touch them now, so the next sweep leaves them for a while.

    Rows another transaction holds are skipped (two sweepers never take the same one). With
    `take_over`, each also gets a new processing claim and one more lost run, so a run still
    holding the old claim can no longer finish it. Runs inside the caller's transaction, which
    queues the work after commit. Index: (status, updated_at).
    """
    now = timezone.now()
    donations = list(
        Donation.objects.select_for_update(skip_locked=True)
        .filter(status=status, updated_at__lt=before)
        .order_by("updated_at")[:batch]
    )
    fields: dict[str, object] = {"updated_at": now}
    if take_over:
        fields |= {"claimed_at": now, "lost_runs": F("lost_runs") + 1}
    Donation.objects.filter(pk__in=[d.pk for d in donations]).update(**fields)
    for donation in donations:
        donation.updated_at = now
        if take_over:
            donation.claimed_at = now
            donation.lost_runs += 1
    return donations


def donation_claim_renew(
    *, donation: Donation, expected: datetime | None, lost: bool = False
) -> datetime | None:
    """Give a `processing` donation a new claim (compare-and-set on `expected`, its current
    one); with `lost`, count one more lost run (the run holding `expected` died). Returns the
    new claim, or None when another run claimed it meanwhile or it moved on."""
    now = timezone.now()
    fields: dict[str, object] = {"claimed_at": now, "updated_at": now}
    if lost:
        fields["lost_runs"] = F("lost_runs") + 1
    moved = Donation.objects.filter(
        pk=donation.pk, status=DonationStatus.PROCESSING, claimed_at=expected
    ).update(**fields)
    if not moved:
        return None
    donation.claimed_at = donation.updated_at = now
    donation.lost_runs += int(lost)
    return now


def _store_upload(*, key: str, upload: UploadedFile) -> tuple[int, str]:
    """Hash the upload in chunks, then store it under `key`; returns (size, sha256)."""
    digest = hashlib.sha256()
    size = 0
    for chunk in upload.chunks():
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    stored_key = default_storage.save(key, upload)
    if stored_key != key:  # a server-generated key never collides; if it did, fail loudly
        default_storage.delete(stored_key)
        raise DonationError("Storage renamed the upload; nothing was saved.")
    return size, digest.hexdigest()


def _check_size(upload: UploadedFile, what: str) -> None:
    if not upload.size:
        raise DonationError(f"The {what} file is empty.")
    if upload.size > settings.MAX_UPLOAD_BYTES:
        limit_mb = settings.MAX_UPLOAD_BYTES // (1024 * 1024)
        raise DonationError(f"The {what} file is larger than the {limit_mb} MB limit.")


def donation_consent_require(*, donor: User, with_audio: bool) -> None:
    """Raise DonationError unless the donor's account-wide consent is a grant covering motion
    (and audio, when `with_audio`). Shared by every way of starting a donation."""
    consent = consent_event_get_effective(donor=donor, donation_id=None)
    if consent is None or consent.action != ConsentEvent.Action.GRANT:
        raise DonationError("Please give your consent before donating a recording.")
    if not any(s.startswith("motion:") for s in consent.scopes):
        raise DonationError("Your consent does not cover motion data, so we cannot accept it.")
    if with_audio and not any(s.startswith("audio:") for s in consent.scopes):
        raise DonationError(
            "Your consent does not cover voice audio. Upload the motion alone, or change your "
            "consent first."
        )


def donation_create_from_upload(
    *, donor: User, motion_file: UploadedFile, audio_file: UploadedFile | None = None
) -> Donation:
    """Create a donation from an uploaded motion file (and optional audio) and queue it.

    Requires the donor's effective account-wide consent to be a grant covering motion (and
    audio, when audio is given). Stores each file under `raw/<donation id>/<file id>` (never
    the donor's file name) with its size and SHA-256, moves the donation created -> uploaded,
    and enqueues processing after commit. If the database write fails, the stored objects are
    deleted, so nothing is left half-written.
    """
    from processing.tasks import process_donation

    donation_consent_require(donor=donor, with_audio=audio_file is not None)
    uploads = [(DonationFile.Kind.MOTION, motion_file)]
    if audio_file is not None:
        uploads.append((DonationFile.Kind.AUDIO, audio_file))
    for kind, upload in uploads:
        _check_size(upload, str(DonationFile.Kind(kind).label).lower())

    donation_id = uuid.uuid4()
    stored: list[tuple[str, uuid.UUID, str, int, str]] = []
    try:
        for kind, upload in uploads:
            file_id = uuid.uuid4()
            key = f"raw/{donation_id}/{file_id}"
            size, sha256 = _store_upload(key=key, upload=upload)
            stored.append((kind, file_id, key, size, sha256))
        with transaction.atomic(durable=True):
            donation = Donation.objects.create(id=donation_id, donor=donor)
            DonationFile.objects.bulk_create(
                DonationFile(
                    id=file_id, donation=donation, kind=kind, storage_key=key, size=size, sha256=sha
                )
                for kind, file_id, key, size, sha in stored
            )
            donation_transition(donation=donation, to_status=DonationStatus.UPLOADED, actor=donor)
            enqueue_on_commit(process_donation, str(donation.pk))
    except Exception:
        for _kind, _file_id, key, _size, _sha in stored:
            default_storage.delete(key)
        raise
    return donation


def donation_retry(*, donation: Donation, actor: User) -> Donation:
    """Send a donation whose processing failed back to the queue (failed -> uploaded).

    For admins, once the cause (usually storage) is fixed. Enqueues processing after commit.
    Raises TransitionError unless the donation is `failed`.
    """
    from processing.tasks import process_donation

    with transaction.atomic(durable=True):
        donation_transition(
            donation=donation,
            to_status=DonationStatus.UPLOADED,
            actor=actor,
            note="retry",
            problem_code="",
            problem_message="",
        )
        enqueue_on_commit(process_donation, str(donation.pk))
    return donation


def donation_review(
    *, donation: Donation, curator: User, accept: bool, reason: str = ""
) -> Donation:
    """Record a curator's decision on a processed donation and move it to accepted or declined.

    Nobody reviews their own donation: raises SelfReviewError when `curator` is its donor, for
    every caller (the curation pages, bulk actions, the admin, any API), before anything is
    written. Raises TransitionError if the donation is not awaiting review (for example, a
    second click). On commit of an acceptance, enqueues the (idempotent) award of the donor's
    credits.
    """
    if donation.donor_id == curator.pk:
        raise SelfReviewError(gettext("You cannot review your own donation; another curator will."))
    if not accept and not reason.strip():
        raise DonationError("Say why the donation is declined; the donor will see it.")
    to_status = DonationStatus.ACCEPTED if accept else DonationStatus.DECLINED
    with transaction.atomic(durable=True):
        donation_transition(donation=donation, to_status=to_status, actor=curator, note=reason)
        CurationDecision.objects.create(
            donation=donation,
            curator=curator,
            decision=CurationDecision.Decision.ACCEPT
            if accept
            else CurationDecision.Decision.DECLINE,
            reason=reason,
        )
        if accept:
            from rewards.tasks import award_for_donation  # rewards imports donations

            enqueue_on_commit(award_for_donation, str(donation.pk))
    return donation


# --- Withdrawal (consent) ----------------------------------------------------------------------


class StorageDeleteError(Exception):
    """Storage refused to delete some objects (the caller retries later)."""


class AlreadyWithdrawnError(DonationError):
    """The donation was withdrawn before; nothing more to do (the message says so)."""


def storage_delete_prefix(prefix: str) -> None:
    """Delete every object under `prefix`: one listing by prefix on S3, a folder walk on disk."""
    bucket = getattr(default_storage, "bucket", None)
    if bucket is not None:  # django-storages' S3Storage
        bucket.objects.filter(Prefix=default_storage._normalize_name(prefix)).delete()  # type: ignore[attr-defined]
        return
    if not default_storage.exists(prefix):
        return
    folders, files = default_storage.listdir(prefix)
    for name in files:
        default_storage.delete(f"{prefix.rstrip('/')}/{name}")
    for folder in folders:
        storage_delete_prefix(f"{prefix.rstrip('/')}/{folder}/")


def storage_delete_keys(keys: list[str]) -> None:
    """Delete the objects `keys` (missing ones are fine): one request per 1,000 keys on S3."""
    bucket = getattr(default_storage, "bucket", None)
    if bucket is None:
        for key in keys:
            default_storage.delete(key)
        return
    for start in range(0, len(keys), S3_DELETE_BATCH):
        chunk = keys[start : start + S3_DELETE_BATCH]
        answer = bucket.delete_objects(
            Delete={
                "Objects": [{"Key": default_storage._normalize_name(k)} for k in chunk],  # type: ignore[attr-defined]
                "Quiet": True,
            }
        )
        if answer.get("Errors"):  # never record as deleted what storage still holds
            raise StorageDeleteError(f"{len(answer['Errors'])} object(s) could not be deleted")


def pending_deletions_run(*, pending_ids: list[int]) -> int:
    """Delete the objects of these PendingObjectDeletion rows; returns how many were done.

    Each row is removed once its prefix is deleted; one whose storage call fails stays, with
    its attempt counted, for the sweeper. An artifact prefix that another (not withdrawn)
    donation uses is left in place: identical bytes, that donation's own consent. Safe to run
    twice at once: deleting what is gone is a no-op.
    """
    done = 0
    for pending in PendingObjectDeletion.objects.filter(pk__in=pending_ids).order_by("pk"):
        try:
            if not (
                pending.prefix.startswith("processed/")
                and Donation.objects.filter(artifact_prefix=pending.prefix).exists()
            ):
                storage_delete_prefix(pending.prefix)
        except Exception:
            logger.warning(
                "donation %s: deleting its objects failed; retried later",
                pending.donation_id,
                exc_info=True,
            )
            PendingObjectDeletion.objects.filter(pk=pending.pk).update(
                attempts=F("attempts") + 1, attempted_at=timezone.now()
            )
            continue
        PendingObjectDeletion.objects.filter(pk=pending.pk).delete()
        done += 1
        logger.info("donation %s: objects deleted after withdrawal", pending.donation_id)
    return done


def pending_deletions_sweep(*, batch: int = 500) -> dict[str, int]:
    """Retry the deletions that have waited past STUCK_GRACE_S (storage was down at the
    withdrawal's commit, or the process died before it ran). Oldest first, `batch` rows per
    call; logs and returns the counts."""
    cutoff = timezone.now() - timedelta(seconds=settings.STUCK_GRACE_S)
    ids = list(
        PendingObjectDeletion.objects.filter(attempted_at__lt=cutoff)
        .order_by("attempted_at", "id")
        .values_list("pk", flat=True)[:batch]
    )
    done = pending_deletions_run(pending_ids=ids) if ids else 0
    counts = {"found": len(ids), "deleted": done, "still_failing": len(ids) - done}
    logger.info("sweep withdrawn objects: %s", counts)
    return counts


def _donation_withdraw_in_transaction(*, donor: User, donation: Donation, method: str) -> Donation:
    from consent.services import consent_withdraw

    if donation.donor_id != donor.pk:  # callers fetch it through donation_get_for_user
        raise DonationError("This donation is not yours.")
    if donation.status == DonationStatus.WITHDRAWN:
        raise AlreadyWithdrawnError("This donation was already withdrawn.")
    artifact_prefix = donation.artifact_prefix
    # Artifacts are content-addressed: an identical upload by another donation shares them, and
    # that donation keeps its own consent. Its copy is the same bytes, so nothing more leaks.
    sharing = Donation.objects.filter(artifact_prefix=artifact_prefix).exclude(pk=donation.pk)
    if artifact_prefix and sharing.exists():
        artifact_prefix = ""
    consent_withdraw(donor=donor, donation_id=donation.pk, method=method)
    try:
        donation_transition(
            donation=donation,
            to_status=DonationStatus.WITHDRAWN,
            actor=donor,
            note="withdrawn by the donor",
            artifact_prefix="",
        )
    except TransitionError as exc:
        # Another request moved it meanwhile; if that was a withdrawal, say so plainly.
        if Donation.objects.filter(pk=donation.pk, status=DonationStatus.WITHDRAWN).exists():
            raise AlreadyWithdrawnError("This donation was already withdrawn.") from exc
        raise
    # The outbox: what to delete is recorded with the withdrawal; deleted after the commit,
    # and retried by the sweeper if storage fails then.
    prefixes = [f"raw/{donation.pk}/"]  # every raw file (server-generated keys), any upload
    if artifact_prefix:
        prefixes.append(artifact_prefix)
    pending = PendingObjectDeletion.objects.bulk_create(
        PendingObjectDeletion(donation=donation, prefix=prefix) for prefix in prefixes
    )
    pending_ids = [p.pk for p in pending]
    transaction.on_commit(
        lambda: pending_deletions_run(pending_ids=pending_ids),
        robust=True,
    )
    return donation


def donation_withdraw(*, donor: User, donation: Donation, method: str) -> Donation:
    """Withdraw consent for one donation: evidence, status, then its objects.

    In one transaction: appends a per-donation `withdraw` ConsentEvent and moves the donation to
    `withdrawn` (which keeps it out of every later release build, as builds select accepted
    donations only). After commit, deletes its raw objects and everything under its artifact
    prefix. A worker still processing it re-reads the status and discards its output.
    Raises AlreadyWithdrawnError for a donation withdrawn before (safe to retry).
    """
    with transaction.atomic(durable=True):
        return _donation_withdraw_in_transaction(donor=donor, donation=donation, method=method)


def donation_withdraw_all(*, donor: User, method: str) -> list[Donation]:
    """Withdraw everything: each donation not yet withdrawn, then an account-wide withdrawal.

    One transaction; the objects of each donation are deleted after commit. Returns the
    donations withdrawn now (possibly none). Safe to retry.
    """
    with transaction.atomic(durable=True):
        return donation_withdraw_all_in_transaction(donor=donor, method=method)


def donation_withdraw_all_in_transaction(*, donor: User, method: str) -> list[Donation]:
    """donation_withdraw_all inside the caller's transaction (account deletion uses it)."""
    from consent.services import consent_withdraw

    withdrawn = []
    pending = Donation.objects.filter(donor=donor).exclude(status=DonationStatus.WITHDRAWN)
    for donation in pending.select_for_update().order_by("created_at"):
        withdrawn.append(
            _donation_withdraw_in_transaction(donor=donor, donation=donation, method=method)
        )
    consent_withdraw(donor=donor, donation_id=None, method=method)
    return withdrawn


# --- Retention of rejected uploads -------------------------------------------------------------


def donation_raw_purge_rejected(*, batch_size: int = 500, max_batches: int = 20) -> int:
    """Delete the raw uploads of donations rejected more than REJECTED_RAW_RETENTION_DAYS ago.

    Works in batches of `batch_size` donations, oldest rejection first, at most `max_batches`
    per call (the next call goes on where this one stopped): each batch is one range read of the
    partial index `donation_rejected_raw_kept`, one read of its file keys, the objects' deletion
    (one request per 1,000 keys on S3), then one UPDATE setting `raw_deleted_at`, which takes
    the donation out of the index. The DonationFile rows (kind, size, SHA-256) stay as the record.
    Objects go before the mark, so a crash in between only repeats a deletion: safe to retry
    and to run twice at once. A donation withdrawn meanwhile is left to the withdrawal. Returns
    how many donations were purged.
    """
    rejected_before = timezone.now() - timedelta(days=settings.REJECTED_RAW_RETENTION_DAYS)
    purged = 0
    for _ in range(max_batches):
        ids = list(
            donation_list_rejected_raw_due(rejected_before=rejected_before).values_list(
                "pk", flat=True
            )[:batch_size]
        )
        if not ids:
            break
        keys = list(
            DonationFile.objects.filter(donation_id__in=ids).values_list("storage_key", flat=True)
        )
        storage_delete_keys(keys)
        with transaction.atomic(durable=True):
            purged += Donation.objects.filter(
                pk__in=ids, status=DonationStatus.REJECTED, raw_deleted_at__isnull=True
            ).update(raw_deleted_at=timezone.now())
        if len(ids) < batch_size:
            break
    if purged:
        logger.info("raw uploads of %d rejected donation(s) deleted", purged)
    return purged

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DonationStatus(models.TextChoices):
    CREATED = "created", _("Created")
    UPLOADED = "uploaded", _("Uploaded")
    PROCESSING = "processing", _("Processing")
    PROCESSED = "processed", _("Processed")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    # The upload was cancelled or never finished; nothing of it is kept.
    ABANDONED = "abandoned", _("Abandoned")


# DESIGN.md, "The journey of a recording". Withdrawal is allowed from any status but itself.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    DonationStatus.CREATED: frozenset({DonationStatus.UPLOADED, DonationStatus.ABANDONED}),
    DonationStatus.UPLOADED: frozenset({DonationStatus.PROCESSING}),
    DonationStatus.PROCESSING: frozenset(
        {DonationStatus.PROCESSED, DonationStatus.REJECTED, DonationStatus.FAILED}
    ),
    DonationStatus.PROCESSED: frozenset({DonationStatus.ACCEPTED, DonationStatus.DECLINED}),
    DonationStatus.FAILED: frozenset({DonationStatus.UPLOADED}),
    DonationStatus.REJECTED: frozenset(),
    DonationStatus.ACCEPTED: frozenset(),
    DonationStatus.DECLINED: frozenset(),
    DonationStatus.WITHDRAWN: frozenset(),
    DonationStatus.ABANDONED: frozenset(),
}


class Donation(models.Model):
    """One recording a donor gives: its files, its status, and what processing made of it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    donor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="donations"
    )
    status = models.CharField(
        max_length=16, choices=DonationStatus.choices, default=DonationStatus.CREATED
    )
    # Why a file was rejected or processing failed: a stable code and a message for the donor.
    problem_code = models.CharField(max_length=64, blank=True)
    problem_message = models.TextField(blank=True)
    # Content-addressed prefix of the processed artifacts, and the facts researchers will see.
    # Indexed: a deletion checks that no other donation shares the (content-addressed) prefix.
    artifact_prefix = models.CharField(max_length=255, blank=True, db_index=True)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Set by every status move (and by a sweeper that queues the donation again): how long it
    # has waited in its status, which the sweepers read through the (status, updated_at) index.
    updated_at = models.DateTimeField(auto_now=True)
    # When the raw upload of a rejected donation was deleted, REJECTED_RAW_RETENTION_DAYS after
    # its rejection (donation_raw_purge_rejected); its DonationFile rows stay as the record.
    raw_deleted_at = models.DateTimeField(null=True, blank=True)
    # The processing run that owns a `processing` donation: set when a run starts (or is taken
    # over by the sweeper). A run finishes the donation only while this is still its claim, so a
    # late run and the one that replaced it cannot both finish it.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Runs lost mid-way (a worker killed, a message redelivered): bounded, so a recording that
    # kills its worker every time ends `failed` instead of looping.
    lost_runs = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=("status", "updated_at"), name="donation_status_since"),
            # Exactly the rejected donations whose raw files are still stored, oldest change
            # first: the purge reads a bounded range of it, never the whole table.
            models.Index(
                fields=["updated_at"],
                name="donation_rejected_raw_kept",
                condition=models.Q(status="rejected", raw_deleted_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return str(self.id)


class PendingObjectDeletion(models.Model):
    """Objects to delete after a commit (a withdrawal), written in the same transaction.

    The outbox of deletions: the row is removed once storage confirmed the deletion, so a
    deletion that failed (storage down) is retried by donations.sweep_withdrawn_objects.
    """

    donation = models.ForeignKey(Donation, on_delete=models.CASCADE, related_name="+")
    # A key prefix: everything under it goes (`raw/<donation>/`, an artifact prefix).
    prefix = models.CharField(max_length=255)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    attempted_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("attempted_at", "id")

    def __str__(self) -> str:
        return self.prefix


class DonationFile(models.Model):
    """A file stored for a donation, under a server-generated key.

    The donor's own file name is not kept: it may identify them, and nothing needs it.
    """

    class Kind(models.TextChoices):
        MOTION = "motion", _("Motion")
        AUDIO = "audio", _("Audio")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    donation = models.ForeignKey(Donation, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    storage_key = models.CharField(max_length=255, unique=True)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("donation", "kind"), name="one_file_per_kind"),
        ]

    def __str__(self) -> str:
        return self.storage_key


class DonationStatusChange(models.Model):
    """History row for every status move; written by donation_transition only."""

    donation = models.ForeignKey(Donation, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=16, choices=DonationStatus.choices)
    to_status = models.CharField(max_length=16, choices=DonationStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"{self.from_status} -> {self.to_status}"


class CurationDecision(models.Model):
    """A curator's accept or decline of a processed donation, with the reason the donor sees."""

    class Decision(models.TextChoices):
        ACCEPT = "accept", _("Accept")
        DECLINE = "decline", _("Decline")

    donation = models.ForeignKey(Donation, on_delete=models.CASCADE, related_name="decisions")
    curator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=16, choices=Decision.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.decision} {self.donation_id}"


class UploadSession(models.Model):
    """One file of a donation on its way to object storage, uploaded in parts (S3 multipart).

    The object lands under `storage_key` (`raw/<donation>/<file id>`, never the donor's file
    name); `file_id` becomes the DonationFile's id when the upload completes. Every part but the
    last is exactly `part_size` bytes, which lets the worker re-check each part's checksum.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        COMPLETED = "completed", _("Completed")
        ABORTED = "aborted", _("Aborted")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    donation = models.ForeignKey(Donation, on_delete=models.CASCADE, related_name="upload_sessions")
    kind = models.CharField(max_length=16, choices=DonationFile.Kind.choices)
    file_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    storage_key = models.CharField(max_length=255, unique=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField()
    part_size = models.PositiveBigIntegerField()
    part_count = models.PositiveIntegerField()
    # The S3 multipart upload id; empty with local-disk storage.
    s3_upload_id = models.CharField(max_length=1024, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("created_at",)
        constraints = [
            models.UniqueConstraint(fields=("donation", "kind"), name="one_upload_per_kind"),
        ]

    def __str__(self) -> str:
        return str(self.id)

    def part_length(self, part_number: int) -> int:
        """How many bytes part `part_number` (1-based) holds: part_size, less for the last."""
        return min(self.part_size, self.size - (part_number - 1) * self.part_size)


class UploadPart(models.Model):
    """The SHA-256 (base64, as S3 spells it) a client declared for one part when it was signed.

    The worker recomputes each part's digest over the stored object and compares: the record
    makes it authoritative even where storage does not verify part checksums.
    """

    session = models.ForeignKey(UploadSession, on_delete=models.CASCADE, related_name="parts")
    part_number = models.PositiveIntegerField()
    checksum_sha256 = models.CharField(max_length=44)
    stored_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("part_number",)
        constraints = [
            models.UniqueConstraint(fields=("session", "part_number"), name="one_row_per_part"),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.part_number}"

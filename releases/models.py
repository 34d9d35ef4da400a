import secrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

SEMVER = RegexValidator(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$",
    _("Use a semantic version such as 1.0.0."),
)


def _new_pseudonym_secret() -> str:
    return secrets.token_hex(32)


class Dataset(models.Model):
    """A long-lived dataset; its content lives in immutable, versioned releases."""

    class AccessTier(models.TextChoices):
        OPEN = "open", _("Open")
        RESTRICTED = "restricted", _("Restricted (data-use agreement)")

    class BodySize(models.TextChoices):
        KEEP = "keep", _("Keep body size")
        NORMALIZE = "normalize", _("Normalize to a reference height")
        NOISE = "noise", _("Bounded random scaling")

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    licence = models.CharField(max_length=64, default="CC-BY-4.0")
    access_tier = models.CharField(
        max_length=16, choices=AccessTier.choices, default=AccessTier.OPEN
    )
    required_scopes = models.JSONField(default=list)
    # Modalities the releases carry beyond motion ("audio", "events"); motion is always carried.
    modalities = models.JSONField(default=list, blank=True)
    body_size = models.CharField(max_length=16, choices=BodySize.choices, default=BodySize.KEEP)
    dua_text = models.TextField(blank=True)
    citation = models.TextField(
        blank=True, help_text=_("How to cite the dataset, if not the generated citation.")
    )
    doi = models.CharField(max_length=128, blank=True)
    # Keys the HMAC pseudonyms of this dataset's releases; never shown or exported.
    pseudonym_secret = models.CharField(
        max_length=64, default=_new_pseudonym_secret, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("slug",)

    def __str__(self) -> str:
        return self.title


class Release(models.Model):
    """One immutable version of a dataset. Files are frozen once it is built."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        BUILDING = "building", _("Building")
        BUILT = "built", _("Built")
        PUBLISHED = "published", _("Published")
        SUPERSEDED = "superseded", _("Superseded")
        FAILED = "failed", _("Build failed")

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="releases")
    version = models.CharField(max_length=32, validators=[SEMVER])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    notes = models.TextField(blank=True)
    problem = models.TextField(blank=True)
    # Which step of the build failed ("planning", "shard 3", "final files"); `problem` says why.
    failed_step = models.CharField(max_length=64, blank=True)
    # The build's last sign of life: queued, planned, a shard done, retried. The sweeper queues a
    # draft (or resumes a building release) that has shown none for too long.
    progress_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    built_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    # Fixed when the build is planned, so a retried shard writes the same bytes.
    shard_target_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    shard_count = models.PositiveIntegerField(null=True, blank=True)
    # Recordings planning left out, [{"recording_id", "reason"}] (a normalize build cannot
    # scale a recording whose height is unknown); changes.json and the datasheet list them.
    excluded = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ("dataset", "-created_at")
        constraints = [
            models.UniqueConstraint(fields=("dataset", "version"), name="unique_release_version")
        ]
        indexes = [models.Index(fields=("status", "progress_at"), name="release_status_progress")]

    def __str__(self) -> str:
        return f"{self.dataset.slug} {self.version}"

    @property
    def storage_prefix(self) -> str:
        return f"releases/{self.dataset.slug}/{self.version}/"


class ReleaseItem(models.Model):
    """A recording in a release, and the consent event that admitted it at build time."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="items")
    donation = models.ForeignKey(
        "donations.Donation", on_delete=models.PROTECT, related_name="release_items"
    )
    consent_event = models.ForeignKey(
        "consent.ConsentEvent", on_delete=models.PROTECT, related_name="release_items"
    )
    recording_pseudonym = models.CharField(max_length=64)
    contributor_pseudonym = models.CharField(max_length=64)
    shard = models.PositiveIntegerField(default=0)
    with_audio = models.BooleanField(default=False)
    with_events = models.BooleanField(default=False)
    # The processed artifact prefix it was built from (content-addressed): a change between
    # versions means the donation was re-processed.
    artifact_prefix = models.CharField(max_length=255, blank=True)
    # The dataset's body-size profile as a factor on positions, fixed at planning so a retried
    # shard writes the same bytes; 1.0 for keep. Never published (it would reveal the height).
    body_scale = models.FloatField(default=1.0)

    class Meta:
        ordering = ("release", "recording_pseudonym")
        constraints = [
            models.UniqueConstraint(fields=("release", "donation"), name="unique_release_item"),
            models.UniqueConstraint(
                fields=("release", "recording_pseudonym"), name="unique_release_recording"
            ),
        ]

    def __str__(self) -> str:
        return self.recording_pseudonym


class ReleaseShard(models.Model):
    """One shard task of a build; the last shard to finish enqueues the final metadata task."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="shards")
    index = models.PositiveIntegerField()
    done = models.BooleanField(default=False)
    # The files this shard wrote: [{"path", "size", "sha256"}], read by the final task.
    files = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ("release", "index")
        constraints = [
            models.UniqueConstraint(fields=("release", "index"), name="unique_release_shard")
        ]

    def __str__(self) -> str:
        return f"{self.release_id} shard {self.index}"


class ReleaseFile(models.Model):
    """A file of a built release, as listed in its manifest."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ("path",)
        constraints = [
            models.UniqueConstraint(fields=("release", "path"), name="unique_release_file")
        ]

    def __str__(self) -> str:
        return self.path

    @property
    def storage_key(self) -> str:
        return f"{self.release.storage_prefix}{self.path}"


class Download(models.Model):
    """One download of a release file (every download is logged; no IP address is kept)."""

    release_file = models.ForeignKey(ReleaseFile, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    via = models.CharField(max_length=16, default="web")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.release_file_id} at {self.created_at:%Y-%m-%d %H:%M}"


class DataUseAgreementAcceptance(models.Model):
    """A researcher accepted one text (by its SHA-256) of a restricted dataset's agreement."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="dua_acceptances")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dua_acceptances"
    )
    dua_sha256 = models.CharField(max_length=64)
    accepted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-accepted_at",)
        constraints = [
            models.UniqueConstraint(
                fields=("dataset", "user", "dua_sha256"), name="unique_dua_acceptance"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} accepted {self.dataset_id} ({self.dua_sha256[:12]})"

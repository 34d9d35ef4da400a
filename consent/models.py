import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from consent.scopes import Credit


class ConsentDocument(models.Model):
    """One version of the consent text a donor reads. Published versions are never edited."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200)
    text = models.TextField(help_text=_("Markdown."))
    sha256 = models.CharField(max_length=64, editable=False)
    effective_at = models.DateTimeField()
    scopes_offered = models.JSONField(default=list)
    summary_of_changes = models.TextField(
        blank=True, help_text=_("What changed since the previous version, for donors.")
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-version",)

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"

    @staticmethod
    def hash_text(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove evidence that must only ever be added to."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: object) -> int:
        raise AppendOnlyError("Consent events are append-only: add a new event instead.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Consent events are append-only and are never deleted.")


class ConsentEvent(models.Model):
    """An append-only record of a grant or withdrawal (never updated or deleted).

    `donation` is null for an account-wide event (the default for all of the donor's donations).
    The row's id is the receipt id. A PostgreSQL trigger rejects UPDATE and DELETE too.
    """

    class Action(models.TextChoices):
        GRANT = "grant", _("Grant")
        WITHDRAW = "withdraw", _("Withdraw")

    class Method(models.TextChoices):
        WEB = "web", _("Web form")
        API = "api", _("API")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    donor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consent_events"
    )
    donation = models.ForeignKey(
        "donations.Donation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consent_events",
    )
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="events")
    document_sha256 = models.CharField(max_length=64)
    action = models.CharField(max_length=16, choices=Action.choices)
    scopes = models.JSONField(default=list)
    # The change from the grant in force before this event (for its donation, or the account
    # default): scopes it added and withdrew, each sorted. Null on events recorded before the
    # change was kept (migration 0006).
    scopes_added = models.JSONField(null=True, blank=True)
    scopes_withdrawn = models.JSONField(null=True, blank=True)
    credit = models.CharField(max_length=16, choices=Credit.choices, default=Credit.ANONYMOUS)
    method = models.CharField(max_length=16, choices=Method.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=("donor", "donation", "-created_at"))]

    def __str__(self) -> str:
        return f"{self.action} {self.id}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Consent events are append-only: add a new event instead.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Consent events are append-only and are never deleted.")

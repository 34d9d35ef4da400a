"""Reward rules, donor accounts, the append-only ledger and payout requests (DESIGN.md, Rewards).

Credits are integers. A donor's balance is the sum of their ledger entries; a payout request
holds its credits with a `payout` entry and a rejection releases them with a `reversal`.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RewardRule(models.Model):
    """One version of how accepted recordings are priced. Never edited once created: a change is
    a new version with a later effective date, so every credit keeps the rule that priced it."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    credits_per_minute = models.PositiveIntegerField(_("credits per accepted minute of motion"))
    audio_bonus = models.PositiveIntegerField(
        _("bonus for audio"), default=0, help_text=_("Credits added once per recording with audio.")
    )
    events_bonus = models.PositiveIntegerField(
        _("bonus for events"),
        default=0,
        help_text=_("Credits added once per recording with in-app events."),
    )
    daily_cap = models.PositiveIntegerField(
        _("daily cap per donor"),
        null=True,
        blank=True,
        help_text=_("Most credits one donor can earn from recordings accepted on one day."),
    )
    effective_at = models.DateTimeField(_("effective from"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-version",)
        verbose_name = _("reward rule")
        verbose_name_plural = _("reward rules")

    def __str__(self) -> str:
        return f"v{self.version}"


class RewardAccount(models.Model):
    """A donor's rewards profile, and the row every ledger write locks (SELECT ... FOR UPDATE),
    so that balance checks and writes for one donor happen one at a time."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="reward_account",
    )
    leaderboard_opt_in = models.BooleanField(_("show me on the leaderboard"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reward account")
        verbose_name_plural = _("reward accounts")

    def __str__(self) -> str:
        return str(self.user_id)


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove a ledger entry; corrections are new entries."""


class LedgerQuerySet(models.QuerySet):
    def update(self, **kwargs: object) -> int:
        raise AppendOnlyError("Ledger entries are append-only: add a correcting entry instead.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Ledger entries are append-only and are never deleted.")


class PayoutRequest(models.Model):
    """A donor's request to be paid out credits. Its credits are held (a `payout` ledger entry)
    from the request on; a rejection releases them (a `reversal` entry)."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        PAID = "paid", _("Paid")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(RewardAccount, on_delete=models.PROTECT, related_name="payouts")
    credits = models.PositiveIntegerField(_("credits"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.REQUESTED
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("note to the donor"), blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    external_reference = models.CharField(_("external reference"), max_length=200, blank=True)
    # Chosen by the client when it shows the form, so a double submit makes one request.
    request_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = _("payout request")
        verbose_name_plural = _("payout requests")
        constraints = [
            models.CheckConstraint(condition=Q(credits__gt=0), name="payout_credits_positive"),
            models.CheckConstraint(
                condition=~Q(status="paid") | ~Q(external_reference=""),
                name="paid_payout_has_reference",
            ),
            models.UniqueConstraint(
                fields=("account", "request_key"),
                condition=~Q(request_key=""),
                name="one_payout_per_request_key",
            ),
        ]

    def __str__(self) -> str:
        return str(self.id)


class LedgerEntry(models.Model):
    """One append-only movement of credits (never updated or deleted; a PostgreSQL trigger
    refuses UPDATE and DELETE too). `idempotency_key` is unique, so an operation retried with
    the same key can add nothing twice."""

    class Kind(models.TextChoices):
        AWARD = "award", _("Award")
        ADJUSTMENT = "adjustment", _("Adjustment")
        PAYOUT = "payout", _("Payout")
        REVERSAL = "reversal", _("Reversal")

    account = models.ForeignKey(RewardAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    credits = models.IntegerField(_("credits"))
    idempotency_key = models.CharField(max_length=200, unique=True)
    donation = models.ForeignKey(
        "donations.Donation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
    )
    payout = models.ForeignKey(
        PayoutRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="entries"
    )
    rule = models.ForeignKey(
        RewardRule, on_delete=models.PROTECT, null=True, blank=True, related_name="entries"
    )
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    # Who caused the entry (a curator, an admin, the donor); null for the system.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(_("reason"))
    # How an award was priced (duration, modalities, cap), so a statement can be checked by hand.
    pricing = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        indexes = [models.Index(fields=("account", "-created_at"))]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="award")
                | Q(credits__gte=0, donation__isnull=False, rule__isnull=False),
                name="award_has_donation_and_rule",
            ),
            models.CheckConstraint(
                condition=~Q(kind="payout") | Q(credits__lt=0, payout__isnull=False),
                name="payout_holds_credits",
            ),
            models.CheckConstraint(
                condition=~Q(kind="reversal") | Q(reverses__isnull=False),
                name="reversal_names_its_entry",
            ),
            models.CheckConstraint(
                condition=~Q(kind="adjustment") | ~Q(credits=0),
                name="adjustment_not_zero",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.credits:+d} ({self.idempotency_key})"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Ledger entries are append-only: add a correcting entry instead.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Ledger entries are append-only and are never deleted.")

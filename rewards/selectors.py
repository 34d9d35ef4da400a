from datetime import datetime
from uuid import UUID

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from rewards.models import LedgerEntry, PayoutRequest, RewardAccount, RewardRule


def reward_rule_in_force(*, at: datetime | None = None) -> RewardRule | None:
    """The rule with the latest effective date not after `at` (default now), or None."""
    return (
        RewardRule.objects.filter(effective_at__lte=at or timezone.now())
        .order_by("-effective_at", "-version")
        .first()
    )


def reward_rule_list() -> QuerySet[RewardRule]:
    return RewardRule.objects.order_by("-version")


def ledger_balance(*, account: RewardAccount) -> int:
    """The sum of the account's entries. Callers that write lock the account row first."""
    return LedgerEntry.objects.filter(account=account).aggregate(total=Sum("credits"))["total"] or 0


def reward_balance_for_user(*, user: User) -> dict[str, int]:
    """The donor's balance (available now) and the credits held for pending payouts (one query)."""
    totals = LedgerEntry.objects.filter(account_id=user.pk).aggregate(
        balance=Sum("credits"),
        held=Sum(
            "payout__credits",
            filter=Q(
                kind=LedgerEntry.Kind.PAYOUT,
                payout__status__in=(PayoutRequest.Status.REQUESTED, PayoutRequest.Status.APPROVED),
            ),
        ),
    )
    return {"balance": totals["balance"] or 0, "held": totals["held"] or 0}


def ledger_entry_list_for_user(*, user: User) -> QuerySet[LedgerEntry]:
    """The donor's own entries, newest first, with the donation, rule and payout behind each."""
    return (
        LedgerEntry.objects.filter(account_id=user.pk)
        .select_related("donation", "rule", "payout")
        .order_by("-created_at", "-id")
    )


def reward_account_get_for_user(*, user: User) -> RewardAccount | None:
    return RewardAccount.objects.filter(user=user).first()


def payout_list_for_user(*, user: User) -> QuerySet[PayoutRequest]:
    return PayoutRequest.objects.filter(account_id=user.pk).order_by("-created_at")


def payout_get_for_user(*, user: User, payout_id: UUID | str) -> PayoutRequest | None:
    """The donor's own payout request, or None (callers answer 404 for someone else's)."""
    return PayoutRequest.objects.filter(account_id=user.pk, pk=payout_id).first()


def payout_list_approved() -> QuerySet[PayoutRequest]:
    """Approved payouts awaiting payment, oldest first, for the payment export."""
    return (
        PayoutRequest.objects.filter(status=PayoutRequest.Status.APPROVED)
        .select_related("account__user")
        .order_by("created_at")
    )


def leaderboard_list(*, limit: int = 50) -> list[dict[str, object]]:
    """Opted-in donors with a pseudonym, by credits earned from awards (payouts do not lower a
    rank). Only pseudonyms and totals: never an email or an id."""
    rows = (
        LedgerEntry.objects.filter(
            kind=LedgerEntry.Kind.AWARD,
            account__leaderboard_opt_in=True,
            account__user__pseudonym__isnull=False,
            account__user__is_active=True,
        )
        .exclude(account__user__pseudonym="")
        .values("account__user__pseudonym")
        .annotate(earned=Sum("credits"))
        .filter(earned__gt=0)
        .order_by("-earned", "account__user__pseudonym")[:limit]
    )
    return [{"pseudonym": r["account__user__pseudonym"], "earned": r["earned"]} for r in rows]

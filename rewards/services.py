"""Writes to the rewards ledger. Every write locks the donor's RewardAccount row first
(SELECT ... FOR UPDATE), then checks the balance or the idempotency key and inserts: two writes
for one donor never interleave, so no balance goes negative and no key is spent twice. The
UNIQUE idempotency key is the last line of defence should a caller skip the lock."""

import enum
import logging
import math
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from donations.models import DonationStatus
from donations.selectors import donation_get_if_ever_accepted, donations_in_status_between
from metagen.queueing import enqueue
from rewards.exceptions import PayoutTransitionError, RewardError
from rewards.models import LedgerEntry, PayoutRequest, RewardAccount, RewardRule
from rewards.selectors import (
    ledger_balance,
    reward_rule_in_force,
)

logger = logging.getLogger(__name__)


def award_key(donation_id: UUID | str) -> str:
    return f"award:{donation_id}"


def _account_lock(*, user_id: int) -> RewardAccount:
    """The donor's account row, created if missing (without racing another creator), locked
    until the surrounding transaction ends."""
    RewardAccount.objects.bulk_create([RewardAccount(user_id=user_id)], ignore_conflicts=True)
    return RewardAccount.objects.select_for_update().get(user_id=user_id)


def _entry_create(**fields: object) -> LedgerEntry:
    """Insert one entry in a savepoint; a duplicate key returns the entry already there."""
    try:
        with transaction.atomic():
            return LedgerEntry.objects.create(**fields)
    except IntegrityError:
        existing = LedgerEntry.objects.filter(idempotency_key=fields["idempotency_key"]).first()
        if existing is None:
            raise
        return existing


def price_recording(*, rule: RewardRule, summary: dict[str, object]) -> dict[str, object]:
    """How many credits a recording earns under `rule` before any daily cap.

    Minutes are the motion's duration (to the millisecond) / 60, rounded down to whole credits;
    each extra modality present adds its bonus once.
    """
    duration_ms = int(float(summary.get("duration_s") or 0) * 1000)  # type: ignore[arg-type]
    motion = math.floor(duration_ms * rule.credits_per_minute / 60_000)
    has_audio = bool(summary.get("audio"))
    has_events = bool(summary.get("events"))
    bonus = (rule.audio_bonus if has_audio else 0) + (rule.events_bonus if has_events else 0)
    total = motion + bonus
    return {
        "duration_s": duration_ms / 1000,
        "motion_credits": motion,
        "audio": has_audio,
        "events": has_events,
        "uncapped_credits": total,
    }


def reward_award_for_donation(*, donation_id: UUID | str) -> LedgerEntry | None:
    """Credit the donor of an accepted donation, once.

    Preconditions: the donation was accepted (it may have been withdrawn since: credits earned
    stay). A donation never accepted, missing, or with no reward rule in force earns nothing and
    returns None.

    Who may not benefit: a donor from their own review. A donation accepted by its own donor
    earns nothing and returns None (donation_review refuses self-review; this is the second
    line, should any other path record such an acceptance).

    Priced by the rule in force when the donation was made (the one the donor was shown), or
    the current rule when none was in force then; the donor's daily cap counts awards made today
    (local date). Safe to retry and to run concurrently: the key `award:<donation>` is checked
    under the account lock and is UNIQUE in the database; a repeat returns the existing entry.
    """
    donation = donation_get_if_ever_accepted(donation_id=donation_id)
    if donation is None:
        logger.info("donation %s not accepted; no award", donation_id)
        return None
    if donation.accepted_by_id == donation.donor_id:  # type: ignore[attr-defined]
        logger.warning("donation %s accepted by its own donor; no award", donation.pk)
        return None
    key = award_key(donation.pk)
    with transaction.atomic(durable=True):
        account = _account_lock(user_id=donation.donor_id)
        existing = LedgerEntry.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing
        now = timezone.now()
        rule = reward_rule_in_force(at=donation.created_at) or reward_rule_in_force(at=now)
        if rule is None:
            logger.warning("donation %s accepted but no reward rule is in force", donation.pk)
            return None
        pricing = price_recording(rule=rule, summary=donation.summary)
        credits = int(pricing["uncapped_credits"])  # type: ignore[call-overload]
        if rule.daily_cap is not None:
            start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
            today = (
                LedgerEntry.objects.filter(
                    account=account, kind=LedgerEntry.Kind.AWARD, created_at__gte=start
                ).aggregate(total=Sum("credits"))["total"]
                or 0
            )
            credits = max(0, min(credits, rule.daily_cap - today))
            pricing["daily_cap"] = rule.daily_cap
            pricing["awarded_earlier_today"] = today
        entry = _entry_create(
            account=account,
            kind=LedgerEntry.Kind.AWARD,
            credits=credits,
            idempotency_key=key,
            donation_id=donation.pk,
            rule=rule,
            actor_id=donation.accepted_by_id,  # type: ignore[attr-defined]
            reason=gettext_noop("Accepted recording"),
            pricing=pricing,
        )
    logger.info("award %s: %d credits for donation %s", entry.pk, entry.credits, donation.pk)
    return entry


def ledger_adjust(
    *, user: User, credits: int, reason: str, actor: User, idempotency_key: str
) -> LedgerEntry:
    """An admin's correction: a new entry of `credits` (either sign) with its reason.

    Raises RewardError for zero credits, no reason, or a debit the balance cannot cover.
    Safe to retry with the same key (returns the first entry).
    """
    if credits == 0:
        raise RewardError(_("An adjustment must add or remove at least one credit."))
    if not reason.strip():
        raise RewardError(_("Say why the balance is adjusted; the donor will see it."))
    with transaction.atomic(durable=True):
        account = _account_lock(user_id=user.pk)
        existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
        if credits < 0 and ledger_balance(account=account) + credits < 0:
            raise RewardError(_("This adjustment would make the balance negative."))
        return _entry_create(
            account=account,
            kind=LedgerEntry.Kind.ADJUSTMENT,
            credits=credits,
            idempotency_key=idempotency_key,
            actor=actor,
            reason=reason.strip(),
        )


def payout_request_create(
    *, user: User, credits: int, request_key: str | None = None
) -> PayoutRequest:
    """Request a payout of `credits` and hold them (a `payout` entry of -credits).

    Raises RewardError below the minimum (settings.REWARDS_PAYOUT_MINIMUM) or above the balance.
    The balance is read under the account lock, so concurrent requests can hold at most the
    balance. With a `request_key` (the form's, or an API client's) a repeat of the same request
    returns the first one (a double click makes one request); without one, every call is new.
    """
    minimum = settings.REWARDS_PAYOUT_MINIMUM
    if credits < minimum:
        raise RewardError(_("The smallest payout is %(minimum)d credits.") % {"minimum": minimum})
    with transaction.atomic(durable=True):
        account = _account_lock(user_id=user.pk)
        if request_key:
            earlier = PayoutRequest.objects.filter(account=account, request_key=request_key).first()
            if earlier is not None:
                return earlier
        balance = ledger_balance(account=account)
        if credits > balance:
            raise RewardError(
                _("You asked for %(credits)d credits but your balance is %(balance)d.")
                % {"credits": credits, "balance": balance}
            )
        payout = PayoutRequest.objects.create(
            account=account, credits=credits, request_key=request_key or ""
        )
        _entry_create(
            account=account,
            kind=LedgerEntry.Kind.PAYOUT,
            credits=-credits,
            idempotency_key=f"payout:{payout.pk}:hold",
            payout=payout,
            actor=user,
            reason=gettext_noop("Payout requested"),
        )
    logger.info("payout %s requested", payout.pk)
    return payout


def _payout_move(
    *, payout_id: UUID | str, from_statuses: tuple[str, ...], to_status: str, **fields: object
) -> int:
    return PayoutRequest.objects.filter(pk=payout_id, status__in=from_statuses).update(
        status=to_status, **fields
    )


def payout_approve(*, payout: PayoutRequest, admin: User) -> PayoutRequest:
    """Approve a requested payout (its credits stay held). Raises PayoutTransitionError unless
    it is `requested` (compare-and-set, so a second click changes nothing)."""
    with transaction.atomic(durable=True):
        moved = _payout_move(
            payout_id=payout.pk,
            from_statuses=(PayoutRequest.Status.REQUESTED,),
            to_status=PayoutRequest.Status.APPROVED,
            decided_by=admin,
            decided_at=timezone.now(),
        )
        if not moved:
            raise PayoutTransitionError(_("Only a requested payout can be approved."))
    payout.refresh_from_db()
    return payout


def payout_reject(*, payout: PayoutRequest, admin: User, note: str) -> PayoutRequest:
    """Reject a requested or approved payout and release its hold (a `reversal` entry that
    names the hold). Raises RewardError without a note, PayoutTransitionError once decided."""
    if not note.strip():
        raise RewardError(_("Say why the payout is rejected; the donor will see it."))
    with transaction.atomic(durable=True):
        account = _account_lock(user_id=payout.account_id)
        moved = _payout_move(
            payout_id=payout.pk,
            from_statuses=(PayoutRequest.Status.REQUESTED, PayoutRequest.Status.APPROVED),
            to_status=PayoutRequest.Status.REJECTED,
            decided_by=admin,
            decided_at=timezone.now(),
            decision_note=note.strip(),
        )
        if not moved:
            raise PayoutTransitionError(_("This payout was already rejected or paid."))
        hold = LedgerEntry.objects.get(payout_id=payout.pk, kind=LedgerEntry.Kind.PAYOUT)
        _entry_create(
            account=account,
            kind=LedgerEntry.Kind.REVERSAL,
            credits=-hold.credits,
            idempotency_key=f"payout:{payout.pk}:release",
            payout_id=payout.pk,
            reverses=hold,
            actor=admin,
            reason=note.strip(),
        )
    payout.refresh_from_db()
    return payout


def payout_mark_paid(
    *, payout: PayoutRequest, admin: User, external_reference: str
) -> PayoutRequest:
    """Record that an approved payout was paid, with the payment system's reference. The hold
    becomes the payment; the ledger is unchanged. Raises PayoutTransitionError unless approved."""
    reference = external_reference.strip()
    if not reference:
        raise RewardError(_("Give the payment's external reference."))
    with transaction.atomic(durable=True):
        moved = _payout_move(
            payout_id=payout.pk,
            from_statuses=(PayoutRequest.Status.APPROVED,),
            to_status=PayoutRequest.Status.PAID,
            paid_at=timezone.now(),
            external_reference=reference,
        )
        if not moved:
            raise PayoutTransitionError(_("Only an approved payout can be marked paid."))
    payout.refresh_from_db()
    return payout


class _Default(enum.Enum):
    DAILY_CAP = "settings.REWARDS_DAILY_CAP"


def reward_daily_cap_default() -> int | None:
    """The daily cap a new rule carries unless it names its own: settings.REWARDS_DAILY_CAP,
    or None (no cap) when that is 0."""
    return settings.REWARDS_DAILY_CAP or None


def reward_rule_create(
    *,
    credits_per_minute: int,
    audio_bonus: int = 0,
    events_bonus: int = 0,
    daily_cap: int | _Default | None = _Default.DAILY_CAP,
    effective_at: datetime | None = None,
    created_by: User | None = None,
) -> RewardRule:
    """Publish a new rule version, in force from `effective_at` (default now).

    A per-donor daily cap is on by default: with no `daily_cap` given, the rule carries
    reward_daily_cap_default(); `daily_cap=None` publishes a rule with no cap, deliberately.

    Raises RewardError if it would take effect in the past or before the latest rule: donors
    were shown the rule in force, and it must stay the one that prices what they gave.
    """
    now = timezone.now()
    effective_at = effective_at or now
    if effective_at < now - timedelta(minutes=1):
        raise RewardError(_("A rule cannot take effect in the past."))
    with transaction.atomic(durable=True):
        # Two admins at once: the UNIQUE version makes the second fail, never share a number.
        latest = RewardRule.objects.order_by("-version").first()
        if latest is not None and effective_at < latest.effective_at:
            raise RewardError(
                _("A rule cannot take effect before the latest one (version %(version)d).")
                % {"version": latest.version}
            )
        return RewardRule.objects.create(
            version=(latest.version + 1) if latest else 1,
            credits_per_minute=credits_per_minute,
            audio_bonus=audio_bonus,
            events_bonus=events_bonus,
            daily_cap=reward_daily_cap_default() if daily_cap is _Default.DAILY_CAP else daily_cap,
            effective_at=effective_at,
            created_by=created_by,
        )


def reward_account_set_leaderboard(*, user: User, opt_in: bool) -> RewardAccount:
    """Show (or stop showing) the donor's pseudonym and total earned on the leaderboard."""
    with transaction.atomic(durable=True):
        account = _account_lock(user_id=user.pk)
        account.leaderboard_opt_in = opt_in
        account.save(update_fields=["leaderboard_opt_in"])
    return account


def awards_requeue_missing(*, batch: int = 500, lookback_s: int | None = None) -> dict[str, int]:
    """Queue the award of accepted donations that have none (its message was lost: the broker
    was down at the acceptance's commit, or the task failed for good).

    Looks at donations accepted between `lookback_s` (default SWEEP_LOOKBACK_S) and
    STUCK_GRACE_S ago (the window keeps
    the sweep bounded through the (status, updated_at) index at a million donations), in
    batches, and queues `rewards.award_for_donation` for each without an award entry. Does
    nothing while no reward rule is in force (nothing could be awarded). Idempotent: the award
    itself credits once. Returns and logs the counts.
    """
    counts = {"awards_requeued": 0}
    if reward_rule_in_force() is None:
        logger.info("sweep missing awards: no reward rule in force; %s", counts)
        return counts
    now = timezone.now()
    accepted = donations_in_status_between(
        status=DonationStatus.ACCEPTED,
        after=now - timedelta(seconds=lookback_s or settings.SWEEP_LOOKBACK_S),
        before=now - timedelta(seconds=settings.STUCK_GRACE_S),
    ).exclude(
        Exists(LedgerEntry.objects.filter(donation_id=OuterRef("pk"), kind=LedgerEntry.Kind.AWARD))
    )
    last: tuple[datetime, UUID] | None = None
    while True:
        page = accepted
        if last is not None:
            page = page.filter(Q(updated_at__gt=last[0]) | Q(updated_at=last[0], pk__gt=last[1]))
        rows = list(page.values_list("updated_at", "pk")[:batch])
        for _updated_at, donation_id in rows:
            enqueue("rewards.award_for_donation", str(donation_id))
        counts["awards_requeued"] += len(rows)
        if len(rows) < batch:
            break
        last = rows[-1]
    logger.info("sweep missing awards: %s", counts)
    return counts

import difflib
from uuid import UUID

from django.db.models import Case, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from accounts.models import User
from consent.models import ConsentDocument, ConsentEvent


def consent_document_get_current() -> ConsentDocument | None:
    """The newest consent document already in effect, or None before any is published."""
    return (
        ConsentDocument.objects.filter(effective_at__lte=timezone.now())
        .order_by("-version")
        .first()
    )


def consent_document_get(*, version: int) -> ConsentDocument | None:
    """A published document by version (documents are public: anyone may read them)."""
    return ConsentDocument.objects.filter(version=version, effective_at__lte=timezone.now()).first()


def consent_document_list() -> QuerySet[ConsentDocument]:
    return ConsentDocument.objects.filter(effective_at__lte=timezone.now()).order_by("-version")


def _effective_first(events: QuerySet[ConsentEvent]) -> QuerySet[ConsentEvent]:
    """Order one donation's own events and the donor's account-wide ones so the effective one
    comes first: the donation's own withdrawal (final: a later account-wide grant does not
    revive it), else the latest. Among these events "has a donation" means "is this
    donation's", so no outer reference is needed in ORDER BY (SQLite refuses one there)."""
    own_withdrawal = Case(
        When(donation__isnull=False, action=ConsentEvent.Action.WITHDRAW, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    return events.order_by(own_withdrawal.desc(), "-created_at")


def consent_event_get_effective(
    *, donor: User, donation_id: UUID | str | None
) -> ConsentEvent | None:
    """The latest event that governs a donation: its own, or else the donor's account default.

    With donation_id None, the latest account-wide event (the default for new donations).
    A donation's own withdrawal is final: a later account-wide grant does not revive it.
    """
    events = ConsentEvent.objects.filter(donor=donor).select_related("document")
    if donation_id is None:
        return events.filter(donation__isnull=True).order_by("-created_at").first()
    events = events.filter(Q(donation_id=donation_id) | Q(donation__isnull=True))
    return _effective_first(events).first()


def consent_event_effective_subquery() -> QuerySet[ConsentEvent]:
    """consent_event_get_effective for many donations in one query: a correlated subquery whose
    OuterRef("pk") and OuterRef("donor_id") are a Donation's. Take `.values(field)[:1]`."""
    events = ConsentEvent.objects.filter(donor_id=OuterRef("donor_id")).filter(
        Q(donation_id=OuterRef("pk")) | Q(donation__isnull=True)
    )
    return _effective_first(events)


def consent_event_list_for_user(*, user: User) -> QuerySet[ConsentEvent]:
    """Every consent event of the donor, newest first (the history page and the API)."""
    return (
        ConsentEvent.objects.filter(donor=user).select_related("document").order_by("-created_at")
    )


def consent_event_get_for_user(*, user: User, event_id: UUID | str) -> ConsentEvent | None:
    """One of the donor's own events, or None (callers answer 404 for someone else's)."""
    return (
        ConsentEvent.objects.filter(donor=user, pk=event_id)
        .select_related("document", "donor")
        .first()
    )


def renewal_cache_key(user_id: int) -> str:
    """Where the consent banner caches a donor's renewal state (dropped when they act)."""
    return f"consent-renewal:{user_id}"


def consent_renewal_get_for_user(*, user: User) -> ConsentDocument | None:
    """The current document, when the donor's account-wide grant was given under an older one.

    None when the donor is up to date, has withdrawn, or has never granted.
    """
    if not user.is_authenticated:
        return None
    effective = consent_event_get_effective(donor=user, donation_id=None)
    if effective is None or effective.action != ConsentEvent.Action.GRANT:
        return None
    current = consent_document_get_current()
    if current is None or current.version <= effective.document.version:
        return None
    return current


def consent_document_diff(*, old: ConsentDocument, new: ConsentDocument) -> list[tuple[str, str]]:
    """A line diff of two versions' texts as (kind, line) pairs, kind in {'same','add','del'}."""
    rows = []
    for line in difflib.ndiff(old.text.splitlines(), new.text.splitlines()):
        tag, text = line[:2], line[2:]
        if tag == "? ":
            continue
        rows.append(({"  ": "same", "+ ": "add", "- ": "del"}[tag], text))
    return rows

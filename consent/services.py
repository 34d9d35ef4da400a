from datetime import datetime
from uuid import UUID

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from consent.models import ConsentDocument, ConsentEvent
from consent.scopes import Credit, normalize_scopes, scope_change
from consent.selectors import (
    consent_document_get_current,
    consent_event_get_effective,
    renewal_cache_key,
)


class ConsentError(Exception):
    """A consent request that cannot be honoured; the message is safe to show to the donor."""


def _lock_consent_of(donor: User) -> None:
    """Serialise the donor's consent events, so each records its change from the one before."""
    User.objects.select_for_update().filter(pk=donor.pk).values_list("pk").first()


def _granted(event: ConsentEvent | None) -> list[str]:
    """The scopes an event leaves in force: a grant's own, none after a withdrawal."""
    if event is None or event.action != ConsentEvent.Action.GRANT:
        return []
    return sorted(event.scopes)


def consent_grant(
    *,
    donor: User,
    document: ConsentDocument,
    scopes: list[str],
    credit: str = Credit.ANONYMOUS,
    method: str = ConsentEvent.Method.WEB,
    donation_id: UUID | str | None = None,
    pseudonym: str | None = None,
) -> ConsentEvent:
    """Record a grant of `scopes` under `document`, for one donation or (None) as the default.

    Appends one ConsentEvent, which keeps the scopes it adds and withdraws against the grant in
    force before it (consent_event_get_effective for the same donation or default; read under
    a lock on the donor, so two grants at once each record their own change). With credit
    under a pseudonym and `pseudonym` given, also sets the donor's public pseudonym (same
    transaction). Not idempotent: each call is a new event. The caller checks that
    `donation_id`, if given, is the donor's own donation.
    """
    from accounts.services import AccountError, user_set_pseudonym

    try:
        scopes = normalize_scopes(scopes)
    except ValueError as exc:
        raise ConsentError(str(exc)) from exc
    if not scopes:
        raise ConsentError(_("Choose at least one thing you agree to share."))
    offered = set(document.scopes_offered)
    if not set(scopes) <= offered:
        raise ConsentError(
            _("This version of the consent form does not offer one of those scopes.")
        )
    if credit == Credit.PSEUDONYM and not (pseudonym or donor.pseudonym):
        raise ConsentError(_("Choose a public pseudonym to be credited under one."))
    with transaction.atomic(durable=True):
        _lock_consent_of(donor)
        in_force = consent_event_get_effective(donor=donor, donation_id=donation_id)
        change = scope_change(before=_granted(in_force), after=scopes)
        if credit == Credit.PSEUDONYM and pseudonym and pseudonym != donor.pseudonym:
            try:
                user_set_pseudonym(user=donor, pseudonym=pseudonym)
            except AccountError as exc:
                raise ConsentError(str(exc)) from exc
        transaction.on_commit(lambda: cache.delete(renewal_cache_key(donor.pk)))
        return ConsentEvent.objects.create(
            donor=donor,
            donation_id=donation_id,
            document=document,
            document_sha256=document.sha256,
            action=ConsentEvent.Action.GRANT,
            scopes=scopes,
            scopes_added=change.added,
            scopes_withdrawn=change.withdrawn,
            credit=credit,
            method=method,
        )


def consent_withdraw(
    *,
    donor: User,
    donation_id: UUID | str | None,
    method: str = ConsentEvent.Method.WEB,
) -> ConsentEvent:
    """Append a `withdraw` event for one donation, or (None) account-wide.

    Records evidence only: deleting objects and moving donations is donation_withdraw's work,
    which calls this inside its own transaction (so this one is not durable). The event names
    the document the withdrawn consent was given under, or the current one if there was none,
    and keeps the scopes it withdraws (those of the grant in force). Not idempotent: each call
    is a new event.
    """
    with transaction.atomic():
        _lock_consent_of(donor)
        previous = consent_event_get_effective(donor=donor, donation_id=donation_id)
        document = previous.document if previous is not None else consent_document_get_current()
        if document is None:
            raise ConsentError(_("No consent form has been published yet."))
        transaction.on_commit(lambda: cache.delete(renewal_cache_key(donor.pk)))
        return ConsentEvent.objects.create(
            donor=donor,
            donation_id=donation_id,
            document=document,
            document_sha256=document.sha256,
            action=ConsentEvent.Action.WITHDRAW,
            scopes=[],
            scopes_added=[],
            scopes_withdrawn=_granted(previous),
            credit=previous.credit if previous is not None else Credit.ANONYMOUS,
            method=method,
        )


def consent_document_publish(
    *,
    title: str,
    text: str,
    scopes_offered: list[str],
    effective_at: datetime | None = None,
    summary_of_changes: str,
    published_by: User | None,
) -> ConsentDocument:
    """Publish a new consent document version (the last version + 1), hashing its text.

    `effective_at` defaults to now. Documents are never edited afterwards. Raises ConsentError
    for an empty text, no scopes, an unknown scope or a missing summary of changes (after v1).
    """
    if not text.strip() or not title.strip():
        raise ConsentError(_("A consent document needs a title and a text."))
    try:
        scopes_offered = normalize_scopes(scopes_offered)
    except ValueError as exc:
        raise ConsentError(str(exc)) from exc
    if not scopes_offered:
        raise ConsentError(_("A consent document must offer at least one scope."))
    with transaction.atomic(durable=True):
        # Lock the newest row so two publishers cannot both become version N + 1 silently:
        # the unique constraint would reject the second anyway, this makes it wait instead.
        last = ConsentDocument.objects.select_for_update().order_by("-version").first()
        if last is not None and not summary_of_changes.strip():
            raise ConsentError(
                _("Say what changed since the previous version; donors will see it.")
            )
        return ConsentDocument.objects.create(
            version=(last.version + 1) if last is not None else 1,
            title=title.strip(),
            text=text,
            sha256=ConsentDocument.hash_text(text),
            effective_at=effective_at or timezone.now(),
            scopes_offered=scopes_offered,
            summary_of_changes=summary_of_changes.strip(),
            published_by=published_by,
        )

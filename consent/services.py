from uuid import UUID

from django.db import transaction

from accounts.models import User
from consent.models import ConsentDocument, ConsentEvent
from consent.scopes import Credit, normalize_scopes


class ConsentError(Exception):
    """A consent request that cannot be honoured; the message is safe to show to the donor."""


def consent_grant(
    *,
    donor: User,
    document: ConsentDocument,
    scopes: list[str],
    credit: str = Credit.ANONYMOUS,
    method: str = ConsentEvent.Method.WEB,
    donation_id: UUID | str | None = None,
) -> ConsentEvent:
    """Record a grant of `scopes` under `document`, for one donation or (None) as the default.

    Appends one ConsentEvent; changes nothing else. Not idempotent: each call is a new event.
    """
    try:
        scopes = normalize_scopes(scopes)
    except ValueError as exc:
        raise ConsentError(str(exc)) from exc
    if not scopes:
        raise ConsentError("Choose at least one thing you agree to share.")
    offered = set(document.scopes_offered)
    if not set(scopes) <= offered:
        raise ConsentError("This version of the consent form does not offer one of those scopes.")
    with transaction.atomic(durable=True):
        return ConsentEvent.objects.create(
            donor=donor,
            donation_id=donation_id,
            document=document,
            document_sha256=document.sha256,
            action=ConsentEvent.Action.GRANT,
            scopes=scopes,
            credit=credit,
            method=method,
        )

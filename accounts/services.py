import logging
import re
import uuid

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CURATORS_GROUP, User

logger = logging.getLogger(__name__)


def user_create_verified(*, email: str, password: str, curator: bool = False) -> User:
    """Create an account whose email is already verified (demo data and admin use only).

    Donors sign up through allauth, which verifies the address; this is for accounts an
    operator creates. Not safe to call twice with the same email (unique constraint).
    """
    from allauth.account.models import EmailAddress

    with transaction.atomic():
        user = User.objects.create_user(email=email, password=password, is_staff=curator)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        if curator:
            group, _ = Group.objects.get_or_create(name=CURATORS_GROUP)
            user.groups.add(group)
    return user


class AccountError(Exception):
    """An account request that cannot be honoured; the message is safe to show to the user."""


PSEUDONYM_PATTERN = re.compile(r"^[\w][\w .-]{1,38}[\w]$")


def pseudonym_problem(*, pseudonym: str, user: User | None = None) -> str | None:
    """Why `pseudonym` cannot be used as a public pseudonym, or None when it can."""
    if "@" in pseudonym or not PSEUDONYM_PATTERN.match(pseudonym):
        return _(
            "A pseudonym is 3 to 40 letters, digits, spaces, dots, dashes or underscores, "
            "and never an email address."
        )
    taken = User.objects.filter(pseudonym__iexact=pseudonym)
    if user is not None:
        taken = taken.exclude(pk=user.pk)
    if taken.exists():
        return _("That pseudonym is taken. Please choose another.")
    return None


def user_set_pseudonym(*, user: User, pseudonym: str) -> User:
    """Set the public pseudonym the donor's credited data is shown under.

    Raises AccountError for an email-like, malformed or taken pseudonym. Joins the caller's
    transaction (consent_grant calls it); the unique constraint settles a race.
    """
    pseudonym = pseudonym.strip()
    problem = pseudonym_problem(pseudonym=pseudonym, user=user)
    if problem:
        raise AccountError(problem)
    user.pseudonym = pseudonym
    try:
        with transaction.atomic():
            user.save(update_fields=["pseudonym"])
    except IntegrityError as exc:
        raise AccountError(_("That pseudonym is taken. Please choose another.")) from exc
    return user


def user_token_rotate(*, user: User) -> str:
    """Replace the user's API token with a new one and return its key (shown to them once).

    Any previous token stops working at once. Safe to retry: each call issues a fresh key.
    """
    from rest_framework.authtoken.models import Token

    with transaction.atomic(durable=True):
        Token.objects.filter(user=user).delete()
        return str(Token.objects.create(user=user).key)


def user_token_revoke(*, user: User) -> None:
    """Delete the user's API token, if any."""
    from rest_framework.authtoken.models import Token

    with transaction.atomic(durable=True):
        Token.objects.filter(user=user).delete()


def _user_sessions_delete(*, user: User) -> None:
    # Scrubbing the password already invalidates every session (Django checks the session's
    # password hash); deleting the rows as well leaves nothing of the account behind.
    from django.conf import settings
    from django.contrib.sessions.models import Session

    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return
    user_pk = str(user.pk)
    for session in Session.objects.filter(expire_date__gte=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == user_pk:
            session.delete()


def user_delete(*, user: User, method: str) -> User:
    """Delete an account: withdraw everything, then remove the account's personal data.

    In one transaction: every donation is withdrawn (objects deleted after commit) and an
    account-wide withdraw event appended; then the User row is scrubbed (email replaced by
    `deleted-<random>@invalid`, unusable password, inactive, no pseudonym, no staff rights or
    groups) and its email addresses, API token and sessions are deleted. The row itself stays
    because the consent events that reference it are the evidence of what was agreed and
    withdrawn. Not reversible. Calling it again on a deleted account only re-scrubs.
    """
    from allauth.account.models import EmailAddress
    from rest_framework.authtoken.models import Token

    from donations.services import donation_withdraw_all_in_transaction

    with transaction.atomic(durable=True):
        if user.is_active:
            donation_withdraw_all_in_transaction(donor=user, method=method)
        user.email = f"deleted-{uuid.uuid4().hex}@invalid"
        user.set_unusable_password()
        user.is_active = False
        user.is_staff = False
        user.is_superuser = False
        user.pseudonym = None
        user.save(
            update_fields=[
                "email",
                "password",
                "is_active",
                "is_staff",
                "is_superuser",
                "pseudonym",
            ]
        )
        user.groups.clear()
        user.user_permissions.clear()
        EmailAddress.objects.filter(user=user).delete()
        Token.objects.filter(user=user).delete()
        _user_sessions_delete(user=user)
    logger.info("account %s deleted", user.pk)
    return user

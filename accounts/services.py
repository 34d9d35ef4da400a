import re

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import CURATORS_GROUP, User


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

from django.contrib.auth.models import Group
from django.db import transaction

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

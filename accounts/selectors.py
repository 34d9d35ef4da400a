from accounts.models import CURATORS_GROUP, User


def user_is_curator(*, user: User) -> bool:
    """Curators are staff members of the `curators` group (DESIGN.md, People)."""
    if not user.is_authenticated or not user.is_staff:
        return False
    return user.groups.filter(name=CURATORS_GROUP).exists()


def user_has_token(*, user: User) -> bool:
    from rest_framework.authtoken.models import Token

    return Token.objects.filter(user=user).exists()

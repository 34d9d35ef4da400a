from django.http import HttpRequest

from accounts.selectors import user_is_curator


def roles(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    return {"is_curator": bool(user and user_is_curator(user=user))}  # type: ignore[arg-type]

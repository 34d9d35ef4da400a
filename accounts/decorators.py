from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from accounts.selectors import user_is_curator

View = Callable[..., HttpResponse]


def curator_required(view: View) -> View:
    """Signed-in curators only: others signed in get 403, anonymous visitors the login page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not user_is_curator(user=request.user):  # type: ignore[arg-type]
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper

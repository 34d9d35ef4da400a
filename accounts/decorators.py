from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from accounts.permissions import Capability, user_can

View = Callable[..., HttpResponse]


def capability_required(capability: Capability) -> Callable[[View], View]:
    """Signed-in people whose roles hold `capability` (accounts.permissions.MATRIX) only: others
    signed in get 403, anonymous visitors the login page."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if not user_can(user=request.user, capability=capability):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# The curation pages: the queue, the curator's replay, decisions.
curator_required = capability_required(Capability.REVIEW_DONATIONS)

"""How django-axes identifies a sign-in attempt (settings: "Security headers / login limits").

Every login surface (allauth's `/accounts/login/`, the admin's `/admin/login/`) authenticates
through django.contrib.auth, where axes counts failures; these callables make both surfaces
count against the same keys, and keep personal data out of axes' log lines.
"""

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def login_username(request: HttpRequest, credentials: dict[str, object] | None) -> str | None:
    """The account an attempt names, whatever the surface calls the field, case-folded.

    The admin's form sends `username`, allauth authenticates with `email` (its form field is
    `login`); email addresses are unique case-insensitively, so `A@x` and `a@x` count together.
    """
    for source, field in (
        (credentials, "username"),
        (credentials, "email"),
        (request.POST, "username"),
        (request.POST, "login"),
    ):
        value = source.get(field) if source else None
        if isinstance(value, str) and value.strip():
            return value.strip().casefold()
    return None


def client_ip(request: HttpRequest) -> str:
    """The client's address as allauth's own rate limits see it (ALLAUTH_TRUSTED_PROXY_COUNT).

    allauth refuses a request whose address it cannot tell; axes also sees sign-ins made without
    one (`Client.force_login` builds a bare request), which fall back to REMOTE_ADDR.
    """
    try:
        return get_adapter(request).get_client_ip(request)
    except PermissionDenied:
        return str(request.META.get("REMOTE_ADDR", ""))


def client_str(
    username: str | None,
    ip_address: str | None,
    user_agent: str | None,
    path_info: str | tuple[str, ...] | list[str],
    request: HttpRequest,
) -> str:
    """What axes writes in its log lines: the path only, never the email, address or agent."""
    path = path_info[0] if isinstance(path_info, list | tuple) else path_info
    return f'{{path_info: "{path}"}}'


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, object] | None = None,
) -> HttpResponse:
    """The page a locked-out sign-in gets (429), on any surface; it does not name the account."""
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return render(request, "account/lockout.html", {"minutes": minutes}, status=429)

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import AccountDeleteForm
from accounts.selectors import user_has_token
from accounts.services import user_delete, user_token_revoke, user_token_rotate
from consent.models import ConsentEvent


@login_required
def account_settings(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "account/settings.html",
        {"has_token": user_has_token(user=request.user)},  # type: ignore[arg-type]
    )


@login_required
@require_POST
def account_token(request: HttpRequest) -> HttpResponse:
    """Create or rotate the API token; the key is in this one response and never shown again."""
    if request.POST.get("action") == "revoke":
        user_token_revoke(user=request.user)  # type: ignore[arg-type]
        messages.success(request, _("Your API token is revoked."))
        return redirect("accounts:settings")
    key = user_token_rotate(user=request.user)  # type: ignore[arg-type]
    response = render(request, "account/settings.html", {"has_token": True, "new_token": key})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    form = AccountDeleteForm(request.POST or None, user=request.user)  # type: ignore[arg-type]
    if request.method == "POST" and form.is_valid():
        user_delete(user=request.user, method=ConsentEvent.Method.WEB)  # type: ignore[arg-type]
        logout(request)
        messages.success(request, _("Your account is deleted and all your consent withdrawn."))
        return redirect("home")
    return render(request, "account/delete.html", {"form": form})

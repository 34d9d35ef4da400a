from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import capability_required
from accounts.permissions import Capability
from rewards.exceptions import RewardError
from rewards.forms import LeaderboardForm, PayoutRequestForm
from rewards.selectors import (
    leaderboard_list,
    ledger_entry_list_for_user,
    payout_get_for_user,
    payout_list_approved,
    payout_list_for_user,
    reward_account_get_for_user,
    reward_balance_for_user,
)
from rewards.services import payout_request_create, reward_account_set_leaderboard
from rewards.statements import approved_payouts_csv, statement_csv


def _csv_response(body: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _overview(
    request: HttpRequest, payout_form: PayoutRequestForm, status: int = 200
) -> HttpResponse:
    user = request.user
    account = reward_account_get_for_user(user=user)  # type: ignore[arg-type]
    return render(
        request,
        "rewards/overview.html",
        {
            "totals": reward_balance_for_user(user=user),  # type: ignore[arg-type]
            "entries": ledger_entry_list_for_user(user=user),  # type: ignore[arg-type]
            "payouts": payout_list_for_user(user=user),  # type: ignore[arg-type]
            "payout_form": payout_form,
            "minimum": settings.REWARDS_PAYOUT_MINIMUM,
            "leaderboard_enabled": settings.REWARDS_LEADERBOARD_ENABLED,
            "leaderboard_form": LeaderboardForm(
                initial={"opt_in": account is not None and account.leaderboard_opt_in}
            ),
        },
        status=status,
    )


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Balance, held credits, every ledger entry with its donation and rule, payouts."""
    return _overview(request, PayoutRequestForm())


@login_required
@require_POST
def payout_request(request: HttpRequest) -> HttpResponse:
    form = PayoutRequestForm(request.POST)
    if form.is_valid():
        try:
            payout = payout_request_create(
                user=request.user,  # type: ignore[arg-type]
                credits=form.cleaned_data["credits"],
                request_key=form.cleaned_data["request_key"] or None,
            )
        except RewardError as error:
            form.add_error("credits", str(error))
        else:
            messages.success(
                request,
                _("Payout of %(credits)d credits requested. The credits are held until we decide.")
                % {"credits": payout.credits},
            )
            return redirect("rewards:overview")
    return _overview(request, form, status=400)


@login_required
def payout_detail(request: HttpRequest, payout_id: str) -> HttpResponse:
    payout = payout_get_for_user(user=request.user, payout_id=payout_id)  # type: ignore[arg-type]
    if payout is None:
        raise Http404
    return render(request, "rewards/payout_detail.html", {"payout": payout})


@login_required
def statement(request: HttpRequest) -> HttpResponse:
    """The donor's own ledger as CSV, oldest first, with the running balance."""
    body = statement_csv(ledger_entry_list_for_user(user=request.user))  # type: ignore[arg-type]
    return _csv_response(body, f"metagen-rewards-{timezone.localdate().isoformat()}.csv")


@login_required
@require_POST
def leaderboard_opt_in(request: HttpRequest) -> HttpResponse:
    form = LeaderboardForm(request.POST)
    form.is_valid()  # a missing box means "no"
    opt_in = bool(form.cleaned_data.get("opt_in"))
    reward_account_set_leaderboard(user=request.user, opt_in=opt_in)  # type: ignore[arg-type]
    if opt_in and not request.user.pseudonym:  # type: ignore[union-attr]
        messages.info(request, _("Choose a public pseudonym in your account to appear."))
    else:
        messages.success(request, _("Your leaderboard choice is saved."))
    return redirect("rewards:overview")


def leaderboard(request: HttpRequest) -> HttpResponse:
    """Public, by pseudonym, only donors who opted in; 404 unless the setting enables it."""
    if not settings.REWARDS_LEADERBOARD_ENABLED:
        raise Http404
    return render(request, "rewards/leaderboard.html", {"rows": leaderboard_list()})


@capability_required(Capability.PAY_DONORS)
def approved_payouts_export(request: HttpRequest) -> HttpResponse:
    """Approved payouts awaiting payment, with each donor's email, as CSV for the payment system:
    for the people who pay donors only (admins), not every staff member."""
    body = approved_payouts_csv(payout_list_approved())
    return _csv_response(body, f"metagen-approved-payouts-{timezone.localdate().isoformat()}.csv")

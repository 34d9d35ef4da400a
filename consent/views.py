import json
import uuid

import markdown
import nh3
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from consent.forms import ConsentForm
from consent.models import ConsentDocument, ConsentEvent
from consent.receipts import receipt_build
from consent.scopes import Credit, scope_change
from consent.selectors import (
    consent_document_diff,
    consent_document_get,
    consent_document_get_current,
    consent_event_get_effective,
    consent_event_get_for_user,
    consent_event_list_for_user,
)
from consent.services import ConsentError, consent_grant
from donations.exceptions import DonationError
from donations.models import Donation
from donations.selectors import donation_get_for_user
from donations.services import donation_withdraw_all


def _render_markdown(text: str) -> str:
    return mark_safe(nh3.clean(markdown.markdown(text)))  # noqa: S308 - sanitised by nh3


def _grant_in_force(event: ConsentEvent | None) -> ConsentEvent | None:
    return event if event is not None and event.action == ConsentEvent.Action.GRANT else None


@login_required
def consent_form(request: HttpRequest) -> HttpResponse:
    """The consent form, starting from the grant in force (for `?donation=<id>`, the consent
    that governs that donation). Changing a grant in force takes a confirmation step that says
    what is added and withdrawn; a first grant (or one after a withdrawal) is recorded at once.

    POST `edit` goes back to the form with the choices made; POST `confirm=<event id>` records
    the change if that event is still the grant in force, else shows the change again."""
    document = consent_document_get_current()
    if document is None:
        raise Http404(_("No consent form has been published yet."))
    donation = None
    if request.GET.get("donation"):
        try:
            donation_id = uuid.UUID(request.GET["donation"])
        except ValueError as exc:  # a malformed id is as unknown as someone else's
            raise Http404 from exc
        donation = donation_get_for_user(user=request.user, donation_id=donation_id)  # type: ignore[arg-type]
        if donation is None:
            raise Http404
    opened_for = donation.pk if donation is not None else None
    current = consent_event_get_effective(donor=request.user, donation_id=opened_for)  # type: ignore[arg-type]
    granted = _grant_in_force(current)
    form = ConsentForm(
        request.POST or None,
        offered=document.scopes_offered,
        user=request.user,  # type: ignore[arg-type]
        for_donation=donation is not None,
        granted=granted.scopes if granted is not None else None,
        granted_credit=granted.credit if granted is not None else None,
    )
    if request.method == "POST" and "edit" not in request.POST and form.is_valid():
        target = opened_for if form.applies_to_donation() else None
        replaced = granted
        if target != opened_for:  # "all my donations" from a donation: the default is replaced
            default = consent_event_get_effective(donor=request.user, donation_id=None)  # type: ignore[arg-type]
            replaced = _grant_in_force(default)
        confirmed = request.POST.get("confirm", "")
        if replaced is not None and confirmed != str(replaced.pk):
            return _confirm_change(
                request,
                document=document,
                donation=donation,
                form=form,
                replaced=replaced,
                stale=bool(confirmed),
            )
        try:
            consent_grant(
                donor=request.user,  # type: ignore[arg-type]
                document=document,
                scopes=form.chosen_scopes(),
                credit=form.cleaned_data["credit"],
                pseudonym=form.cleaned_data.get("pseudonym") or None,
                method=ConsentEvent.Method.WEB,
                donation_id=target,
            )
        except ConsentError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Thank you. Your consent is recorded."))
            if donation is not None:
                return redirect("donations:detail", donation_id=donation.pk)
            return redirect("donations:dashboard")
    return render(
        request,
        "consent/form.html",
        {
            "document": document,
            "document_html": _render_markdown(document.text),
            "form": form,
            "current": current,
            "donation": donation,
        },
    )


def _confirm_change(
    request: HttpRequest,
    *,
    document: ConsentDocument,
    donation: Donation | None,
    form: ConsentForm,
    replaced: ConsentEvent,
    stale: bool,
) -> HttpResponse:
    """The confirmation step: what the submitted form adds to and withdraws from the grant in
    force, in plain words, with the choices carried in hidden fields (no script)."""
    credit = form.cleaned_data["credit"]
    return render(
        request,
        "consent/confirm.html",
        {
            "document": document,
            "donation": donation,
            "form": form,
            "current": replaced,
            "only_this": donation is not None and form.applies_to_donation(),
            "change": scope_change(before=replaced.scopes, after=form.chosen_scopes()),
            "credit_before": Credit(replaced.credit).label,
            "credit_after": Credit(credit).label if credit != replaced.credit else None,
            "stale": stale,
        },
    )


@login_required
def consent_history(request: HttpRequest) -> HttpResponse:
    events = consent_event_list_for_user(user=request.user)  # type: ignore[arg-type]
    return render(request, "consent/history.html", {"events": events})


def _own_event(request: HttpRequest, event_id: str) -> ConsentEvent:
    event = consent_event_get_for_user(user=request.user, event_id=event_id)  # type: ignore[arg-type]
    if event is None:
        raise Http404
    return event


@login_required
def consent_receipt(request: HttpRequest, event_id: str) -> HttpResponse:
    event = _own_event(request, event_id)
    receipt = receipt_build(event=event, site_url=request.build_absolute_uri("/"))
    return render(request, "consent/receipt.html", {"event": event, "receipt": receipt})


@login_required
def consent_receipt_json(request: HttpRequest, event_id: str) -> HttpResponse:
    event = _own_event(request, event_id)
    receipt = receipt_build(event=event, site_url=request.build_absolute_uri("/"))
    response = HttpResponse(
        json.dumps(receipt, indent=2, ensure_ascii=False) + "\n",
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{event.id}.json"'
    response["Cache-Control"] = "private, no-store"
    return response


def consent_document(request: HttpRequest, version: int) -> HttpResponse:
    """A published version of the consent text (public: the receipts' policy URL)."""
    document = consent_document_get(version=version)
    if document is None:
        raise Http404
    return render(
        request,
        "consent/document.html",
        {"document": document, "document_html": _render_markdown(document.text)},
    )


@login_required
@require_http_methods(["GET"])
def consent_changes(request: HttpRequest) -> HttpResponse:
    """What changed between the version the donor granted under and the current one."""
    current = consent_document_get_current()
    effective = consent_event_get_effective(donor=request.user, donation_id=None)  # type: ignore[arg-type]
    if current is None or effective is None or effective.document.version >= current.version:
        messages.info(request, _("Your consent is up to date with the current consent form."))
        return redirect("consent:form")
    return render(
        request,
        "consent/changes.html",
        {
            "old": effective.document,
            "new": current,
            "diff": consent_document_diff(old=effective.document, new=current),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def consent_withdraw_all(request: HttpRequest) -> HttpResponse:
    """Withdraw consent for every donation and as the default: GET explains, POST does it."""
    if request.method == "POST":
        try:
            withdrawn = donation_withdraw_all(
                donor=request.user,  # type: ignore[arg-type]
                method=ConsentEvent.Method.WEB,
            )
        except (DonationError, ConsentError) as exc:
            messages.error(request, str(exc))
            return redirect("consent:withdraw_all")
        messages.success(
            request,
            _("Your consent is withdrawn for all your donations (%(count)d withdrawn now).")
            % {"count": len(withdrawn)},
        )
        return redirect("consent:history")
    return render(request, "consent/withdraw_all.html")

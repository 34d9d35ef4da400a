import markdown
import nh3
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from consent.forms import ConsentForm
from consent.models import ConsentEvent
from consent.selectors import (
    consent_document_get_current,
    consent_event_get_effective,
    consent_event_list_for_user,
)
from consent.services import ConsentError, consent_grant


def _render_markdown(text: str) -> str:
    return mark_safe(nh3.clean(markdown.markdown(text)))  # noqa: S308 - sanitised by nh3


@login_required
def consent_form(request: HttpRequest) -> HttpResponse:
    document = consent_document_get_current()
    if document is None:
        raise Http404(_("No consent form has been published yet."))
    form = ConsentForm(request.POST or None, offered=document.scopes_offered)
    if request.method == "POST" and form.is_valid():
        try:
            consent_grant(
                donor=request.user,  # type: ignore[arg-type]
                document=document,
                scopes=form.chosen_scopes(),
                credit=form.cleaned_data["credit"],
                method=ConsentEvent.Method.WEB,
            )
        except ConsentError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Thank you. Your consent is recorded."))
            return redirect("donations:dashboard")
    current = consent_event_get_effective(donor=request.user, donation_id=None)  # type: ignore[arg-type]
    return render(
        request,
        "consent/form.html",
        {
            "document": document,
            "document_html": _render_markdown(document.text),
            "form": form,
            "current": current,
        },
    )


@login_required
def consent_history(request: HttpRequest) -> HttpResponse:
    events = consent_event_list_for_user(user=request.user)  # type: ignore[arg-type]
    return render(request, "consent/history.html", {"events": events})

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import curator_required
from consent.models import ConsentEvent
from consent.selectors import consent_event_get_effective
from donations.exceptions import DonationError
from donations.forms import DonationUploadForm, ReviewForm
from donations.selectors import (
    donation_get_for_user,
    donation_get_or_none,
    donation_list_awaiting_review,
    donation_list_for_user,
    donation_motion_preview_for_user,
)
from donations.services import (
    AlreadyWithdrawnError,
    donation_create_from_upload,
    donation_review,
    donation_withdraw,
)
from releases.forms import ReleaseCreateForm
from releases.selectors import dataset_list_public, release_list_for_curation


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    consent = consent_event_get_effective(donor=request.user, donation_id=None)  # type: ignore[arg-type]
    has_consent = consent is not None and consent.action == ConsentEvent.Action.GRANT
    return render(
        request,
        "donations/dashboard.html",
        {
            "donations": donation_list_for_user(user=request.user),  # type: ignore[arg-type]
            "consent": consent if has_consent else None,
            "form": DonationUploadForm(),
        },
    )


@login_required
@require_POST
def donation_create(request: HttpRequest) -> HttpResponse:
    form = DonationUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            donation = donation_create_from_upload(
                donor=request.user,  # type: ignore[arg-type]
                motion_file=form.cleaned_data["motion_file"],
                audio_file=form.cleaned_data["audio_file"],
            )
        except DonationError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Thank you! Your recording is uploaded and queued."))
            return redirect("donations:detail", donation_id=donation.pk)
    else:
        messages.error(request, _("Choose a file to upload."))
    return redirect("donations:dashboard")


@login_required
def donation_detail(request: HttpRequest, donation_id: str) -> HttpResponse:
    donation = donation_get_for_user(user=request.user, donation_id=donation_id)  # type: ignore[arg-type]
    if donation is None:
        raise Http404
    consent = consent_event_get_effective(donor=request.user, donation_id=donation.pk)  # type: ignore[arg-type]
    return render(request, "donations/detail.html", {"donation": donation, "consent": consent})


@login_required
def donation_preview(request: HttpRequest, donation_id: str) -> HttpResponse:
    """The anonymized trajectory preview (SVG) of the donor's own processed donation."""
    donation = donation_get_for_user(user=request.user, donation_id=donation_id)  # type: ignore[arg-type]
    if donation is None or not donation.artifact_prefix:
        raise Http404
    with default_storage.open(f"{donation.artifact_prefix}preview.svg", "rb") as fh:
        svg = fh.read()
    response = HttpResponse(svg, content_type="image/svg+xml")
    # The image is the donor's data: never cached by shared caches, and no scripts in it run.
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@login_required
def donation_preview_motion(request: HttpRequest, donation_id: str) -> HttpResponse:
    """The anonymized poses (preview.json) of the donor's own processed donation, for the replay."""
    preview = donation_motion_preview_for_user(user=request.user, donation_id=donation_id)  # type: ignore[arg-type]
    if preview is None:
        raise Http404
    response = HttpResponse(preview, content_type="application/json")
    response["Cache-Control"] = "private, max-age=300"
    return response


@curator_required
def curation_queue(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "donations/curation_queue.html",
        {
            "donations": donation_list_awaiting_review(),
            "datasets": dataset_list_public(),
            "releases": release_list_for_curation(),
            "release_form": ReleaseCreateForm(),
        },
    )


@curator_required
@require_POST
def curation_review(request: HttpRequest, donation_id: str) -> HttpResponse:
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose accept or decline."))
        return redirect("donations:curation_queue")
    donation = donation_get_or_none(donation_id=donation_id)
    if donation is None:
        raise Http404
    try:
        donation_review(
            donation=donation,
            curator=request.user,  # type: ignore[arg-type]
            accept=form.cleaned_data["decision"] == "accept",
            reason=form.cleaned_data["reason"],
        )
    except DonationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Decision recorded."))
    return redirect("donations:curation_queue")


@login_required
@require_http_methods(["GET", "POST"])
def donation_withdraw_view(request: HttpRequest, donation_id: str) -> HttpResponse:
    """GET: what withdrawing does, and one button. POST: withdraw consent for this donation."""
    donation = donation_get_for_user(user=request.user, donation_id=donation_id)  # type: ignore[arg-type]
    if donation is None:
        raise Http404
    if request.method == "POST":
        try:
            donation_withdraw(
                donor=request.user,  # type: ignore[arg-type]
                donation=donation,
                method=ConsentEvent.Method.WEB,
            )
        except AlreadyWithdrawnError as exc:
            messages.info(request, str(exc))
        except DonationError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("Withdrawn. Processing stops and the files of this donation are being deleted."),
            )
        return redirect("donations:detail", donation_id=donation.pk)
    return render(request, "donations/withdraw.html", {"donation": donation})

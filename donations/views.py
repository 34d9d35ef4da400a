import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import curator_required
from consent.models import ConsentEvent
from consent.selectors import consent_event_get_effective
from donations.exceptions import DonationError, SelfReviewError
from donations.forms import BulkReviewForm, CurationFilterForm, ReviewForm
from donations.models import DonationFile
from donations.selectors import (
    CurationFilters,
    curation_decision_list_recent,
    donation_format_list_for_curation,
    donation_get_for_user,
    donation_get_or_none,
    donation_list_for_curation,
    donation_list_for_user,
    donation_motion_preview_for_curation,
    donation_motion_preview_for_user,
    donation_trajectory_preview_for_user,
)
from donations.services import (
    AlreadyWithdrawnError,
    donation_review,
    donation_withdraw,
)
from donations.uploads import (
    EXTENSIONS,
    PartTooLargeError,
    UploadError,
    upload_part_store,
    upload_part_url_check,
    upload_session_get,
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
        },
    )


@login_required
def donation_upload(request: HttpRequest) -> HttpResponse:
    """The upload page: the browser sends the files in parts through the upload API."""
    consent = consent_event_get_effective(donor=request.user, donation_id=None)  # type: ignore[arg-type]
    has_consent = consent is not None and consent.action == ConsentEvent.Action.GRANT
    return render(
        request,
        "donations/upload.html",
        {
            "consent": consent if has_consent else None,
            "covers_audio": has_consent and any(s.startswith("audio:") for s in consent.scopes),  # type: ignore[union-attr]
            "motion_extensions": ",".join(f".{e}" for e in EXTENSIONS[DonationFile.Kind.MOTION]),
            "audio_extensions": ",".join(f".{e}" for e in EXTENSIONS[DonationFile.Kind.AUDIO]),
            "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
            "upload_strings": _upload_strings(),
        },
    )


def _upload_strings() -> dict[str, str]:
    """What static/js/upload.js shows, translated here (the script holds no text of its own)."""
    return {
        "choose_motion": _("Choose a recording file to upload."),
        "bad_type": _(
            "“%(name)s” is not a file type we accept here. Choose one ending in %(allowed)s."
        ),
        "empty": _("“%(name)s” is empty."),
        "too_big": _("“%(name)s” is larger than the %(limit)s limit."),
        "starting": _("Preparing the upload…"),
        "checking": _("Checking what was already sent…"),
        "progress": _("%(sent)s of %(total)s sent · %(speed)s/s · about %(left)s left"),
        "progress_no_speed": _("%(sent)s of %(total)s sent"),
        "finishing": _("All parts sent. Finishing…"),
        "done": _("Upload complete. Opening your donation…"),
        "failed": _(
            "The upload stopped: %(reason)s You can resume it: nothing sent so far is lost."
        ),
        "network": _("the connection was lost."),
        "resume": _("Resume upload"),
        "cancelled": _("Upload cancelled. Nothing of it is kept."),
        "interrupted": _(
            "An upload was interrupted. Choose the same file(s) again and press Upload to "
            "continue where it stopped."
        ),
        "no_crypto": _("This browser cannot compute checksums here; please use a current browser."),
        "seconds": _("%(n)s s"),
        "minutes": _("%(n)s min"),
        "hours": _("%(n)s h"),
    }


@csrf_exempt  # authorised by the signed URL, like a presigned S3 URL; no cookie is involved
@require_http_methods(["PUT"])
def upload_part(request: HttpRequest, session_id: uuid.UUID, part_number: int) -> HttpResponse:
    """Local-disk storage only: receive one part of an upload, streamed, never read whole."""
    try:
        checksum = upload_part_url_check(
            session_id=str(session_id),
            part_number=part_number,
            signature=request.GET.get("signature", ""),
        )
    except UploadError as exc:
        return JsonResponse({"detail": str(exc)}, status=403)
    session = upload_session_get(session_id=session_id) if checksum else None
    if session is None or checksum is None:
        raise Http404
    if request.headers.get("x-amz-checksum-sha256", checksum) != checksum:
        return JsonResponse(
            {"detail": _("The checksum header differs from the one the part was signed for.")},
            status=400,
        )
    try:
        content_length = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return JsonResponse({"detail": _("Send the part with a Content-Length.")}, status=411)
    try:
        stored = upload_part_store(
            session=session,
            part_number=part_number,
            checksum_sha256=checksum,
            body=request,
            content_length=content_length,
        )
    except PartTooLargeError as exc:
        return JsonResponse({"detail": str(exc)}, status=413)
    except UploadError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    response = HttpResponse(status=200)
    response["ETag"] = stored.etag
    return response


@login_required
def donation_detail(request: HttpRequest, donation_id: str) -> HttpResponse:
    donation = donation_get_for_user(user=request.user, donation_id=donation_id)  # type: ignore[arg-type]
    if donation is None:
        raise Http404
    consent = consent_event_get_effective(donor=request.user, donation_id=donation.pk)  # type: ignore[arg-type]
    return render(
        request,
        "donations/detail.html",
        {
            "donation": donation,
            "consent": consent,
            "raw_retention_days": settings.REJECTED_RAW_RETENTION_DAYS,
        },
    )


@login_required
def donation_preview(request: HttpRequest, donation_id: str) -> HttpResponse:
    """The anonymized trajectory preview (SVG) of the donor's own processed donation; 404 like
    the 3D preview (someone else's, not processed, withdrawn, or no image stored)."""
    svg = donation_trajectory_preview_for_user(user=request.user, donation_id=donation_id)  # type: ignore[arg-type]
    if svg is None:
        raise Http404
    response = HttpResponse(svg, content_type="image/svg+xml")
    # The image is the donor's data: never cached by shared caches, and no scripts in it run.
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@login_required
def donation_preview_motion(request: HttpRequest, donation_id: str) -> HttpResponse:
    """The anonymized poses (preview.json) of the donor's own processed donation, for the replay."""
    preview = donation_motion_preview_for_user(user=request.user, donation_id=donation_id)  # type: ignore[arg-type]
    return _motion_preview_response(preview)


def _motion_preview_response(preview: bytes | None) -> HttpResponse:
    """preview.json as stored, private to the browser; 404 when there is none."""
    if preview is None:
        raise Http404
    response = HttpResponse(preview, content_type="application/json")
    response["Cache-Control"] = "private, max-age=300"
    return response


@curator_required
def curation_queue(request: HttpRequest) -> HttpResponse:
    """Processed donations awaiting review, narrowed by the GET filters; bulk and one-by-one
    decisions; the latest decisions (who, when); release building."""
    filter_form = CurationFilterForm(request.GET or None)
    filters = CurationFilters()
    if filter_form.is_bound and filter_form.is_valid():
        data = filter_form.cleaned_data
        filters = CurationFilters(
            source_format=data["format"],
            rate_min=data["rate_min"],
            rate_max=data["rate_max"],
            duration_min=data["duration_min"],
            duration_max=data["duration_max"],
            scopes=data["scopes"],
        )
    return render(
        request,
        "donations/curation_queue.html",
        {
            "donations": donation_list_for_curation(filters=filters),
            "filter_form": filter_form,
            "formats": donation_format_list_for_curation(),
            "decisions": curation_decision_list_recent(),
            "datasets": dataset_list_public(),
            "releases": release_list_for_curation(),
            "release_form": ReleaseCreateForm(),
        },
    )


@curator_required
@require_POST
def curation_bulk_review(request: HttpRequest) -> HttpResponse:
    """One decision for the selected donations, each through donation_review in its own
    transaction: one that cannot be decided (already decided, withdrawn, the curator's own)
    does not stop the rest, and the curator is told how many were skipped and why."""
    form = BulkReviewForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, str(errors[0]))
        return redirect("donations:curation_queue")
    accept = form.cleaned_data["decision"] == "accept"
    done, skipped, own = 0, 0, 0
    for donation_id in form.cleaned_data["donations"]:
        donation = donation_get_or_none(donation_id=donation_id)
        if donation is None:
            skipped += 1
            continue
        try:
            donation_review(
                donation=donation,
                curator=request.user,  # type: ignore[arg-type]
                accept=accept,
                reason=form.cleaned_data["reason"],
            )
        except SelfReviewError:
            own += 1
        except DonationError:
            skipped += 1
        else:
            done += 1
    if accept:
        text = ngettext("%(count)d donation accepted.", "%(count)d donations accepted.", done) % {
            "count": done
        }
    else:
        text = ngettext("%(count)d donation declined.", "%(count)d donations declined.", done) % {
            "count": done
        }
    messages.success(request, text)
    if skipped:
        messages.warning(
            request,
            ngettext(
                "%(count)d donation was not awaiting review and was left as it is.",
                "%(count)d donations were not awaiting review and were left as they are.",
                skipped,
            )
            % {"count": skipped},
        )
    if own:
        messages.warning(
            request,
            ngettext(
                "%(count)d donation is your own and was left for another curator.",
                "%(count)d donations are your own and were left for another curator.",
                own,
            )
            % {"count": own},
        )
    return redirect("donations:curation_queue")


@curator_required
def curation_preview_motion(request: HttpRequest, donation_id: str) -> HttpResponse:
    """The anonymized poses (preview.json) of any processed donation, for the curator's replay."""
    return _motion_preview_response(donation_motion_preview_for_curation(donation_id=donation_id))


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

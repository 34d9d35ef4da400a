from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import capability_required
from accounts.models import User
from accounts.permissions import Capability
from releases.access import (
    Access,
    Unsatisfiable,
    download_log,
    dua_accept,
    dua_accepted,
    dua_sha256,
    range_parse,
    release_file_access,
    signed_url_check,
    signed_url_make,
    storage_read_span,
)
from releases.exceptions import ReleaseError
from releases.feeds import withdrawals_atom, withdrawals_json
from releases.forms import ReleaseCreateForm
from releases.models import Dataset, Release, ReleaseFile
from releases.recovery import release_retry
from releases.selectors import (
    dataset_get_public,
    dataset_list_public,
    release_file_get_public,
    release_get_newest_published,
    release_get_public,
    release_list_public_with_stats,
    release_stats,
    release_withdrawn_count,
    withdrawal_list_for_dataset,
)
from releases.services import release_create, release_publish

DOWNLOADER = Path(settings.BASE_DIR) / "tools" / "metagen_download.py"


def _user(request: HttpRequest) -> User | None:
    return request.user if request.user.is_authenticated else None  # type: ignore[return-value]


def catalogue(request: HttpRequest) -> HttpResponse:
    return render(request, "releases/catalogue.html", {"datasets": dataset_list_public()})


def dataset_detail(request: HttpRequest, slug: str) -> HttpResponse:
    dataset = dataset_get_public(slug=slug)
    if dataset is None:
        raise Http404
    restricted = dataset.access_tier == Dataset.AccessTier.RESTRICTED
    return render(
        request,
        "releases/dataset.html",
        {
            "dataset": dataset,
            "releases": release_list_public_with_stats(dataset=dataset),
            "restricted": restricted,
            "dua_accepted": restricted and dua_accepted(dataset=dataset, user=_user(request)),
        },
    )


@require_http_methods(["GET", "POST"])
def dataset_agreement(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the data-use agreement and its SHA-256. POST: accept that text (signed in)."""
    dataset = dataset_get_public(slug=slug)
    if dataset is None or dataset.access_tier != Dataset.AccessTier.RESTRICTED:
        raise Http404
    user = _user(request)
    if request.method == "POST":
        if user is None:
            return redirect_to_login(request.get_full_path())
        try:
            dua_accept(dataset=dataset, user=user, dua_sha256_seen=request.POST.get("sha256", ""))
        except ValueError:
            messages.error(request, _("The agreement changed since you opened it; read it again."))
            return redirect("releases:agreement", slug=dataset.slug)
        messages.success(
            request, _("Agreement accepted. The files of this dataset are yours to download.")
        )
        return redirect("releases:dataset", slug=dataset.slug)
    return render(
        request,
        "releases/agreement.html",
        {
            "dataset": dataset,
            "sha256": dua_sha256(dataset=dataset),
            "accepted": dua_accepted(dataset=dataset, user=user),
        },
    )


def release_detail(request: HttpRequest, slug: str, version: str) -> HttpResponse:
    release = release_get_public(slug=slug, version=version)
    if release is None:
        raise Http404
    dataset = release.dataset
    restricted = dataset.access_tier == Dataset.AccessTier.RESTRICTED
    user = _user(request)
    files = list(release.files.all())
    base = request.build_absolute_uri("/").rstrip("/")
    return render(
        request,
        "releases/release.html",
        {
            "release": release,
            "dataset": dataset,
            "files": files,
            "shards": [
                f for f in files if f.path.startswith("data/") and f.path.endswith(".parquet")
            ],
            "index_file": next((f for f in files if f.path == "recordings.parquet"), None),
            "stats": release_stats(release=release),
            "restricted": restricted,
            "can_download": not restricted or dua_accepted(dataset=dataset, user=user),
            "withdrawn_count": release_withdrawn_count(release=release),
            "newest": release_get_newest_published(dataset=dataset)
            if release.status == Release.Status.SUPERSEDED
            else None,
            "base_url": base,
            "folder": f"{dataset.slug}-{release.version}",
        },
    )


def _ranged_response(
    request: HttpRequest, release_file: ReleaseFile, *, user: User | None, via: str
) -> HttpResponse | StreamingHttpResponse:
    """Stream the file, or the one byte range asked for (206), with its SHA-256 as ETag."""
    size = release_file.size
    etag = f'"{release_file.sha256}"'
    byte_range = None
    header = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range")
    if header and (if_range is None or if_range.strip() == etag):
        try:
            byte_range = range_parse(header=header, size=size)
        except Unsatisfiable:
            refused = HttpResponse(status=416)
            refused["Content-Range"] = f"bytes */{size}"
            refused["Accept-Ranges"] = "bytes"
            return refused
    start, length = (byte_range.start, byte_range.length) if byte_range else (0, size)
    if request.method == "HEAD":
        body: object = iter(())
    else:
        download_log(release_file=release_file, user=user, via=via)
        body = storage_read_span(key=release_file.storage_key, start=start, length=length)
    response = StreamingHttpResponse(
        body,  # type: ignore[arg-type]
        status=206 if byte_range else 200,
        content_type="application/octet-stream",
    )
    if byte_range:
        response["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["X-Checksum-SHA256"] = release_file.sha256
    filename = release_file.path.rsplit("/", 1)[-1]
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_http_methods(["GET", "HEAD"])
def release_file_download(
    request: HttpRequest, slug: str, version: str, path: str
) -> HttpResponseBase:
    """Open files: a stable URL with range support. Restricted files: 404 for anonymous
    visitors, 403 without the current agreement, and with it a redirect to a short-lived
    signed URL (which this same view serves when storage is local)."""
    release_file = release_file_get_public(slug=slug, version=version, path=path)
    if release_file is None:
        raise Http404
    user = _user(request)
    signature = request.GET.get("signature")
    if signature is not None:
        signed_for = signed_url_check(release_file=release_file, signature=signature)
        if signed_for is None:
            raise Http404
        if release_file_access(release_file=release_file, user=signed_for) != Access.ALLOWED:
            return HttpResponse(_("Accept the data-use agreement first."), status=403)
        return _ranged_response(request, release_file, user=signed_for, via="signed")
    if user is None:
        user = _token_user(request)
    access = release_file_access(release_file=release_file, user=user)
    if access == Access.HIDDEN:
        raise Http404
    if access == Access.NEEDS_AGREEMENT:
        return HttpResponse(_("Accept the data-use agreement first."), status=403)
    if release_file.release.dataset.access_tier == Dataset.AccessTier.OPEN:
        return _ranged_response(request, release_file, user=user, via="web")
    if user is None:  # not reached: restricted and allowed means signed in
        raise Http404
    return redirect(
        signed_url_make(
            release_file=release_file,
            user=user,
            absolute=request.build_absolute_uri("/").rstrip("/"),
        )
    )


def _token_user(request: HttpRequest) -> User | None:
    """A researcher's API token (the downloader sends one) also opens restricted file URLs."""
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.exceptions import AuthenticationFailed

    if not request.headers.get("Authorization", "").startswith("Token "):
        return None
    try:
        found = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]
    except AuthenticationFailed:
        return None
    return found[0] if found else None


@require_GET
def dataset_withdrawals(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    """The withdrawal feed, JSON or Atom: recordings to delete from downloaded copies."""
    dataset = dataset_get_public(slug=slug)
    if dataset is None:
        raise Http404
    withdrawals = withdrawal_list_for_dataset(dataset=dataset)
    if fmt == "atom":
        return withdrawals_atom(request=request, dataset=dataset, withdrawals=withdrawals)
    return withdrawals_json(request=request, dataset=dataset, withdrawals=withdrawals)


def downloader(request: HttpRequest) -> FileResponse:
    """The standalone downloader (tools/metagen_download.py), served from the repository."""
    response = FileResponse(
        DOWNLOADER.open("rb"), as_attachment=True, filename="metagen_download.py"
    )
    response["Content-Type"] = "text/x-python; charset=utf-8"
    return response


@capability_required(Capability.PUBLISH_RELEASES)
@require_POST
def release_create_view(request: HttpRequest) -> HttpResponse:
    form = ReleaseCreateForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, str(errors[0]))
        return redirect("donations:curation_queue")
    dataset = get_object_or_404(Dataset, slug=form.cleaned_data["dataset"])
    try:
        release_create(
            dataset=dataset,
            version=form.cleaned_data["version"],
            curator=request.user,  # type: ignore[arg-type]
        )
    except ReleaseError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The release is being built. Refresh to see when it is ready."))
    return redirect("donations:curation_queue")


@capability_required(Capability.PUBLISH_RELEASES)
@require_POST
def release_publish_view(request: HttpRequest, release_id: int) -> HttpResponse:
    release = get_object_or_404(Release, pk=release_id)
    try:
        release_publish(release=release, curator=request.user)  # type: ignore[arg-type]
    except ReleaseError as exc:
        messages.error(request, str(exc))
        return redirect("donations:curation_queue")
    messages.success(request, _("Published."))
    return redirect("releases:release", slug=release.dataset.slug, version=release.version)


@capability_required(Capability.PUBLISH_RELEASES)
@require_POST
def release_retry_view(request: HttpRequest, release_id: int) -> HttpResponse:
    """Retry a failed build from the step that failed (releases.recovery.release_retry)."""
    release = get_object_or_404(Release, pk=release_id)
    try:
        release_retry(release=release, curator=request.user)  # type: ignore[arg-type]
    except ReleaseError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The build was queued again from the step that failed."))
    return redirect("donations:curation_queue")

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import curator_required
from releases.exceptions import ReleaseError
from releases.forms import ReleaseCreateForm
from releases.models import Dataset, Release
from releases.selectors import (
    dataset_list_public,
    release_file_get_public,
    release_get_public,
    release_list_public,
)
from releases.services import release_create, release_file_open, release_publish


def catalogue(request: HttpRequest) -> HttpResponse:
    return render(request, "releases/catalogue.html", {"datasets": dataset_list_public()})


def dataset_detail(request: HttpRequest, slug: str) -> HttpResponse:
    dataset = get_object_or_404(Dataset, slug=slug)
    return render(
        request,
        "releases/dataset.html",
        {"dataset": dataset, "releases": release_list_public(dataset=dataset)},
    )


def release_detail(request: HttpRequest, slug: str, version: str) -> HttpResponse:
    release = release_get_public(slug=slug, version=version)
    if release is None:
        raise Http404
    return render(
        request, "releases/release.html", {"release": release, "files": release.files.all()}
    )


def release_file_download(request: HttpRequest, slug: str, version: str, path: str) -> FileResponse:
    release_file = release_file_get_public(slug=slug, version=version, path=path)
    if release_file is None:
        raise Http404
    if release_file.release.dataset.access_tier != Dataset.AccessTier.OPEN:
        # Restricted releases need a data-use agreement first; that flow does not exist yet.
        raise Http404
    fh = release_file_open(release_file=release_file, user=request.user)  # type: ignore[arg-type]
    response = FileResponse(fh, as_attachment=True, filename=path.rsplit("/", 1)[-1])
    response["Content-Length"] = str(release_file.size)
    response["X-Checksum-SHA256"] = release_file.sha256
    return response


@curator_required
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


@curator_required
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

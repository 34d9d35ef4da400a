"""Public pages about what the pipeline accepts: formats, how to export them, every refusal."""

from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import cache_control

from processing.motion import CODES
from processing.motion.formats import supported_labels
from processing.motion.quality import QUALITY_CODES, QUALITY_VERSION

SCHEMA_PATH = Path(__file__).resolve().parent / "motion" / "schemas" / "pose-stream.schema.json"


@cache_control(public=True, max_age=3600)
def formats(request: HttpRequest) -> HttpResponse:
    codes = sorted(CODES.items())
    return render(
        request,
        "processing/formats.html",
        {
            "labels": supported_labels(),
            "codes": codes,
            "quality_codes": sorted(QUALITY_CODES.items()),
            "quality_version": QUALITY_VERSION,
            "schema_url": reverse("processing:pose_stream_schema"),
            "raw_retention_days": settings.REJECTED_RAW_RETENTION_DAYS,
        },
    )


@cache_control(public=True, max_age=3600)
def pose_stream_schema(request: HttpRequest) -> FileResponse:
    return FileResponse(SCHEMA_PATH.open("rb"), content_type="application/schema+json")

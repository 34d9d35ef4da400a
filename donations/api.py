import uuid

from django.conf import settings
from django.http import Http404, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from donations.advice import next_step_for
from donations.exceptions import DonationError
from donations.models import Donation, DonationFile, DonationStatusChange, UploadSession
from donations.selectors import (
    PREVIEWABLE_STATUSES,
    donation_list_for_user,
    donation_motion_preview_for_user,
)
from donations.uploads import (
    FileSpec,
    StorageUnavailableError,
    upload_part_list,
    upload_part_sign,
    upload_session_abort,
    upload_session_complete,
    upload_session_get_for_user,
    upload_session_open,
)


class DonationStatusChangeSerializer(serializers.ModelSerializer):
    to_status_display = serializers.CharField(source="get_to_status_display", read_only=True)

    class Meta:
        model = DonationStatusChange
        fields = ("from_status", "to_status", "to_status_display", "note", "created_at")


class DonationSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    history = DonationStatusChangeSerializer(many=True, read_only=True)
    next_step = serializers.SerializerMethodField(help_text="What the donor can do next.")
    preview_url = serializers.SerializerMethodField(
        help_text="The 3D preview's poses (preview.json) once processed, else null."
    )

    def get_next_step(self, donation: Donation) -> str:
        return str(next_step_for(donation.status))

    def get_preview_url(self, donation: Donation) -> str | None:
        if donation.status not in PREVIEWABLE_STATUSES or not donation.artifact_prefix:
            return None
        return reverse("api:donation-preview", args=[donation.pk])

    class Meta:
        model = Donation
        fields = (
            "id",
            "status",
            "status_display",
            "problem_code",
            "problem_message",
            "summary",
            "created_at",
            "updated_at",
            "history",
            "next_step",
            "preview_url",
        )


@extend_schema_view(
    list=extend_schema(summary="Your donations, newest first"),
    retrieve=extend_schema(summary="One of your donations, with its status history"),
)
class DonationViewSet(viewsets.ReadOnlyModelViewSet):
    """The signed-in donor's own donations; anyone else's answer 404."""

    serializer_class = DonationSerializer
    lookup_value_converter = "uuid"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Donation.objects.none()
        return donation_list_for_user(user=self.request.user).prefetch_related("history")

    @extend_schema(
        summary="The 3D preview of one of your processed donations (poses in mm, times in ms)",
        responses={(200, "application/json"): OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def preview(self, request: Request, pk: uuid.UUID) -> HttpResponse:
        preview = donation_motion_preview_for_user(user=request.user, donation_id=pk)  # type: ignore[arg-type]
        if preview is None:
            raise Http404
        # The stored bytes as they are: no parse and re-encode of a file of up to a few MB.
        response = HttpResponse(preview, content_type="application/json")
        response["Cache-Control"] = "private, max-age=300"
        return response


# --- Resumable uploads (donations/uploads.py holds the protocol) ------------------------------


class UploadRateThrottle(ScopedRateThrottle):
    """Scoped per-user rates read from settings.UPLOAD_THROTTLE_RATES at request time."""

    def get_rate(self) -> str | None:
        return settings.UPLOAD_THROTTLE_RATES.get(self.scope)


class UploadFileSpecSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DonationFile.Kind.choices)
    size = serializers.IntegerField(min_value=0, help_text="Size of the whole file in bytes.")
    extension = serializers.CharField(
        max_length=16, help_text="The file name's extension (e.g. `bvh`); the name is not sent."
    )
    content_type = serializers.CharField(max_length=100, required=False, allow_blank=True)


class UploadOpenSerializer(serializers.Serializer):
    files = UploadFileSpecSerializer(many=True, allow_empty=False, max_length=2)


class UploadSessionSerializer(serializers.ModelSerializer):
    donation = serializers.UUIDField(source="donation_id", read_only=True)
    donation_status = serializers.CharField(source="donation.status", read_only=True)

    class Meta:
        model = UploadSession
        fields = (
            "id",
            "donation",
            "donation_status",
            "kind",
            "size",
            "part_size",
            "part_count",
            "status",
            "expires_at",
        )


class UploadOpenedSerializer(serializers.Serializer):
    donation = serializers.UUIDField()
    sessions = UploadSessionSerializer(many=True)


class StoredPartSerializer(serializers.Serializer):
    part_number = serializers.IntegerField()
    size = serializers.IntegerField()
    etag = serializers.CharField()


class PartSignRequestSerializer(serializers.Serializer):
    checksum_sha256 = serializers.CharField(
        max_length=64, help_text="The part's SHA-256, base64-encoded (as S3 spells it)."
    )


class SignedPartSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="Where to PUT the part's bytes.")
    method = serializers.CharField()
    headers = serializers.DictField(child=serializers.CharField(), help_text="Send these too.")
    expires_in = serializers.IntegerField(help_text="Seconds the URL stays valid.")


def _own_session(request: Request, session_id: uuid.UUID) -> UploadSession:
    session = upload_session_get_for_user(user=request.user, session_id=session_id)  # type: ignore[arg-type]
    if session is None:
        raise Http404
    return session


def _upload_error(exc: DonationError) -> Response:
    return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)


class UploadOpenView(APIView):
    """Start a donation: one upload session per file (a motion file, optionally an audio file)."""

    throttle_classes = [UploadRateThrottle]
    throttle_scope = "upload_open"

    @extend_schema(
        summary="Open upload sessions for a new donation",
        request=UploadOpenSerializer,
        responses={201: UploadOpenedSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = UploadOpenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            donation = upload_session_open(
                donor=request.user,  # type: ignore[arg-type]
                files=[FileSpec(**spec) for spec in serializer.validated_data["files"]],
            )
        except DonationError as exc:
            return _upload_error(exc)
        sessions = list(donation.upload_sessions.select_related("donation"))
        body = {"donation": donation.pk, "sessions": sessions}
        return Response(UploadOpenedSerializer(body).data, status=status.HTTP_201_CREATED)


class UploadSessionView(APIView):
    @extend_schema(summary="One of your upload sessions", responses=UploadSessionSerializer)
    def get(self, request: Request, session_id: uuid.UUID) -> Response:
        return Response(UploadSessionSerializer(_own_session(request, session_id)).data)


class UploadPartListView(APIView):
    throttle_classes = [UploadRateThrottle]
    throttle_scope = "upload_part"

    @extend_schema(
        summary="Parts already stored (resume by sending the others)",
        responses=StoredPartSerializer(many=True),
    )
    def get(self, request: Request, session_id: uuid.UUID) -> Response:
        parts = upload_part_list(session=_own_session(request, session_id))
        return Response(StoredPartSerializer(parts, many=True).data)


class UploadPartSignView(APIView):
    throttle_classes = [UploadRateThrottle]
    throttle_scope = "upload_part"

    @extend_schema(
        summary="Where to PUT one part, bound to its SHA-256 and exact length",
        request=PartSignRequestSerializer,
        responses=SignedPartSerializer,
    )
    def post(self, request: Request, session_id: uuid.UUID, part_number: int) -> Response:
        session = _own_session(request, session_id)
        serializer = PartSignRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            signed = upload_part_sign(
                session=session,
                part_number=part_number,
                checksum_sha256=serializer.validated_data["checksum_sha256"],
            )
        except DonationError as exc:
            return _upload_error(exc)
        data = SignedPartSerializer(signed).data
        data["url"] = request.build_absolute_uri(signed.url)
        return Response(data)


class UploadCompleteView(APIView):
    @extend_schema(
        summary="Assemble the parts (idempotent); the last file queues processing",
        request=None,
        responses=UploadSessionSerializer,
    )
    def post(self, request: Request, session_id: uuid.UUID) -> Response:
        try:
            session = upload_session_complete(session=_own_session(request, session_id))
        except StorageUnavailableError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        except DonationError as exc:
            return _upload_error(exc)
        return Response(UploadSessionSerializer(session).data)


class UploadAbortView(APIView):
    @extend_schema(
        summary="Cancel the donation's upload (idempotent); the donation becomes abandoned",
        request=None,
        responses=UploadSessionSerializer,
    )
    def post(self, request: Request, session_id: uuid.UUID) -> Response:
        try:
            session = upload_session_abort(
                session=_own_session(request, session_id),
                actor=request.user,  # type: ignore[arg-type]
            )
        except DonationError as exc:
            return _upload_error(exc)
        return Response(UploadSessionSerializer(session).data)

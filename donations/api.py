import uuid

from django.http import Http404, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request

from donations.advice import next_step_for
from donations.models import Donation, DonationStatusChange
from donations.selectors import (
    PREVIEWABLE_STATUSES,
    donation_list_for_user,
    donation_motion_preview_for_user,
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

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Donation.objects.none()
        return donation_list_for_user(user=self.request.user).prefetch_related("history")

    @extend_schema(
        summary="The 3D preview of one of your processed donations (poses in mm, times in ms)",
        responses={(200, "application/json"): OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def preview(self, request: Request, pk: str | None = None) -> HttpResponse:
        try:
            donation_id = uuid.UUID(str(pk))
        except ValueError:
            raise Http404 from None
        preview = donation_motion_preview_for_user(user=request.user, donation_id=donation_id)  # type: ignore[arg-type]
        if preview is None:
            raise Http404
        # The stored bytes as they are: no parse and re-encode of a file of up to a few MB.
        response = HttpResponse(preview, content_type="application/json")
        response["Cache-Control"] = "private, max-age=300"
        return response

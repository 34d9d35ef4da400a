from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from donations.models import Donation, DonationStatusChange
from donations.selectors import donation_list_for_user


class DonationStatusChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = DonationStatusChange
        fields = ("from_status", "to_status", "note", "created_at")


class DonationSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    history = DonationStatusChangeSerializer(many=True, read_only=True)

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

"""The consent API: documents, the signed-in donor's consent events and receipts, withdrawal and
account deletion. Someone else's event or donation answers 404, as on the pages."""

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import user_delete
from consent.models import ConsentDocument, ConsentEvent
from consent.receipts import receipt_build
from consent.scopes import ALL_SCOPES, Credit
from consent.selectors import (
    consent_document_get,
    consent_document_get_current,
    consent_document_list,
    consent_event_get_for_user,
    consent_event_list_for_user,
)
from consent.services import ConsentError, consent_grant
from donations.exceptions import DonationError
from donations.models import Donation, DonationStatus
from donations.selectors import donation_get_for_user
from donations.services import AlreadyWithdrawnError, donation_withdraw, donation_withdraw_all


class ConsentDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConsentDocument
        fields = (
            "version",
            "title",
            "text",
            "sha256",
            "effective_at",
            "scopes_offered",
            "summary_of_changes",
        )


class ConsentEventSerializer(serializers.ModelSerializer):
    document_version = serializers.IntegerField(source="document.version", read_only=True)
    donation = serializers.UUIDField(source="donation_id", read_only=True, allow_null=True)
    # The change from the grant in force before; null on events from before it was kept.
    scopes_added = serializers.ListField(
        child=serializers.CharField(), read_only=True, allow_null=True
    )
    scopes_withdrawn = serializers.ListField(
        child=serializers.CharField(), read_only=True, allow_null=True
    )

    class Meta:
        model = ConsentEvent
        fields = (
            "id",
            "action",
            "donation",
            "document_version",
            "document_sha256",
            "scopes",
            "scopes_added",
            "scopes_withdrawn",
            "credit",
            "method",
            "created_at",
        )


class ConsentGrantSerializer(serializers.Serializer):
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=list(ALL_SCOPES)),
        allow_empty=False,
        help_text="Scopes '<modality>:<use>' you agree to.",
    )
    credit = serializers.ChoiceField(choices=Credit.choices, default=Credit.ANONYMOUS)
    pseudonym = serializers.CharField(
        required=False, allow_blank=True, help_text="Needed once for credit 'pseudonym'."
    )
    donation = serializers.UUIDField(
        required=False, allow_null=True, help_text="One of your donations; omit for the default."
    )
    document_version = serializers.IntegerField(
        required=False, help_text="The version you read; defaults to the current one."
    )


class ConsentWithdrawSerializer(serializers.Serializer):
    donation = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="One of your donations; omit (or null) to withdraw everything.",
    )


class AccountDeleteSerializer(serializers.Serializer):
    password = serializers.CharField(help_text="Your password, to confirm.")


@extend_schema_view(
    list=extend_schema(summary="Published consent documents, newest first"),
    retrieve=extend_schema(summary="One consent document version"),
)
class ConsentDocumentViewSet(viewsets.ReadOnlyModelViewSet):
    """Consent documents are public: anyone may read what donors agree to."""

    serializer_class = ConsentDocumentSerializer
    permission_classes = [AllowAny]
    lookup_field = "version"
    lookup_value_converter = "int"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return consent_document_list()

    def get_object(self) -> ConsentDocument:
        document = consent_document_get(version=int(self.kwargs["version"]))
        if document is None:
            raise Http404
        return document

    @extend_schema(
        summary="The consent document in effect now",
        responses={200: ConsentDocumentSerializer, 404: None},
    )
    @action(detail=False)
    def current(self, request: Request, format: str | None = None) -> Response:
        document = consent_document_get_current()
        if document is None:
            raise Http404
        return Response(ConsentDocumentSerializer(document).data)


def _own_donation(request: Request, donation_id: object) -> Donation:
    """The signed-in donor's donation; someone else's (or none) answers 404."""
    donation = donation_get_for_user(user=request.user, donation_id=donation_id)  # type: ignore[arg-type]
    if donation is None:
        raise Http404
    return donation


@extend_schema_view(
    list=extend_schema(summary="Your consent events, newest first"),
    retrieve=extend_schema(summary="One of your consent events"),
)
class ConsentEventViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The signed-in donor's consent events (append-only); anyone else's answer 404."""

    serializer_class = ConsentEventSerializer
    lookup_value_converter = "uuid"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ConsentEvent.objects.none()
        return consent_event_list_for_user(user=self.request.user)

    def get_object(self) -> ConsentEvent:
        event = consent_event_get_for_user(user=self.request.user, event_id=self.kwargs["pk"])  # type: ignore[arg-type]
        if event is None:
            raise Http404
        return event

    @extend_schema(
        summary="Grant consent (for one donation, or as your default)",
        request=ConsentGrantSerializer,
        responses={201: ConsentEventSerializer, 404: None},
    )
    def create(self, request: Request) -> Response:
        payload = ConsentGrantSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        donation_id = data.get("donation")
        if donation_id is not None:
            _own_donation(request, donation_id)
        if "document_version" in data:
            document = consent_document_get(version=data["document_version"])
        else:
            document = consent_document_get_current()
        if document is None:
            raise serializers.ValidationError(
                {"document_version": [_("No such consent document is in effect.")]}
            )
        try:
            event = consent_grant(
                donor=request.user,  # type: ignore[arg-type]
                document=document,
                scopes=data["scopes"],
                credit=data["credit"],
                pseudonym=data.get("pseudonym") or None,
                method=ConsentEvent.Method.API,
                donation_id=donation_id,  # type: ignore[arg-type]
            )
        except ConsentError as exc:
            raise serializers.ValidationError({"detail": [str(exc)]}) from exc
        event = consent_event_get_for_user(user=request.user, event_id=event.pk)  # type: ignore[arg-type,assignment]
        return Response(ConsentEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Withdraw consent for one donation, or for everything",
        description=(
            "Processing stops, the donation's files are deleted and later releases leave it "
            "out. Copies already downloaded from published releases cannot be recalled."
        ),
        request=ConsentWithdrawSerializer,
        responses={200: ConsentEventSerializer(many=True), 404: None},
    )
    # The answer is the latest withdraw event (or none) as a plain list, never a page.
    @action(detail=False, methods=["post"], pagination_class=None)
    def withdraw(self, request: Request) -> Response:
        payload = ConsentWithdrawSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        donation_id = payload.validated_data.get("donation")
        try:
            if donation_id is None:
                donation_withdraw_all(donor=request.user, method=ConsentEvent.Method.API)  # type: ignore[arg-type]
            else:
                _withdraw_one(request, donation_id)
        except AlreadyWithdrawnError:
            pass  # idempotent: the events below already show the withdrawal
        except DonationError as exc:
            raise serializers.ValidationError({"detail": [str(exc)]}) from exc
        recent = consent_event_list_for_user(user=request.user).filter(  # type: ignore[arg-type]
            action=ConsentEvent.Action.WITHDRAW
        )
        if donation_id is not None:
            recent = recent.filter(donation_id=donation_id)
        return Response(ConsentEventSerializer(recent[:1], many=True).data)

    @extend_schema(
        summary="The consent receipt of one of your events (Kantara v1.1 fields)",
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True)
    def receipt(self, request: Request, pk: str, format: str | None = None) -> Response:
        event = self.get_object()
        return Response(receipt_build(event=event, site_url=request.build_absolute_uri("/")))


def _withdraw_one(request: Request, donation_id: object) -> None:
    donation_withdraw(
        donor=request.user,  # type: ignore[arg-type]
        donation=_own_donation(request, donation_id),
        method=ConsentEvent.Method.API,
    )


class DonationWithdrawView(APIView):
    """POST /api/donations/<id>/withdraw/: withdraw consent for one of your donations."""

    @extend_schema(
        summary="Withdraw one of your donations",
        description=(
            "Appends a withdraw consent event, moves the donation to 'withdrawn' and deletes its "
            "files. Repeating it is harmless. Copies already downloaded from published releases "
            "cannot be recalled."
        ),
        request=None,
        responses={
            200: inline_serializer(
                "DonationWithdrawn",
                {
                    "id": serializers.UUIDField(),
                    "status": serializers.ChoiceField(choices=DonationStatus.choices),
                    "detail": serializers.CharField(),
                },
            ),
            404: OpenApiResponse(description="Not one of your donations."),
        },
    )
    def post(self, request: Request, donation_id: str) -> Response:
        detail = _("Withdrawn. Processing stops and the files of this donation are being deleted.")
        try:
            _withdraw_one(request, donation_id)
        except AlreadyWithdrawnError as exc:
            detail = str(exc)
        except DonationError as exc:
            raise serializers.ValidationError({"detail": [str(exc)]}) from exc
        return Response({"id": donation_id, "status": DonationStatus.WITHDRAWN, "detail": detail})


class AccountDeleteView(APIView):
    """POST /api/account/delete/: withdraw everything and delete your account."""

    @extend_schema(
        summary="Delete your account",
        description=(
            "Withdraws consent for every donation (their files are deleted), then removes your "
            "email address, password, pseudonym, API token and sessions. Consent events are kept "
            "as evidence. Not reversible."
        ),
        request=AccountDeleteSerializer,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        payload = AccountDeleteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        if not request.user.check_password(payload.validated_data["password"]):
            raise serializers.ValidationError({"password": [_("That is not your password.")]})
        user_delete(user=request.user, method=ConsentEvent.Method.API)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)

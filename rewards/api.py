"""The rewards API: the rule in force (public), and the signed-in donor's balance, ledger and
payout requests. Someone else's payout answers 404, as on the pages."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rewards.exceptions import RewardError
from rewards.models import LedgerEntry, PayoutRequest, RewardRule
from rewards.selectors import (
    ledger_entry_list_for_user,
    payout_get_for_user,
    payout_list_for_user,
    reward_balance_for_user,
    reward_rule_in_force,
)
from rewards.services import payout_request_create


class RewardRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = RewardRule
        fields = (
            "version",
            "credits_per_minute",
            "audio_bonus",
            "events_bonus",
            "daily_cap",
            "effective_at",
        )


class LedgerEntrySerializer(serializers.ModelSerializer):
    donation = serializers.UUIDField(source="donation_id", read_only=True, allow_null=True)
    payout = serializers.UUIDField(source="payout_id", read_only=True, allow_null=True)
    rule_version = serializers.IntegerField(
        source="rule.version", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = LedgerEntry
        fields = (
            "id",
            "kind",
            "credits",
            "donation",
            "payout",
            "rule_version",
            "reason",
            "pricing",
            "created_at",
        )


class _PayoutMinimum(MinValueValidator):
    """At least settings.REWARDS_PAYOUT_MINIMUM credits, read per request (tests change it)."""

    message = _("The smallest payout is %(limit_value)s credits.")

    def __init__(self) -> None:
        super().__init__(lambda: settings.REWARDS_PAYOUT_MINIMUM)


class PayoutSerializer(serializers.ModelSerializer):
    class Meta:
        model = PayoutRequest
        fields = (
            "id",
            "credits",
            "status",
            "decision_note",
            "decided_at",
            "paid_at",
            "external_reference",
            "request_key",
            "created_at",
        )
        read_only_fields = tuple(f for f in fields if f not in ("credits", "request_key"))
        extra_kwargs = {
            # The service enforces the minimum too; here it reaches the request schema.
            "credits": {"validators": [_PayoutMinimum()]},
            "request_key": {
                "write_only": True,
                "required": False,
                "help_text": "Your own key for this request: sending it again returns the first.",
            },
        }


class RuleCurrentView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="The reward rule in force now", responses={200: RewardRuleSerializer, 404: None}
    )
    def get(self, request: Request) -> Response:
        rule = reward_rule_in_force()
        if rule is None:
            raise Http404
        return Response(RewardRuleSerializer(rule).data)


class BalanceView(APIView):
    @extend_schema(
        summary="Your balance and the credits held for pending payouts",
        responses=inline_serializer(
            "RewardBalance",
            {
                "balance": serializers.IntegerField(),
                "held": serializers.IntegerField(),
                "payout_minimum": serializers.IntegerField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        totals = reward_balance_for_user(user=request.user)  # type: ignore[arg-type]
        return Response({**totals, "payout_minimum": settings.REWARDS_PAYOUT_MINIMUM})


@extend_schema_view(list=extend_schema(summary="Your ledger entries, newest first"))
class LedgerEntryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = LedgerEntrySerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return ledger_entry_list_for_user(user=self.request.user)  # type: ignore[arg-type]


@extend_schema_view(
    list=extend_schema(summary="Your payout requests, newest first"),
    retrieve=extend_schema(summary="One of your payout requests"),
    create=extend_schema(summary="Request a payout; the credits are held until decided"),
)
class PayoutViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = PayoutSerializer
    lookup_value_converter = "uuid"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return payout_list_for_user(user=self.request.user)  # type: ignore[arg-type]

    def get_object(self) -> PayoutRequest:
        payout = payout_get_for_user(user=self.request.user, payout_id=self.kwargs["pk"])  # type: ignore[arg-type]
        if payout is None:
            raise Http404
        return payout

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = PayoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            payout = payout_request_create(
                user=request.user,  # type: ignore[arg-type]
                credits=serializer.validated_data["credits"],
                request_key=serializer.validated_data.get("request_key") or None,
            )
        except RewardError as error:
            return Response({"credits": [str(error)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(PayoutSerializer(payout).data, status=status.HTTP_201_CREATED)

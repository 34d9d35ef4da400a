from typing import Any

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from releases.access import Access, dua_accepted, release_file_access, signed_url_make
from releases.feeds import withdrawals_payload
from releases.models import Dataset, Release, ReleaseFile
from releases.selectors import (
    dataset_get_public,
    dataset_list_with_acceptance,
    release_list_public,
    withdrawal_list_for_dataset,
)


class ReleaseFileSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(
        help_text="Stable URL (open datasets, or restricted ones once the agreement is accepted; "
        "it redirects to a short-lived signed URL then); null when you may not download it."
    )

    class Meta:
        model = ReleaseFile
        fields = ("path", "size", "sha256", "url")

    def get_url(self, obj: ReleaseFile) -> str | None:
        if not self.context.get("can_download", True):
            return None
        path = reverse(
            "releases:file", args=[obj.release.dataset.slug, obj.release.version, obj.path]
        )
        return self.context["request"].build_absolute_uri(path)


class ReleaseSerializer(serializers.ModelSerializer):
    dataset = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    files = ReleaseFileSerializer(many=True, read_only=True)

    class Meta:
        model = Release
        fields = ("dataset", "version", "status", "published_at", "manifest_sha256", "files")


class DatasetSerializer(serializers.ModelSerializer):
    dua_accepted = serializers.SerializerMethodField()

    class Meta:
        model = Dataset
        fields = (
            "slug",
            "title",
            "description",
            "licence",
            "access_tier",
            "required_scopes",
            "modalities",
            "dua_accepted",
        )

    def get_dua_accepted(self, obj: Dataset) -> bool:
        """Whether the requesting user accepted the current agreement (restricted only)."""
        if obj.access_tier != Dataset.AccessTier.RESTRICTED:
            return True
        annotated = getattr(obj, "dua_accepted_now", None)
        if annotated is not None:
            return bool(annotated)
        return dua_accepted(dataset=obj, user=self.context["request"].user)


class SignedUrlSerializer(serializers.Serializer):
    path = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    url = serializers.URLField()


WITHDRAWALS = inline_serializer(
    "Withdrawals",
    fields={
        "dataset": serializers.CharField(),
        "description": serializers.CharField(),
        "withdrawals": inline_serializer(
            "Withdrawal",
            fields={
                "recording_id": serializers.CharField(),
                "withdrawn_at": serializers.DateTimeField(),
                "releases": serializers.ListField(child=serializers.CharField()),
            },
            many=True,
        ),
    },
)


@extend_schema_view(
    list=extend_schema(summary="All datasets"), retrieve=extend_schema(summary="One dataset")
)
class DatasetViewSet(viewsets.ReadOnlyModelViewSet):
    """The public catalogue: readable without signing in."""

    serializer_class = DatasetSerializer
    permission_classes = [permissions.AllowAny]
    lookup_field = "slug"
    lookup_value_converter = "slug"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return dataset_list_with_acceptance(user=self.request.user)  # type: ignore[arg-type]

    @extend_schema(
        summary="Recordings withdrawn since they went into a release (delete them)",
        responses=WITHDRAWALS,
    )
    @action(detail=True, methods=["get"])
    def withdrawals(self, request: Request, slug: str, format: str | None = None) -> Response:
        dataset = self.get_object()
        return Response(
            withdrawals_payload(
                dataset=dataset, withdrawals=withdrawal_list_for_dataset(dataset=dataset)
            )
        )


@extend_schema_view(
    list=extend_schema(summary="Published releases of a dataset, newest first"),
    retrieve=extend_schema(summary="One release with its files, sizes, checksums and URLs"),
)
class ReleaseViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ReleaseSerializer
    permission_classes = [permissions.AllowAny]
    lookup_field = "version"
    lookup_value_regex = r"[0-9]+\.[0-9]+\.[0-9]+"

    def _dataset(self) -> Dataset | None:
        if not hasattr(self, "_dataset_cache"):
            self._dataset_cache = dataset_get_public(slug=self.kwargs["dataset_slug"])
        return self._dataset_cache

    def get_queryset(self):  # type: ignore[no-untyped-def]
        dataset = self._dataset()
        if dataset is None:
            return Release.objects.none()
        return (
            release_list_public(dataset=dataset)
            .select_related("dataset")
            .prefetch_related("files__release__dataset")
        )

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        dataset = self._dataset()
        if dataset is not None and dataset.access_tier == Dataset.AccessTier.RESTRICTED:
            context["can_download"] = dua_accepted(dataset=dataset, user=self.request.user)
        return context

    @extend_schema(
        summary="Short-lived signed URLs for every file of a restricted release",
        description="Needs the dataset's data-use agreement: 404 signed out, 403 without it. "
        "Each URL issued is logged. Open datasets answer with their stable URLs.",
        responses={200: SignedUrlSerializer(many=True), 403: None},
    )
    @action(detail=True, methods=["get"], url_path="signed-urls", pagination_class=None)
    def signed_urls(self, request: Request, dataset_slug: str, version: str) -> Response:
        release = self.get_object()
        files = list(release.files.all())
        user = request.user if request.user.is_authenticated else None
        if files:
            access = release_file_access(release_file=files[0], user=user)  # type: ignore[arg-type]
            if access == Access.HIDDEN:
                raise Http404
            if access == Access.NEEDS_AGREEMENT:
                raise PermissionDenied(_("Accept the data-use agreement first."))
        absolute = request.build_absolute_uri("/").rstrip("/")
        rows = []
        for release_file in files:
            if release.dataset.access_tier == Dataset.AccessTier.OPEN:
                path = reverse(
                    "releases:file", args=[release.dataset.slug, release.version, release_file.path]
                )
                url = request.build_absolute_uri(path)
            else:
                url = signed_url_make(release_file=release_file, user=user, absolute=absolute)  # type: ignore[arg-type]
            rows.append(
                {
                    "path": release_file.path,
                    "size": release_file.size,
                    "sha256": release_file.sha256,
                    "url": url,
                }
            )
        return Response(SignedUrlSerializer(rows, many=True).data)

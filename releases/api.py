from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, serializers, viewsets

from releases.models import Dataset, Release, ReleaseFile
from releases.selectors import release_list_public


class ReleaseFileSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ReleaseFile
        fields = ("path", "size", "sha256", "url")

    def get_url(self, obj: ReleaseFile) -> str:
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
    class Meta:
        model = Dataset
        fields = ("slug", "title", "description", "licence", "access_tier", "required_scopes")


@extend_schema_view(
    list=extend_schema(summary="All datasets"), retrieve=extend_schema(summary="One dataset")
)
class DatasetViewSet(viewsets.ReadOnlyModelViewSet):
    """The public catalogue: readable without signing in."""

    serializer_class = DatasetSerializer
    permission_classes = [permissions.AllowAny]
    queryset = Dataset.objects.order_by("slug")
    lookup_field = "slug"


@extend_schema_view(
    list=extend_schema(summary="Published releases of a dataset, newest first"),
    retrieve=extend_schema(summary="One release with its files, sizes, checksums and URLs"),
)
class ReleaseViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ReleaseSerializer
    permission_classes = [permissions.AllowAny]
    lookup_field = "version"
    lookup_value_regex = r"[0-9]+\.[0-9]+\.[0-9]+"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        dataset = Dataset.objects.filter(slug=self.kwargs["dataset_slug"]).first()
        if dataset is None:
            return Release.objects.none()
        return (
            release_list_public(dataset=dataset)
            .select_related("dataset")
            .prefetch_related("files__release__dataset")
        )

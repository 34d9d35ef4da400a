from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from releases.exceptions import ReleaseError
from releases.models import Dataset, Release, ReleaseFile
from releases.recovery import release_retry


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "access_tier", "licence")
    prepopulated_fields = {"slug": ("title",)}


class ReleaseFileInline(admin.TabularInline):
    model = ReleaseFile
    extra = 0
    can_delete = False
    readonly_fields = ("path", "size", "sha256")


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ("dataset", "version", "status", "failed_step", "published_at")
    list_filter = ("status", "dataset")
    readonly_fields = (
        "status",
        "built_at",
        "published_at",
        "manifest_sha256",
        "failed_step",
        "problem",
        "progress_at",
    )
    inlines = (ReleaseFileInline,)
    actions = ("retry_build",)

    @admin.action(description=_("Retry the failed build from the step that failed"))
    def retry_build(self, request: HttpRequest, queryset: QuerySet[Release]) -> None:
        for release in queryset:
            try:
                release_retry(release=release, curator=request.user)  # type: ignore[arg-type]
            except ReleaseError as exc:
                self.message_user(request, f"{release}: {exc}", messages.WARNING)

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

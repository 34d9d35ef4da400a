from django.contrib import admin

from releases.models import Dataset, Release, ReleaseFile


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
    list_display = ("dataset", "version", "status", "published_at")
    list_filter = ("status", "dataset")
    readonly_fields = ("status", "built_at", "published_at", "manifest_sha256", "problem")
    inlines = (ReleaseFileInline,)

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

from django.contrib import admin

from consent.models import ConsentDocument, ConsentEvent


@admin.register(ConsentDocument)
class ConsentDocumentAdmin(admin.ModelAdmin):
    list_display = ("version", "title", "effective_at", "sha256")
    readonly_fields = ("sha256", "created_at")

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        # Text a donor may already have agreed to is never edited: publish a new version.
        return obj is None

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ConsentEvent)
class ConsentEventAdmin(admin.ModelAdmin):
    list_display = ("id", "donor", "action", "donation", "document", "created_at")
    list_filter = ("action", "method")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

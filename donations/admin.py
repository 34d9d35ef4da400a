from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from donations.exceptions import DonationError
from donations.models import Donation, DonationFile, DonationStatusChange
from donations.services import donation_retry, donation_review


class DonationFileInline(admin.TabularInline):
    model = DonationFile
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "storage_key", "size", "sha256", "created_at")


class DonationStatusChangeInline(admin.TabularInline):
    model = DonationStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "actor", "note", "created_at")


@admin.register(Donation)
class DonationAdmin(admin.ModelAdmin):
    list_display = ("id", "donor", "status", "created_at")
    list_filter = ("status",)
    readonly_fields = (
        "id",
        "donor",
        "status",
        "problem_code",
        "problem_message",
        "artifact_prefix",
        "summary",
        "raw_deleted_at",
        "created_at",
        "updated_at",
    )
    inlines = (DonationFileInline, DonationStatusChangeInline)
    actions = ("accept_selected", "retry_failed")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    @admin.action(description=_("Accept selected processed donations"))
    def accept_selected(self, request, queryset):  # type: ignore[no-untyped-def]
        for donation in queryset:
            try:
                donation_review(donation=donation, curator=request.user, accept=True)
            except DonationError as exc:
                self.message_user(request, f"{donation.pk}: {exc}", messages.WARNING)

    @admin.action(description=_("Retry processing of selected failed donations"))
    def retry_failed(self, request, queryset):  # type: ignore[no-untyped-def]
        for donation in queryset:
            try:
                donation_retry(donation=donation, actor=request.user)
            except DonationError as exc:
                self.message_user(request, f"{donation.pk}: {exc}", messages.WARNING)

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import csrf_protect_m
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.permissions import Capability, user_can
from consent.models import ConsentDocument, ConsentEvent
from consent.scopes import ALL_SCOPES
from consent.services import ConsentError, consent_document_publish


def _may_publish(request: HttpRequest) -> bool:
    return user_can(user=request.user, capability=Capability.PUBLISH_CONSENT_DOCUMENT)


class ConsentDocumentPublishForm(forms.ModelForm):
    scopes_offered = forms.MultipleChoiceField(
        choices=[(s, s) for s in ALL_SCOPES],
        initial=list(ALL_SCOPES),
        widget=forms.CheckboxSelectMultiple,
        label=_("Scopes offered"),
    )

    class Meta:
        model = ConsentDocument
        fields = ("title", "text", "summary_of_changes", "effective_at", "scopes_offered")

    def clean_summary_of_changes(self) -> str:
        summary = str(self.cleaned_data.get("summary_of_changes") or "").strip()
        if not summary and ConsentDocument.objects.exists():
            raise ValidationError(_("Say what changed since the previous version; donors see it."))
        return summary


@admin.register(ConsentDocument)
class ConsentDocumentAdmin(admin.ModelAdmin):
    """Curator-admins publish a new version here; a saved version is read-only for good."""

    list_display = ("version", "title", "effective_at", "sha256", "published_by")
    readonly_fields = ("version", "sha256", "published_by", "created_at")
    form = ConsentDocumentPublishForm

    def has_module_permission(self, request):  # type: ignore[no-untyped-def]
        return _may_publish(request)

    def has_view_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return _may_publish(request)

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return _may_publish(request)

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        # Text a donor may already have agreed to is never edited: publish a new version.
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def get_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        if obj is None:
            return ("title", "text", "summary_of_changes", "effective_at", "scopes_offered")
        return (
            "version",
            "title",
            "text",
            "summary_of_changes",
            "effective_at",
            "scopes_offered",
            "sha256",
            "published_by",
            "created_at",
        )

    def get_changeform_initial_data(self, request):  # type: ignore[no-untyped-def]
        from django.utils import timezone

        from consent.selectors import consent_document_get_current

        current = consent_document_get_current()
        initial = {"effective_at": timezone.now()}
        if current is not None:
            initial |= {"title": current.title, "text": current.text}
        return initial

    @csrf_protect_m
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):  # type: ignore[no-untyped-def]
        # consent_document_publish owns its durable transaction; the admin's usual atomic
        # wrapper around this view would nest it. Nothing else here writes (no change view).
        return self._changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        # The service computes the version and the hash; the form only gathers the input.
        try:
            published = consent_document_publish(
                title=form.cleaned_data["title"],
                text=form.cleaned_data["text"],
                scopes_offered=form.cleaned_data["scopes_offered"],
                effective_at=form.cleaned_data["effective_at"],
                summary_of_changes=form.cleaned_data["summary_of_changes"],
                published_by=request.user,
            )
        except ConsentError as exc:
            raise ValidationError(str(exc)) from exc
        obj.pk = published.pk
        obj.version = published.version
        messages.info(request, _("Version %(v)d published.") % {"v": published.version})


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

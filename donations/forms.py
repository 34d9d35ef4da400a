import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from consent.scopes import ALL_SCOPES


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", _("Accept")), ("decline", _("Decline"))])
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


class CurationFilterForm(forms.Form):
    """The queue's filters, read from GET parameters; all optional."""

    format = forms.CharField(label=_("Format"), required=False, max_length=32)
    rate_min = forms.FloatField(label=_("Frame rate from (fps)"), required=False, min_value=0)
    rate_max = forms.FloatField(label=_("Frame rate to (fps)"), required=False, min_value=0)
    duration_min = forms.FloatField(label=_("Duration from (s)"), required=False, min_value=0)
    duration_max = forms.FloatField(label=_("Duration to (s)"), required=False, min_value=0)
    scopes = forms.MultipleChoiceField(
        label=_("Consent covers"),
        required=False,
        choices=[(s, s) for s in ALL_SCOPES],
        widget=forms.CheckboxSelectMultiple,
    )


class UUIDListField(forms.Field):
    """Several UUIDs under one name (checkboxes); which exist is the caller's question."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": _("That is not a donation id.")}

    def to_python(self, value: object) -> list[uuid.UUID]:
        if not value:
            return []
        try:
            return [uuid.UUID(str(v)) for v in value]  # type: ignore[attr-defined]
        except ValueError as exc:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc


class BulkReviewForm(forms.Form):
    """One decision for several donations; declining needs the reason the donors will see."""

    donations = UUIDListField(error_messages={"required": _("Select at least one donation.")})
    decision = forms.ChoiceField(choices=[("accept", _("Accept")), ("decline", _("Decline"))])
    reason = forms.CharField(required=False, max_length=2000)

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if cleaned.get("decision") == "decline" and not str(cleaned.get("reason", "")).strip():
            raise forms.ValidationError(
                _("Say why the donations are declined; the donors will see it.")
            )
        return cleaned

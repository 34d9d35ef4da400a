from django import forms
from django.utils.translation import gettext_lazy as _

from consent.scopes import Credit, Modality, Use, scope


class ConsentForm(forms.Form):
    """The scope matrix: one checkbox per (modality, use) the document offers, and credit."""

    credit = forms.ChoiceField(
        choices=Credit.choices,
        initial=Credit.ANONYMOUS,
        widget=forms.RadioSelect,
        label=_("Credit"),
    )
    understood = forms.BooleanField(
        label=_(
            "I have read the consent form and understand that downloaded copies cannot be recalled."
        ),
    )

    def __init__(self, *args: object, offered: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.offered = offered
        for modality in Modality:
            for use in Use:
                name = scope(modality.value, use.value)
                if name in offered:
                    self.fields[name] = forms.BooleanField(
                        required=False, label=f"{modality.label}: {use.label}"
                    )

    def rows(self) -> list[tuple[str, list[forms.BoundField | None]]]:
        """(modality label, [bound field or None per use]) for rendering the matrix."""
        rows = []
        for modality in Modality:
            cells = [
                self[scope(modality.value, use.value)]
                if scope(modality.value, use.value) in self.fields
                else None
                for use in Use
            ]
            if any(cells):
                rows.append((str(modality.label), cells))
        return rows

    @staticmethod
    def uses() -> list[str]:
        return [str(use.label) for use in Use]

    def chosen_scopes(self) -> list[str]:
        return [name for name in self.offered if self.cleaned_data.get(name)]

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if not any(cleaned.get(name) for name in self.offered):
            raise forms.ValidationError(_("Choose at least one thing you agree to share."))
        return cleaned
